"""Reads of the dashboards and boards (数据看板, 积分榜), each scoped to the acting user.

Every function here issues a fixed number of queries whatever the number of members and branches:
per-branch figures come from grouped queries (one row per branch, or per branch and step), never
one query per branch or per member. Those per-branch counts are stored (`BranchYearFacts`) and
recounted only for branches whose data changed, as the audit log tells (aggregating 30,000
members' records on every page view measured 1.4 s; see benchmarks/dashboard.py and
docs/performance.md). Deadlines and "today" are applied when a page is drawn.

Definitions used everywhere (the drill-down lists use the same ones):
- an *expected* member is active (has not left) and not exempted, in a branch with a scheme in force;
- a step is done as its one query in reviews/pipeline.py says: a member *submitted pledges* when
  every pledge of the year is submitted or approved (a returned one is not), and *has approved
  pledges* when at least one is approved and none is still a draft, submitted or returned;
- the histogram's bins include their lower edge and exclude their upper edge.
"""

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    When,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members import permissions as perms
from members.models import Member, Organization
from reviews import pipeline
from reviews.models import (
    Determination,
    DeterminationLine,
    FollowUp,
    Objection,
    PanelConfirmation,
    Publicity,
    ReviewSettings,
    SelfAssessment,
)
from scoring.io_selectors import schemes_by_branch
from scoring.models import (
    QUARTERS,
    Cycle,
    Deadline,
    LedgerEntry,
    MemberOutcome,
    MemberYearTotal,
    OutcomeRule,
    Period,
    Scheme,
)
from scoring.points import format_points, to_centi
from scoring.policy import CountedTotals, share_cap_check, share_cap_line

from .models import BranchCommendation, SpotCheck, SpotCheckItem, WorkReport

# ── settings (each a number the committee may change in settings.DASHBOARD_SETTINGS) ───────────

DEFAULTS = {
    "HIGH_SCORE": 95,  # "nearly everyone scored at or above" this many points …
    "HIGH_SCORE_SHARE": 0.8,  # … means at least this share of the branch's scored members
    "UNCHANGED_SHARE": 0.8,  # self-scores that became final unchanged for at least this share
    "MIN_MEMBERS": 5,  # no share-based flag for a branch with fewer members than this
    "PUBLICITY_GRACE_DAYS": 7,  # the annual results are publicized within this many days of the meeting
    "PLEDGE_PUBLICITY_DAYS": 30,  # pledges are publicized within this many days after their deadline
    "QUARTER_PUBLICITY_WINDOW": 92,  # a quarter's scores publicity without a period: days after the quarter
    "SPOT_CHECK_MAX": 50,  # at most this many ledger lines in one spot check
    "HISTORY_YEARS": 3,  # year over year: this many years up to the dashboard's
    "LIST_LIMIT": 100,  # the longest list a dashboard shows inline (the rest is in the drill-down)
    "FACTS_MAX_AGE_MINUTES": 60,  # stored per-branch counts are recomputed at least this often
}


def setting(name):
    return getattr(settings, "DASHBOARD_SETTINGS", {}).get(name, DEFAULTS[name])


# Histogram of annual totals, in points: (lower edge or None, upper edge or None).
BINS = [(None, 60), (60, 70), (70, 75), (75, 80), (80, 85), (85, 90), (90, 95), (95, 100), (100, None)]

# Consequences the results table counts per branch, in this order.
RESULT_CONSEQUENCES = [
    OutcomeRule.Consequence.EXCELLENT_ELIGIBLE, OutcomeRule.Consequence.PRIORITY, OutcomeRule.Consequence.YELLOW,
    OutcomeRule.Consequence.RED, OutcomeRule.Consequence.UNQUALIFIED,
]
TALKS = [FollowUp.Kind.TALK_SECRETARY, FollowUp.Kind.TALK_ADMONISH, FollowUp.Kind.TALK_REMINDER]
DONE = "done"


def bin_label(index):
    low, high = BINS[index]
    if low is None:
        return _("低于%(high)s") % {"high": high}
    if high is None:
        return _("%(low)s及以上") % {"low": low}
    return f"{low}–{high}"


def bin_q(index, field_name="total"):
    low, high = BINS[index]
    condition = Q(**{f"{field_name}__isnull": False})
    if low is not None:
        condition &= Q(**{f"{field_name}__gte": low * 100})
    if high is not None:
        condition &= Q(**{f"{field_name}__lt": high * 100})
    return condition


# ── scope ────────────────────────────────────────────────────────────────────────────────────

def default_year():
    """The open cycle's year (the latest), else the calendar year."""
    year = Cycle.objects.filter(is_open=True).order_by("-year").values_list("year", flat=True).first()
    return year or timezone.localdate().year


def parse_year(value, fallback=None):
    try:
        year = int(value)
    except (TypeError, ValueError):
        return fallback if fallback is not None else default_year()
    return year if 2000 <= year <= 2100 else (fallback if fallback is not None else default_year())


@dataclass
class Scope:
    """An organization the viewer may see, everything below it, and the year looked at."""

    org: Organization
    year: int
    today: datetime.date
    orgs: list = field(default_factory=list)  # the org and every node below, in tree order
    branches: list = field(default_factory=list)
    everything: bool = False  # the scope is the whole (only) tree

    @property
    def branch_ids(self):
        return [b.pk for b in self.branches]

    def branch_subquery(self):
        """The scope's branches as SQL (a subquery, so the parameter list stays short)."""
        return Organization.objects.filter(path__startswith=self.org.path, kind=Organization.Kind.BRANCH).values("pk")

    def within(self, field_name):
        """`field_name` (a branch id) is in the scope: no condition at all for the whole tree, which
        lets the database aggregate a table in one pass instead of probing a subquery per row."""
        if self.everything:
            return Q()
        return Q(**{f"{field_name}__in": self.branch_subquery()})

    def branch_label(self, branch):
        """A branch's name, with its college's where the scope holds branches of several colleges
        (the branch's parent is then not the scope's own organization)."""
        if "_names" not in self.__dict__:
            self.__dict__["_names"] = {o.pk: o.name for o in self.orgs}
        college = self.__dict__["_names"].get(branch.parent_id)
        return f"{college}·{branch.name}" if college and branch.parent_id != self.org.pk else branch.name

    def drill_url(self, metric, year=None, **params):
        """The drill-down page listing the members behind a number (reversed once per scope)."""
        if "_drill_base" not in self.__dict__:
            self.__dict__["_drill_base"] = reverse("dashboard_drill", args=[self.org.pk])
        query = {"metric": metric, "year": year or self.year, **{k: v for k, v in params.items() if v is not None}}
        # Built by hand: a dashboard makes thousands of these, and urlencode costs ~40 µs each.
        return self.__dict__["_drill_base"] + "?" + "&".join(
            f"{key}={value}" if isinstance(value, int) else f"{key}={quote(str(value), safe='')}"
            for key, value in query.items())


def org_get(*, actor, org_id, perm=perms.LEDGER_VIEW):
    """The organization, or 403 when it is outside the actor's scope (never 404: no probing)."""
    org = Organization.objects.filter(pk=org_id).first()
    if org is None or not perms.has_org_perm(actor, perm, org):
        raise PermissionDenied(_("您无权查看该党组织的数据"))
    return org


def scope_for(*, actor, org, year, today=None, perm=perms.LEDGER_VIEW):
    """One query: the subtree (and the other roots, to know whether it is the whole tree). Refuses
    an organization outside the actor's scope."""
    if not perms.has_org_perm(actor, perm, org):
        raise PermissionDenied(_("您无权查看该党组织的数据"))
    found = list(Organization.objects.filter(Q(path__startswith=org.path) | Q(parent__isnull=True)).order_by("path"))
    orgs = [o for o in found if o.path.startswith(org.path)]
    return Scope(org=org, year=year, today=today or timezone.localdate(), orgs=orgs,
                 branches=[o for o in orgs if o.kind == Organization.Kind.BRANCH],
                 everything=len(orgs) == len(found) and org.parent_id is None)


def dashboard_roots(*, actor):
    """Where the actor's dashboards start: the topmost nodes of their ledger scope."""
    return list(perms.scope_roots(actor, perms.LEDGER_VIEW).order_by("path"))


# ── deadlines ────────────────────────────────────────────────────────────────────────────────

def deadlines_by_code(scope):
    """code → due date for the scope's branches; a deadline set nearer a branch wins (one query)."""
    rows = list(Deadline.objects.filter(cycle__year=scope.year).select_related("organization")
                .order_by("organization__depth"))
    chosen = {}
    for row in rows:
        if scope.org.path.startswith(row.organization.path) or row.organization.path.startswith(scope.org.path):
            chosen[row.code] = row.due_on
    return chosen


def overdue(due, today):
    return due is not None and today > due


# ── stored per-branch counts (BranchYearFacts) ───────────────────────────────────────────────
#
# Everything the dashboards add up is counted per branch by grouped queries (one row per branch,
# or per branch and step) and stored as plain values, one row per branch and year. A dashboard
# loads the rows of its scope and recomputes only the branches whose data changed since: every
# service writes an audit event (at the branch, or at an organization above it) in the
# transaction of its change, so the audit log is the change feed. Deadlines and "today" are
# applied when the page is drawn, never stored.

FACTS_VERSION = 2  # 2: pledges counted by the pipeline registry (a returned pledge is not handed in)
# Audit actions that change nothing a dashboard counts (exports, accounts, roles, the dashboards'
# own supervision and report records, which are read live).
QUIET_ACTIONS = ("ledger.export", "roster.export", "user.", "role.", "spot_check.", "work_report.")


def _facts_version():
    """The facts' shape and the settings baked into them: a change recomputes every row."""
    return f"{FACTS_VERSION}:{setting('HIGH_SCORE')}:{len(BINS)}"


def _history_years(year):
    return list(range(year - setting("HISTORY_YEARS") + 1, year))


