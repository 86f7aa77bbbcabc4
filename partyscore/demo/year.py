"""The demo's current year, well under way on the day it is loaded: everything goes through the
review services (so it is audited and consistent), with some branches ahead and some behind.

Dates are relative to today: a step whose deadline has already passed this year is taken on its
deadline day (the services accept the day they act on), so the demo looks the same in any month.

Speed: each service call is audited one by one (a hash-chained event each), which for 800 members
would make `make run` take minutes. So the first SHOWCASE members of every branch (the README's
accounts among them) and every step of the secretaries, panels and representatives go through the
services; the other members' pledges, self-assessments and monthly reports are written in bulk with
the same statuses and scores the services would give, under one audit event per branch (as the demo
ledger is written through ledger_append_many).
"""

import datetime

from django.utils import timezone

from members.models import Member, Organization, Role, RoleAssignment
from partyscore.core.audit import audit_record

# Per branch: the share of members who have done each step. Half the branches are ahead of the
# rhythm, half behind it, so the colleges' progress charts and the overdue lists have something to say.
AHEAD, BEHIND = 0.92, 0.45
# Panel work is slower than the members' own steps: members scored and confirmed per branch.
PANEL_SCORED = {True: 4, False: 2}
PANEL_CONFIRMED = {True: 2, False: 0}
SHOWCASE = 5  # members per branch (by number) whose own steps go through the services
# Which branches are ahead: 法学院 and 文学院 mostly, 计算机 and 机械 mostly behind (a larger demo's
# extra branches alternate).
AHEAD_BRANCHES = {"LAW-01", "LAW-02", "LAW-03", "CS-01", "LIT-01", "LIT-03", "LIT-04", "ME-02"}
FIRST_FOUR = {f"{college}-{n:02d}" for college in ("LAW", "CS", "LIT", "ME") for n in range(1, 5)}

PLEDGE_TEXT = {
    "vanguard": "立足岗位争当先锋：按时参加组织生活，带头完成本职工作，每学期至少参加一次志愿服务。",
    "common": "坚定理想信念，严守党的纪律，按时足额交纳党费，积极参加组织生活。",
    "post": "立足本职岗位，认真履行岗位职责，努力做出突出成绩。",
    "deed": "本年度为身边群众办一件实事：组织一次面向社区的志愿服务活动。",
}


def _holder(branch, role):
    return RoleAssignment.objects.filter(organization=branch, role=role).select_related("user").order_by("pk")


def seed_year_in_progress(*, year, rng):
    from reviews import services as reviews
    from scoring.models import Period, Scheme
    from scoring.selectors import schemes_in_force

    today = timezone.localdate()
    semester1 = Period.objects.get(cycle__year=year, kind="semester", index=1)
    branches = list(
        Organization.objects.filter(kind=Organization.Kind.BRANCH).select_related("parent").order_by("code")
    )
    for position, branch in enumerate(branches):
        ahead = branch.code in AHEAD_BRANCHES if branch.code in FIRST_FOUR else position % 2 == 0
        share = AHEAD if ahead else BEHIND
        secretary = _holder(branch, Role.BRANCH_SECRETARY).first().user
        panelists = [a.user for a in _holder(branch, Role.PANEL_MEMBER)]
        reps = [a.user for a in _holder(branch, Role.MASS_REPRESENTATIVE)]
        schemes = schemes_in_force(branch=branch, year=year)
        policy_a = all(s.pipeline == Scheme.Pipeline.VANGUARD for s in schemes.values())
        members = list(
            Member.objects.filter(branch=branch, left_on__isnull=True)
            .select_related("user", "branch")
            .order_by("number")
        )
        showcase, rest = members[:SHOWCASE], members[SHOWCASE:]
        _pledges(reviews, showcase, secretary, year, share, policy_a, rng)
        bulk = {"pledges": _pledges_bulk(rest, secretary, year, share, policy_a, rng)}
        if policy_a:
            _self_assessments(reviews, showcase, semester1, schemes, share, today, rng)
            bulk["self_assessments"] = _self_assessments_bulk(rest, semester1, schemes, share, today, rng)
            _panel(reviews, members, semester1, schemes, panelists, secretary, ahead)
            _mass(reviews, branch, year, members, reps[: 2 if ahead else 1], today, rng)
        else:
            month = Period.objects.filter(cycle__year=year, kind="month", ends_on__lt=today).order_by("-index").first()
            if month is not None:
                _fulfilment(reviews, showcase, secretary, month, share, rng)
                bulk["fulfilment_reports"] = _fulfilment_bulk(rest, secretary, month, share, rng)
        audit_record(
            actor=secretary,
            action="demo.seed",
            target=branch,
            organization=branch,
            after=bulk,
            reason="演示数据：其余党员的承诺、自查自评和践诺报告（批量）",
        )
        _meetings(branch, secretary, members, year, today)
        if ahead:
            start = timezone.make_aware(datetime.datetime.combine(today - datetime.timedelta(days=2), datetime.time()))
            reviews.publicity_open(
                actor=secretary,
                branch=branch,
                year=year,
                kind="pledges",
                starts_at=start,
                ends_at=start + datetime.timedelta(days=5),
            )
    _objection(reviews, next((b for b in branches if b.code == "LAW-01"), branches[0]), year)


