"""TOTP second factor: who is offered it, the half-finished login, and the enrolment QR code.

A password accepted for an account with a confirmed device does not log in: the user's id waits in
the (still anonymous) session until the six-digit code is right, so no page is usable before that.
"""

import time
from base64 import b32encode

import django_otp
import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.safestring import mark_safe
from django_otp.plugins.otp_totp.models import TOTPDevice

from .selectors import roles_of

PENDING_KEY = "two_factor_pending"
STATE_KEY = "two_factor_state"
PENDING_SECONDS = 5 * 60  # the code must follow the password within this time


def required_roles():
    """The roles whose holders must use the second factor: the deployment's list and the committee's."""
    from .models import TwoFactorRequirement

    return {*settings.TWO_FACTOR_REQUIRED_ROLES, *TwoFactorRequirement.objects.values_list("role", flat=True)}


def offered_to(user, roles=None):
    """Accounts that run things (the committee, colleges, branch secretaries, and any role the
    committee requires it of) may protect themselves with a second factor; others are not offered it."""
    if user.is_superuser:
        return True
    offered = {*settings.TWO_FACTOR_ROLES, *required_roles()}
    return any(a.role in offered for a in (roles_of(user=user) if roles is None else roles))


def required_of(user, roles=None):
    """Must `user` use a second factor: TWO_FACTOR_REQUIRED for everyone offered it, or a required role."""
    roles = list(roles_of(user=user)) if roles is None else roles
    if settings.TWO_FACTOR_REQUIRED and offered_to(user, roles):
        return True
    required = required_roles()
    return any(a.role in required for a in roles)


def remember_state(request, user):
    """Is the second factor offered to `user`, and must they enrol before anything else? Worked out
    at login and after enrolling, and kept in the session, so the menu and the middleware ask the
    database nothing on every page; a change of the committee's requirement applies from each
    account's next login (a session lasts SESSION_ABSOLUTE_TIMEOUT at most)."""
    roles = list(roles_of(user=user))
    request.session[STATE_KEY] = {
        "offered": offered_to(user, roles),
        "must_enrol": required_of(user, roles) and device_of(user) is None,
    }
    return request.session[STATE_KEY]


def state(request):
    """The signed-in user's {"offered", "must_enrol"}: from the session (worked out once if absent)."""
    return request.session.get(STATE_KEY) or remember_state(request, request.user)


def _remember_at_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        remember_state(request, user)


def device_of(user):
    """The user's confirmed authenticator, or None."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_start(request, *, user, next_url):
    request.session[PENDING_KEY] = {"user": user.pk, "backend": user.backend, "next": next_url, "at": int(time.time())}


def pending_user(request):
    """(user, page to go to) for whoever gave the right password and now owes a code; (None, "") if nobody."""
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        return None, ""
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    if user is not None:
        user.backend = pending["backend"]
    return user, pending["next"]


def pending_end(request):
    request.session.pop(PENDING_KEY, None)


def new_device(user, key=None):
    """An unsaved device: the secret shown while enrolling lives in the session until confirmed."""
    return TOTPDevice(user=user, name="authenticator", confirmed=True, **({"key": key} if key else {}))


def qr_svg(device):
    # segno writes the SVG from our own otpauth:// URL: no user text reaches it unescaped.
    return mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=4))  # noqa: S308


def secret_text(device):
    """The secret in base32, grouped by four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def verify(user, token):
    """The user's device if it accepts `token` (django-otp throttles repeated wrong codes), else None."""
    device = device_of(user)
    if device is None:
        return None
    return django_otp.verify_token(user, device.persistent_id, token)
