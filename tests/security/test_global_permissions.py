"""No one below the committee's superusers holds a Django permission, global or per object.

Every right comes from a role term in force at an organization (members/permissions.py), inherited
down the tree; a global permission would reach every branch at once. The university is built with
every role, and then for each account: no user or group permission, no staff or superuser flag, and
Django's `has_perm`, with or without an organization, refuses every codename of the scored data and
every permission of the roles: nothing in Django's permission tables can grant what the terms do not.
"""

import datetime

from django.contrib.auth.models import Permission

from members import permissions as perms
from members import services
from members.models import Role, RoleAssignment, User
from tests.builders import build_university

SCORED_APPS = ("scoring", "reviews", "members", "partyscore")


def test_no_role_holder_has_a_global_permission(db):
    world = build_university()
    # One more account holding a role at each level at once, as a secretary who also chairs a college.
    both = world.a1_members[3].user
    for org, role in ((world.A, Role.GENERAL_BRANCH_SECRETARY), (world.A1, Role.BRANCH_COMMITTEE)):
        services.role_assign(
            actor=world.admin, user=both, organization=org, role=role, starts_on=datetime.date(2020, 1, 1)
        )
    assert set(RoleAssignment.objects.values_list("role", flat=True)) == set(Role.values), "every role is held"

    scored = list(Permission.objects.filter(content_type__app_label__in=SCORED_APPS).select_related("content_type"))
    assert len(scored) > 50
    # The control: the check below does answer yes, for the committee's superuser (the administrator) alone.
    assert list(User.objects.filter(is_superuser=True)) == [world.admin]
    assert world.admin.has_perm("scoring.add_ledgerentry")
    role_codenames = set().union(*perms.ROLE_PERMISSIONS.values())
    users = User.objects.filter(is_superuser=False)
    assert users.count() >= 15
    for user in users:
        user = User.objects.get(pk=user.pk)  # no permission cache from earlier checks
        assert not user.is_staff, user
        assert not user.user_permissions.exists(), user
        assert not Permission.objects.filter(group__user=user).exists(), user
        granted = [
            f"{p.content_type.app_label}.{p.codename}"
            for p in scored
            if user.has_perm(f"{p.content_type.app_label}.{p.codename}")
        ]
        assert granted == [], (user, granted)
        assert not user.get_all_permissions(), user
        for org in (world.U, world.A, world.A1):
            assert not user.get_all_permissions(org), (user, org)
            assert not any(user.has_perm(f"members.{codename}", org) for codename in role_codenames), (user, org)
    # The rights are there, from the terms: the secretary runs A1 and the department the whole tree.
    assert perms.has_org_perm(world.secretary, perms.ROSTER_MANAGE, world.A1)
    assert perms.has_org_perm(world.org_department, perms.OVERSEE, world.B1)
