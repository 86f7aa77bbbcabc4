"""Campus single sign-on (统一身份认证): CAS 2.0/3.0 through django-cas-ng, OpenID Connect through
mozilla-django-oidc. Each is off until configured (CAS_SERVER_URL, OIDC_OP_AUTHORIZATION_ENDPOINT).

The campus says who the person is; the staff/student number it releases (CAS_NUMBER_ATTRIBUTE, else the
CAS user id; OIDC_NUMBER_CLAIM) must be the username of an existing, active account here. Nobody is ever
given an account by logging in: an unknown number gets a page naming whom to ask. Successes and refusals
reach the security log through Django's login signals, as password logins do. An account with a second
factor still gives its six-digit code after the campus login.
"""

import jwt
import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, authenticate, get_user_model
from django.contrib.auth import login as auth_login
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.csrf import csrf_exempt
from django_cas_ng.backends import CASBackend
from django_cas_ng.models import SessionTicket
from django_cas_ng.utils import get_cas_client, get_service_url
from django_cas_ng.views import LoginView as CASLoginView
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from . import address_throttle, two_factor

CAS_BACKEND = f"{__name__}.CampusCASBackend"
OIDC_BACKEND = f"{__name__}.CampusOIDCBackend"
# Why a campus login was refused, kept on the request for the refusal page.
REFUSAL = "campus_refusal"


def cas_enabled():
    return bool(settings.CAS_SERVER_URL)


def oidc_enabled():
    return bool(settings.OIDC_OP_AUTHORIZATION_ENDPOINT)


def enabled():
    return cas_enabled() or oidc_enabled()


def members_use_campus_login():
    """Is the committee's switch on (and a campus login there to use)?"""
    from .models import PasswordLoginPolicy

    return enabled() and PasswordLoginPolicy.objects.filter(pk=1, members_use_campus_login=True).exists()


def password_login_refused(user):
    """A party member's account while the switch is on: only 统一身份认证 lets them in."""
    from .models import Member

    return members_use_campus_login() and Member.objects.filter(user=user).exists()


def _refuse(request, via, reason, number=""):
    """Say why on the request: for the refusal page, and for the security log's entry, which Django's
    user_login_failed signal makes once every backend has said no (partyscore/core/access_log.py)."""
    if request is not None:
        setattr(request, REFUSAL, {"via": via, "reason": reason, "number": number})


def _account(request, number, via):
    """The active account whose username is `number`, or None (refused, and why)."""
    user = get_user_model().objects.filter(username=number).first() if number else None
    if user is None or not user.is_active:
        _refuse(request, via, "unknown" if user is None else "closed", number)
        return None
    user.campus_via = via  # read by the security log's login entry
    return user


class CampusCASBackend(CASBackend):
    """Validates the service ticket with the CAS server, then finds the account by number."""

    def authenticate(self, request, ticket, service):
        if not cas_enabled():
            return None
        client = get_cas_client(service_url=service, request=request)
        try:
            uid, attributes, _pgtiou = client.verify_ticket(ticket)
        except requests.RequestException:
            uid, attributes = None, {}
        if not uid:  # refused by the CAS server: forged, expired, or already used
            _refuse(request, "cas", "ticket")
            return None
        number = uid
        if settings.CAS_NUMBER_ATTRIBUTE:
            number = (attributes or {}).get(settings.CAS_NUMBER_ATTRIBUTE) or ""
            if isinstance(number, list):
                number = number[0] if number else ""
        return _account(request, str(number).strip(), "cas")


class CampusOIDCBackend(OIDCAuthenticationBackend):
    """Exchanges the code for tokens, verifies the ID token (signature by the provider's key, nonce,
    expiry, audience, issuer), then finds the account by the number claim."""

    def authenticate(self, request, nonce, code_verifier):
        if not oidc_enabled():
            return None
        try:
            return super().authenticate(request, nonce=nonce, code_verifier=code_verifier)
        except (SuspiciousOperation, jwt.PyJWTError, requests.RequestException):
            _refuse(request, "oidc", "token")
            return None

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        if settings.OIDC_RP_CLIENT_ID not in (audience if isinstance(audience, list) else [audience]):
            raise SuspiciousOperation("ID token for another client")
        if settings.OIDC_OP_ISSUER and payload.get("iss") != settings.OIDC_OP_ISSUER:
            raise SuspiciousOperation("ID token from another issuer")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        claims = dict(payload)
        if settings.OIDC_OP_USER_ENDPOINT:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if userinfo.get("sub") != payload.get("sub"):
                raise SuspiciousOperation("user info of another subject")
            claims.update(userinfo)
        number = claims.get(settings.OIDC_NUMBER_CLAIM) or ""
        return _account(self.request, str(number).strip(), "oidc")