def _in(field_name, branch_ids, scope):
    """Branches to count: the whole scope (one pass, no list) or just the stale ones."""
    if branch_ids is None:
        return scope.within(field_name)
    return Q(**{f"{field_name}__in": branch_ids})


def compute_facts(scope, branch_ids, in_force):
    """branch id → facts for `branch_ids` (None: every branch of the scope). A fixed number of
    grouped queries (about 18), whatever the number of branches and members."""
    year = scope.year
    ids = [b.pk for b in scope.branches] if branch_ids is None else list(branch_ids)
    facts = {pk: {"v": _facts_version(), "expected": {}, "pending_scheme": False, "pledges": [0, 0],
                  "self": {}, "panel": {}, "mass_forms": 0, "publicity": {}, "determination": None,
                  "determined": 0, "follow_ups": {}, "objections": [0, 0], "scored": 0, "total_sum": 0,
                  "bins": [0] * len(BINS), "at": {}, "consequences": {}, "notices": {},
                  "self_compared": 0, "self_unchanged": 0, "history": {}} for pk in ids}

    def where(field_name):
        return _in(field_name, branch_ids, scope)

    active = Q(member__left_on__isnull=True, member__exempt=False)
    for row in (Member.objects.filter(where("branch_id"), left_on__isnull=True, exempt=False)
                .values("branch_id", "category").annotate(n=Count("id"))):
        facts[row["branch_id"]]["expected"][row["category"]] = row["n"]
    for owner_id in (Scheme.objects.filter(where("owner_id"), year=year, status=Scheme.Status.SUBMITTED)
                     .values_list("owner_id", flat=True)):
        facts[owner_id]["pending_scheme"] = True
    # Counted from the members against the set of members with such pledges (an uncorrelated IN,
    # which both databases evaluate once, as a hash or an index): no join of the pledges with the
    # members, which PostgreSQL without statistics ran as a nested loop of every pledge against
    # every member, and no per-member probe, which it ran 90,000 times with statistics.
    def did(step):
        return Q(pk__in=step.done(year=year).filter(where("member__branch_id")).values("member_id"))

    for row in (Member.objects.filter(where("branch_id"), left_on__isnull=True, exempt=False).values("branch_id")
                .annotate(submitted=Count("id", filter=did(pipeline.PLEDGES)),
                          approved=Count("id", filter=did(pipeline.PLEDGE_REVIEW)))):
        facts[row["branch_id"]]["pledges"] = [row["submitted"], row["approved"]]
    for step, key in ((pipeline.SELF_ASSESSMENT, "self"), (pipeline.PANEL_SCORING, "panel")):
        for row in (step.done(year=year).filter(where("member__branch_id"), active)
                    .values("member__branch_id", "period_id").annotate(n=Count("id"))):
            facts[row["member__branch_id"]][key][str(row["period_id"])] = row["n"]
    for row in pipeline.MASS_EVALUATION.done(year=year).filter(where("branch_id")).values("branch_id").annotate(
            n=Count("id")):
        facts[row["branch_id"]]["mass_forms"] = row["n"]
    for row in (Publicity.objects.filter(where("branch_id"), year=year)
                .values("branch_id", "kind", "period_id").annotate(first=Min("starts_at"))):
        facts[row["branch_id"]]["publicity"].setdefault(row["kind"], []).append(
            [row["period_id"], timezone.localtime(row["first"]).date().isoformat()])
    for row in (Determination.objects.filter(where("branch_id"), year=year)
                .exclude(status=Determination.Status.REOPENED).values("branch_id", "status", "decided_at")):
        decided = row["decided_at"]
        facts[row["branch_id"]]["determination"] = {
            "status": row["status"], "decided_on": timezone.localtime(decided).date().isoformat() if decided else None}
    for row in (DeterminationLine.objects.filter(where("determination__branch_id"), active, determination__year=year,
                                                 determination__status=Determination.Status.DECIDED)
                .values("determination__branch_id").annotate(n=Count("id"))):
        facts[row["determination__branch_id"]]["determined"] = row["n"]
    for row in (FollowUp.objects.filter(where("determination__branch_id"), determination__year=year)
                .values("determination__branch_id", "kind", "status", "due_on").annotate(n=Count("id"))):
        cell = facts[row["determination__branch_id"]]["follow_ups"].setdefault(row["kind"], {"done": 0, "open": {}})
        if row["status"] == DONE:
            cell["done"] += row["n"]
        else:
            cell["open"][row["due_on"].isoformat()] = cell["open"].get(row["due_on"].isoformat(), 0) + row["n"]
    for row in (Objection.objects.filter(where("branch_id"), year=year).values("branch_id")
                .annotate(n=Count("id"), pending=Count("id", filter=Q(status__in=Objection.PENDING)))):
        facts[row["branch_id"]]["objections"] = [row["n"], row["pending"]]
    thresholds = _thresholds(in_force)
    scored = Q(scored=True, total__isnull=False)
    aggregates = {"scored_n": Count("id", filter=scored), "total_sum": Sum("total", filter=scored),
                  **{f"bin{i}": Count("id", filter=scored & bin_q(i)) for i in range(len(BINS))},
                  **{f"at{t}": Count("id", filter=scored & Q(total__gte=t)) for t in thresholds}}
    for row in MemberYearTotal.objects.filter(where("branch_id"), year=year).values("branch_id").annotate(
            **aggregates):
        cell = facts[row["branch_id"]]
        cell["scored"], cell["total_sum"] = row["scored_n"], row["total_sum"] or 0
        cell["bins"] = [row[f"bin{i}"] for i in range(len(BINS))]
        cell["at"] = {str(t): row[f"at{t}"] for t in thresholds}
    for row in (MemberOutcome.objects.filter(where("branch_id"), year=year).values("branch_id", "consequence")
                .annotate(n=Count("member_id", distinct=True))):
        facts[row["branch_id"]]["consequences"][row["consequence"]] = row["n"]
    for row in (BranchCommendation.objects.filter(where("branch_id"), year=year)
                .values("branch_id", "kind", "loses_award_eligibility").annotate(n=Count("id"))):
        notices = facts[row["branch_id"]]["notices"]
        notices[row["kind"]] = notices.get(row["kind"], 0) + row["n"]
        if row["loses_award_eligibility"]:
            notices["loses"] = notices.get("loses", 0) + row["n"]
    # From the confirmations, each looking up its own self-assessment by the unique (member, period)
    # index: a plan that stays linear even before the database has statistics (a semi-join of the
    # self-assessments with the confirmations was quadratic on a never-analysed PostgreSQL).
    own_score = Subquery(SelfAssessment.objects.filter(member_id=OuterRef("member_id"), period_id=OuterRef("period_id"),
                                                       status="submitted").values("self_score")[:1])
    indexes = sorted({i for schemes in in_force.values() for scheme in schemes.values()
                      if pipeline.period_kinds(pipeline.PANEL_SCORING, {scheme.pipeline})
                      for i in PERIOD_INDEXES[scheme.period_kind]})
    assessed = (PanelConfirmation.objects.filter(where("member__year_totals__branch_id"), period__cycle__year=year,
                                                 member__year_totals__year=year)
                if indexes else PanelConfirmation.objects.none())
    for row in (assessed.annotate(self_score=own_score, final=_final_period_score("member__year_totals__", indexes))
                .filter(self_score__isnull=False)
                .values("member__year_totals__branch_id")
                .annotate(compared=Count("id"), unchanged=Count("id", filter=Q(self_score=F("final"))))):
        cell = facts[row["member__year_totals__branch_id"]]
        cell["self_compared"], cell["self_unchanged"] = row["compared"], row["unchanged"]
    earlier = _history_years(year)
    if earlier:
        for row in (MemberYearTotal.objects.filter(where("branch_id"), scored, year__in=earlier)
                    .values("branch_id", "year").annotate(n=Count("id"), total_sum=Sum("total"))):
            facts[row["branch_id"]]["history"].setdefault(str(row["year"]), {"consequences": {}}).update(
                n=row["n"], total_sum=row["total_sum"] or 0)
        for row in (MemberOutcome.objects.filter(where("branch_id"), year__in=earlier,
                                                 consequence__in=RESULT_CONSEQUENCES)
                    .values("branch_id", "year", "consequence").annotate(n=Count("member_id", distinct=True))):
            year_cell = facts[row["branch_id"]]["history"].setdefault(str(row["year"]),
                                                                       {"n": 0, "total_sum": 0, "consequences": {}})
            year_cell["consequences"][row["consequence"]] = row["n"]
    return facts


def _thresholds(in_force):
    """Every share cap's line in force (A: 95) and the high-score signal's, in centipoints."""
    scheme_ids = {s.pk for schemes in in_force.values() for s in schemes.values()}
    lines = {share_cap_line(params) for params in OutcomeRule.objects.filter(
        scheme_id__in=scheme_ids, kind=OutcomeRule.Kind.SHARE_CAP).values_list("params", flat=True)}
    return sorted(lines | {to_centi(setting("HIGH_SCORE"))})


def _stale(scope, rows):
    """Branch ids of `rows` whose stored counts miss a later change (from the audit log), plus
    the mark to store with fresh counts. At most three queries."""
    from partyscore.core.models import AuditEvent

    mark = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    oldest = timezone.now() - datetime.timedelta(minutes=setting("FACTS_MAX_AGE_MINUTES"))
    version = _facts_version()
    current = [r for r in rows.values() if r.facts.get("v") == version and r.computed_at >= oldest]
    stale = {b.pk for b in scope.branches} - {r.branch_id for r in current}
    since = min((r.audit_mark for r in current), default=mark)
    if current and since < mark:
        quiet = Q()
        for prefix in QUIET_ACTIONS:
            quiet |= Q(action__startswith=prefix)
        events = list(AuditEvent.objects.filter(id__gt=since).exclude(quiet)
                      .values("organization_id", "organization__path").annotate(last=Max("id")))
        moved = list(AuditEvent.objects.filter(id__gt=since, action="member.transfer").values_list("id", "before"))
        paths = {b.pk: b.path for b in scope.branches}
        for row in current:
            path = paths[row.branch_id]
            for event in events:
                if event["last"] > row.audit_mark and (event["organization__path"] is None
                                                       or path.startswith(event["organization__path"])):
                    stale.add(row.branch_id)
                    break
            for event_id, before in moved:
                if event_id > row.audit_mark and (before or {}).get("branch") == row.branch_id:
                    stale.add(row.branch_id)
    return stale, mark


