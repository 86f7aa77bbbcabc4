"""Appointing, revoking and transferring through the web pages (not only the services)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import Member, MemberTransfer, Role, RoleAssignment
from partyscore.core.models import AuditEvent
from tests.builders import make_user


def roles_url(org):
    return reverse("org_roles", args=[org.pk])


def appoint(client, org, username, role, **extra):
    data = {
        "action": "appoint",
        "username": username,
        "role": role,
        "starts_on": timezone.localdate().isoformat(),
        "ends_on": "",
        "reason": "支委会研究决定",
        **extra,
    }
    return client.post(roles_url(org), data)


def written():
    return RoleAssignment.objects.count(), AuditEvent.objects.count()


def test_the_roles_page_lists_current_and_past_appointments(world, login):
    panel = world.panel.role_assignments.get()
    panel.revoked_at = timezone.now()
    panel.save(update_fields=["revoked_at"])
    page = login(world.gb_secretary).get(roles_url(world.A1)).content.decode()
    assert "党支部书记" in page and world.secretary.username in page and "在任" in page
    assert "考评小组成员" in page and "已撤销" in page
    assert "任命人" in page and "管理员" in page
    # A college sees its branches' appointments; the role pages are linked from the roster and the tree.
    roster = login(world.secretary).get(reverse("member_list", args=[world.A1.pk])).content.decode()
    assert roles_url(world.A1) in roster
    assert roles_url(world.A2) in login(world.gb_secretary).get(reverse("org_tree")).content.decode()


def test_a_panelist_or_the_public_cannot_see_other_branches_roles(world, login):
    assert login(world.panel).get(roles_url(world.A1)).status_code == 200
    assert login(world.panel).get(roles_url(world.A2)).status_code == 403
    assert login(world.mass_rep).get(roles_url(world.A1)).status_code == 403
    page = login(world.panel).get(roles_url(world.A1)).content.decode()
    assert 'name="action" value="appoint"' not in page and "确认撤销" not in page


def test_the_role_list_offers_only_what_the_actor_may_give_here(world, login):
    def offered(user, org):
        form = login(user).get(roles_url(org)).context["assign_form"]
        return [value for value, _label in form.fields["role"].choices]

    branch_staff = [Role.BRANCH_COMMITTEE, Role.PANEL_MEMBER, Role.RECORDER, Role.MASS_REPRESENTATIVE]
    assert offered(world.secretary, world.A1) == branch_staff
    assert offered(world.gb_secretary, world.A2) == [Role.BRANCH_SECRETARY, *branch_staff]
    assert offered(world.org_department, world.A) == [Role.GENERAL_BRANCH_SECRETARY]


def test_a_secretary_appoints_a_panelist_who_then_opens_the_panel_board(world, login):
    from scoring import services as scoring
    from scoring.models import Period

    scoring.cycle_open(actor=world.admin, year=timezone.localdate().year, committee=world.U)
    period = Period.objects.filter(cycle__year=timezone.localdate().year).first()
    board = reverse("panel_board", args=[world.A1.pk, period.pk])
    appointee = world.a1_members[3].user
    assert login(appointee).get(board).status_code == 403

    response = appoint(login(world.secretary), world.A1, appointee.username, Role.PANEL_MEMBER)
    assert response.status_code == 302 and response["Location"] == roles_url(world.A1)
    assignment = RoleAssignment.objects.get(user=appointee, role=Role.PANEL_MEMBER)
    assert assignment.assigned_by == world.secretary and assignment.organization == world.A1
    event = AuditEvent.objects.get(action="role.assign", target_id=str(assignment.pk))
    assert event.actor == world.secretary and event.reason == "支委会研究决定"
    assert login(appointee).get(board).status_code == 200

    # Revoked with a reason: the panel board is closed to them again.
    response = login(world.secretary).post(
        roles_url(world.A1), {"action": "revoke", "assignment": assignment.pk, "reason": "工作调整"}
    )
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.revoked_at is not None
    assert AuditEvent.objects.get(action="role.revoke", target_id=str(assignment.pk)).reason == "工作调整"
    assert login(appointee).get(board).status_code == 403


def test_a_college_appoints_a_branch_secretary_and_a_non_member_mass_representative(world, login):
    appointee = world.a2_members[0].user
    assert appoint(login(world.gb_secretary), world.A2, appointee.username, Role.BRANCH_SECRETARY).status_code == 302
    assert login(appointee).get(reverse("roster_import")).status_code == 200  # a secretary manages the roster
    outsider = make_user("qz-a2", "群众代表甲")
    assert not Member.objects.filter(user=outsider).exists()
    assert appoint(login(appointee), world.A2, outsider.username, Role.MASS_REPRESENTATIVE).status_code == 302
    assert login(outsider).get(reverse("mass_form", args=[world.A2.pk])).status_code == 200


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown number", "没有学号/工号为“nobody”的账号"),
        ("secretary at own branch", "选择一个有效的选项"),
        ("recorder at a college", "选择一个有效的选项"),
        ("already holds it", "已是“甲一支部”的考评小组成员"),
        ("term ends before it starts", "任期结束不能早于任期开始"),
        ("no date", "这个字段是必填项"),
    ],
)
def test_a_refused_appointment_says_why_in_chinese_and_writes_nothing(world, login, case, message):
    client = login(world.secretary)
    before = written()
    if case == "unknown number":
        response = appoint(client, world.A1, "nobody", Role.RECORDER)
    elif case == "secretary at own branch":  # only a college or the organization department appoints it
        response = appoint(client, world.A1, world.member.username, Role.BRANCH_SECRETARY)
    elif case == "recorder at a college":  # a branch role, even for the organization department
        response = appoint(login(world.org_department), world.A, world.member.username, Role.RECORDER)
    elif case == "already holds it":
        response = appoint(client, world.A1, world.panel.username, Role.PANEL_MEMBER)
    elif case == "term ends before it starts":
        response = appoint(client, world.A1, world.member.username, Role.RECORDER, ends_on="2020-01-01")
    else:
        response = appoint(client, world.A1, world.member.username, Role.RECORDER, starts_on="")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert written() == before


def test_another_branch_secretary_is_turned_away_and_nothing_is_written(world, login):
    other = make_user("a2sec", "甲二书记")
    RoleAssignment.objects.create(
        user=other, organization=world.A2, role=Role.BRANCH_SECRETARY, starts_on=datetime.date(2020, 1, 1)
    )
    before = written()
    assert appoint(login(other), world.A1, world.member.username, Role.RECORDER).status_code == 403
    panel = world.panel.role_assignments.get()
    response = login(other).post(roles_url(world.A1), {"action": "revoke", "assignment": panel.pk, "reason": "x"})
    assert response.status_code == 403
    # A forged id from another branch is not a choice on this branch's page.
    response = login(world.secretary).post(
        roles_url(world.A1), {"action": "revoke", "assignment": other.role_assignments.get().pk, "reason": "x"}
    )
    assert response.status_code == 400 and "该任命不存在或已撤销" in response.content.decode()
    assert written() == before


def test_a_secretary_cannot_revoke_their_own_appointment_and_a_revoke_needs_a_reason(world, login):
    client = login(world.secretary)
    own = world.secretary.role_assignments.get()
    assert f'value="{own.pk}"' not in client.get(roles_url(world.A1)).content.decode()
    assert (
        client.post(roles_url(world.A1), {"action": "revoke", "assignment": own.pk, "reason": "x"}).status_code == 403
    )
    panel = world.panel.role_assignments.get()
    response = client.post(roles_url(world.A1), {"action": "revoke", "assignment": panel.pk, "reason": ""})
    assert response.status_code == 400 and "请填写撤销原因" in response.content.decode()
    own.refresh_from_db()
    panel.refresh_from_db()
    assert own.revoked_at is None and panel.revoked_at is None


QUERIES = 8


def test_the_roles_page_query_count_does_not_grow_with_appointments(world, login, django_assert_num_queries):
    client = login(world.org_department)
    url = roles_url(world.A1)
    client.get(url)  # the session and the permission rows warm up the same way at both sizes

    def add_history(count):
        for i in range(count):
            user = make_user(f"hist{RoleAssignment.objects.count()}-{i}")
            RoleAssignment.objects.create(
                user=user,
                organization=world.A1,
                role=Role.RECORDER,
                starts_on=datetime.date(2021, 1, 1),
                assigned_by=world.admin,
                revoked_at=timezone.now(),
            )

    add_history(2)
    with django_assert_num_queries(QUERIES):
        assert client.get(url).status_code == 200
    add_history(30)
    with django_assert_num_queries(QUERIES):
        page = client.get(url).content.decode()
    assert page.count("已撤销") >= 32


def test_a_transfer_through_the_page_is_kept_in_the_history(world, login):
    mover = world.a1_members[3]
    client = login(world.org_department)
    detail = client.get(reverse("member_detail", args=[mover.pk])).content.decode()
    assert reverse("member_transfer", args=[mover.pk]) in detail
    page = client.get(reverse("member_transfer", args=[mover.pk]))
    assert world.A1 not in page.context["form"].fields["to_branch"].queryset
    assert world.A not in page.context["form"].fields["to_branch"].queryset  # branches only

    response = client.post(
        reverse("member_transfer", args=[mover.pk]),
        {"to_branch": world.B1.pk, "transferred_on": "2026-03-01", "reason": "工作调动"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("member_detail", args=[mover.pk])
    mover.refresh_from_db()
    assert mover.branch == world.B1 and mover.joined_branch_on == datetime.date(2026, 3, 1)
    transfer = MemberTransfer.objects.get(member=mover)
    assert transfer.recorded_by == world.org_department
    event = AuditEvent.objects.get(action="member.transfer", target_id=str(mover.pk))
    assert event.reason == "工作调动" and event.organization == world.B1
    detail = client.get(reverse("member_detail", args=[mover.pk])).content.decode()
    assert "2026-03-01：甲一支部 → 乙一支部（工作调动）" in detail


def test_a_bad_transfer_is_refused_and_nothing_moves(world, login):
    mover = world.a1_members[3]
    url = reverse("member_transfer", args=[mover.pk])
    # A branch secretary manages no other branch, so has nowhere to move anyone: no link, no page.
    secretary = login(world.secretary)
    assert url not in secretary.get(reverse("member_detail", args=[mover.pk])).content.decode()
    assert secretary.get(url).status_code == 403
    assert (
        secretary.post(url, {"to_branch": world.A2.pk, "transferred_on": "2026-03-01", "reason": "x"}).status_code
        == 403
    )
    client = login(world.org_department)
    response = client.post(url, {"to_branch": world.A.pk, "transferred_on": "2026-03-01", "reason": "x"})
    assert "选择一个有效的选项" in response.content.decode()  # a college is not a branch
    for data in (
        {"to_branch": world.A.pk, "transferred_on": "2026-03-01", "reason": "x"},
        {"to_branch": world.A1.pk, "transferred_on": "2026-03-01", "reason": "x"},
        {"to_branch": world.A2.pk, "transferred_on": "bad", "reason": "x"},
        {"to_branch": world.A2.pk, "transferred_on": "2026-03-01", "reason": ""},
    ):
        assert client.post(url, data).status_code == 400, data
    assert login(world.gb_secretary).get(url).status_code == 403
    mover.refresh_from_db()
    assert mover.branch == world.A1 and not MemberTransfer.objects.exists()
    assert not AuditEvent.objects.filter(action="member.transfer").exists()
