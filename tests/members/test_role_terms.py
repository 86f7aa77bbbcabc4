"""A role grants its rights while its term is in force, today in Asia/Shanghai, and not a moment
longer: one filter (`RoleAssignment.objects.active_on`) feeds the permission checks, the lists of
holders and the services alike, and nothing is stored beside the terms that a job must rebuild."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from members import permissions as perms
from members import selectors, services
from members.models import Organization, Role, RoleAssignment, User
from reviews.rhythm import Tree
from tests.builders import make_user

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TODAY = datetime.date(2024, 6, 15)
YESTERDAY, TOMORROW = TODAY - datetime.timedelta(days=1), TODAY + datetime.timedelta(days=1)
TERM_BEGAN = datetime.date(2024, 1, 1)


@pytest.fixture
def today():
    with time_machine.travel(datetime.datetime.combine(TODAY, datetime.time(12), tzinfo=SHANGHAI), tick=False):
        yield TODAY


def fresh(user):
    """The user as the next request loads it: no permissions kept from earlier checks."""
    return User.objects.get(pk=user.pk)


def may_appoint_a_recorder(user, world):
    try:
        services.role_assign(
            actor=fresh(user), user=world.member, organization=world.A1, role=Role.RECORDER, starts_on=TODAY
        )
    except PermissionDenied:
        return False
    return True


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "in_force"),
    [
        (TERM_BEGAN, YESTERDAY, False),  # ended yesterday
        (TOMORROW, None, False),  # begins tomorrow
        (TERM_BEGAN, TODAY, True),  # its last day
        (TODAY, None, True),  # its first day
    ],
    ids=["ended-yesterday", "starts-tomorrow", "last-day", "first-day"],
)
def test_a_term_grants_its_rights_on_its_days_only_everywhere_at_once(
    world, client, today, starts_on, ends_on, in_force
):
    secretary = make_user("a1sec2", "甲一副书记")
    services.role_assign(
        actor=world.admin,
        user=secretary,
        organization=world.A1,
        role=Role.BRANCH_SECRETARY,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    # The checks.
    assert perms.has_org_perm(fresh(secretary), perms.ROSTER_MANAGE, world.A1) is in_force
    assert perms.holds_anywhere(fresh(secretary), perms.BRANCH_RUN) is in_force
    assert (world.A1 in perms.orgs_with_perm(fresh(secretary), perms.ROSTER_VIEW)) is in_force
    # The pages.
    client.force_login(secretary)
    expected = 200 if in_force else 403
    assert client.get(reverse("org_roles", args=[world.A1.pk])).status_code == expected
    assert client.get(reverse("member_list", args=[world.A1.pk])).status_code == expected
    # The lists of holders: who may act, whom to ask, the header's roles, the daily run's recipients.
    assert (secretary in selectors.users_with_perm(organization=world.A1, perm=perms.ROSTER_MANAGE)) is in_force
    helpers = selectors.who_can_help(user=fresh(world.member))[0]
    assert helpers["org"] == world.A1 and ("甲一副书记" in helpers["names"]) is in_force
    assert selectors.roles_of(user=secretary).exists() is in_force
    assert (secretary.pk in Tree(TODAY.year).holders[(world.A1.pk, Role.BRANCH_SECRETARY)]) is in_force
    overview = {row["role"]: row["holders"] for row in selectors.two_factor_overview(actor=world.org_department)}
    assert overview[Role.BRANCH_SECRETARY] == 1 + in_force  # the world's own secretary, and this one
    # The services.
    assert may_appoint_a_recorder(secretary, world) is in_force


def test_a_college_secretary_out_of_office_is_not_listed_for_its_branches(world, today):
    assert list(selectors.general_branch_secretaries(branch=world.A1)) == [world.gb_secretary]
    world.gb_secretary.role_assignments.update(ends_on=YESTERDAY)
    assert list(selectors.general_branch_secretaries(branch=world.A1)) == []
    assert not perms.has_org_perm(fresh(world.gb_secretary), perms.ROSTER_VIEW, world.A1)


def test_a_mass_representative_out_of_office_is_not_listed_for_the_college(world, today):
    assert [a.user for a in selectors.mass_representatives_below(actor=world.gb_secretary, organization=world.A)] == [
        world.mass_rep
    ]
    world.mass_rep.role_assignments.update(ends_on=YESTERDAY)
    assert not selectors.mass_representatives_below(actor=world.gb_secretary, organization=world.A).exists()
    assert not perms.holds_anywhere(fresh(world.mass_rep), perms.MASS_EVALUATE)


def test_the_day_is_shanghais(world):
    """A term that ended on 30 June is over at 00:30 on 1 July in Shanghai, though it is still
    30 June in UTC, and in force at 23:30 on 30 June."""
    world.secretary.role_assignments.update(ends_on=datetime.date(2024, 6, 30))
    for moment, holds in (
        (datetime.datetime(2024, 6, 30, 23, 30, tzinfo=SHANGHAI), True),
        (datetime.datetime(2024, 7, 1, 0, 30, tzinfo=SHANGHAI), False),
    ):
        with time_machine.travel(moment, tick=False):
            assert perms.has_org_perm(fresh(world.secretary), perms.ROSTER_MANAGE, world.A1) is holds, moment
            assert (
                world.secretary in selectors.users_with_perm(organization=world.A1, perm=perms.ROSTER_MANAGE)
            ) is holds, moment


def test_a_revoked_role_loses_its_rights_on_the_next_request(world, login, today):
    panelist = login(world.panel)
    assert panelist.get(reverse("org_roles", args=[world.A1.pk])).status_code == 200
    gb_secretary = Client()
    gb_secretary.force_login(world.gb_secretary)
    response = gb_secretary.post(
        reverse("org_roles", args=[world.A1.pk]),
        {"action": "revoke", "assignment": world.panel.role_assignments.get().pk, "reason": "调离"},
    )
    assert response.status_code == 302
    # No job runs in between: the very next request is refused, and no list names them any more.
    assert panelist.get(reverse("org_roles", args=[world.A1.pk])).status_code == 403
    assert not perms.holds_anywhere(fresh(world.panel), perms.PANEL_SCORE)
    assert world.panel not in selectors.users_with_perm(organization=world.A1, perm=perms.PANEL_SCORE)
    assert not selectors.roles_of(user=world.panel).exists()


def test_a_revocation_clears_the_permissions_kept_on_the_revoked_account(world, today):
    """Within one request too: the revoked account's permissions read earlier are not reused."""
    assignment = RoleAssignment.objects.select_related("user", "organization").get(user=world.recorder)
    recorder = assignment.user
    assert perms.has_org_perm(recorder, perms.ENTRY_RECORD, world.A1)
    services.role_revoke(actor=world.secretary, assignment=assignment, reason="调离")
    assert not perms.has_org_perm(recorder, perms.ENTRY_RECORD, world.A1)


