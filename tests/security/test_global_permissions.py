"""No one below the committee's superusers holds a global (model-level) permission.

Every right comes from a role assignment as an object permission on an organization (django-guardian),
inherited down the tree; a global permission would reach every branch at once. The university is built
with every role, the nightly sync is run, and then for each account: no user or group permission, no
staff or superuser flag, `has_perm` without an object refuses every codename of the scored data, and
the object permissions are all on organizations.
"""

import datetime

from django.contrib.auth.models import Permission
from guardian.models import GroupObjectPermission, UserObjectPermission

from members import services
from members.models import Organization, Role, RoleAssignment, User
from tests.builders import build_university

SCORED_APPS = ("scoring", "reviews", "members", "partyscore")


def test_no_role_holder_has_a_global_permission(db):
    world = build_university()
    # One more account holding a role at each level at once, as a secretary who also chairs a college.
    both = world.a1_members[3].user
    for org, role in ((world.A, Role.GENERAL_BRANCH_SECRETARY), (world.A1, Role.BRANCH_COMMITTEE)):
        services.role_assign(actor=world.admin, user=both, organization=org, role=role,
                             starts_on=datetime.date(2020, 1, 1))
    services.role_permissions_sync_all()
    assert set(RoleAssignment.objects.values_list("role", flat=True)) == set(Role.values), "every role is held"

    scored = list(Permission.objects.filter(content_type__app_label__in=SCORED_APPS)
                  .select_related("content_type"))
    assert len(scored) > 50
    # The control: the check below does answer yes, for the committee's superuser (the administrator) alone.
    assert list(User.objects.filter(is_superuser=True)) == [world.admin]
    assert world.admin.has_perm("scoring.add_ledgerentry")
    users = User.objects.filter(is_superuser=False)
    assert users.count() >= 15
    for user in users:
        user = User.objects.get(pk=user.pk)  # no permission cache from earlier checks
        assert not user.is_staff, user
        assert not user.user_permissions.exists(), user
        assert not Permission.objects.filter(group__user=user).exists(), user
        granted = [f"{p.content_type.app_label}.{p.codename}" for p in scored
                   if user.has_perm(f"{p.content_type.app_label}.{p.codename}")]
        assert granted == [], (user, granted)
        assert not user.get_all_permissions(), user
    # Role rights are object permissions on organizations only, and never given to a group.
    assert UserObjectPermission.objects.exists()
    assert set(UserObjectPermission.objects.values_list("content_type__model", flat=True)) == {"organization"}
    assert not GroupObjectPermission.objects.exists()
    assert set(UserObjectPermission.objects.values_list("object_pk", flat=True)) <= {
        str(pk) for pk in Organization.objects.values_list("pk", flat=True)}

