"""How far each branch is in the year's review pipeline, step by step (reviews.pipeline), with
the roll-up to colleges and the committee."""

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.models import Organization
from reviews import pipeline
from reviews.models import (
    Determination,
    Publicity,
    ReviewSettings,
)
from scoring.models import (
    QUARTERS,
    Period,
)

from .scope import overdue, setting

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
        steps = [
            self.pledges_submitted,
            self.mass,
            self.publicity,
            self.determination,
            self.follow_ups,
            *self.self_periods.values(),
            *self.panel_periods.values(),
        ]
        return self.scheme_overdue or any(s.overdue for s in steps)


def year_periods(scope):
    """The year's periods by id (one query)."""
    return {p.pk: p for p in Period.objects.filter(cycle__year=scope.year).order_by("kind", "index")}


def _assessed(periods, in_force, today):
    """The periods self-assessment and panel scoring run in (the A schemes' kind), started by today."""
    kinds = {
        k
        for schemes in in_force.values()
        for s in schemes.values()
        for k in pipeline.period_kinds(pipeline.PANEL_SCORING, {s.pipeline})
    }
    return [p for p in periods.values() if p.kind in kinds and p.starts_on <= today]


def _publicity_expectations(policies, deadlines, periods_by_key, determination, grace, annual_grace, known):
    """What a branch should have publicized by now: [(title, kind, period, due)]. `known` keeps the
    part that depends only on the branch's policies, which most branches share."""
    key = frozenset(policies)
    if key not in known:
        known[key] = _policy_publicities(policies, deadlines, periods_by_key, grace)
    expected = list(known[key])
    if (
        determination is not None
        and determination["status"] == Determination.Status.DECIDED
        and determination["decided_on"]
    ):
        decided = datetime.date.fromisoformat(determination["decided_on"])
        expected.append(
            (ANNUAL_PUBLICITY, Publicity.Kind.ANNUAL, None, decided + datetime.timedelta(days=annual_grace))
        )
    return expected


def _policy_publicities(policies, deadlines, periods_by_key, grace):
    """The publicities the steps of `policies` ask for, with their deadlines."""
    expected = []
    for code in pipeline.dues_of(pipeline.PLEDGES, policies):
        due = deadlines.get(code.code)
        if due is not None:
            expected.append((_("党员承诺公示"), Publicity.Kind.PLEDGES, None, due + datetime.timedelta(days=grace)))
    for step, kind in (
        (pipeline.FULFILMENT_PUBLICITY, Publicity.Kind.FULFILMENT),
        (pipeline.SCORES_PUBLICITY, Publicity.Kind.SCORES),
    ):
        for code in pipeline.dues_of(step, policies):
            due = deadlines.get(code.code)
            if due is not None:
                month_or_quarter = (
                    _("%(m)s月") % {"m": code.period[1]} if code.period[0] == "month" else QUARTERS[code.period[1]]
                )
                expected.append((step.title % {"period": month_or_quarter}, kind, periods_by_key.get(code.period), due))
    return expected


ANNUAL_PUBLICITY = gettext_lazy("年度积分结果公示")