def branch_facts(scope, in_force):
    """branch id → facts for every branch of the scope, recomputing only the stale ones. Three to
    five queries when nothing changed; about twenty more when something did."""
    from .models import BranchYearFacts

    rows = {r.branch_id: r for r in BranchYearFacts.objects.filter(scope.within("branch_id"), year=scope.year)}
    stale, mark = _stale(scope, rows)
    facts = {pk: r.facts for pk, r in rows.items() if pk not in stale}
    if stale:
        everything = len(stale) == len(scope.branches)
        fresh = compute_facts(scope, None if everything else sorted(stale), in_force)
        now = timezone.now()
        BranchYearFacts.objects.bulk_create(
            [BranchYearFacts(branch_id=pk, year=scope.year, facts=value, audit_mark=mark, computed_at=now)
             for pk, value in fresh.items()],
            update_conflicts=True, unique_fields=["branch", "year"],
            update_fields=["facts", "audit_mark", "computed_at"])
        facts.update(fresh)
    return facts


# ── progress ─────────────────────────────────────────────────────────────────────────────────

@dataclass
class Step:
    """One cell of the progress table: done of expected, whether late, and where the members are."""

    done: int = 0
    expected: int = 0
    overdue: bool = False
    due: datetime.date | None = None
    url: str = ""
    missing_url: str = ""
    applicable: bool = True

    @property
    def complete(self):
        return self.expected > 0 and self.done >= self.expected

    @property
    def percent(self):
        return min(100, round(100 * self.done / self.expected)) if self.expected else 0

    def add(self, other):
        if not other.applicable:
            return
        self.applicable = True
        self.done += other.done
        self.expected += other.expected
        self.overdue = self.overdue or other.overdue
        self.due = self.due or other.due


@dataclass
class ProgressRow:
    org: Organization
    expected: int = 0
    policies: set = field(default_factory=set)  # Scheme.Pipeline values of the branches' schemes
    scheme_state: str = ""
    scheme_overdue: bool = False
    pledges_submitted: Step = field(default_factory=Step)
    pledges_approved: Step = field(default_factory=Step)
    self_periods: dict = field(default_factory=dict)  # period id → Step
    panel_periods: dict = field(default_factory=dict)
    mass: Step = field(default_factory=Step)
    publicity: Step = field(default_factory=Step)
    publicity_problems: list = field(default_factory=list)  # (title, "missing" | "late", due, held on)
    determination: Step = field(default_factory=Step)
    determination_status: str = ""
    follow_ups: Step = field(default_factory=Step)
    follow_ups_overdue: int = 0
    objections: int = 0
    objections_pending: int = 0
    mass_forms: int = 0
    branches: int = 0
    branches_decided: int = 0
    publicized: int = 0  # members whose determined result the branch has publicized
    period_cells: list = field(default_factory=list)  # (self, panel) per assessed period, in order
    expected_url: str = ""

    @property
    def is_branch(self):
        return self.org.kind == Organization.Kind.BRANCH

    @property
    def any_overdue(self):
        steps = [self.pledges_submitted, self.mass, self.publicity, self.determination, self.follow_ups,
                 *self.self_periods.values(), *self.panel_periods.values()]
        return self.scheme_overdue or any(s.overdue for s in steps)


def year_periods(scope):
    """The year's periods by id (one query)."""
    return {p.pk: p for p in Period.objects.filter(cycle__year=scope.year).order_by("kind", "index")}


def _assessed(periods, in_force, today):
    """The periods self-assessment and panel scoring run in (the A schemes' kind), started by today."""
    kinds = {k for schemes in in_force.values() for s in schemes.values()
             for k in pipeline.period_kinds(pipeline.PANEL_SCORING, {s.pipeline})}
    return [p for p in periods.values() if p.kind in kinds and p.starts_on <= today]


def _publicity_expectations(policies, deadlines, periods_by_key, determination, grace, annual_grace):
    """What a branch should have publicized by now: [(title, kind, period, due)]."""
    expected = []
    for code in pipeline.dues_of(pipeline.PLEDGES, policies):
        due = deadlines.get(code.code)
        if due is not None:
            expected.append((_("党员承诺公示"), Publicity.Kind.PLEDGES, None, due + datetime.timedelta(days=grace)))
    for step, kind in ((pipeline.FULFILMENT_PUBLICITY, Publicity.Kind.FULFILMENT),
                       (pipeline.SCORES_PUBLICITY, Publicity.Kind.SCORES)):
        for code in pipeline.dues_of(step, policies):
            due = deadlines.get(code.code)
            if due is not None:
                month_or_quarter = (_("%(m)s月") % {"m": code.period[1]} if code.period[0] == "month"
                                    else QUARTERS[code.period[1]])
                expected.append((step.title % {"period": month_or_quarter}, kind, periods_by_key.get(code.period),
                                 due))
    if determination is not None and determination["status"] == Determination.Status.DECIDED \
            and determination["decided_on"]:
        decided = datetime.date.fromisoformat(determination["decided_on"])
        expected.append((ANNUAL_PUBLICITY, Publicity.Kind.ANNUAL, None,
                         decided + datetime.timedelta(days=annual_grace)))
    return expected


ANNUAL_PUBLICITY = gettext_lazy("年度积分结果公示")


def _held_on(windows, kind, period, window=92):
    """The first start date of a publicity of `kind` matching `period` (by its period, or when it has
    none, by starting after the period began and within `window` days after it ended)."""
    starts = []
    for period_id, first in windows.get(kind, ()):
        first = datetime.date.fromisoformat(first)
        window_end = None if period is None else period.ends_on + datetime.timedelta(days=window)
        matches = (period is None or period_id == period.pk
                   or (period_id is None and period.starts_on <= first <= window_end))
        if matches:
            starts.append(first)
    return min(starts, default=None)


def mass_needed(in_force):
    """scheme id → how many mass evaluation forms its branches need (one query)."""
    scheme_ids = {s.pk for schemes in in_force.values() for s in schemes.values()}
    return dict(ReviewSettings.objects.filter(scheme_id__in=scheme_ids).values_list("scheme_id", "mass_min_answers"))


def progress(scope, facts, in_force, periods, deadlines, needed_forms):
    """The year's progress per branch and per general branch, and the scope's funnel: built from
    the stored counts, with the deadlines applied for the scope's day (no query). Drill-down links
    are made for the scope's own row and the rows just below it (the ones a page lists)."""
    year, today = scope.year, scope.today
    assessed = _assessed(periods, in_force, today)
    by_key = {(p.kind, p.index): p for p in periods.values()}
    default_mass = ReviewSettings._meta.get_field("mass_min_answers").default
    grace, annual_grace = setting("PLEDGE_PUBLICITY_DAYS"), setting("PUBLICITY_GRACE_DAYS")
    window = setting("QUARTER_PUBLICITY_WINDOW")
    states = {"own": _("本支部细则已批准"), "pending": _("细则待审批"), "inherited": _("沿用上级评分标准"),
              "none": _("无已批准的评分标准"), "decided": _("已评定"), "preparing": _("筹备中"),
              "not_started": _("未开始")}
    rows = {o.pk: ProgressRow(org=o) for o in scope.orgs}
    for branch in scope.branches:
        row, schemes, f = rows[branch.pk], in_force.get(branch.pk, {}), facts[branch.pk]
        row.branches = 1
        by_category = f["expected"]
        row.expected = sum(n for category, n in by_category.items() if category in schemes)
        hundred = sum(n for category, n in by_category.items() if category in schemes
                      and pipeline.period_kinds(pipeline.PANEL_SCORING, {schemes[category].pipeline}))
        row.policies = ({schemes[c].pipeline for c in by_category if c in schemes}
                        or {s.pipeline for s in schemes.values()})
        own = any(s.owner_id == branch.pk for s in schemes.values())
        row.scheme_state = states["own" if own else "pending" if f["pending_scheme"] else
                                 "inherited" if schemes else "none"]
        rules_due = [deadlines.get(d.code) for d in pipeline.dues_of(pipeline.BRANCH_RULES, row.policies)]
        row.scheme_overdue = not schemes or (not own and any(overdue(due, today) for due in rules_due))
        pledge_due = min((deadlines[d.code] for d in pipeline.dues_of(pipeline.PLEDGES, row.policies)
                          if d.code in deadlines), default=None)
        submitted, approved = f["pledges"]
        row.pledges_submitted = Step(done=submitted, expected=row.expected, due=pledge_due)
        row.pledges_submitted.overdue = overdue(pledge_due, today) and not row.pledges_submitted.complete
        row.pledges_approved = Step(done=approved, expected=row.expected, due=pledge_due)
        for period in assessed:
            for target, key, step in ((row.self_periods, "self", pipeline.SELF_ASSESSMENT),
                                      (row.panel_periods, "panel", pipeline.PANEL_SCORING)):
                code = pipeline.due_for(step, step.pipelines, period)
                due = deadlines.get(code) if code else period.ends_on
                cell = Step(done=f[key].get(str(period.pk), 0), expected=hundred, due=due, applicable=hundred > 0)
                cell.overdue = cell.applicable and overdue(due, today) and not cell.complete
                target[period.pk] = cell
        needed = max((needed_forms.get(s.pk, default_mass) for s in schemes.values()
                      if s.pipeline in pipeline.MASS_EVALUATION.pipelines), default=0)
        row.mass_forms = f["mass_forms"]
        mass_due = min((deadlines[d.code] for d in pipeline.dues_of(pipeline.MASS_EVALUATION, row.policies)
                        if d.code in deadlines), default=None)
        row.mass = Step(done=min(row.mass_forms, needed), expected=needed, due=mass_due,
                        applicable=needed > 0)
        row.mass.overdue = row.mass.applicable and overdue(row.mass.due, today) and not row.mass.complete
        decision = f["determination"]
        held = 0
        expectations = _publicity_expectations(row.policies, deadlines, by_key, decision, grace, annual_grace)
        due_now = 0
        for title, kind, period, due in expectations:
            first = _held_on(f["publicity"], kind, period, window)
            if first is not None and first <= due:
                held += 1
                due_now += 1
            elif first is not None:
                due_now += 1
                row.publicity_problems.append((str(title), "late", due, first))
            elif today > due:
                due_now += 1
                row.publicity_problems.append((str(title), "missing", due, None))
        row.publicity = Step(done=held, expected=due_now, overdue=bool(row.publicity_problems),
                             applicable=due_now > 0 or bool(expectations))
        meeting_due = min((deadlines[d.code] for d in pipeline.dues_of(pipeline.DETERMINATION, row.policies)
                           if d.code in deadlines), default=None) or datetime.date(year, 12, 31)
        decided = decision is not None and decision["status"] == Determination.Status.DECIDED
        row.determination_status = states["decided" if decided else "preparing" if decision else "not_started"]
        row.determination = Step(done=f["determined"] if decided else 0, expected=row.expected,
                                 due=meeting_due, overdue=not decided and overdue(meeting_due, today))
        row.branches_decided = 1 if decided else 0
        if decided and _held_on(f["publicity"], Publicity.Kind.ANNUAL, None) is not None:
            row.publicized = row.determination.done
        total = done = late = 0
        for cell in f["follow_ups"].values():
            done += cell["done"]
            total += cell["done"] + sum(cell["open"].values())
            late += sum(n for due, n in cell["open"].items() if datetime.date.fromisoformat(due) < today)
        row.follow_ups = Step(done=done, expected=total, overdue=bool(late), applicable=bool(total))
        row.follow_ups_overdue = late
        row.objections, row.objections_pending = f["objections"]
    _roll_up(scope, rows, assessed)
    _add_urls(scope, rows, assessed)
    return {"rows": [rows[o.pk] for o in scope.orgs], "periods": assessed, "funnel": _funnel(scope, rows),
            "deadlines": deadlines, "by_id": rows}
