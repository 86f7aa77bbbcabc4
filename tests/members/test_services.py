import datetime
import itertools

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction

from members import permissions as perms
from members import services
from members.models import Member, Role, User
from partyscore.core.audit import event_hash
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent


def test_permissions_inherit_down_the_tree_and_stop_at_siblings(world):
    assert perms.has_org_perm(world.org_department, perms.ROSTER_VIEW, world.B1)
    assert perms.has_org_perm(world.gb_secretary, perms.ROSTER_VIEW, world.A2)
    assert not perms.has_org_perm(world.gb_secretary, perms.ROSTER_VIEW, world.B1)
    assert perms.has_org_perm(world.secretary, perms.ROSTER_MANAGE, world.A1)
    assert not perms.has_org_perm(world.secretary, perms.ROSTER_VIEW, world.A2)
    assert not perms.has_org_perm(world.mass_rep, perms.ROSTER_VIEW, world.A1)
    assert set(perms.orgs_with_perm(world.gb_secretary, perms.ROSTER_VIEW)) == {world.A, world.A1, world.A2}


def test_revoking_a_role_removes_its_permissions(world):
    assignment = world.secretary.role_assignments.get(role=Role.BRANCH_SECRETARY)
    services.role_revoke(actor=world.admin, assignment=assignment, reason="换届")
    assert not perms.has_org_perm(world.secretary, perms.ROSTER_MANAGE, world.A1)
    assert AuditEvent.objects.filter(action="role.revoke", target_id=str(assignment.pk)).exists()


def test_a_term_grants_its_rights_from_its_first_day_to_its_last_with_no_job(world):
    """The checks read the terms themselves: nothing stored beside them waits for a job to change."""
    services.role_assign(
        actor=world.admin,
        user=world.member,
        organization=world.A1,
        role=Role.RECORDER,
        starts_on=datetime.date(2020, 3, 1),
        ends_on=datetime.date(2020, 12, 31),
    )
    for day, holds in (((2020, 2, 29), False), ((2020, 3, 1), True), ((2020, 12, 31), True), ((2021, 1, 1), False)):
        with time_machine.travel(datetime.datetime(*day, 12, tzinfo=datetime.UTC), tick=False):
            fresh = User.objects.get(pk=world.member.pk)
            assert perms.has_org_perm(fresh, perms.ROSTER_VIEW, world.A1) is holds, day
            assert perms.has_org_perm(fresh, perms.ENTRY_RECORD, world.A1) is holds, day


def test_a_secretary_staffs_their_branch_but_cannot_appoint_secretaries_or_go_elsewhere(world):
    services.role_assign(
        actor=world.secretary,
        user=world.member,
        organization=world.A1,
        role=Role.RECORDER,
        starts_on=datetime.date(2024, 1, 1),
    )
    with pytest.raises(PermissionDenied):
        services.role_assign(
            actor=world.secretary,
            user=world.member,
            organization=world.A1,
            role=Role.BRANCH_SECRETARY,
            starts_on=datetime.date(2024, 1, 1),
        )
    with pytest.raises(PermissionDenied):
        services.role_assign(
            actor=world.secretary,
            user=world.member,
            organization=world.A2,
            role=Role.RECORDER,
            starts_on=datetime.date(2024, 1, 1),
        )


def test_a_role_is_held_at_the_right_kind_of_node(world):
    with pytest.raises(ApplicationError, match="只能在党支部任命"):
        services.role_assign(
            actor=world.admin,
            user=world.member,
            organization=world.A,
            role=Role.RECORDER,
            starts_on=datetime.date(2024, 1, 1),
        )


def test_transfer_keeps_history_and_needs_both_branches(world):
    mover = world.a1_members[3]
    with pytest.raises(PermissionDenied):
        services.member_transfer(
            actor=world.secretary, member=mover, to_branch=world.A2, transferred_on=datetime.date(2024, 3, 1)
        )
    services.member_transfer(
        actor=world.org_department,
        member=mover,
        to_branch=world.A2,
        transferred_on=datetime.date(2024, 3, 1),
        reason="调动",
    )
    mover.refresh_from_db()
    assert mover.branch == world.A2
    transfer = mover.transfers.get()
    assert (transfer.from_branch, transfer.to_branch) == (world.A1, world.A2)
    event = AuditEvent.objects.get(action="member.transfer")
    assert event.before == {"branch": world.A1.pk} and event.reason == "调动"


def test_exemption_needs_the_committees_approval(world):
    member = world.a1_members[3]
    services.member_exemption_request(actor=world.secretary, member=member, reason="年老体弱")
    member.refresh_from_db()
    assert not member.exempt
    with pytest.raises(PermissionDenied):
        services.member_exemption_decide(actor=world.secretary, member=member, approve=True)
    services.member_exemption_decide(actor=world.org_department, member=member, approve=True)
    member.refresh_from_db()
    assert member.exempt and member.exemption_approved_by == world.org_department
    actions = list(AuditEvent.objects.filter(target_id=str(member.pk)).values_list("action", flat=True))
    assert {"member.exemption_request", "member.exemption_approve"} <= set(actions)


def test_member_update_refuses_a_branch_change_and_records_before_and_after(world):
    member = world.a1_members[3]
    with pytest.raises(ApplicationError):
        services.member_update(actor=world.secretary, member=member, data={"branch": world.A2})
    services.member_update(actor=world.secretary, member=member, data={"phone": "13900000000"}, reason="更正")
    event = AuditEvent.objects.get(action="member.update")
    assert event.before["phone"] == "" and event.after["phone"] == "13900000000"
    assert event.actor == world.secretary


def test_probationary_members_need_a_probation_start(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.create(number="X1", name="甲", category="staff", status="probationary", branch=world.A1)


def test_the_audit_log_is_append_only_in_the_database(world):
    event = AuditEvent.objects.first()
    for sql in (
        'UPDATE "partyscore_auditevent" SET reason = %s WHERE id = %s',
        'DELETE FROM "partyscore_auditevent" WHERE id = %s AND %s IS NOT NULL',
    ):
        params = ["x", event.pk] if sql.startswith("UPDATE") else [event.pk, "x"]
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert AuditEvent.objects.filter(pk=event.pk, reason=event.reason).exists()


def test_the_audit_chain_links_each_event_to_the_one_before(world):
    """Each organization's events form a chain of their own (the root chain 0 for none)."""
    chains = {}
    for event in AuditEvent.objects.order_by("id"):
        chains.setdefault(event.chain, []).append(event)
    assert len(chains) > 1
    for chain, events in chains.items():
        assert events[0].prev_hash == ""
        assert chain == (events[0].organization_id or 0)
        for event in events:
            assert event.hash == event_hash(
                prev_hash=event.prev_hash,
                created_at=event.created_at,
                actor_id=event.actor_id,
                action=event.action,
                target_type=event.target_type,
                target_id=event.target_id,
                before=event.before,
                after=event.after,
                reason=event.reason,
                chain=event.chain,
            )
        for previous, event in itertools.pairwise(events):
            assert event.prev_hash == previous.hash