def _held_on(windows, kind, period):
    """The first start date of a publicity of `kind` that counts for `period` (any, for None): one
    that names the period, or names none and starts in time (`pipeline.unnamed_publicity_counts`,
    the rule the step's done query applies)."""
    starts = []
    for period_id, first in windows.get(kind, ()):
        first = datetime.date.fromisoformat(first)
        if (
            period is None
            or period_id == period.pk
            or (period_id is None and pipeline.unnamed_publicity_counts(period, first))
        ):
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
    states = {
        "own": _("本支部细则已批准"),
        "pending": _("细则待审批"),
        "inherited": _("沿用上级评分标准"),
        "none": _("无已批准的评分标准"),
        "decided": _("已评定"),
        "preparing": _("筹备中"),
        "not_started": _("未开始"),
    }
    rows = {o.pk: ProgressRow(org=o) for o in scope.orgs}
    publicities = {}
    for branch in scope.branches:
        row, schemes, f = rows[branch.pk], in_force.get(branch.pk, {}), facts[branch.pk]
        row.branches = 1
        by_category = f["expected"]
        row.expected = sum(n for category, n in by_category.items() if category in schemes)
        hundred = sum(
            n
            for category, n in by_category.items()
            if category in schemes and pipeline.period_kinds(pipeline.PANEL_SCORING, {schemes[category].pipeline})
        )
        row.policies = {schemes[c].pipeline for c in by_category if c in schemes} or {
            s.pipeline for s in schemes.values()
        }
        own = any(s.owner_id == branch.pk for s in schemes.values())
        row.scheme_state = states[
            "own" if own else "pending" if f["pending_scheme"] else "inherited" if schemes else "none"
        ]
        rules_due = [deadlines.get(d.code) for d in pipeline.dues_of(pipeline.BRANCH_RULES, row.policies)]
        row.scheme_overdue = not schemes or (not own and any(overdue(due, today) for due in rules_due))
        pledge_due = min(
            (deadlines[d.code] for d in pipeline.dues_of(pipeline.PLEDGES, row.policies) if d.code in deadlines),
            default=None,
        )
        submitted, approved = f["pledges"]
        row.pledges_submitted = Step(done=submitted, expected=row.expected, due=pledge_due)
        row.pledges_submitted.overdue = overdue(pledge_due, today) and not row.pledges_submitted.complete
        row.pledges_approved = Step(done=approved, expected=row.expected, due=pledge_due)
        for period in assessed:
            for target, key, step in (
                (row.self_periods, "self", pipeline.SELF_ASSESSMENT),
                (row.panel_periods, "panel", pipeline.PANEL_SCORING),
            ):
                code = pipeline.due_for(step, step.pipelines, period)
                due = deadlines.get(code) if code else period.ends_on
                cell = Step(done=f[key].get(str(period.pk), 0), expected=hundred, due=due, applicable=hundred > 0)
                cell.overdue = cell.applicable and overdue(due, today) and not cell.complete
                target[period.pk] = cell
        needed = max(
            (
                needed_forms.get(s.pk, default_mass)
                for s in schemes.values()
                if s.pipeline in pipeline.MASS_EVALUATION.pipelines
            ),
            default=0,
        )
        row.mass_forms = f["mass_forms"]
        mass_due = min(
            (
                deadlines[d.code]
                for d in pipeline.dues_of(pipeline.MASS_EVALUATION, row.policies)
                if d.code in deadlines
            ),
            default=None,
        )
        row.mass = Step(done=min(row.mass_forms, needed), expected=needed, due=mass_due, applicable=needed > 0)
        row.mass.overdue = row.mass.applicable and overdue(row.mass.due, today) and not row.mass.complete
        decision = f["determination"]
        held = 0
        expectations = _publicity_expectations(
            row.policies, deadlines, by_key, decision, grace, annual_grace, publicities
        )
        due_now = 0
        for title, kind, period, due in expectations:
            first = _held_on(f["publicity"], kind, period)
            if first is not None and first <= due:
                held += 1
                due_now += 1
            elif first is not None:
                due_now += 1
                row.publicity_problems.append((str(title), "late", due, first))
            elif today > due:
                due_now += 1
                row.publicity_problems.append((str(title), "missing", due, None))
        row.publicity = Step(
            done=held,
            expected=due_now,
            overdue=bool(row.publicity_problems),
            applicable=due_now > 0 or bool(expectations),
        )
        meeting_due = min(
            (deadlines[d.code] for d in pipeline.dues_of(pipeline.DETERMINATION, row.policies) if d.code in deadlines),
            default=None,
        ) or datetime.date(year, 12, 31)
        decided = decision is not None and decision["status"] == Determination.Status.DECIDED
        row.determination_status = states["decided" if decided else "preparing" if decision else "not_started"]
        row.determination = Step(
            done=f["determined"] if decided else 0,
            expected=row.expected,
            due=meeting_due,
            overdue=not decided and overdue(meeting_due, today),
        )
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
    return {
        "rows": [rows[o.pk] for o in scope.orgs],
        "periods": assessed,
        "funnel": _funnel(scope, rows),
        "deadlines": deadlines,
        "by_id": rows,
    }


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
                    getattr(child, name).get(period.pk, Step(applicable=False))
                )
        parent.follow_ups_overdue += child.follow_ups_overdue
        parent.objections += child.objections
        parent.objections_pending += child.objections_pending
        parent.mass_forms += child.mass_forms
        parent.publicity_problems += [
            (f"{org.name}：{title}", kind, due, held) for title, kind, due, held in child.publicity_problems
        ]
    for row in rows.values():
        if not row.is_branch:
            row.scheme_state = _("%(n)s 个支部") % {"n": row.branches}
            row.determination_status = _("%(done)s/%(all)s 个支部已评定") % {
                "done": row.branches_decided,
                "all": row.branches,
            }


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
