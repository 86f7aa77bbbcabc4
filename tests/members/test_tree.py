"""Adjusting the organization tree (members/tree.py, services.organization_create): who may do
what, each refusal, the path rewrite of a subtree, a merge's transfers, a closed branch."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied

from members import permissions as perms
from members import services, tree
from members.models import Member, MemberTransfer, Organization, Role
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent
from scoring import services as scoring
from scoring.recalculation import chunk_figures

from ..scoring.helpers import YEAR, item_in_force, open_year, period

TODAY = datetime.date.today()


def add(world, actor, parent, name, code, kind=Organization.Kind.BRANCH):
    return services.organization_create(actor=actor, parent=parent, name=name, code=code, kind=kind, reason="新设")


def test_the_organization_department_adds_a_general_branch_and_a_secretary_a_branch_in_its_own(world):
    college = add(world, world.org_department, world.U, "丙学院党委", "C", Organization.Kind.GENERAL_BRANCH)
    assert (college.path, college.depth) == (f"{world.U.path}{college.pk:06d}/", 1)
    branch = add(world, world.gb_secretary, world.A, "甲三支部", "A3")
    assert branch.parent == world.A and branch.depth == 2 and branch.path.startswith(world.A.path)
    event = AuditEvent.objects.get(action="organization.create", target_id=str(branch.pk))
    assert event.reason == "新设" and event.after["name"] == "甲三支部"


@pytest.mark.parametrize(
    "who, parent, kind",
    [
        ("gb_secretary", "U", Organization.Kind.GENERAL_BRANCH),  # never a general branch
        ("gb_secretary", "B", Organization.Kind.BRANCH),  # never outside its own college
        ("secretary", "A", Organization.Kind.BRANCH),
        ("org_department", None, Organization.Kind.COMMITTEE),
    ],
)
def test_adding_outside_ones_scope_is_refused(world, who, parent, kind):
    with pytest.raises(PermissionDenied):
        add(world, getattr(world, who), getattr(world, parent) if parent else None, "新组织", "NEW", kind)
    assert not Organization.objects.filter(code="NEW").exists()


def test_adding_takes_a_reason(world):
    with pytest.raises(ApplicationError, match="请写明原因"):
        services.organization_create(
            actor=world.gb_secretary, parent=world.A, name="甲三支部", code="A3", kind="branch", reason=" "
        )


def test_a_branch_goes_only_under_a_general_branch(world):
    with pytest.raises(ApplicationError, match="下不能设立党支部"):
        add(world, world.org_department, world.U, "直属支部", "U1")


def test_a_name_already_used_under_the_same_parent_is_refused_in_words(world):
    with pytest.raises(ApplicationError, match="“甲学院党委”下已有名为“甲二支部”的组织"):
        add(world, world.gb_secretary, world.A, "甲二支部", "A3")
    with pytest.raises(ApplicationError, match="“甲学院党委”下已有名为“甲二支部”的组织"):
        tree.organization_rename(actor=world.gb_secretary, organization=world.A1, name="甲二支部", reason="更名")
    add(world, world.org_department, world.B, "甲二支部", "B2")  # another parent: allowed
    with pytest.raises(ApplicationError, match="组织代码“A2”已被使用"):
        add(world, world.gb_secretary, world.A, "甲三支部", "A2")


def test_rename_is_audited_before_and_after_with_its_reason(world):
    tree.organization_rename(actor=world.gb_secretary, organization=world.A1, name="甲一党支部", reason="规范名称")
    world.A1.refresh_from_db()
    assert world.A1.name == "甲一党支部"
    event = AuditEvent.objects.get(action="organization.rename")
    assert (event.before["name"], event.after["name"], event.reason) == ("甲一支部", "甲一党支部", "规范名称")
    with pytest.raises(ApplicationError, match="请写明原因"):
        tree.organization_rename(actor=world.gb_secretary, organization=world.A1, name="甲一", reason=" ")


@pytest.mark.parametrize(
    "who, org", [("gb_secretary", "A"), ("gb_secretary", "B1"), ("secretary", "A1"), ("org_department", "U")]
)
def test_renaming_outside_ones_scope_is_refused(world, who, org):
    with pytest.raises(PermissionDenied):
        tree.organization_rename(
            actor=getattr(world, who), organization=getattr(world, org), name="新名称", reason="更名"
        )


def test_moving_a_branch_rewrites_its_path_and_keeps_its_members_and_roles(world):
    tree.organization_move(actor=world.org_department, organization=world.A1, new_parent=world.B, reason="调整隶属")
    world.A1.refresh_from_db()
    assert world.A1.parent == world.B and world.A1.path == f"{world.B.path}{world.A1.pk:06d}/"
    assert set(perms.orgs_with_perm(world.gb_secretary, perms.ROSTER_VIEW)) == {world.A, world.A2}
    assert world.A1.members.count() == len(world.a1_members)
    perms.forget_cached_perms(world.secretary)
    assert perms.has_org_perm(world.secretary, perms.ROSTER_MANAGE, world.A1)  # held at the node: it follows
    event = AuditEvent.objects.get(action="organization.move")
    assert event.before["parent"] == world.A.pk and event.after["parent"] == world.B.pk


def test_moving_a_node_rewrites_the_path_and_depth_of_everything_below_it(world):
    other = services.organization_create(actor=world.admin, name="另一党委", code="V", kind=Organization.Kind.COMMITTEE)
    tree.organization_move(actor=world.admin, organization=world.A, new_parent=other, reason="调整隶属")
    moved = {o.code: o for o in Organization.objects.filter(code__in=["A", "A1", "A2"])}
    assert moved["A"].path == f"{other.path}{world.A.pk:06d}/" and moved["A"].depth == 1
    for code in ("A1", "A2"):
        assert moved[code].path == f"{moved['A'].path}{moved[code].pk:06d}/" and moved[code].depth == 2
    assert {o.code for o in Organization.objects.filter(path__startswith=world.U.path)} == {"U", "B", "B1"}


def test_a_secretary_never_moves_a_branch_out_of_its_college_and_a_move_checks_the_kind(world):
    with pytest.raises(PermissionDenied):
        tree.organization_move(actor=world.gb_secretary, organization=world.A1, new_parent=world.B, reason="调整")
    with pytest.raises(ApplicationError, match="党支部不能设在“测试大学党委”下"):
        tree.organization_move(actor=world.org_department, organization=world.A1, new_parent=world.U, reason="调整")
    with pytest.raises(ApplicationError, match="已在"):
        tree.organization_move(actor=world.org_department, organization=world.A1, new_parent=world.A, reason="调整")
    add(world, world.org_department, world.B, "甲一支部", "B2")
    with pytest.raises(ApplicationError, match="已有名为“甲一支部”"):
        tree.organization_move(actor=world.org_department, organization=world.A1, new_parent=world.B, reason="调整")
    world.A1.refresh_from_db()
    assert world.A1.parent == world.A


def test_closing_a_branch_with_members_is_refused_until_they_move(world):
    with pytest.raises(ApplicationError, match="还有 4 名党员"):
        tree.organization_close(actor=world.gb_secretary, organization=world.A2, closed_on=TODAY, reason="撤销")
    for member in world.a2_members:
        services.member_transfer(
            actor=world.org_department, member=member, to_branch=world.A1, transferred_on=TODAY, reason="调整"
        )
    tree.organization_close(actor=world.gb_secretary, organization=world.A2, closed_on=TODAY, reason="撤销")
    world.A2.refresh_from_db()
    assert world.A2.closed_on == TODAY
    event = AuditEvent.objects.get(action="organization.close")
    assert (event.before["closed_on"], event.after["closed_on"]) == (None, TODAY.isoformat())
    with pytest.raises(ApplicationError, match="已于"):
        tree.organization_close(actor=world.gb_secretary, organization=world.A2, closed_on=TODAY, reason="撤销")


def test_a_college_with_open_branches_is_not_closed_and_a_date_ahead_is_refused(world):
    with pytest.raises(ApplicationError, match="撤销日期不能晚于今天"):
        tree.organization_close(
            actor=world.org_department,
            organization=world.A2,
            closed_on=TODAY + datetime.timedelta(days=1),
            reason="撤销",
        )
    tree.organization_merge(
        actor=world.org_department, source=world.B1, target=world.A1, merged_on=TODAY, reason="合并"
    )
    with pytest.raises(ApplicationError, match="还有 12 名党员"):
        tree.organization_close(actor=world.org_department, organization=world.A, closed_on=TODAY, reason="撤销")
    college = add(world, world.org_department, world.U, "丙学院党委", "C", Organization.Kind.GENERAL_BRANCH)
    add(world, world.org_department, college, "丙一支部", "C1")
    with pytest.raises(ApplicationError, match="下还有未撤销的党支部"):
        tree.organization_close(actor=world.org_department, organization=college, closed_on=TODAY, reason="撤销")
    tree.organization_close(actor=world.org_department, organization=world.B, closed_on=TODAY, reason="撤销")


def test_a_closed_branch_takes_no_new_members_transfers_or_appointments(world):
    tree.organization_merge(
        actor=world.org_department, source=world.A2, target=world.A1, merged_on=TODAY, reason="合并"
    )
    world.A2.refresh_from_db()
    new = Member(number="N-1", name="新党员", category=Member.Category.STAFF, branch=world.A2)
    with pytest.raises(ApplicationError, match=r"已于 .* 撤销"):
        services.member_create(actor=world.org_department, member=new)
    with pytest.raises(ApplicationError, match=r"已于 .* 撤销"):
        services.member_transfer(
            actor=world.org_department,
            member=world.a1_members[3],
            to_branch=world.A2,
            transferred_on=TODAY,
            reason="调整",
        )
    with pytest.raises(ApplicationError, match=r"已于 .* 撤销"):
        services.role_assign(
            actor=world.org_department, user=world.member, organization=world.A2, role=Role.RECORDER, starts_on=TODAY
        )
    tree.organization_merge(
        actor=world.org_department, source=world.B1, target=world.A1, merged_on=TODAY, reason="合并"
    )
    tree.organization_close(actor=world.org_department, organization=world.B, closed_on=TODAY, reason="撤销")
    world.B.refresh_from_db()
    with pytest.raises(ApplicationError, match=r"“乙学院党委”已于 .* 撤销"):
        add(world, world.org_department, world.B, "乙二支部", "B2")


def test_a_merge_moves_every_member_by_a_transfer_and_closes_the_branch(world):
    moved = tree.organization_merge(
        actor=world.gb_secretary, source=world.A2, target=world.A1, merged_on=TODAY, reason="支部调整"
    )
    assert {m.pk for m in moved} == {m.pk for m in world.a2_members}
    assert set(Member.objects.filter(branch=world.A1)) >= set(world.a2_members)
    transfers = MemberTransfer.objects.filter(from_branch=world.A2, to_branch=world.A1)
    assert transfers.count() == 4 and all(t.reason == "支部合并：支部调整" for t in transfers)
    world.A2.refresh_from_db()
    assert world.A2.closed_on == TODAY
    assert AuditEvent.objects.filter(action="member.transfer").count() == 4
    assert AuditEvent.objects.get(action="organization.merge").after["members"] == sorted(m.pk for m in moved)


def test_a_merge_is_refused_outside_ones_scope_and_into_itself(world):
    with pytest.raises(PermissionDenied):
        tree.organization_merge(
            actor=world.gb_secretary, source=world.A2, target=world.B1, merged_on=TODAY, reason="合并"
        )
    with pytest.raises(ApplicationError, match="不能并入自己"):
        tree.organization_merge(
            actor=world.org_department, source=world.A2, target=world.A2, merged_on=TODAY, reason="合并"
        )
    with pytest.raises(ApplicationError, match="只能将党支部并入另一个党支部"):
        tree.organization_merge(
            actor=world.org_department, source=world.A2, target=world.B, merged_on=TODAY, reason="合并"
        )
    assert Member.objects.filter(branch=world.A2).count() == 4


def test_the_merged_members_ledger_counts_for_them_in_their_new_branch(world):
    open_year(world, YEAR)
    member = world.a2_members[0]
    scoring.entry_record(
        actor=world.org_department,
        member=member,
        item=item_in_force(member, "A-C02"),
        period=period(1),
        points=2,
        reason="志愿服务",
    )
    before = {t["member_id"]: t["total"] for t in chunk_figures(branches=[world.A2], year=YEAR)[0]}
    tree.organization_merge(
        actor=world.org_department, source=world.A2, target=world.A1, merged_on=TODAY, reason="合并"
    )
    after = {t["member_id"]: t["total"] for t in chunk_figures(branches=[world.A1], year=YEAR)[0]}
    assert after[member.pk] == before[member.pk] and after[member.pk] > after[world.a1_members[3].pk]


def test_a_closed_branch_refuses_entries_from_its_closing_date(world):
    """A member who left before the merge stays with the closed branch's history: entries dated on or
    after the closing are refused, single and in a batch; one dated before is still taken."""
    open_year(world, YEAR)
    left = world.a2_members[3]
    closing = period(1).starts_on + datetime.timedelta(days=40)
    services.member_status_record(
        actor=world.org_department,
        member=left,
        kind="graduated",
        occurred_on=closing - datetime.timedelta(days=5),
        reason="毕业",
    )
    tree.organization_merge(
        actor=world.org_department, source=world.A2, target=world.A1, merged_on=closing, reason="合并"
    )
    left = Member.objects.select_related("branch").get(pk=left.pk)
    item = item_in_force(left, "A-C02")
    message = f"该党员所在的“甲二支部”已于 {closing} 撤销，不能再记分"
    with pytest.raises(ApplicationError, match=message):
        scoring.entry_record(
            actor=world.org_department,
            member=left,
            item=item,
            period=period(1),
            points=2,
            reason="志愿服务",
            occurred_on=closing,
        )
    with pytest.raises(scoring.BulkEntryRefused) as refused:
        scoring.entries_record_bulk(
            actor=world.org_department,
            lines=[scoring.EntryLine(left, item, period(1), 2, "志愿服务", closing + datetime.timedelta(days=1))],
        )
    assert [e.message for e in refused.value.errors] == [message]
    scoring.entry_record(
        actor=world.org_department,
        member=left,
        item=item,
        period=period(1),
        points=2,
        reason="志愿服务",
        occurred_on=closing - datetime.timedelta(days=10),
    )


def test_the_tree_permission_is_held_by_the_organization_department_and_general_branch_secretaries():
    holders = {role for role, granted in perms.ROLE_PERMISSIONS.items() if perms.TREE_MANAGE in granted}
    assert holders == {Role.ORG_DEPARTMENT, Role.GENERAL_BRANCH_SECRETARY}


def test_closing_a_branch_ends_every_role_held_there(world):
    rep, _password = services.role_assign_new_account(
        actor=world.org_department,
        username="R-900",
        full_name="群众代表甲",
        organization=world.A2,
        role=Role.MASS_REPRESENTATIVE,
        starts_on=TODAY,
    )
    held = list(world.A2.role_assignments.filter(revoked_at__isnull=True))
    assert len(held) >= 1
    tree.organization_merge(
        actor=world.gb_secretary, source=world.A2, target=world.A1, merged_on=TODAY, reason="两支部合并"
    )
    assert not world.A2.role_assignments.filter(revoked_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="role.revoke", reason="两支部合并").count() == len(held)
    rep.user.refresh_from_db()
    assert not rep.user.is_active  # a mass representative with no other role has nothing left to do
    assert not perms.has_org_perm(rep.user, perms.MASS_EVALUATE, world.A2)


PERMISSIONS = sorted({p for granted in perms.ROLE_PERMISSIONS.values() for p in granted})


@pytest.mark.parametrize("who", ["admin", "org_department", "gb_secretary", "secretary", "panel", "mass_rep"])
def test_scope_roots_are_the_nodes_where_the_roles_are_held(world, django_assert_num_queries, who):
    """Every permission's roots, from one read of the user's nodes: the same nodes, in tree order,
    as asking the database permission by permission; a role given later shows at once."""
    user = getattr(world, who)
    expected = {}
    for perm in PERMISSIONS:
        paths = perms._granted_paths(user, perm)
        found = (
            Organization.objects.filter(parent__isnull=True)
            if "" in paths
            else Organization.objects.filter(path__in=paths)
        )
        expected[perm] = list(found.order_by("path"))
    with django_assert_num_queries(1 if any(expected.values()) else 0):
        assert {perm: perms.scope_roots(user, perm) for perm in PERMISSIONS} == expected
    if not user.is_superuser:
        services.role_assign(
            actor=world.admin,
            user=user,
            organization=world.B1,
            role=Role.PANEL_MEMBER,
            starts_on=datetime.date(2026, 1, 1),
            reason="测试",
        )  # role_assign forgets what was kept on the user
        assert world.B1 in perms.scope_roots(user, perms.PANEL_SCORE)