def _roll_up(scope, rows, periods):
    """General branches and the committee sum their branches (deepest first)."""
    in_scope = {o.pk for o in scope.orgs}
    for org in sorted(scope.orgs, key=lambda o: -o.depth):
        if org.pk == scope.org.pk or org.parent_id not in in_scope:
            continue
        parent, child = rows[org.parent_id], rows[org.pk]
        parent.expected += child.expected
        parent.policies |= child.policies
        parent.branches += child.branches
        parent.branches_decided += child.branches_decided
        parent.publicized += child.publicized
        parent.scheme_overdue = parent.scheme_overdue or child.scheme_overdue
        for name in ("pledges_submitted", "pledges_approved", "mass", "publicity", "determination", "follow_ups"):
            getattr(parent, name).add(getattr(child, name))
        for name in ("self_periods", "panel_periods"):
            for period in periods:
                getattr(parent, name).setdefault(period.pk, Step(applicable=False)).add(
                    getattr(child, name).get(period.pk, Step(applicable=False)))
        parent.follow_ups_overdue += child.follow_ups_overdue
        parent.objections += child.objections
        parent.objections_pending += child.objections_pending
        parent.mass_forms += child.mass_forms
        parent.publicity_problems += [(f"{org.name}：{title}", kind, due, held)
                                      for title, kind, due, held in child.publicity_problems]
    for row in rows.values():
        if not row.is_branch:
            row.scheme_state = _("%(n)s 个支部") % {"n": row.branches}
            row.determination_status = _("%(done)s/%(all)s 个支部已评定") % {"done": row.branches_decided,
                                                                         "all": row.branches}


def _add_urls(scope, rows, periods):
    for row in rows.values():
        if row.org.pk != scope.org.pk and row.org.parent_id != scope.org.pk:
            for name in ("self_periods", "panel_periods"):
                cells = getattr(row, name)
                for period in periods:
                    cells.setdefault(period.pk, Step(applicable=False))
            row.period_cells = [(row.self_periods[p.pk], row.panel_periods[p.pk]) for p in periods]
            continue
        org = {"org": row.org.pk}
        row.expected_url = scope.drill_url("expected", **org)
        row.pledges_submitted.url = scope.drill_url("pledges_submitted", **org)
        row.pledges_submitted.missing_url = scope.drill_url("pledges_missing", **org)
        row.pledges_approved.url = scope.drill_url("pledges_approved", **org)
        for period in periods:
            for name, metric in (("self_periods", "self"), ("panel_periods", "panel")):
                cell = getattr(row, name).setdefault(period.pk, Step(applicable=False))
                cell.url = scope.drill_url(metric, period=period.pk, **org)
                cell.missing_url = scope.drill_url(f"{metric}_missing", period=period.pk, **org)
        row.determination.url = scope.drill_url("determined", **org)
        row.follow_ups.url = scope.drill_url("follow_ups", **org)
        row.period_cells = [(row.self_periods[p.pk], row.panel_periods[p.pk]) for p in periods]


def _funnel(scope, rows):
    """Members through the year's steps, for the whole scope: each stage links to its members."""
    top = rows[scope.org.pk]
    return [
        {"name": _("应参与记分"), "value": top.expected, "url": scope.drill_url("expected")},
        {"name": _("已提交承诺"), "value": top.pledges_submitted.done, "url": scope.drill_url("pledges_submitted")},
        {"name": _("承诺已审核"), "value": top.pledges_approved.done, "url": scope.drill_url("pledges_approved")},
        {"name": _("已年度评定"), "value": top.determination.done, "url": scope.drill_url("determined")},
        {"name": _("评定结果已公示"), "value": top.publicized, "url": scope.drill_url("publicized")},
    ]


# ── results ──────────────────────────────────────────────────────────────────────────────────

@dataclass
class ResultRow:
    org: Organization
    scored: int = 0
    total_sum: int = 0  # centipoints
    bins: list = field(default_factory=lambda: [0] * len(BINS))
    consequences: Counter = field(default_factory=Counter)
    high: int = 0  # scored at or above setting HIGH_SCORE
    share: list = field(default_factory=list)  # dicts: label, threshold, count, limit, ok, url
    share_broken: int = 0  # branches (or 1 for a branch) breaking a share cap
    commended: int = 0
    criticised: int = 0
    loses_awards: bool = False

    @property
    def mean(self):
        """The mean total in centipoints, exact (rounded half up)."""
        if not self.scored:
            return None
        return int((Decimal(self.total_sum) / self.scored).to_integral_value(rounding="ROUND_HALF_UP"))

    @property
    def is_branch(self):
        return self.org.kind == Organization.Kind.BRANCH

    def consequence_cells(self):
        return [self.consequences.get(c, 0) for c in RESULT_CONSEQUENCES]


def share_rules(in_force):
    """scheme id → its share-cap rules (one query)."""
    scheme_ids = {s.pk for schemes in in_force.values() for s in schemes.values()}
    by_scheme = defaultdict(list)
    for rule in OutcomeRule.objects.filter(scheme_id__in=scheme_ids, kind=OutcomeRule.Kind.SHARE_CAP):
        by_scheme[rule.scheme_id].append(rule)
    return by_scheme


def results(scope, facts, in_force, rules):
    """Distribution, outcome counts, share checks and notices per branch, summed up the tree, and
    year over year: from the stored counts (no query)."""
    high = str(to_centi(setting("HIGH_SCORE")))
    rows = {o.pk: ResultRow(org=o) for o in scope.orgs}
    for branch in scope.branches:
        row, f = rows[branch.pk], facts[branch.pk]
        row.scored, row.total_sum, row.bins = f["scored"], f["total_sum"], list(f["bins"])
        row.high = f["at"].get(high, 0)
        row.consequences = Counter(f["consequences"])
        notices = f["notices"]
        row.commended, row.criticised = notices.get("commend", 0), notices.get("criticise", 0)
        row.loses_awards = bool(notices.get("loses"))
        seen = set()
        counted = CountedTotals(scored=row.scored, at_or_above={int(at): n for at, n in f["at"].items()})
        for scheme in in_force.get(branch.pk, {}).values():
            for rule in rules.get(scheme.pk, ()):
                if rule.code in seen:
                    continue
                seen.add(rule.code)
                check = share_cap_check(rule, counted)
                row.share.append({"label": rule.label, "threshold": check.threshold, "count": check.count,
                                  "limit": check.limit, "ok": check.ok,
                                  "url": scope.drill_url("share", org=branch.pk, at=format_points(check.threshold))})
        row.share_broken = int(any(not s["ok"] for s in row.share))
    in_scope = {o.pk for o in scope.orgs}
    for org in sorted(scope.orgs, key=lambda o: -o.depth):
        if org.pk == scope.org.pk or org.parent_id not in in_scope:
            continue
        parent, child = rows[org.parent_id], rows[org.pk]
        parent.scored += child.scored
        parent.total_sum += child.total_sum
        parent.bins = [a + b for a, b in zip(parent.bins, child.bins, strict=True)]
        parent.consequences.update(child.consequences)
        parent.high += child.high
        parent.share_broken += child.share_broken
        parent.commended += child.commended
        parent.criticised += child.criticised
    top = rows[scope.org.pk]
    histogram = [{"name": bin_label(i), "value": top.bins[i], "url": scope.drill_url("bin", bin=i)}
                 for i in range(len(BINS))]
    present = [c for c in OutcomeRule.Consequence.values if top.consequences.get(c)]
    labels = dict(OutcomeRule.Consequence.choices)
    by_consequence = [{"name": str(labels[c]), "code": c, "value": top.consequences[c],
                       "url": scope.drill_url("consequence", consequence=c)} for c in present]
    return {"rows": [rows[o.pk] for o in scope.orgs], "by_id": rows, "histogram": histogram,
            "consequences": by_consequence, "history": year_over_year(scope, facts, top),
            "columns": [str(labels[c]) for c in RESULT_CONSEQUENCES]}


