import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from . import two_factor

SESSION_STARTED = "auth_started_at"
SESSION_SEEN = "auth_seen_at"
# The last-seen time is written at most this often, not on every request (each write is a query).
SEEN_RESOLUTION = 60


def session_clock_start(sender, request, user, **kwargs):
    """On login (connected in MembersConfig.ready): both timeouts count from here."""
    now = int(time.time())
    request.session[SESSION_STARTED] = now
    request.session[SESSION_SEEN] = now


class SessionTimeoutMiddleware:
    """Log out a session idle for SESSION_IDLE_TIMEOUT or older than SESSION_ABSOLUTE_TIMEOUT."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            started = request.session.setdefault(SESSION_STARTED, now)
            seen = request.session.setdefault(SESSION_SEEN, now)
            if now - started > settings.SESSION_ABSOLUTE_TIMEOUT:
                return self.expire(request, _("登录时间已达上限，请重新登录"))
            if now - seen > settings.SESSION_IDLE_TIMEOUT:
                return self.expire(request, _("长时间未操作，已自动退出，请重新登录"))
            if now - seen >= SEEN_RESOLUTION:
                request.session[SESSION_SEEN] = now
        return self.get_response(request)

    @staticmethod
    def expire(request, message):
        logout(request)
        messages.info(request, message)
        if request.headers.get("HX-Request") == "true":
            # htmx would swap the login page into a fragment; make it load the whole page instead.
            return HttpResponseClientRedirect(reverse("login"))
        return redirect_to_login(request.get_full_path())


class ForcePasswordChangeMiddleware:
    """An account with an initial password may do nothing but change it (and log out)."""

    ALLOWED = ("password_change", "logout", "set_language")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.must_change_password:
            allowed = {reverse(name) for name in self.ALLOWED}
            if request.path not in allowed and not request.path.startswith("/static/"):
                return redirect("password_change")
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """An account the second factor is required of (TWO_FACTOR_REQUIRED, TWO_FACTOR_REQUIRED_ROLES or
    a role the committee requires) must enrol before anything else: read from the session's state,
    worked out at login (members.two_factor.remember_state)."""

    ALLOWED = ("two_factor", "password_change", "logout", "set_language")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self.must_enrol(request):
            return redirect("two_factor")
        return self.get_response(request)

    def must_enrol(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith("/static/"):
            return False
        if request.path in {reverse(name) for name in self.ALLOWED}:
            return False
        return two_factor.state(request)["must_enrol"]
