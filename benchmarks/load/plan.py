"""The load test's accounts and the ids their pages need, read from the seeded demo university.

Runs inside Django (the driver); the locustfile only reads the JSON this returns. Every simulated
user gets an account of its own, so the login lockout (per username and address) never counts one
user's requests against another's.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from members.models import Member, Organization, Role, RoleAssignment, User
from members.services import role_assign
from partyscore.demo.university import DEMO_PASSWORD
from reviews import services as reviews
from scoring.models import RuleItem, Scheme
from scoring.selectors import current_cycle, current_period, deadlines_for, schemes_in_force
from scoring.services import period_limit

# 组织部 has one demo account; a university's department has a few people on the system at once.
COMMITTEE_ACCOUNTS = 6
MEMBERS_PER_BRANCH = 8  # plain members (no role) taken from every branch
SAMPLE = 40  # members a secretary or the committee opens, per account


def _holders(role, branches=None):
    rows = RoleAssignment.objects.filter(role=role, revoked_at__isnull=True).select_related("user", "organization")
    if branches is not None:
        rows = rows.filter(organization__in=branches)
    return sorted(rows, key=lambda r: r.user.username)


def _committee_accounts(committee, year):
    admin = User.objects.get(username="admin")
    names = [f"zzb{n:02d}" for n in range(1, COMMITTEE_ACCOUNTS + 1)]
    for name in names:
        if not User.objects.filter(username=name).exists():
            user = User.objects.create_user(username=name, full_name=f"组织部 {name}", password=DEMO_PASSWORD)
            role_assign(
                actor=admin,
                user=user,
                organization=committee,
                role=Role.ORG_DEPARTMENT,
                starts_on=datetime.date(year, 1, 1),
                reason="压力测试账号",
            )
    return names


def _writable_items(scheme):
    """Items a secretary can record with no evidence, many times a period: [(id, points)]."""
    rows = []
    for item in scheme.items.filter(
        kind__in=(RuleItem.Kind.BONUS, RuleItem.Kind.PENALTY), evidence_required=False, times_per_period__isnull=True
    ):
        points = item.points_min or item.points_max
        if all(cap is None or cap >= 5 * points for cap in (item.cap_per_period, item.cap_per_year)):
            rows.append([item.pk, str(points)])
    return rows


def _scored_items(scheme):
    """The items a self-assessment or panel score form shows, with the most each may take: [(id, centi)]."""
    return [[item.pk, period_limit(item)] for item in scheme.items.exclude(kind=RuleItem.Kind.VETO)]


@transaction.atomic
def build_plan():
    today = timezone.localdate()
    cycle = current_cycle()
    year = cycle.year
    committee = Organization.objects.get(parent__isnull=True)
    colleges = list(Organization.objects.filter(kind=Organization.Kind.GENERAL_BRANCH).order_by("code"))
    branches = list(Organization.objects.filter(kind=Organization.Kind.BRANCH).order_by("code"))
    schemes = {b.pk: schemes_in_force(branch=b, year=year) for b in branches}
    # Self-assessment and panel scoring (考绩) are Policy A's: hundred-point semester schemes.
    policy_a = [b for b in branches if all(s.composition == Scheme.Composition.HUNDRED for s in schemes[b.pk].values())]
    members = {
        b.pk: list(
            Member.objects.filter(branch=b, left_on__isnull=True, exempt=False)
            .order_by("number")
            .values_list("pk", flat=True)
        )
        for b in branches
    }
    role_users = set(RoleAssignment.objects.values_list("user_id", flat=True))

    def scheme_of(branch):
        """The demo's branches are all-staff or all-student: the scheme of that category."""
        return schemes[branch.pk][branch.category]

    semester = current_period(year=year, kind="semester", today=today)
    accounts = {role: [] for role in ("committee", "college", "branch", "member", "panelist", "mass")}
    for name in _committee_accounts(committee, year):
        accounts["committee"].append(
            {
                "username": name,
                "committee": committee.pk,
                "year": year,
                "college": [c.pk for c in colleges],
                "branch": [b.pk for b in branches],
                "member": [m for b in branches for m in members[b.pk][:2]],
            }
        )
    for holder in _holders(Role.GENERAL_BRANCH_SECRETARY):
        college = holder.organization
        mine = [b for b in branches if b.parent_id == college.pk]
        accounts["college"].append(
            {
                "username": holder.user.username,
                "college": college.pk,
                "year": year,
                "period": semester.pk,
                "branch": [b.pk for b in mine],
                "member": [m for b in mine for m in members[b.pk][: SAMPLE // len(mine) + 1]],
            }
        )
    for holder in _holders(Role.BRANCH_SECRETARY):
        branch = holder.organization
        scheme = scheme_of(branch)
        period = current_period(year=year, kind=scheme.period_kind, today=today)
        accounts["branch"].append(
            {
                "username": holder.user.username,
                "branch": branch.pk,
                "year": year,
                "period": period.pk,
                "member": members[branch.pk][:SAMPLE],
                "record_items": _writable_items(scheme),
            }
        )
    for holder in _holders(Role.PANEL_MEMBER, policy_a):
        branch = holder.organization
        scheme = scheme_of(branch)
        me = holder.user.member.pk
        accounts["panelist"].append(
            {
                "username": holder.user.username,
                "branch": branch.pk,
                "period": semester.pk,
                "me": me,
                "member": [m for m in members[branch.pk] if m != me],
                "panel_items": _scored_items(scheme),
            }
        )
    mass_due = {
        b.pk: next((d.due_on for d in deadlines_for(organization=b, cycle=cycle) if d.code == "A-MASSES"), today)
        for b in branches
    }
    for holder in _holders(Role.MASS_REPRESENTATIVE):
        accounts["mass"].append(
            {
                "username": holder.user.username,
                "branch": holder.organization.pk,
                "evaluate": today <= mass_due[holder.organization_id],
            }
        )
    for branch in branches:
        plain = (
            Member.objects.filter(pk__in=members[branch.pk], user__isnull=False)
            .exclude(user_id__in=role_users)
            .select_related("user")
            .order_by("number")[:MEMBERS_PER_BRANCH]
        )
        for member in plain:
            account = {"username": member.user.username, "me": member.pk, "year": year}
            scheme = schemes[branch.pk].get(member.category)
            if branch in policy_a and scheme is not None:
                _self_assessment_open(member, semester, today)
                account.update(self_period=semester.pk, self_items=_scored_items(scheme))
            accounts["member"].append(account)
    # Interleave members of every branch, so 20 simulated members are not all from one branch.
    accounts["member"].sort(key=lambda a: (a["username"][-3:], a["username"]))
    return {"password": DEMO_PASSWORD, "year": year, "accounts": accounts}


def _self_assessment_open(member, period, today):
    """After the deadline a draft can only be saved once the secretary reopens it: do so, as the
    secretary would, so the load test's write works on any day of the year."""
    if today <= reviews.self_assessment_deadline(period, member.branch):
        return
    secretary = RoleAssignment.objects.get(organization=member.branch, role=Role.BRANCH_SECRETARY).user
    reviews.self_assessment_reopen(
        actor=secretary,
        member=member,
        period=period,
        until=today + datetime.timedelta(days=7),
        reason="压力测试：开放补交",
    )