def year_over_year(scope, facts, top):
    """The last HISTORY_YEARS years: scored members, mean total and outcome counts. Each year's
    figures are by the branch members belonged to that year."""
    labels = dict(OutcomeRule.Consequence.choices)
    rows = []
    for year in [*_history_years(scope.year), scope.year]:
        if year == scope.year:
            n, total_sum, outcomes = top.scored, top.total_sum, top.consequences
        else:
            n, total_sum, outcomes = 0, 0, Counter()
            for branch in scope.branches:
                cell = facts[branch.pk]["history"].get(str(year))
                if cell:
                    n += cell.get("n", 0)
                    total_sum += cell.get("total_sum", 0)
                    outcomes.update(cell["consequences"])
        mean = int((Decimal(total_sum) / n).to_integral_value(rounding="ROUND_HALF_UP")) if n else None
        rows.append({"year": year, "scored": n, "mean": mean, "mean_text": format_points(mean),
                     "url": scope.drill_url("scored", year=year),
                     "consequences": [{"name": str(labels[c]), "code": c, "value": outcomes.get(c, 0),
                                       "url": scope.drill_url("consequence", year=year, consequence=c)}
                                      for c in RESULT_CONSEQUENCES]})
    return rows


# ── fairness signals ─────────────────────────────────────────────────────────────────────────

FINAL_PERIOD_SCORE_KEYS = range(1, 13)  # a period's index within its kind (months go up to 12)


class ObjectKeyInteger(Func):
    """`json_column["key"]` as an integer, where the key is an object key even when it looks like a
    number (Django's key transforms read "1" as an array index)."""

    output_field = IntegerField()

    def __init__(self, expression, key):
        super().__init__(expression)
        self.key = str(int(key))

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"(({sql}) ->> %s)::integer", [*params, self.key]
        return f"CAST(JSON_EXTRACT({sql}, %s) AS INTEGER)", [*params, f'$."{self.key}"']


PERIOD_INDEXES = {"semester": range(1, 3), "quarter": range(1, 5), "month": range(1, 13), "year": range(1, 2)}


def _final_period_score(prefix, indexes=FINAL_PERIOD_SCORE_KEYS):
    """The stored final score of the self-assessment's period, read from the year total's JSON."""
    return Case(*[When(period__index=i, then=ObjectKeyInteger(F(f"{prefix}period_scores"), i))
                  for i in indexes], output_field=IntegerField())


def _confirmed():
    return Exists(PanelConfirmation.objects.filter(member_id=OuterRef("member_id"), period_id=OuterRef("period_id")))


def _at_least(part, whole, share):
    return whole > 0 and Decimal(part) >= Decimal(str(share)) * whole


FLAG_TITLES = {"self_unchanged": gettext_lazy("自评分原样成为最终得分"), "high_scores": gettext_lazy("几乎人人高分"),
               "silent": gettext_lazy("无异议、无群众意见"), "publicity": gettext_lazy("公示缺失或逾期"),
               "share_cap": gettext_lazy("超过高分比例上限")}


def fairness(scope, facts, progress_data, results_data):
    """Flags per branch, each with what is behind it (members to drill into, or records): no query."""
    minimum = setting("MIN_MEMBERS")
    masses_due = progress_data["deadlines"].get("A-MASSES")
    flags = []
    for branch in scope.branches:
        p, r, f = progress_data["by_id"][branch.pk], results_data["by_id"][branch.pk], facts[branch.pk]
        where = scope.branch_label(branch)
        compared, same = f["self_compared"], f["self_unchanged"]
        if compared >= minimum and _at_least(same, compared, setting("UNCHANGED_SHARE")):
            flags.append({"code": "self_unchanged", "branch": branch, "where": where,
                          "title": _("自评分未经调整即成为最终得分"),
                          "detail": _("%(same)s/%(all)s 份已考评确认的自评，最终得分与自评分完全相同") % {
                              "same": same, "all": compared},
                          "url": scope.drill_url("self_unchanged", org=branch.pk), "count": same})
        if r.scored >= minimum and _at_least(r.high, r.scored, setting("HIGH_SCORE_SHARE")):
            flags.append({"code": "high_scores", "branch": branch, "where": where,
                          "title": _("几乎人人 %(at)s 分以上") % {"at": setting("HIGH_SCORE")},
                          "detail": _("%(high)s/%(all)s 名参评党员年度总分不低于 %(at)s 分") % {
                              "high": r.high, "all": r.scored, "at": setting("HIGH_SCORE")},
                          "url": scope.drill_url("high", org=branch.pk), "count": r.high})
        finished = p.branches_decided or overdue(masses_due, scope.today)
        if finished and p.expected and p.objections == 0 and p.mass_forms == 0:
            flags.append({"code": "silent", "branch": branch, "where": where, "title": _("全年无异议、无群众评议意见"),
                          "detail": _("本年度没有任何异议记录和群众评议表"),
                          "url": scope.drill_url("scored", org=branch.pk), "count": p.expected})
        if p.publicity_problems:
            late = sum(1 for item in p.publicity_problems if item[1] == "late")
            missing = len(p.publicity_problems) - late
            flags.append({"code": "publicity", "branch": branch, "where": where, "title": _("公示未按时进行"),
                          "detail": _("未公示 %(missing)s 项，逾期公示 %(late)s 项") % {"missing": missing,
                                                                                  "late": late},
                          "records": p.publicity_problems, "url": reverse("branch_reviews", args=[branch.pk]),
                          "count": len(p.publicity_problems)})
        for check in r.share:
            if not check["ok"]:
                flags.append({"code": "share_cap", "branch": branch, "where": where, "title": check["label"],
                              "detail": _("现有 %(count)s 人，上限 %(limit)s 人") % check, "url": check["url"],
                              "count": check["count"]})
    summary = Counter(f["code"] for f in flags)
    groups = [{"code": code, "name": str(title), "flags": [f for f in flags if f["code"] == code]}
              for code, title in FLAG_TITLES.items() if summary.get(code)]
    return {"flags": flags, "groups": groups,
            "summary": [{"code": code, "name": str(title), "value": summary.get(code, 0)}
                        for code, title in FLAG_TITLES.items()]}


# ── supervision ──────────────────────────────────────────────────────────────────────────────

def supervision(scope, facts=None, lists=True):
    """Talks and follow-ups due and done (from the stored counts when given), and the lists of open
    follow-ups, spot checks and notices (at most LIST_LIMIT each; only their numbers when not
    `lists`): two to four queries."""
    limit = setting("LIST_LIMIT")
    labels = dict(FollowUp.Kind.choices)
    counts = defaultdict(lambda: {"done": 0, "open": 0, "late": 0})
    follow_ups = FollowUp.objects.filter(scope.within("determination__branch_id"), determination__year=scope.year)
    if facts is None:
        for row in follow_ups.values("kind", "status").annotate(
                n=Count("id"), late=Count("id", filter=Q(due_on__lt=scope.today))):
            cell = counts[row["kind"]]
            cell["done" if row["status"] == DONE else "open"] += row["n"]
            if row["status"] != DONE:
                cell["late"] += row["late"]
    else:
        for branch in scope.branches:
            for kind, cell in facts[branch.pk]["follow_ups"].items():
                counts[kind]["done"] += cell["done"]
                for due, n in cell["open"].items():
                    counts[kind]["open"] += n
                    if datetime.date.fromisoformat(due) < scope.today:
                        counts[kind]["late"] += n
    by_kind = [{"kind": kind, "name": str(labels[kind]), **counts[kind], "is_talk": kind in TALKS,
                "done_url": scope.drill_url("follow_ups", kind=kind, status=DONE),
                "open_url": scope.drill_url("follow_ups", kind=kind, status="open")}
               for kind in FollowUp.Kind.values if kind in counts]
    talks = {"done": sum(k["done"] for k in by_kind if k["is_talk"]),
             "open": sum(k["open"] for k in by_kind if k["is_talk"]),
             "late": sum(k["late"] for k in by_kind if k["is_talk"])}
    checks = SpotCheck.objects.filter(scope.within("branch_id"), year=scope.year)
    notices = BranchCommendation.objects.filter(branch__path__startswith=scope.org.path, year=scope.year)
    if not lists:
        return {"by_kind": by_kind, "talks": talks, "spot_check_count": checks.count(),
                "notice_count": notices.count()}
    open_items = list(follow_ups.exclude(status=DONE).select_related("member__branch", "responsible")
                      .order_by("due_on", "id")[:limit])
    spot_checks = list(checks.select_related("branch", "created_by")
                       .annotate(sampled=Count("items"), reviewed=Count("items", filter=~Q(items__verdict="pending")),
                                 problems=Count("items", filter=Q(items__verdict="problem")))
                       .order_by("-created_at", "-id")[:limit])
    notices = list(notices.select_related("branch", "created_by").order_by("-created_at", "-id")[:limit])
    return {"by_kind": by_kind, "open_items": open_items, "spot_checks": spot_checks, "notices": notices,
            "talks": talks, "spot_check_count": len(spot_checks), "notice_count": len(notices)}


def spot_check_get(*, actor, spot_check_id):
    """A spot check with its sampled lines; for whoever may see the branch's ledger."""
    check = SpotCheck.objects.select_related("branch", "created_by", "closed_by").filter(pk=spot_check_id).first()
    if check is None or not perms.has_org_perm(actor, perms.LEDGER_VIEW, check.branch):
        raise PermissionDenied(_("您无权查看该抽查"))
    items = list(SpotCheckItem.objects.filter(spot_check=check)
                 .select_related("entry__member", "entry__item", "entry__period", "entry__recorded_by",
                                 "entry__verified_by", "reviewed_by")
                 .annotate(is_reversed=Exists(LedgerEntry.objects.filter(reverses=OuterRef("entry_id"))))
                 .order_by("id"))
    return check, items


