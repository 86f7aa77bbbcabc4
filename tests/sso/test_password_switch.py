"""The committee's switch: password login off for party members (统一身份认证 only), kept for accounts
without a member record (mass representatives); enforced where the password is checked; audited."""

import pytest
from django.core.exceptions import PermissionDenied

from members import services
from members.models import PasswordLoginPolicy
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent
from tests.builders import PASSWORD, build_university


@pytest.fixture
def university(db):
    return build_university()


@pytest.fixture
def cas_configured(settings):
    settings.CAS_SERVER_URL = "https://cas.example.edu.cn/cas/"
    settings.ROOT_URLCONF = "tests.sso.urls"


def switch_on(world):
    services.password_login_policy_set(
        actor=world.org_department, members_use_campus_login=True, reason="统一身份认证上线"
    )


def password_login(client, user):
    return client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})


def test_members_are_sent_to_campus_login_and_mass_representatives_keep_their_password(
    university, client, cas_configured
):
    switch_on(university)
    response = password_login(client, university.member)
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "党员账号须通过统一身份认证登录" in response.content.decode()
    assert password_login(client, university.mass_rep).status_code == 302
    assert int(client.session["_auth_user_id"]) == university.mass_rep.pk


def test_a_wrong_password_says_nothing_about_membership(university, client, cas_configured):
    switch_on(university)
    response = client.post("/accounts/login/", {"username": university.member.username, "password": "wrong-1A!"})
    page = response.content.decode()
    assert "学号/工号或密码不正确" in page and "统一身份认证登录，请" not in page


def test_switched_off_members_use_their_password_again(university, client, cas_configured):
    switch_on(university)
    services.password_login_policy_set(actor=university.org_department, members_use_campus_login=False, reason="回退")
    assert password_login(client, university.member).status_code == 302


def test_without_a_campus_login_the_switch_cannot_be_turned_on_and_is_ignored(university, client, settings):
    with pytest.raises(ApplicationError, match="尚未接入统一身份认证"):
        switch_on(university)
    PasswordLoginPolicy.objects.create(pk=1, members_use_campus_login=True, set_by=university.org_department)
    assert password_login(client, university.member).status_code == 302  # no campus login to send them to


def test_the_organization_department_sets_it_on_its_page_and_it_is_audited(university, client, cas_configured):
    client.force_login(university.org_department)
    assert client.post("/security/password-login/", {"members_use_campus_login": "on", "reason": ""}).status_code == 400
    response = client.post(
        "/security/password-login/", {"members_use_campus_login": "on", "reason": "统一身份认证上线"}
    )
    assert response.status_code == 302
    assert PasswordLoginPolicy.objects.get().members_use_campus_login
    event = AuditEvent.objects.get(action="security.password_login")
    assert (event.before, event.after, event.reason) == (
        {"members_use_campus_login": False},
        {"members_use_campus_login": True},
        "统一身份认证上线",
    )
    page = client.get("/security/password-login/").content.decode()
    assert 'name="members_use_campus_login"' in page and "checked" in page


def test_only_the_organization_department_may_switch(university):
    with pytest.raises(PermissionDenied, match="只有党委组织部"):
        services.password_login_policy_set(actor=university.secretary, members_use_campus_login=True, reason="x")
