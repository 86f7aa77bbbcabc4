"""A small university for tests, built through the services like real data.

    U (committee) ── A (college) ── A1, A2 (branches)
                  └─ B (college) ── B1
Each branch has `size` members; A1's role holders are its first members, as in the demo,
and its last member holds no role.
"""

import datetime
from types import SimpleNamespace

from members import services
from members.models import Member, Organization, Role, User

PASSWORD = "Test@Pass-2026"


def make_user(username, full_name=""):
    user = User(username=username, full_name=full_name or username)
    user.set_password(PASSWORD)
    user.save()
    return user


def add_members(branch, count, *, start=1, category=Member.Category.STAFF, with_accounts=False):
    """Bulk-add plain members (no audit: test data that is not under test)."""
    members = [
        Member(number=f"{branch.code}-{i:05d}", name=f"党员{branch.code}{i}", category=category, branch=branch)
        for i in range(start, start + count)
    ]
    if with_accounts:
        for member in members:
            member.user = make_user(member.number, member.name)
    return Member.objects.bulk_create(members)


def build_university(size=4):
    assert size >= 4, "A1 needs a secretary, a committee member, a panelist and a plain member"
    admin = User.objects.create_superuser("root", password=PASSWORD, full_name="管理员")
    mk = services.organization_create
    u = mk(actor=admin, name="测试大学党委", code="U", kind=Organization.Kind.COMMITTEE)
    a = mk(actor=admin, name="甲学院党委", code="A", kind=Organization.Kind.GENERAL_BRANCH, parent=u)
    b = mk(actor=admin, name="乙学院党委", code="B", kind=Organization.Kind.GENERAL_BRANCH, parent=u)
    a1 = mk(actor=admin, name="甲一支部", code="A1", kind=Organization.Kind.BRANCH, parent=a)
    a2 = mk(actor=admin, name="甲二支部", code="A2", kind=Organization.Kind.BRANCH, parent=a)
    b1 = mk(actor=admin, name="乙一支部", code="B1", kind=Organization.Kind.BRANCH, parent=b)
    w = SimpleNamespace(admin=admin, U=u, A=a, B=b, A1=a1, A2=a2, B1=b1)
    w.a1_members = add_members(a1, size, with_accounts=True)
    w.a2_members = add_members(a2, size, with_accounts=True)
    w.b1_members = add_members(b1, size, with_accounts=True)
    start = datetime.date(2020, 1, 1)

    def give(user, org, role):
        services.role_assign(actor=admin, user=user, organization=org, role=role, starts_on=start)
        return user

    w.org_department = give(make_user("org"), u, Role.ORG_DEPARTMENT)
    w.gb_secretary = give(make_user("gbsec"), a, Role.GENERAL_BRANCH_SECRETARY)
    w.secretary = give(w.a1_members[0].user, a1, Role.BRANCH_SECRETARY)
    w.committee = give(w.a1_members[1].user, a1, Role.BRANCH_COMMITTEE)
    w.panel = give(w.a1_members[2].user, a1, Role.PANEL_MEMBER)
    w.recorder = give(make_user("recorder"), a1, Role.RECORDER)
    w.mass_rep = give(make_user("massrep"), a1, Role.MASS_REPRESENTATIVE)
    w.member = w.a1_members[-1].user  # a plain member of A1 with no role
    return w