def figures(scope):
    """Progress, results and fairness of the scope from the stored per-branch counts: about ten
    queries when no branch changed, about twenty more when some did."""
    in_force = schemes_by_branch(scope.branches, scope.year)
    periods = year_periods(scope)
    deadlines = deadlines_by_code(scope)
    facts = branch_facts(scope, in_force)
    prog = progress(scope, facts, in_force, periods, deadlines, mass_needed(in_force))
    res = results(scope, facts, in_force, share_rules(in_force))
    return {"facts": facts, "in_force": in_force, "progress": prog, "results": res,
            "fairness": fairness(scope, facts, prog, res)}


# ── drill-down: the members behind a number ──────────────────────────────────────────────────

DRILL_TITLES = {
    "expected": gettext_lazy("应参与记分的党员"),
    "scored": gettext_lazy("参与记分的党员"),
    "bin": gettext_lazy("年度总分在该区间的党员"),
    "consequence": gettext_lazy("有该积分结果的党员"),
    "share": gettext_lazy("达到比例上限分数线的党员"),
    "high": gettext_lazy("高分党员"),
    "pledges_submitted": gettext_lazy("已提交承诺的党员"),
    "pledges_approved": gettext_lazy("承诺已审核的党员"),
    "pledges_missing": gettext_lazy("尚未提交承诺的党员"),
    "self": gettext_lazy("已提交自查自评的党员"),
    "self_missing": gettext_lazy("尚未提交自查自评的党员"),
    "panel": gettext_lazy("考评得分已确认的党员"),
    "panel_missing": gettext_lazy("考评得分尚未确认的党员"),
    "determined": gettext_lazy("已年度评定的党员"),
    "publicized": gettext_lazy("评定结果已公示的党员"),
    "follow_ups": gettext_lazy("有后续处理事项的党员"),
    "self_unchanged": gettext_lazy("自评分原样成为最终得分的党员"),
}


def _active():
    return Q(left_on__isnull=True, exempt=False)


def _expected_q(scope, step=None):
    """Members expected in their branch's scheme in force (in a pipeline with `step` when given)."""
    in_force = schemes_by_branch(scope.branches, scope.year)
    condition = Q(pk__in=[])
    for category in (Member.Category.STAFF, Member.Category.STUDENT):
        ids = [b for b, schemes in in_force.items() if category in schemes
               and (step is None or schemes[category].pipeline in step.pipelines)]
        if ids:
            condition |= Q(category=category, branch_id__in=ids)
    return _active() & condition


def drill(scope, metric, params):
    """(title, members) for `metric` within the scope (or one organization in it): a queryset of
    members with `year_total` annotated; raises PermissionDenied for an organization outside."""
    if metric not in DRILL_TITLES:
        raise PermissionDenied(_("未知的统计项"))
    year = scope.year
    org = scope.org
    if params.get("org"):
        org = next((o for o in scope.orgs if str(o.pk) == str(params["org"])), None)
        if org is None:
            raise PermissionDenied(_("您无权查看该党组织的数据"))
    members = Member.objects.filter(branch__path__startswith=org.path)
    totals = MemberYearTotal.objects.filter(year=year, member_id=OuterRef("pk"))
    title = str(DRILL_TITLES[metric])
    scored = Exists(totals.filter(scored=True, total__isnull=False))
    period = None
    if metric in ("self", "self_missing", "panel", "panel_missing"):
        period = Period.objects.filter(pk=params.get("period") or 0, cycle__year=year).first()
        if period is None:
            raise PermissionDenied(_("未知的周期"))
        title = f"{period.name} · {title}"
    if metric == "expected":
        members = members.filter(_expected_q(scope))
    elif metric == "scored":
        members = members.filter(scored)
    elif metric == "bin":
        index = _int(params.get("bin"), -1)
        if not 0 <= index < len(BINS):
            raise PermissionDenied(_("未知的分数区间"))
        members = members.filter(Exists(totals.filter(bin_q(index), scored=True)))
        title = f"{title}：{bin_label(index)}"
    elif metric == "consequence":
        code = params.get("consequence", "")
        if code not in OutcomeRule.Consequence.values:
            raise PermissionDenied(_("未知的积分结果"))
        members = members.filter(Exists(MemberOutcome.objects.filter(member_id=OuterRef("pk"), year=year,
                                                                     consequence=code)))
        title = f"{title}：{OutcomeRule.Consequence(code).label}"
    elif metric in ("share", "high"):
        try:
            at = to_centi(params.get("at") or setting("HIGH_SCORE"))
        except ValueError as error:
            raise PermissionDenied(_("未知的分数线")) from error
        members = members.filter(Exists(totals.filter(scored=True, total__gte=at)))
        title = f"{title}（{format_points(at)} " + _("分以上") + "）"
    elif metric.startswith("pledges_"):
        submitted = Q(pk__in=pipeline.PLEDGES.done(year=year).values("member_id"))
        members = members.filter(_active())
        if metric == "pledges_submitted":
            members = members.filter(submitted)
        elif metric == "pledges_approved":
            members = members.filter(pk__in=pipeline.PLEDGE_REVIEW.done(year=year).values("member_id"))
        else:
            members = members.filter(_expected_q(scope)).filter(~submitted)
    elif metric in ("self", "self_missing"):
        done = Q(pk__in=pipeline.SELF_ASSESSMENT.done(year=year, period=period).values("member_id"))
        members = (members.filter(_active()).filter(done) if metric == "self" else
                   members.filter(_expected_q(scope, pipeline.SELF_ASSESSMENT)).filter(~done))
    elif metric in ("panel", "panel_missing"):
        done = Q(pk__in=pipeline.PANEL_SCORING.done(year=year, period=period).values("member_id"))
        members = (members.filter(_active()).filter(done) if metric == "panel" else
                   members.filter(_expected_q(scope, pipeline.PANEL_SCORING)).filter(~done))
    elif metric in ("determined", "publicized"):
        lines = DeterminationLine.objects.filter(member_id=OuterRef("pk"), determination__year=year,
                                                 determination__status=Determination.Status.DECIDED)
        if metric == "publicized":
            lines = lines.filter(Exists(Publicity.objects.filter(branch_id=OuterRef("determination__branch_id"),
                                                                 year=year, kind=Publicity.Kind.ANNUAL)))
        members = members.filter(_active()).filter(Exists(lines))
    elif metric == "follow_ups":
        found = FollowUp.objects.filter(member_id=OuterRef("pk"), determination__year=year)
        if params.get("kind") in FollowUp.Kind.values:
            found = found.filter(kind=params["kind"])
            title = f"{title}：{FollowUp.Kind(params['kind']).label}"
        if params.get("status") in FollowUp.Status.values:
            found = found.filter(status=params["status"])
            title = f"{title}（{FollowUp.Status(params['status']).label}）"
        members = members.filter(Exists(found))
    elif metric == "self_unchanged":
        same = (SelfAssessment.objects.filter(member_id=OuterRef("pk"), status="submitted", self_score__isnull=False,
                                              period__cycle__year=year, member__year_totals__year=year)
                .filter(_confirmed()).annotate(final=_final_period_score("member__year_totals__"))
                .filter(self_score=F("final")))
        members = members.filter(Exists(same))
    members = members.annotate(year_total=Subquery(totals.values("total")[:1]),
                               year_rank=Subquery(totals.values("rank")[:1]))
    return title, org, members.select_related("branch").order_by("branch__path", "number")


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# ── the branch secretary ─────────────────────────────────────────────────────────────────────

