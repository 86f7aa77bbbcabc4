"""The demo university: a committee, 4 colleges, 16 branches, ~800 members, every role held.

Deterministic (a fixed random seed) so the README can name its accounts. Every account's
password is DEMO_PASSWORD.
"""

import datetime
import random

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from members.models import Member, Organization, Role, RoleAssignment, User
from members.services import organization_create
from partyscore.core.audit import audit_record

DEMO_PASSWORD = "Demo@2026"  # noqa: S105 — the documented password of the demo accounts
UNIVERSITY_CODE = "UNI"

COLLEGES = [
    ("LAW", "法学院党委"),
    ("CS", "计算机学院党委"),
    ("LIT", "文学院党总支"),
    ("ME", "机械工程学院党委"),
]
# Per college: two staff branches and two student branches, with their sizes.
BRANCHES = [
    ("教工第一党支部", Organization.Category.STAFF, 34),
    ("教工第二党支部", Organization.Category.STAFF, 30),
    ("本科生党支部", Organization.Category.STUDENT, 66),
    ("研究生党支部", Organization.Category.STUDENT, 70),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌宇浩凯晨欣雨婷琳雪梅"


DEFAULT_MEMBERS = sum(size for _name, _category, size in BRANCHES) * len(COLLEGES)  # 800


def college_branches(member_count):
    """One college's branches and their sizes for a university of `member_count` members.

    Larger universities repeat the four branches of the default (so branches keep 30–80
    members, as real ones do) and resize them by cumulative rounding so the total is exact;
    the default 800 gives exactly BRANCHES."""
    copies = max(1, round(member_count / DEFAULT_MEMBERS))
    scale = member_count / (DEFAULT_MEMBERS * copies)
    plan, cumulative, placed = [], 0, 0
    for copy in range(copies):
        for name, category, size in BRANCHES:
            cumulative += size
            upto = round(cumulative * scale)
            plan.append((name if copy == 0 else f"{name}（{copy + 1}）", category, upto - placed))
            placed = upto
    if len(plan) > 99:  # branch codes and member numbers have two digits for the branch
        raise ValueError(f"{member_count} members need more than 99 branches per college")
    return plan


def member_number(category, college_index, branch_index, seq):
    """Staff numbers start with T, student numbers with S: T101001 is college 1, branch 01, No. 001."""
    prefix = "T" if category == Organization.Category.STAFF else "S"
    return f"{prefix}{college_index}{branch_index:02d}{seq:03d}"


def demo_loaded():
    return Organization.objects.filter(code=UNIVERSITY_CODE).exists()


@transaction.atomic
def demo_university_seed(*, year=None, member_count=DEFAULT_MEMBERS):
    """Load the demo university unless it is there already. Returns False when it was.

    `member_count` scales it (the load test uses 5,000); every college gets a quarter."""
    if demo_loaded():
        return False
    rng = random.Random(2026)  # noqa: S311 — deterministic demo data, not secrets
    year = year or timezone.localdate().year
    term_start = datetime.date(year, 1, 1)
    password_hash = make_password(DEMO_PASSWORD)

    admin = User.objects.create(
        username="admin", full_name="系统管理员", is_staff=True, is_superuser=True, password=password_hash
    )
    university = organization_create(
        actor=admin, name="中共示范大学委员会", code=UNIVERSITY_CODE, kind=Organization.Kind.COMMITTEE
    )
    org_staff = User.objects.create(username="zzb01", full_name="组织部 周敏", password=password_hash)
    assignments = [(org_staff, university, Role.ORG_DEPARTMENT)]

    branches = college_branches(member_count)
    members, users = [], []
    for c, (college_code, college_name) in enumerate(COLLEGES, start=1):
        college = organization_create(
            actor=admin, name=college_name, code=college_code, kind=Organization.Kind.GENERAL_BRANCH, parent=university
        )
        for b, (branch_name, category, size) in enumerate(branches, start=1):
            branch = organization_create(
                actor=admin,
                name=branch_name,
                code=f"{college_code}-{b:02d}",
                kind=Organization.Kind.BRANCH,
                parent=college,
                category=category,
            )
            is_staff_branch = category == Organization.Category.STAFF
            for seq in range(1, size + 1):
                name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
                number = member_number(category, c, b, seq)
                probationary = rng.random() < (0.03 if is_staff_branch else 0.22)
                user = User(username=number, full_name=name, password=password_hash)
                users.append(user)
                members.append(
                    Member(
                        number=number,
                        name=name,
                        category=Member.Category.STAFF if is_staff_branch else Member.Category.STUDENT,
                        status=Member.Status.PROBATIONARY if probationary else Member.Status.FULL,
                        probation_start=datetime.date(year - 1, rng.randint(1, 12), 1) if probationary else None,
                        is_cadre=is_staff_branch and rng.random() < 0.15,
                        branch=branch,
                        joined_party_on=datetime.date(year - rng.randint(1, 25), rng.randint(1, 12), 1),
                        phone=f"13{rng.randint(100000000, 999999999)}",
                        email=f"{number.lower()}@demo.edu.cn",
                    )
                )
            # Role holders are the branch's first members; mass representatives have no member record.
            prefix = len(users) - size
            assignments += [
                (users[prefix], branch, Role.BRANCH_SECRETARY),
                (users[prefix + 1], branch, Role.BRANCH_COMMITTEE),
                (users[prefix + 2], branch, Role.BRANCH_COMMITTEE),
                (users[prefix + 1], branch, Role.PANEL_MEMBER),
                (users[prefix + 2], branch, Role.PANEL_MEMBER),
                (users[prefix + 3], branch, Role.PANEL_MEMBER),
                (users[prefix + 4], branch, Role.RECORDER),
            ]
            for k in range(1, 6):  # five: the fewest answers whose results are shown
                rep = User(username=f"qz{c}{b:02d}{k}", full_name=f"群众代表{c}-{b}-{k}", password=password_hash)
                users.append(rep)
                assignments.append((rep, branch, Role.MASS_REPRESENTATIVE))
        # The college's secretary is a staff member of its first branch (the sixth on its roster).
        first_staff_number = member_number(Organization.Category.STAFF, c, 1, 6)
        assignments.append(
            (next(u for u in users if u.username == first_staff_number), college, Role.GENERAL_BRANCH_SECRETARY)
        )

    User.objects.bulk_create(users)
    by_username = {u.username: u for u in User.objects.filter(username__in=[u.username for u in users])}
    for member in members:
        member.user = by_username[member.number]
    Member.objects.bulk_create(members)
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(
                user=by_username.get(user.username, user),
                organization=org,
                role=role,
                starts_on=term_start,
                assigned_by=admin,
            )
            for user, org, role in assignments
        ]
    )
    entries = _seed_scoring(admin, university, year, rng)
    audit_record(
        actor=admin,
        action="demo.seed",
        target=university,
        organization=university,
        after={
            "members": len(members),
            "accounts": len(users) + 2,
            "roles": len(assignments),
            "ledger_entries": entries,
        },
        reason="演示数据",
    )
    return True


