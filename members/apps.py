from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("组织与党员")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from .middleware import session_clock_start
        from .two_factor import _remember_at_login

        user_logged_in.connect(session_clock_start, dispatch_uid="members.session_clock_start")
        user_logged_in.connect(_remember_at_login, dispatch_uid="members.two_factor_state")
        user_login_failed.connect(_address_failure, dispatch_uid="members.address_failure")


def _address_failure(sender, credentials, request=None, **kwargs):
    from .address_throttle import record_failure

    record_failure(request)