def branch_dashboard(*, actor, branch, year, today=None):
    """The secretary's to-do and the branch table: `reviews.selectors.branch_todo` (reused as is)
    plus the branch's progress, results and fairness flags and each member's outcomes, open
    objections and follow-ups: a fixed number of queries whatever the branch's size."""
    from reviews import selectors as review_selectors

    todo = review_selectors.branch_todo(actor=actor, branch=branch, year=year, today=today)
    scope = scope_for(actor=actor, org=branch, year=year, today=today)
    data = figures(scope)
    prog, res, flags = data["progress"], data["results"], data["fairness"]
    row, result = prog["by_id"][branch.pk], res["by_id"][branch.pk]
    outcomes = defaultdict(list)
    for outcome in MemberOutcome.objects.filter(branch=branch, year=year).order_by("rule_code"):
        outcomes[outcome.member_id].append(outcome)
    open_objections = Counter(Objection.objects.filter(branch=branch, year=year, status__in=Objection.PENDING)
                              .values_list("member_id", flat=True))
    open_follow_ups = Counter(FollowUp.objects.filter(determination__branch=branch, determination__year=year)
                              .exclude(status=DONE).values_list("member_id", flat=True))
    lines = set(DeterminationLine.objects.filter(
        determination__branch=branch, determination__year=year,
        determination__status=Determination.Status.DECIDED).values_list("member_id", flat=True))
    table = [{**r, "outcomes": outcomes.get(r["member"].pk, []), "objections": open_objections.get(r["member"].pk, 0),
              "follow_ups": open_follow_ups.get(r["member"].pk, 0), "determined": r["member"].pk in lines}
             for r in todo["rows"]]
    deadlines = prog["deadlines"]
    scope_today = scope.today
    declarations = list(todo["declarations"])
    objections = list(todo["objections"])
    follow_ups = list(todo["follow_ups"])
    current = [p for p in todo["periods"].values() if p is not None and p.kind != "year"]
    panel_pending = [r["member"] for r in todo["rows"] if not r["panel"] and not r["member"].exempt]
    report = WorkReport.objects.filter(organization=branch, year=year).first()
    report_due = deadlines.get("A-REPORT")
    items = []

    may_see_follow_ups = review_selectors.may_see_follow_ups(actor=actor)
    may_write_report = report_permissions(actor, branch)[0]

    def add(what, count, url, due=None, late=False, detail="", perm=perms.MEMBERS_REVIEW, may=True):
        """`perm` is what acting on the item takes at the branch (the page's own check, as `may`
        where it is not one permission): the item is another role's work for whoever lacks it."""
        items.append({"what": what, "count": count, "url": url, "due": due,
                      "late": late or (count and overdue(due, scope_today)), "detail": detail,
                      "may_act": may and perms.has_org_perm(actor, perm, branch)})

    reviews_url = reverse("branch_reviews", args=[branch.pk])
    add(_("待审核的本人申报"), len(declarations), reviews_url)
    add(_("待审核的承诺"), len(list(todo["pledges"])), reviews_url, row.pledges_submitted.due)
    add(_("待核实的践诺报告"), len(list(todo["fulfilment"])), reviews_url)
    for period in current:
        if period.kind == "semester":
            add(_("%(p)s未提交自查自评") % {"p": period.name}, len(todo["self_missing"]),
                scope.drill_url("self_missing", period=period.pk), deadlines.get(f"A-S{period.index}-SELF"))
            add(_("%(p)s考评小组评分待确认") % {"p": period.name}, len(panel_pending),
                reverse("panel_board", args=[branch.pk, period.pk]), deadlines.get(f"A-S{period.index}-PANEL"),
                perm=perms.BRANCH_RUN)
    soonest = min((o.due_on for o in objections), default=None)
    add(_("未办结的异议"), len(objections), reviews_url, soonest,
        late=any(o.due_on < scope_today for o in objections), perm=perms.OBJECTIONS_HANDLE)
    missing = [p for p in row.publicity_problems if p[1] == "missing"]
    add(_("应开未开的公示"), len(missing), reviews_url,
        detail="；".join(f"{title}（{_('截止')} {due:%m-%d}）" for title, _kind, due, _held in missing),
        perm=perms.BRANCH_RUN)
    determination = todo["determination"]
    if determination is None or determination.status != Determination.Status.DECIDED:
        add(_("筹备党员大会（年度评定）"), 1, reverse("determination", args=[branch.pk, year]),
            row.determination.due, detail=row.determination_status, perm=perms.BRANCH_RUN)
    talks = [f for f in follow_ups if f.kind in TALKS]
    add(_("待办谈话"), len(talks), reverse("follow_ups"), min((f.due_on for f in talks), default=None),
        perm=perms.BRANCH_RUN, may=may_see_follow_ups)
    add(_("其他后续处理"), len(follow_ups) - len(talks), reverse("follow_ups"),
        min((f.due_on for f in follow_ups if f.kind not in TALKS), default=None), perm=perms.BRANCH_RUN,
        may=may_see_follow_ups)
    if report is None or report.status != WorkReport.Status.SUBMITTED:
        add(_("年度工作报告"), 1, reverse("work_report", args=[branch.pk, year]), report_due,
            detail=report.get_status_display() if report else _("未填写"), perm=perms.BRANCH_RUN,
            may=may_write_report)
    return {"todo": todo, "items": items, "table": table, "progress": prog, "results": res, "flags": flags,
            "row": row, "result": result, "scope": scope, "report": report, "objections": objections,
            "declarations": declarations, "follow_ups": follow_ups,
            "notices": list(BranchCommendation.objects.filter(branch=branch, year=year).order_by("-created_at"))}


# ── the member ───────────────────────────────────────────────────────────────────────────────

def member_dashboard(*, actor, year):
    """The member's own standing: reuses the points card, `member_due` and `my_pipeline` reads;
    nothing about any other member. The rank is shown only if the branch shows its board."""
    from reviews.selectors import member_due, my_pipeline
    from scoring.selectors import points_card

    member = getattr(actor, "member", None) if actor.is_authenticated else None
    if member is None:
        raise PermissionDenied(_("只有党员本人可以使用此功能"))
    member = Member.objects.select_related("branch").get(pk=member.pk)
    total, _entries, outcomes = points_card(actor=actor, member=member, year=year)
    pipeline = my_pipeline(member=member, year=year)
    periods = []
    if total is not None and total.scheme is not None:
        for period in Period.objects.filter(cycle__year=year, kind=total.scheme.period_kind).order_by("index"):
            score = (total.period_scores or {}).get(str(period.index))
            if score is not None:
                periods.append({"name": period.name, "value": score / 100, "text": format_points(score),
                                "url": reverse("points_card", args=[member.pk]) + f"?year={year}"})
    return {
        "member": member, "year": year, "total": total, "outcomes": list(outcomes),
        "show_rank": bool(member.branch.show_board_to_members and total is not None and total.rank),
        "due": member_due(member=member, year=year), "pledges": list(pipeline["pledges"]),
        "objections": list(pipeline["objections"]), "follow_ups": list(pipeline["follow_ups"]),
        "periods": periods,
        "categories": [] if total is None else [
            {"name": _("基础扣分"), "value": total.base / 100, "text": format_points(total.base)},
            {"name": _("加分/贡献"), "value": total.bonus / 100, "text": format_points(total.bonus)},
            {"name": _("减分"), "value": total.penalty / 100, "text": format_points(total.penalty)},
        ],
    }


# ── the college board (积分榜) ────────────────────────────────────────────────────────────────

def college_board(*, actor, org, year):
    """Every branch of a college (or the university) ranked for publicity: only branches that show
    their board to members are listed by name; the others show their number of scored members only.
    Three queries whatever the size."""
    scope = scope_for(actor=actor, org=org, year=year)
    shown = (MemberYearTotal.objects.filter(scope.within("branch_id"), year=year, branch__show_board_to_members=True)
             .select_related("member").order_by("branch__path", "rank", "member__number"))
    by_branch = defaultdict(list)
    for row in shown:
        by_branch[row.branch_id].append(row)
    hidden = dict(MemberYearTotal.objects.filter(scope.within("branch_id"), year=year,
                                                 branch__show_board_to_members=False, scored=True, total__isnull=False)
                  .values("branch_id").annotate(n=Count("id")).values_list("branch_id", "n"))
    names = {o.pk: o.name for o in scope.orgs}
    groups = []
    for o in scope.orgs:
        if o.kind == Organization.Kind.BRANCH:
            groups.append({"branch": o, "college": names.get(o.parent_id, ""), "public": o.show_board_to_members,
                           "rows": by_branch.get(o.pk, []), "hidden_count": hidden.get(o.pk, 0)})
    return {"scope": scope, "groups": groups, "public": sum(1 for g in groups if g["public"]),
            "hidden": sum(1 for g in groups if not g["public"])}


# ── annual work reports (工作报告) ─────────────────────────────────────────────────────────────

def report_figures(scope):
    """The unit's own figures for its report: plain values (stored with the report on submission)."""
    data = figures(scope)
    prog, res = data["progress"], data["results"]
    row, result = prog["by_id"][scope.org.pk], res["by_id"][scope.org.pk]
    labels = dict(OutcomeRule.Consequence.choices)
    steps = [(_("提交承诺"), row.pledges_submitted), (_("承诺审核"), row.pledges_approved)]
    for period in prog["periods"]:
        steps += [(_("%(p)s自查自评") % {"p": period.name}, row.self_periods[period.pk]),
                  (_("%(p)s考评确认") % {"p": period.name}, row.panel_periods[period.pk])]
    steps += [(_("群众评议（份）"), row.mass), (_("按时公示（项）"), row.publicity), (_("年度评定"), row.determination),
              (_("后续处理"), row.follow_ups)]
    return {
        "organization": scope.org.name, "year": scope.year, "branches": row.branches,
        "expected": row.expected, "scored": result.scored, "mean": format_points(result.mean),
        "distribution": [{"label": bin_label(i), "n": n} for i, n in enumerate(result.bins)],
        "outcomes": [{"label": str(labels[c]), "n": n} for c, n in sorted(result.consequences.items(),
                                                                          key=lambda kv: kv[0]) if n],
        "share_broken": result.share_broken,
        "steps": [{"label": str(label), "done": s.done, "expected": s.expected, "overdue": s.overdue,
                   "due": s.due.isoformat() if s.due else ""} for label, s in steps if s.applicable],
        "objections": row.objections, "mass_forms": row.mass_forms,
        "publicity_problems": [{"title": t, "problem": k, "due": d.isoformat()} for t, k, d, _h in
                               row.publicity_problems],
        "decided": row.branches_decided,
    }


def report_draft(figures):
    """A first draft of the summary, written from the figures, for the secretary to edit."""
    steps = "；".join(f"{s['label']} {s['done']}/{s['expected']}" + ("（逾期）" if s["overdue"] else "")
                     for s in figures["steps"])
    outcomes = "、".join(f"{o['label']} {o['n']} 人" for o in figures["outcomes"]) or _("无")
    return _(
        "%(org)s%(year)s年度党员积分管理工作总结\n\n"
        "一、基本情况：应参与记分党员 %(expected)s 名，参与记分 %(scored)s 名，年度平均分 %(mean)s 分。\n"
        "二、积分结果：%(outcomes)s。\n"
        "三、各环节完成情况：%(steps)s。\n"
        "四、异议与群众评议：收到异议 %(objections)s 件，群众评议表 %(mass)s 份。\n"
        "五、存在的问题和下一步打算：\n") % {
        "org": figures["organization"], "year": figures["year"], "expected": figures["expected"],
        "scored": figures["scored"], "mean": figures["mean"], "outcomes": outcomes, "steps": steps,
        "objections": figures["objections"], "mass": figures["mass_forms"]}


def report_permissions(actor, org):
    """(may write and submit, may return) the report of `org`."""
    if org.kind == Organization.Kind.BRANCH:
        may_write = perms.has_org_perm(actor, perms.BRANCH_RUN, org)
        may_return = org.parent is not None and perms.has_org_perm(actor, perms.SCHEME_APPROVE, org.parent)
    elif org.kind == Organization.Kind.GENERAL_BRANCH:
        may_write = perms.has_org_perm(actor, perms.SCHEME_APPROVE, org)
        may_return = org.parent is not None and perms.has_org_perm(actor, perms.OVERSEE, org.parent)
    else:
        may_write = may_return = False
    return may_write, may_return


