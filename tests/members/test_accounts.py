"""Accounts without a shell: a secretary opens and closes the accounts of the branch's mass
representatives on the roles page, the administrator opens the first organization-department
account there, and a forgotten password is reset by the account's manager with a one-time password
shown once."""

import datetime

from django.test import Client
from django.urls import reverse

from members.models import RoleAssignment, User
from partyscore.core.models import AuditEvent
from tests.builders import PASSWORD

TODAY = datetime.date.today().isoformat()


def appoint(client, org, **data):
    return client.post(
        reverse("org_roles", args=[org.pk]),
        {"action": "appoint", "role": "mass_representative", "starts_on": TODAY, **data},
    )


def logs_in(username, password):
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def shown_password(response):
    page = response.content.decode()
    return page.split('id="one-time-password">', 1)[1].split("<", 1)[0]


def test_a_secretary_opens_and_closes_a_mass_representatives_account(world, client):
    client.force_login(world.secretary)
    missing = appoint(client, world.A1, username="qz9001")
    assert missing.status_code == 400 and "如需为其开立账号，请同时填写姓名" in missing.content.decode()
    assert not User.objects.filter(username="qz9001").exists()

    opened = appoint(client, world.A1, username="qz9001", full_name="王群众", reason="支委会推选")
    assert opened.status_code == 200
    password = shown_password(opened)
    user = User.objects.get(username="qz9001")
    assert user.full_name == "王群众" and user.must_change_password and user.check_password(password)
    assert RoleAssignment.objects.filter(user=user, organization=world.A1, role="mass_representative").exists()
    assert AuditEvent.objects.filter(action="user.create", target_id=str(user.pk)).exists()
    assert password not in str(dict(client.session)) and password not in user.password
    assert logs_in("qz9001", password)

    # Revoking their only role closes the account; appointing them again opens it anew.
    assignment = RoleAssignment.objects.get(user=user)
    client.post(
        reverse("org_roles", args=[world.A1.pk]),
        {"action": "revoke", "assignment": assignment.pk, "reason": "任期届满"},
    )
    user.refresh_from_db()
    assert not user.is_active
    assert AuditEvent.objects.get(action="user.close", target_id=str(user.pk)).reason == "任期届满"
    assert not logs_in("qz9001", password)
    again = appoint(client, world.A1, username="qz9001", full_name="王群众")
    assert again.status_code == 200
    user.refresh_from_db()
    assert user.is_active and user.check_password(shown_password(again))
    assert AuditEvent.objects.filter(action="user.reopen", target_id=str(user.pk)).exists()


def test_a_member_is_never_closed_with_a_role(world, client):
    client.force_login(world.secretary)
    assignment = RoleAssignment.objects.get(user=world.panel, role="panel_member")
    client.post(
        reverse("org_roles", args=[world.A1.pk]), {"action": "revoke", "assignment": assignment.pk, "reason": "调整"}
    )
    world.panel.refresh_from_db()
    assert world.panel.is_active


def test_the_administrator_opens_the_first_organization_department_account(world, client):
    client.force_login(world.admin)
    response = client.post(
        reverse("org_roles", args=[world.U.pk]),
        {
            "action": "appoint",
            "role": "org_department",
            "starts_on": TODAY,
            "username": "zzb09",
            "full_name": "组织部干事",
            "email": "zzb09@example.edu.cn",
        },
    )
    assert response.status_code == 200
    user = User.objects.get(username="zzb09")
    assert user.email == "zzb09@example.edu.cn"
    assert RoleAssignment.objects.filter(user=user, organization=world.U, role="org_department").exists()
    # A secretary cannot open an organization-department account at a branch's page or anywhere.
    client.force_login(world.secretary)
    refused = client.post(
        reverse("org_roles", args=[world.U.pk]),
        {"action": "appoint", "role": "org_department", "starts_on": TODAY, "username": "zzb10", "full_name": "某人"},
    )
    assert refused.status_code == 403 and not User.objects.filter(username="zzb10").exists()


def test_the_secretary_resets_a_members_forgotten_password(world, client):
    member = world.a1_members[3]
    theirs = Client()
    theirs.force_login(member.user)
    client.force_login(world.secretary)
    url = reverse("member_password_reset", args=[member.pk])
    no_reason = client.post(url, {"reason": " "})
    assert no_reason.status_code == 302
    member.user.refresh_from_db()
    assert member.user.check_password(PASSWORD) and not member.user.must_change_password
    reset = client.post(url, {"reason": "本人来电，忘记密码"})
    assert reset.status_code == 200
    password = shown_password(reset)
    member.user.refresh_from_db()
    assert member.user.check_password(password) and member.user.must_change_password
    assert AuditEvent.objects.get(action="user.password_reset_by_manager").reason == "本人来电，忘记密码"
    assert theirs.get(reverse("home")).status_code == 302  # their old session ended with the old password
    # Another branch's member: refused, nothing changed.
    other = world.a2_members[1]
    assert client.post(reverse("member_password_reset", args=[other.pk]), {"reason": "x"}).status_code == 403
    other.user.refresh_from_db()
    assert other.user.check_password(PASSWORD)


def test_the_secretary_resets_a_mass_representatives_password_on_the_roles_page(world, client):
    client.force_login(world.secretary)
    assignment = RoleAssignment.objects.get(user=world.mass_rep, role="mass_representative")
    response = client.post(
        reverse("org_roles", args=[world.A1.pk]),
        {"action": "reset_password", "assignment": assignment.pk, "reason": "忘记密码"},
    )
    assert response.status_code == 200
    world.mass_rep.refresh_from_db()
    assert world.mass_rep.check_password(shown_password(response))
    # An assignment of another organization is not found through this page.
    elsewhere = RoleAssignment.objects.get(user=world.gb_secretary)
    assert (
        client.post(
            reverse("org_roles", args=[world.A1.pk]),
            {"action": "reset_password", "assignment": elsewhere.pk, "reason": "x"},
        ).status_code
        == 404
    )
    # The recorder appoints nobody, so resets nobody's password.
    client.force_login(world.recorder)
    assert (
        client.post(
            reverse("org_roles", args=[world.A1.pk]),
            {"action": "reset_password", "assignment": assignment.pk, "reason": "x"},
        ).status_code
        == 403
    )
