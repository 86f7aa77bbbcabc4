"""The security log (AccessLog): who signed in or failed to, who was refused, who imported or
exported what. Sign-ins come from Django's auth signals, refusals from DeniedAccessLogMiddleware,
imports and exports from one `access_log` call in each view that moves a file in or out.

Rows are kept SECURITY_LOG_RETENTION_DAYS days and deleted by the daily `access_log_purge` task.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from .client_ip import client_ip
from .models import AccessLog

Kind = AccessLog.Kind


def access_log(request, kind, detail=None, *, user=None, username=""):
    """Record `kind` for the request's user (or `user`), address, browser and path."""
    if user is None:
        current = getattr(request, "user", None)
        user = current if current is not None and current.is_authenticated else None
    return AccessLog.objects.create(
        kind=kind,
        user=user,
        username=username or (user.get_username() if user else ""),
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        path=request.get_full_path()[:500],
        detail=detail or {},
    )


@receiver(user_logged_in, dispatch_uid="access_log_login")
def _logged_in(sender, request, user, **kwargs):
    # A campus single sign-on (members/campus_login.py) says which: {"via": "cas"} or {"via": "oidc"}.
    via = getattr(user, "campus_via", "")
    access_log(request, Kind.LOGIN, {"via": via} if via else None, user=user)


@receiver(user_logged_out, dispatch_uid="access_log_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        access_log(request, Kind.LOGOUT, user=user)


@receiver(user_login_failed, dispatch_uid="access_log_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    if request is None:  # authenticate() called outside a request (a shell, a test helper)
        return
    username = str(credentials.get("username", ""))[:150]
    # django-axes marks the request when it refused the attempt because the name + address is locked.
    detail = {"locked_out": bool(getattr(request, "axes_locked_out", False))}
    # A refused campus login (members/campus_login.py) says which way and why: a refused ticket or token,
    # an unknown number, a closed account; and the number the campus gave, if it got that far.
    campus = getattr(request, "campus_refusal", None)
    if campus:
        detail.update(via=campus["via"], reason=campus["reason"])
        username = campus["number"][:150]
    access_log(request, Kind.LOGIN_FAILED, detail, username=username)


def access_log_purge(*, now=None):
    """Delete the rows older than the retention period (run daily by Celery beat). Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SECURITY_LOG_RETENTION_DAYS)
    deleted, _per_model = AccessLog.objects.filter(created_at__lt=cutoff).delete()
    return deleted
