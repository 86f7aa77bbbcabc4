"""Password rules beyond Django's own validators (length, common, numeric, similarity)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CHARACTER_CLASSES = (str.isupper, str.islower, str.isdigit)


def _classes_used(password):
    used = sum(any(test(c) for c in password) for test in CHARACTER_CLASSES)
    # Symbols: anything that is not an ASCII letter or digit (punctuation, spaces, Chinese characters).
    return used + any(not (c.isascii() and c.isalnum()) for c in password)


class PasswordComplexityValidator:
    """At least three of four kinds of character: capitals, small letters, digits, symbols."""

    def __init__(self, min_classes=3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        if _classes_used(password) < self.min_classes:
            raise ValidationError(
                _("密码须包含大写字母、小写字母、数字、符号中的至少 %(count)d 类") % {"count": self.min_classes},
                code="password_too_simple",
            )

    def get_help_text(self):
        return _("密码须包含大写字母、小写字母、数字、符号中的至少 %(count)d 类") % {"count": self.min_classes}


class NotCurrentPasswordValidator:
    """A new password may not be the one the account has now (the initial one included)."""

    def validate(self, password, user=None):
        if user is not None and user.pk and user.has_usable_password() and user.check_password(password):
            raise ValidationError(_("新密码不能与当前密码相同"), code="password_unchanged")

    def get_help_text(self):
        return _("新密码不能与当前密码相同")
