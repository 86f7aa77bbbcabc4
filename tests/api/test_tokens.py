"""Personal API tokens: made on 接口令牌, shown once, stored only as a digest, revoked at once, audited."""

import hashlib

from django.urls import reverse

from members.models import ApiToken
from partyscore.core.models import AuditEvent


def _create(client, name="微信小程序"):
    response = client.post(reverse("api_tokens"), {"name": name})
    assert response.status_code == 200
    return response.context["created"]


def _call(client, raw):
    return client.get(reverse("api_my_card"), HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_a_token_is_shown_once_and_stored_as_its_digest(a_year, client):
    client.force_login(a_year.member)
    raw = _create(client)
    token = ApiToken.objects.get(user=a_year.member)
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.digest, token.prefix, token.name}
    page = client.get(reverse("api_tokens")).content.decode()
    assert raw not in page
    assert token.prefix in page
    event = AuditEvent.objects.get(action="user.api_token_create")
    assert event.actor == a_year.member
    assert raw not in str(event.after)


def test_the_token_calls_the_api_and_notes_its_last_use(a_year, client):
    client.force_login(a_year.member)
    raw = _create(client)
    client.logout()
    assert _call(client, raw).status_code == 200
    assert ApiToken.objects.get(user=a_year.member).last_used_at is not None


def test_a_revoked_token_is_refused_at_once(a_year, client):
    client.force_login(a_year.member)
    raw = _create(client)
    token = ApiToken.objects.get(user=a_year.member)
    assert _call(client, raw).status_code == 200
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 302
    client.logout()
    refused = _call(client, raw)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "令牌无效或已撤销"}
    assert AuditEvent.objects.filter(action="user.api_token_revoke", actor=a_year.member).count() == 1


def test_nobody_revokes_another_users_token(a_year, client):
    client.force_login(a_year.member)
    _create(client)
    token = ApiToken.objects.get(user=a_year.member)
    client.force_login(a_year.secretary)
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_token_needs_a_name(a_year, client):
    client.force_login(a_year.member)
    response = client.post(reverse("api_tokens"), {"name": "  "})
    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert not ApiToken.objects.exists()


def test_at_most_ten_live_tokens(a_year, client):
    client.force_login(a_year.member)
    for i in range(10):
        _create(client, f"令牌{i}")
    response = client.post(reverse("api_tokens"), {"name": "第十一个"})
    assert response.status_code == 400
    assert "有效令牌最多 10 个" in response.content.decode()
    assert 'value="第十一个"' in response.content.decode()


def test_a_forged_or_malformed_token_is_refused(a_year, client):
    assert _call(client, "ps_forged").status_code == 401
    assert client.get(reverse("api_my_card"), HTTP_AUTHORIZATION="Bearer").status_code == 401
    assert client.get(reverse("api_my_card"), HTTP_AUTHORIZATION="Bearer a b").status_code == 401


def test_a_closed_account_s_token_is_refused(a_year, client):
    client.force_login(a_year.member)
    raw = _create(client)
    client.logout()
    a_year.member.is_active = False
    a_year.member.save(update_fields=["is_active"])
    assert _call(client, raw).status_code == 401