# Terms of every shape, for the agreement below.
TERMS = {
    "open": (TERM_BEGAN, None),
    "last-day": (TERM_BEGAN, TODAY),
    "first-day": (TODAY, None),
    "ended": (TERM_BEGAN, YESTERDAY),
    "future": (TOMORROW, None),
    "revoked": (TERM_BEGAN, None),
}
HELD_AT = {Organization.Kind.COMMITTEE: "U", Organization.Kind.GENERAL_BRANCH: "A", Organization.Kind.BRANCH: "A1"}


def test_the_permission_check_and_the_lists_of_holders_agree(world, today):
    """Every role, under every shape of term: whoever the check lets do a thing at a node is
    exactly whom the list of holders names for it, at every node of the tree."""
    holders = []
    for role in Role:
        org = getattr(world, HELD_AT[perms.ROLE_ORG_KIND[role]])
        for shape, (starts_on, ends_on) in TERMS.items():
            user = make_user(f"{role.value}-{shape}")
            assignment = services.role_assign(
                actor=world.admin, user=user, organization=org, role=role, starts_on=starts_on, ends_on=ends_on
            )
            if shape == "revoked":
                services.role_revoke(actor=world.admin, assignment=assignment, reason="撤销")
            holders.append((user, shape in {"open", "last-day", "first-day"}))
    orgs = list(Organization.objects.all())
    all_perms = sorted(set().union(*perms.ROLE_PERMISSIONS.values()))
    listed = {
        (org.pk, perm): set(selectors.users_with_perm(organization=org, perm=perm))
        for org in orgs
        for perm in all_perms
    }
    for user, in_force in holders:
        user = fresh(user)
        granted = {(org.pk, perm) for org in orgs for perm in all_perms if perms.has_org_perm(user, perm, org)}
        assert bool(granted) is in_force, user
        assert granted == {key for key, users in listed.items() if user in users}, user
        assert selectors.roles_of(user=user).exists() is in_force, user
