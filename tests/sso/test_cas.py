"""CAS login against a real django-cas-server on 127.0.0.1: the number attribute picks the account; a
refused ticket, a replayed ticket, an unknown number and a closed account are turned away with a
Chinese page; logout ends the CAS session; the CAS server's single logout ends ours."""

from urllib.parse import parse_qs, urlsplit

import requests
from django.contrib.sessions.models import Session
from django.utils import timezone

from members.models import User
from partyscore.core.models import AccessLog

from .conftest import campus_sign_in, path_of


def ticket_for(client, who, campus=None):
    """Start at the site's campus button, sign in at the CAS server; the site URL carrying the ticket."""
    start = client.get("/accounts/campus/cas/")
    assert start.status_code == 302
    return campus_sign_in(campus or requests.Session(), start["Location"], who)


def test_a_member_logs_in_through_cas_by_the_number_attribute(world, client, cas_on):
    back = ticket_for(client, "zhangsan")
    assert "ticket=ST-" in back
    response = client.get(path_of(back))
    assert response.status_code == 302 and response["Location"] == "/"
    assert int(client.session["_auth_user_id"]) == world.member.pk  # zhangsan's number is A1-00004
    entry = AccessLog.objects.get(kind=AccessLog.Kind.LOGIN)
    assert entry.user == world.member and entry.detail == {"via": "cas"}


def test_a_forged_ticket_is_refused(world, client, cas_on):
    response = client.get("/accounts/campus/cas/?ticket=ST-1-forged")
    assert response.status_code == 403
    assert "统一身份认证未能确认您的身份" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AccessLog.objects.get(kind=AccessLog.Kind.LOGIN_FAILED).detail["reason"] == "ticket"


def test_a_replayed_ticket_is_refused(world, client, cas_on):
    back = ticket_for(client, "zhangsan")
    assert client.get(path_of(back)).status_code == 302
    client.logout()
    replay = client.get(path_of(back))  # the same ticket again, as someone who copied the address would
    assert replay.status_code == 403
    assert "_auth_user_id" not in client.session
    assert AccessLog.objects.filter(kind=AccessLog.Kind.LOGIN_FAILED, detail__reason="ticket").count() == 1


def test_an_unknown_number_gets_whom_to_ask_and_no_account(world, client, cas_on):
    users = User.objects.count()
    response = client.get(path_of(ticket_for(client, "nobody")))
    page = response.content.decode()
    assert response.status_code == 403
    assert "未找到与您的学号/工号（X9999）对应的账号" in page and "所在党支部书记或党委组织部" in page
    assert User.objects.count() == users and not User.objects.filter(username__in=["X9999", "nobody"]).exists()
    failed = AccessLog.objects.get(kind=AccessLog.Kind.LOGIN_FAILED)
    assert (failed.username, failed.detail["via"], failed.detail["reason"]) == ("X9999", "cas", "unknown")


def test_a_closed_account_is_refused(world, client, cas_on):
    User.objects.filter(pk=world.member.pk).update(is_active=False)
    response = client.get(path_of(ticket_for(client, "zhangsan")))
    assert response.status_code == 403 and "账号已停用" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_without_a_number_attribute_the_cas_user_id_is_the_number(world, client, cas_on, settings):
    settings.CAS_NUMBER_ATTRIBUTE = ""
    response = client.get(path_of(ticket_for(client, "zhangsan")))  # "zhangsan" is nobody's number here
    assert response.status_code == 403 and "（zhangsan）" in response.content.decode()


def test_logout_ends_the_cas_session_too(world, client, cas_on):
    campus = requests.Session()
    client.get(path_of(ticket_for(client, "zhangsan", campus)))
    response = client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session
    logout = urlsplit(response["Location"])
    assert f"{logout.scheme}://{logout.netloc}/" == cas_on["url"] + "/" and logout.path == "/logout"
    assert parse_qs(logout.query)["service"] == ["http://testserver/accounts/login/"]
    campus.get(response["Location"], allow_redirects=False, timeout=10)
    # Signed out at the CAS server: asking for a ticket again shows its login form, not a ticket.
    again = campus.get(client.get("/accounts/campus/cas/")["Location"], allow_redirects=False, timeout=10)
    assert again.status_code == 200 and 'name="password"' in again.text


def test_the_cas_servers_single_logout_ends_the_session(world, client, cas_on):
    back = ticket_for(client, "zhangsan")
    client.get(path_of(back))
    ticket = parse_qs(urlsplit(back).query)["ticket"][0]
    key = client.session.session_key
    slo = (
        f'<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x" Version="2.0" '
        f'IssueInstant="{timezone.now():%Y-%m-%dT%H:%M:%SZ}"><saml:NameID '
        f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">zhangsan</saml:NameID>'
        f"<samlp:SessionIndex>{ticket}</samlp:SessionIndex></samlp:LogoutRequest>"
    )
    assert client.post("/accounts/campus/cas/", {"logoutRequest": slo}).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()


def test_campus_login_is_absent_unless_configured(world, client):
    page = client.get("/accounts/login/").content.decode()
    assert "统一身份认证" not in page
    assert client.get("/accounts/campus/cas/").status_code == 404
    assert client.get("/accounts/campus/oidc/").status_code == 404


def test_an_account_with_a_second_factor_still_gives_its_code(world, client, cas_on):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=world.member, name="authenticator", confirmed=True)
    response = client.get(path_of(ticket_for(client, "zhangsan")))
    assert response.status_code == 302 and response["Location"] == "/accounts/verify/"
    assert "_auth_user_id" not in client.session  # only the six-digit code logs in now
    assert client.get("/accounts/verify/").status_code == 200
