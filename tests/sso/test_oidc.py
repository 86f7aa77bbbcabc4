"""OpenID Connect login against a real django-oauth-toolkit provider on 127.0.0.1 (RS256 key made by the
peer): the student_number claim picks the account; a tampered ID token, an unknown number and a replayed
code are turned away; logout goes to the provider's end_session endpoint."""

from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from members.campus_login import CampusOIDCBackend
from members.models import User
from partyscore.core.models import AccessLog

from .conftest import campus_sign_in, path_of


def code_for(client, who, campus=None):
    """Start at the site's campus button and sign in at the provider; the callback URL with the code."""
    start = client.get("/accounts/campus/oidc/")
    assert start.status_code == 302
    campus = campus or requests.Session()
    authorize = campus.get(start["Location"], allow_redirects=False, timeout=10)  # not signed in there yet
    return campus_sign_in(campus, urljoin(start["Location"], authorize.headers["Location"]), who)


def test_a_member_logs_in_through_oidc_by_the_number_claim(world, client, oidc_on):
    response = client.get(path_of(code_for(client, "zhangsan")))
    assert response.status_code == 302 and response["Location"] == "/"
    assert int(client.session["_auth_user_id"]) == world.member.pk
    assert AccessLog.objects.get(kind=AccessLog.Kind.LOGIN).detail == {"via": "oidc"}


def test_a_tampered_id_token_is_refused(world, client, oidc_on, monkeypatch):
    real_get_token = CampusOIDCBackend.get_token

    def tampered(self, payload):
        tokens = real_get_token(self, payload)
        header, body, signature = tokens["id_token"].split(".")
        flipped = ("A" if signature[10] != "A" else "B").join([signature[:10], signature[11:]])
        return {**tokens, "id_token": f"{header}.{body}.{flipped}"}

    monkeypatch.setattr(CampusOIDCBackend, "get_token", tampered)
    response = client.get(path_of(code_for(client, "zhangsan")))
    assert response.status_code == 403
    assert "统一身份认证未能确认您的身份" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AccessLog.objects.get(kind=AccessLog.Kind.LOGIN_FAILED).detail["reason"] == "token"


def test_an_unknown_number_gets_whom_to_ask_and_no_account(world, client, oidc_on):
    users = User.objects.count()
    response = client.get(path_of(code_for(client, "nobody")))
    assert response.status_code == 403
    assert "未找到与您的学号/工号（X9999）对应的账号" in response.content.decode()
    assert User.objects.count() == users
    assert AccessLog.objects.get(kind=AccessLog.Kind.LOGIN_FAILED).detail["reason"] == "unknown"


def test_a_replayed_code_is_refused(world, client, oidc_on):
    back = code_for(client, "zhangsan")
    assert client.get(path_of(back)).status_code == 302
    client.logout()
    assert client.get(path_of(back)).status_code == 403  # its state was used up with the first login
    assert "_auth_user_id" not in client.session


def test_logout_goes_to_the_providers_end_session(world, client, oidc_on):
    campus = requests.Session()
    client.get(path_of(code_for(client, "zhangsan", campus)))
    response = client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session
    assert response["Location"].startswith(oidc_on["discovery"]["end_session_endpoint"])
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"] and query["id_token_hint"]
    # The provider ends its own session and sends the browser back to our login page.
    ended = campus.get(response["Location"], allow_redirects=False, timeout=10)
    assert ended.headers["Location"] == "http://testserver/accounts/login/"
    again = campus.get(client.get("/accounts/campus/oidc/")["Location"], allow_redirects=False, timeout=10)
    assert "/login/" in again.headers["Location"]  # signed out there: asked to sign in again