def _meetings(branch, secretary, members, year, today):
    """Last month's branch general meeting with its attendance saved (one member on leave, one absent
    without leave, whose scheme records it), and next week's theme party day still to come."""
    from reviews import meetings
    from scoring.models import MeetingKind

    held_on = today - datetime.timedelta(days=20)
    if held_on.year == year:
        held = meetings.meeting_schedule(
            actor=secretary,
            branch=branch,
            kind=MeetingKind.GENERAL,
            date=held_on,
            starts_at=datetime.time(14, 30),
            ends_at=datetime.time(16, 30),
            topic="学习贯彻党的二十届四中全会精神",
            place="党员活动室",
        )
        marks = {m.pk: ("present", "") for m in members}
        if len(members) > 2:
            marks[members[-2].pk] = ("excused", "出差")
            marks[members[-1].pk] = ("absent", "")
        meetings.attendance_save(actor=secretary, meeting=held, marks=marks)
        meetings.meeting_record_save(
            actor=secretary,
            meeting=held,
            minutes=("一、集体学习全会公报；二、支部书记领学；三、党员交流发言；四、布置本月“三会一课”安排。"),
        )
    coming = today + datetime.timedelta(days=7)
    if coming.year == year:
        meetings.meeting_schedule(
            actor=secretary,
            branch=branch,
            kind=MeetingKind.THEME_DAY,
            date=coming,
            starts_at=datetime.time(15),
            ends_at=datetime.time(17),
            topic="主题党日：志愿服务进社区",
            place="社区服务中心",
        )


def _pledges(reviews, members, secretary, year, share, policy_a, rng):
    """Pledges written and handed in by `share` of the members; the secretary approved most of them."""
    kinds = ("vanguard",) if policy_a else ("common", "post", "deed")
    for member in members:
        if rng.random() >= share:
            continue
        for kind in kinds:
            reviews.pledge_save(actor=member.user, member=member, year=year, kind=kind, content=PLEDGE_TEXT[kind])
        pledges = reviews.pledges_submit(actor=member.user, member=member, year=year)
        if rng.random() < 0.85:
            for pledge in pledges:
                reviews.pledge_decide(actor=secretary, pledge=pledge, approve=True)


def _claims(scheme, rng):
    """Two or three bonus items within their per-period limits, and now and then a duty missed."""
    from scoring import services as scoring

    items = [i for i in scheme.items.all() if i.kind in ("bonus", "penalty") and not i.evidence_required]
    bonuses = [i for i in items if i.kind == "bonus"]
    picked = rng.sample(bonuses, k=min(len(bonuses), rng.choice((2, 2, 3))))
    if rng.random() < 0.15:
        picked += [rng.choice([i for i in items if i.kind == "penalty"] or bonuses)]
    claims = []
    for item in dict.fromkeys(picked):
        high = scoring.period_limit(item) // 100
        if high >= 1:
            claims.append((item, str(rng.randint(1, min(high, 4))), "", None))
    return claims


def _self_assessments(reviews, members, semester1, schemes, share, today, rng):
    """The first semester's self-assessment, handed in by `share` of the members (on its deadline
    day if that has passed); a few left as drafts."""
    for member in members:
        scheme = schemes.get(member.category)
        roll = rng.random()
        if scheme is None or roll >= share + 0.04:
            continue
        due = reviews.self_assessment_deadline(semester1, member.branch)
        reviews.self_assessment_save(
            actor=member.user,
            member=member,
            period=semester1,
            claims=_claims(scheme, rng),
            note="本学期按承诺参加组织生活和志愿服务。",
            submit=roll < share,
            today=min(today, due),
        )


def _panel(reviews, members, semester1, schemes, panelists, secretary, ahead):
    """The panel scored the first members on the board; the secretary confirmed some of them."""
    panel_users = {p.pk for p in panelists}
    scored = [m for m in members if m.user_id not in panel_users][: PANEL_SCORED[ahead]]
    for index, member in enumerate(scored):
        scheme = schemes[member.category]
        items = [i for i in scheme.items.all() if i.kind == "bonus" and not i.evidence_required][:3]
        for offset, panelist in enumerate(panelists[:2]):
            reviews.panel_score_save(
                actor=panelist,
                member=member,
                period=semester1,
                scores={i: str(1 + (index + offset + n) % 3) for n, i in enumerate(items)},
            )
        if index < PANEL_CONFIRMED[ahead]:
            reviews.panel_confirm(actor=secretary, member=member, period=semester1)


