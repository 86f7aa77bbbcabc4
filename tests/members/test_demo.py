from django.core.management import call_command

from members import permissions as perms
from members.demo import DEMO_PASSWORD
from members.models import Member, Organization, Role, RoleAssignment, User
from scoring.chain_verify import verify


def test_seed_demo_builds_the_documented_university_once(db):
    call_command("seed_demo")
    call_command("seed_demo")
    assert Organization.objects.filter(kind="general_branch").count() == 4
    assert Organization.objects.filter(kind="branch").count() == 16
    assert Member.objects.count() == 800
    assert set(RoleAssignment.objects.values_list("role", flat=True)) == set(Role.values)
    # The README's accounts work and hold the roles it names.
    secretary = User.objects.get(username="T101001")
    assert secretary.check_password(DEMO_PASSWORD)
    law01 = Organization.objects.get(code="LAW-01")
    assert perms.has_org_perm(secretary, perms.ROSTER_MANAGE, law01)
    assert not perms.has_org_perm(secretary, perms.ROSTER_VIEW, Organization.objects.get(code="LAW-02"))
    assert perms.has_org_perm(User.objects.get(username="T101006"), perms.ROSTER_VIEW,
                              Organization.objects.get(code="LAW-04"))
    assert perms.has_org_perm(User.objects.get(username="zzb01"), perms.AUDIT_VIEW, law01)
    assert not hasattr(User.objects.get(username="qz1011"), "member")
    # The demo ledger is written through the hash chain: `make run` then `verify_ledger` is clean.
    assert verify().intact