# Policy B (亮化记分) in these colleges; the others follow Policy A (先锋亮绩、积分管理).
POLICY_B_COLLEGES = ("LIT", "ME")


def _seed_scoring(admin, university, year, rng):
    """Last year opened, scored, determined at each branch meeting and archived; this year rolled
    over from it, LAW-01's own detailed rules approved again, and a plausible ledger for every
    member up to today (recorded by each branch's recorder). Returns the ledger lines written."""
    from reviews import rollover
    from scoring import services as scoring

    last = year - 1
    scoring.cycle_open(actor=admin, year=last, committee=university)
    _publish_schemes(admin, university, last)
    entries = _seed_ledger(admin, last, rng, upto=datetime.date(last, 12, 31), recalculate=False)
    _determine_year(last)
    rollover.rollover_start(actor=admin, committee=university, from_year=last)
    law01 = Organization.objects.get(code="LAW-01")
    from scoring.models import Scheme

    carried = Scheme.objects.get(owner=law01, year=year, status=Scheme.Status.DRAFT)
    scoring.scheme_submit(actor=admin, scheme=carried)
    scoring.scheme_approve(actor=admin, scheme=carried)
    entries += _seed_ledger(admin, year, rng, upto=timezone.localdate())
    from .year import seed_year_in_progress

    seed_year_in_progress(year=year, rng=rng)
    return entries