def _mass(reviews, branch, year, members, reps, today, rng):
    """Some of the branch's mass representatives have answered the year's evaluation."""
    from scoring.models import Cycle
    from scoring.selectors import deadlines_for

    due = next(
        (
            d.due_on
            for d in deadlines_for(organization=branch, cycle=Cycle.objects.get(year=year))
            if d.code == "A-MASSES"
        ),
        today,
    )
    for rep in reps:
        ratings = {m.pk: (rng.choice((1, 1, 1, 2, 2, 3)), "") for m in members}
        reviews.mass_evaluation_submit(
            actor=rep,
            branch=branch,
            year=year,
            panel_rating=1,
            branch_rating=1,
            comments="支部工作扎实，党员作用发挥明显。",
            ratings=ratings,
            today=min(today, due),
        )


def _fulfilment(reviews, members, secretary, month, share, rng):
    """Policy B: last month's fulfilment reports from `share` of the members, most verified."""
    for member in members:
        if rng.random() >= share:
            continue
        report = reviews.fulfilment_submit(actor=member.user, member=member, period=month, content=FULFILMENT_TEXT)
        if rng.random() < 0.7:
            reviews.fulfilment_decide(actor=secretary, report=report, verify=True)


FULFILMENT_TEXT = "本月按承诺完成岗位工作，参加支部主题党日活动。"


def _pledges_bulk(members, secretary, year, share, policy_a, rng):
    from reviews.models import Pledge

    kinds = ("vanguard",) if policy_a else ("common", "post", "deed")
    now = timezone.now()
    rows = []
    for member in members:
        if rng.random() >= share:
            continue
        approved = rng.random() < 0.85
        rows += [
            Pledge(
                member=member,
                year=year,
                kind=kind,
                content=PLEDGE_TEXT[kind],
                status=Pledge.Status.APPROVED if approved else Pledge.Status.SUBMITTED,
                reviewed_by=secretary if approved else None,
                reviewed_at=now if approved else None,
            )
            for kind in kinds
        ]
    Pledge.objects.bulk_create(rows)
    return len(rows)


def _self_assessments_bulk(members, semester1, schemes, share, today, rng):
    """The same claims and self-score as self_assessment_save would store."""
    from reviews.models import SelfAssessment, SelfClaim
    from scoring import policy
    from scoring.points import to_centi
    from scoring.recalculation import terms_of

    now = timezone.now()
    made = []
    for member in members:
        scheme = schemes.get(member.category)
        roll = rng.random()
        if scheme is None or roll >= share + 0.04:
            continue
        claims = [(item, to_centi(points)) for item, points, _note, _file in _claims(scheme, rng)]
        sums = {"base": 0, "bonus": 0, "penalty": 0}
        for item, centi in claims:
            sums[item.kind] += item.sign * centi
        submitted = roll < share
        status = SelfAssessment.Status.SUBMITTED if submitted else SelfAssessment.Status.DRAFT
        made.append(
            (
                SelfAssessment(
                    member=member,
                    period=semester1,
                    note="本学期按承诺参加组织生活和志愿服务。",
                    self_score=policy.period_score(terms_of(scheme), policy.PeriodSums(**sums)),
                    status=status,
                    submitted_at=now if submitted else None,
                ),
                claims,
            )
        )
    SelfAssessment.objects.bulk_create([assessment for assessment, _claims in made])
    SelfClaim.objects.bulk_create(
        [
            SelfClaim(assessment=assessment, item=item, points=centi)
            for assessment, claims in made
            for item, centi in claims
        ]
    )
    return len(made)


def _fulfilment_bulk(members, secretary, month, share, rng):
    from reviews.models import FulfilmentReport

    rows = []
    for member in members:
        if rng.random() >= share:
            continue
        verified = rng.random() < 0.7
        rows.append(
            FulfilmentReport(
                member=member,
                period=month,
                content=FULFILMENT_TEXT,
                status=FulfilmentReport.Status.VERIFIED if verified else FulfilmentReport.Status.SUBMITTED,
                verified_by=secretary if verified else None,
            )
        )
    FulfilmentReport.objects.bulk_create(rows)
    return len(rows)


def _objection(reviews, branch, year):
    """A member of the first branch objects to a recent ledger line; the branch has not answered yet."""
    from scoring.models import LedgerEntry

    entry = (
        LedgerEntry.objects.filter(member__branch=branch, year=year, points__lt=0, reverses__isnull=True)
        .select_related("member__user")
        .order_by("-pk")
        .first()
        or LedgerEntry.objects.filter(member__branch=branch, year=year)
        .select_related("member__user")
        .order_by("-pk")
        .first()
    )
    reviews.objection_raise(
        actor=entry.member.user,
        member=entry.member,
        entry=entry,
        reason="当天我按学院安排参加了招生宣传，已向支部请假，请核实。",
    )