def work_report_view(*, actor, org, year, today=None):
    """The report page of a branch or general branch: the stored report (if any), the figures (frozen
    once submitted, live before) and what the actor may do."""
    scope = scope_for(actor=actor, org=org, year=year, today=today)
    report = WorkReport.objects.filter(organization=org, year=year).select_related(
        "submitted_by", "updated_by").first()
    frozen = report is not None and report.status == WorkReport.Status.SUBMITTED and report.figures
    figures = report.figures if frozen else report_figures(scope)
    may_write, may_return = report_permissions(actor, org)
    due = deadlines_by_code(scope).get("A-REPORT")
    return {"scope": scope, "report": report, "figures": figures, "frozen": bool(frozen), "due": due,
            "may_write": may_write and (report is None or report.status != WorkReport.Status.SUBMITTED),
            "may_return": may_return and report is not None and report.status == WorkReport.Status.SUBMITTED,
            "draft": report.summary if report else report_draft(figures),
            "late": _report_late(report, due, scope.today)}


def _report_late(report, due, today):
    if due is None:
        return False
    if report is not None and report.submitted_at is not None and report.status == WorkReport.Status.SUBMITTED:
        return timezone.localtime(report.submitted_at).date() > due
    return today > due


def work_reports_overview(*, actor, org, year, today=None):
    """Who has submitted and who is late, for every branch and general branch under `org`: two
    queries after the scope."""
    scope = scope_for(actor=actor, org=org, year=year, today=today)
    reports = {r.organization_id: r for r in WorkReport.objects.filter(
        organization_id__in=[o.pk for o in scope.orgs], year=year).select_related("submitted_by")}
    due = deadlines_by_code(scope).get("A-REPORT")
    rows = []
    for o in scope.orgs:
        if o.kind == Organization.Kind.COMMITTEE:
            continue
        report = reports.get(o.pk)
        submitted = report is not None and report.status == WorkReport.Status.SUBMITTED
        rows.append({"org": o, "report": report, "submitted": submitted,
                     "late": _report_late(report, due, scope.today),
                     "status": report.get_status_display() if report else _("未填写")})
    counts = Counter("submitted" if r["submitted"] else "late" if r["late"] else "pending" for r in rows)
    return {"scope": scope, "rows": rows, "due": due, "counts": counts}


# ── whole pages ──────────────────────────────────────────────────────────────────────────────

DONE_COLOUR, OPEN_COLOUR = "#2e7d32", "#90a4ae"  # overdue items are drawn red by dashboards.js


def _chart(kind, items, *, name="", extra=None):
    """A chart as plain data for static/js/dashboards.js: every item carries its drill-down URL."""
    return {"kind": kind, "name": str(name), "items": items, **(extra or {})}


def _progress_chart(scope, prog):
    """For each organization directly below the scope's: the share done of each step."""
    children = [o for o in scope.orgs if o.parent_id == scope.org.pk] or [scope.org]
    rows = prog["by_id"]
    steps = [("pledges_submitted", _("提交承诺"), None), ("pledges_approved", _("承诺审核"), None)]
    for period in prog["periods"]:
        steps += [("self_periods", _("%(p)s自评") % {"p": period.name}, period.pk),
                  ("panel_periods", _("%(p)s考绩") % {"p": period.name}, period.pk)]
    steps.append(("determination", _("年度评定"), None))
    series = []
    for attr, label, period_id in steps:
        data = []
        for child in children:
            step = getattr(rows[child.pk], attr)
            if period_id is not None:
                step = step.get(period_id, Step(applicable=False))
            data.append({"value": step.percent, "done": step.done, "expected": step.expected, "url": step.url,
                         "overdue": step.overdue})
        series.append({"name": str(label), "data": data})
    return _chart("grouped", [], name=_("各单位进度（%）"),
                  extra={"categories": [c.name for c in children], "series": series, "max": 100})


def _heatmap(scope, prog):
    """Every branch of the scope × every step at a glance: the share done (percent), or -1 when
    the step is overdue. Clicking a cell opens its members; dashboards.js builds the link from
    `drill`, the column's metric and the row's organization, so thousands of cells stay small."""
    columns = [{"name": _("提交承诺"), "attr": "pledges_submitted", "metric": "pledges_submitted",
                "missing": "pledges_missing", "period": None},
               {"name": _("承诺审核"), "attr": "pledges_approved", "metric": "pledges_approved",
                "missing": "pledges_missing", "period": None}]
    for period in prog["periods"]:
        columns += [{"name": _("%(p)s自评") % {"p": period.name}, "attr": "self_periods", "metric": "self",
                     "missing": "self_missing", "period": period.pk},
                    {"name": _("%(p)s考绩") % {"p": period.name}, "attr": "panel_periods", "metric": "panel",
                     "missing": "panel_missing", "period": period.pk}]
    columns.append({"name": _("年度评定"), "attr": "determination", "metric": "determined", "missing": "determined",
                    "period": None})
    rows, cells = [], []
    for y, branch in enumerate(scope.branches):
        row = prog["by_id"][branch.pk]
        rows.append({"name": scope.branch_label(branch), "org": branch.pk})
        for x, column in enumerate(columns):
            step = getattr(row, column["attr"])
            if column["period"] is not None:
                step = step.get(column["period"], Step(applicable=False))
            if step.applicable and step.expected:
                cells.append([x, y, -1 if step.overdue else step.percent, step.done, step.expected])
    return _chart("heatmap", [], name=_("各支部进度一览"), extra={
        "columns": [{k: v for k, v in c.items() if k != "attr"} for c in columns], "rows": rows, "cells": cells,
        "drill": reverse("dashboard_drill", args=[scope.org.pk]), "year": scope.year,
        "height": f"{min(38, 10 + 1.5 * len(rows)):g}rem",
        "overdue": _("逾期"), "legend": [_("逾期"), _("不足一半"), _("过半"), _("全部完成")]})


def org_dashboard(*, actor, org, year, today=None):
    """Everything the committee / general branch dashboard shows: progress, results, fairness and a
    supervision summary, with the charts' data. A fixed number of queries (see the tests)."""
    scope = scope_for(actor=actor, org=org, year=year, today=today)
    data = figures(scope)
    prog, res, flags = data["progress"], data["results"], data["fairness"]
    sup = supervision(scope, data["facts"], lists=False)
    history = res["history"]
    charts = {
        "heatmap": _heatmap(scope, prog),
        "funnel": _chart("funnel", prog["funnel"], name=_("全流程漏斗")),
        "histogram": _chart("bar", res["histogram"], name=_("年度总分分布（人）")),
        "consequences": _chart("bar", res["consequences"], name=_("积分结果（人）")),
        "progress": _progress_chart(scope, prog),
        "history": _chart("grouped", [], name=_("历年对比（人）"), extra={
            "categories": [str(h["year"]) for h in history],
            "series": [{"name": _("参与记分"), "data": [{"value": h["scored"], "url": h["url"]} for h in history]},
                       *[{"name": history[0]["consequences"][i]["name"] if history else "",
                          "data": [{"value": h["consequences"][i]["value"], "url": h["consequences"][i]["url"]}
                                   for h in history]} for i in range(len(RESULT_CONSEQUENCES))]]}),
        "flags": _chart("bar", [{**s, "url": f"#flag-{s['code']}"} for s in flags["summary"]],
                        name=_("公平性信号（支部数）")),
        "follow_ups": _chart("grouped", [], name=_("谈话与后续处理（件）"), extra={
            "categories": [k["name"] for k in sup["by_kind"]],
            "series": [{"name": _("已办理"), "color": DONE_COLOUR,
                        "data": [{"value": k["done"], "url": k["done_url"]} for k in sup["by_kind"]]},
                       {"name": _("待办理"), "color": OPEN_COLOUR,
                        "data": [{"value": k["open"], "url": k["open_url"], "overdue": bool(k["late"])}
                                 for k in sup["by_kind"]]}],
            "stack": True}),
    }
    shown = {org.pk} | {o.pk for o in scope.orgs if o.parent_id == org.pk}
    return {"scope": scope, "progress": prog, "results": res, "fairness": flags, "supervision": sup,
            "charts": charts, "top": prog["by_id"][org.pk], "top_result": res["by_id"][org.pk],
            "progress_rows": [r for r in prog["rows"] if r.org.pk in shown],
            "result_rows": [r for r in res["rows"] if r.org.pk in shown]}


def branch_charts(data):
    row, res = data["row"], data["results"]
    steps = [(_("提交承诺"), row.pledges_submitted), (_("承诺审核"), row.pledges_approved)]
    for period in data["progress"]["periods"]:
        steps += [(_("%(p)s自评") % {"p": period.name}, row.self_periods[period.pk]),
                  (_("%(p)s考绩") % {"p": period.name}, row.panel_periods[period.pk])]
    steps.append((_("年度评定"), row.determination))
    return {
        "histogram": _chart("bar", res["histogram"], name=_("本支部年度总分分布（人）")),
        "consequences": _chart("bar", res["consequences"], name=_("积分结果（人）")),
        "steps": _chart("grouped", [], name=_("各环节完成情况（人）"), extra={
            "categories": [str(label) for label, _step in steps],
            "series": [{"name": _("已完成"), "color": DONE_COLOUR,
                        "data": [{"value": s.done, "url": s.url} for _l, s in steps]},
                       {"name": _("未完成"), "color": OPEN_COLOUR,
                        "data": [{"value": max(s.expected - s.done, 0), "url": s.missing_url or s.url,
                                  "overdue": s.overdue} for _l, s in steps]}],
            "stack": True}),
    }


def member_charts(data):
    """The member's own period scores (the category totals are shown as figures beside it)."""
    return {"periods": _chart("bar", data["periods"], name=_("各期得分"))} if data["periods"] else {}