def _publish_schemes(admin, university, year):
    """Both policies published for `year` and LAW-01's own detailed rules approved."""
    from scoring import services as scoring

    reference = {
        p: scoring.scheme_preset_load(actor=admin, preset=p, year=year, owner=university)
        for p in ("A-staff", "A-student")
    }
    for code in POLICY_B_COLLEGES:
        scoring.scheme_preset_load(actor=admin, preset="B", year=year, owner=Organization.objects.get(code=code))
    law01 = Organization.objects.get(code="LAW-01")
    derived = scoring.scheme_derive(actor=admin, source=reference["A-staff"], owner=law01)
    scoring.scheme_submit(actor=admin, scheme=derived)
    scoring.scheme_approve(actor=admin, scheme=derived)


def _determine_year(year):
    """Each branch's meeting decided `year` in late December: totals frozen and archived."""
    from reviews import selectors as review_selectors
    from reviews import services as reviews
    from reviews.models import EvaluationGrade

    for branch in Organization.objects.filter(kind=Organization.Kind.BRANCH).order_by("code"):
        secretary = RoleAssignment.objects.get(organization=branch, role=Role.BRANCH_SECRETARY).user
        draft = reviews.determination_prepare(actor=secretary, branch=branch, year=year)
        rows = review_selectors.determination_rows(branch=branch, year=year, posted={})
        # The meeting keeps the proposed grades and rates the best-placed member who may be 优秀 so.
        grades = {r["total"].member_id: r["grade"] for r in rows}
        for r in rows:
            if r["total"].scored and not r["bar"]:
                grades[r["total"].member_id] = EvaluationGrade.EXCELLENT
                break
        reviews.determination_decide(
            actor=secretary,
            determination=draft,
            meeting_date=datetime.date(year, 12, 20),
            members_expected=len(rows),
            members_present=len(rows) - len(rows) // 10,
            decision="经党员大会评议，同意支部委员会提出的年度积分及评定意见",
            lock_version=draft.lock_version,
            grades=grades,
        )


def _seed_ledger(admin, year, rng, *, upto, recalculate=True):
    """Every member's ledger for the periods of `year` begun by `upto`: most members contribute
    steadily, a few stand out, a few fall short of a duty."""
    from scoring.ledger_chain import ledger_append_many
    from scoring.models import LedgerEntry, Period, RuleItem
    from scoring.recalculation import recalculate_year
    from scoring.selectors import schemes_in_force

    periods = {(p.kind, p.index): p for p in Period.objects.filter(cycle__year=year, starts_on__lte=upto)}
    rows = []
    for branch in Organization.objects.filter(kind=Organization.Kind.BRANCH):
        recorder = RoleAssignment.objects.get(organization=branch, role=Role.RECORDER).user
        for category, scheme in schemes_in_force(branch=branch, year=year).items():
            bonuses = [i for i in scheme.items.all() if i.kind == RuleItem.Kind.BONUS]
            deductions = [i for i in scheme.items.all() if i.kind in (RuleItem.Kind.BASE, RuleItem.Kind.PENALTY)]
            open_periods = [p for (kind, _i), p in sorted(periods.items()) if kind == scheme.period_kind]
            for member in branch.members.filter(category=category):
                if scheme.composition == "hundred":
                    zeal, top = rng.choice((2, 3, 3, 4, 4, 5)), None
                else:
                    zeal, top = rng.choice((0, 0, 1, 1, 1, 2)), 2
                for period in open_periods:
                    picks = [
                        (i, rng.randint(int(i.points_min) or 1, top or int(i.points_max)))
                        for i in rng.sample(bonuses, k=min(len(bonuses), zeal + rng.randint(0, 1)))
                    ]
                    if rng.random() < 0.15:
                        item = rng.choice(deductions)
                        picks.append((item, int(item.points_min) or 1))
                    for item, points in picks:
                        rows.append(
                            LedgerEntry(
                                member=member,
                                item=item,
                                period=period,
                                year=year,
                                kind=item.kind,
                                points=item.sign * points * 100,
                                reason=f"{item.title}（演示）",
                                source=LedgerEntry.Source.RECORDER,
                                recorded_by=recorder,
                                occurred_on=min(period.ends_on, upto),
                            )
                        )
    ledger_append_many(rows, actor=admin, reason="演示数据")
    if recalculate:  # (the branch meeting's draft recalculates a past year)
        recalculate_year(year=year)
    return len(rows)