def _next_url(request):
    candidate = request.GET.get("next", "")
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _finish(request, user, next_url):
    """As the password login does: the code first when the account has a second factor."""
    if two_factor.device_of(user) is not None:
        two_factor.pending_start(request, user=user, next_url=next_url)
        return redirect("login_two_factor")
    auth_login(request, user)
    return address_throttle.remember_device(request, redirect(next_url), user)


def refused(request):
    """The Chinese page for a refused campus login: whom to ask, or try again."""
    refusal = getattr(request, REFUSAL, None) or {"via": "", "reason": "ticket", "number": ""}
    return render(
        request,
        "registration/campus_refused.html",
        {**refusal, "contact": settings.CAMPUS_ACCOUNT_CONTACT, "university": settings.UNIVERSITY_NAME},
        status=403,
    )


class CampusCASLogin(CASLoginView):
    """GET without a ticket: off to the CAS server; with one: validated, matched, logged in. POST from
    the CAS server: single logout (django-cas-ng ends the session the ticket opened)."""

    http_method_names = ["get", "post"]

    @method_decorator(csrf_exempt)  # the CAS server's single-logout POST carries no token of ours
    def dispatch(self, request, *args, **kwargs):
        if not cas_enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        next_url = _next_url(request)
        service = get_service_url(request, next_url)
        if request.user.is_authenticated:
            return redirect(next_url)
        ticket = request.GET.get("ticket")
        if not ticket:
            return redirect(get_cas_client(service_url=service, request=request).get_login_url())
        user = authenticate(request, ticket=ticket, service=service)
        if user is None:
            return refused(request)
        response = _finish(request, user, next_url)
        if request.user.is_authenticated:  # logged in now (not waiting for a code): remembered for single logout
            if not request.session.session_key:
                request.session.save()
            SessionTicket.objects.update_or_create(session_key=request.session.session_key, defaults={"ticket": ticket})
        return response


class CampusOIDCStart(OIDCAuthenticationRequestView):
    def dispatch(self, request, *args, **kwargs):
        if not oidc_enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class CampusOIDCCallback(OIDCAuthenticationCallbackView):
    def dispatch(self, request, *args, **kwargs):
        if not oidc_enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def login_failure(self):
        if getattr(self.request, REFUSAL, None) is None:  # the provider said no, or the state was stale
            setattr(self.request, REFUSAL, {"via": "oidc", "reason": "token", "number": ""})
        return refused(self.request)

    def login_success(self):
        return _finish(self.request, self.user, self.success_url)


def logout_redirect(request):
    """Where the site's logout sends the browser so the campus session ends too: the CAS server's
    /logout, or the provider's end_session endpoint; None for a password login. Asked before the
    local session is cleared (it knows how the user logged in)."""
    backend = request.session.get(BACKEND_SESSION_KEY, "")
    back = request.build_absolute_uri(reverse("login"))
    if backend == CAS_BACKEND and cas_enabled():
        SessionTicket.objects.filter(session_key=request.session.session_key).delete()
        return get_cas_client(request=request).get_logout_url(back)
    if backend == OIDC_BACKEND and oidc_enabled() and settings.OIDC_OP_LOGOUT_ENDPOINT:
        query = {"post_logout_redirect_uri": back, "client_id": settings.OIDC_RP_CLIENT_ID}
        if request.session.get("oidc_id_token"):
            query["id_token_hint"] = request.session["oidc_id_token"]
        return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{urlencode(query)}"
    return None


CAS_URLS = [path("accounts/campus/cas/", CampusCASLogin.as_view(), name="campus_cas_login")]
OIDC_URLS = [
    path("accounts/campus/oidc/", CampusOIDCStart.as_view(), name="campus_oidc_login"),
    path("accounts/campus/oidc/callback/", CampusOIDCCallback.as_view(), name="campus_oidc_callback"),
]


def urlpatterns():
    """The campus login URLs, only for what is configured (partyscore/urls.py)."""
    return [*(CAS_URLS if cas_enabled() else []), *(OIDC_URLS if oidc_enabled() else [])]
