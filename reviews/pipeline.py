"""The review pipeline's steps, each declared once: the deadline codes it owns in each pipeline it
belongs to, the one query that says who has done it, who is responsible and the page to do it on.

The member's to-do list, the reminders and escalations (rhythm.py) and the dashboards' progress
and drill-down all iterate over STEPS, so they cannot disagree on when a step is done. A new
pipeline (a third policy, a quarterly Policy A) is a Scheme.Pipeline value and entries here.
"""

import datetime
import functools
from dataclasses import dataclass, field

from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from scoring.models import Scheme

from .models import (
    Determination,
    FulfilmentReport,
    MassEvaluation,
    PanelConfirmation,
    Pledge,
    Publicity,
    SelfAssessment,
)

VANGUARD, TALLY = Scheme.Pipeline.VANGUARD, Scheme.Pipeline.TALLY

# What a step's done query counts: a member, a branch, or a mass representative at a branch.
MEMBER, BRANCH, REPRESENTATIVE = "member", "branch", "representative"
# Who acts on it (and so is reminded; a member's or a representative's lateness goes to the branch,
# the branch's own to the organization above it).
BY_MEMBER, BY_SECRETARY, BY_PANEL, BY_MASS_REPRESENTATIVE = "member", "secretary", "panel", "mass_representative"


@dataclass(frozen=True)
class Due:
    """A deadline code a step owns, and the period (kind, index) it closes, if any."""

    code: str
    period: tuple | None = None


@dataclass(frozen=True, eq=False)  # a step is itself: compared and hashed by identity
class Step:
    key: str
    title: str  # the to-do line; %(period)s is the period's name
    deadlines: dict  # pipeline → (Due, …)
    subject: str  # MEMBER, BRANCH or REPRESENTATIVE
    responsible: str
    done_records: object  # (year, period) → the records that make their subjects done
    page: str
    page_args: object = field(default=lambda branch, period, year: ())

    @property
    def pipelines(self):
        return frozenset(self.deadlines)

    @property
    def subject_fields(self):
        return {MEMBER: ("member_id",), BRANCH: ("branch_id",), REPRESENTATIVE: ("representative_id", "branch_id")}[
            self.subject
        ]

    def done(self, *, year, period=None):
        """The step's one definition of done: a queryset of its records for `year` (and `period`;
        None: every period of the year), whose subject_fields are the subjects that have done it."""
        return self.done_records(year, period)

    def done_subjects(self, *, year, period=None, branch_ids=None):
        """The done subjects as a set: member ids, branch ids or (representative, branch) pairs."""
        records = self.done(year=year, period=period)
        if branch_ids is not None:
            records = records.filter(**{f"{self.branch_field}__in": list(branch_ids)})
        fields = self.subject_fields
        return set(records.values_list(*fields, flat=len(fields) == 1))

    @property
    def branch_field(self):
        return "member__branch_id" if self.subject == MEMBER else "branch_id"

    def url(self, *, branch, period, year):
        return reverse(self.page, args=self.page_args(branch, period, year))

    def todo_title(self, period):
        return self.title % {"period": period} if period is not None else str(self.title)


def _in_period(records, year, period):
    return records.filter(period=period) if period is not None else records.filter(period__cycle__year=year)


def _pledges_handed_in(year, period):
    # Handed in: every pledge of the year submitted or approved; a draft or a returned one is the
    # member's to finish, whatever the others' state.
    unfinished = Pledge.objects.filter(year=year, status__in=(Pledge.Status.DRAFT, Pledge.Status.RETURNED))
    return Pledge.objects.filter(year=year, status__in=(Pledge.Status.SUBMITTED, Pledge.Status.APPROVED)).exclude(
        member_id__in=unfinished.values("member_id")
    )


def _pledges_approved(year, period):
    pending = Pledge.objects.filter(year=year).exclude(status=Pledge.Status.APPROVED)
    return Pledge.objects.filter(year=year, status=Pledge.Status.APPROVED).exclude(
        member_id__in=pending.values("member_id")
    )


def _self_submitted(year, period):
    return _in_period(SelfAssessment.objects.filter(status=SelfAssessment.Status.SUBMITTED), year, period)


def _panel_confirmed(year, period):
    return _in_period(PanelConfirmation.objects.all(), year, period)


def _mass_answered(year, period):
    return MassEvaluation.objects.filter(year=year)


def _decided(year, period):
    return Determination.objects.filter(year=year, status=Determination.Status.DECIDED)


def _own_rules(year, period):
    # A branch has its own rules once a scheme it owns is approved (not just its college's).
    return Scheme.objects.filter(year=year, status=Scheme.Status.APPROVED).annotate(branch_id=F("owner_id"))


def _fulfilment_reported(year, period):
    # A returned report is the member's to hand in again.
    return _in_period(
        FulfilmentReport.objects.filter(
            status__in=(FulfilmentReport.Status.SUBMITTED, FulfilmentReport.Status.VERIFIED)
        ),
        year,
        period,
    )


# A publicity recorded without naming its month or quarter counts for the period when it starts
# within the period or this many days after it ends (the dashboards read the same rule).
UNNAMED_PUBLICITY_DAYS = 92


def unnamed_publicity_counts(period, started_on):
    """Whether a publicity that names no period, started on `started_on`, counts for `period`."""
    return period.starts_on <= started_on <= period.ends_on + datetime.timedelta(days=UNNAMED_PUBLICITY_DAYS)


def _publicized(kind):
    def records(year, period):
        found = Publicity.objects.filter(year=year, kind=kind)
        if period is None:
            return found
        last_day = period.ends_on + datetime.timedelta(days=UNNAMED_PUBLICITY_DAYS)
        unnamed = Q(period__isnull=True, starts_at__date__gte=period.starts_on, starts_at__date__lte=last_day)
        return found.filter(Q(period=period) | unnamed)

    return records


def _branch_page(branch, period, year):
    return (branch.pk,)


MONTHS = tuple(Due(f"B-M{m:02d}", ("month", m)) for m in range(1, 13))
QUARTERS = tuple(Due(f"B-Q{q}", ("quarter", q)) for q in range(1, 5))

PLEDGES = Step(
    "pledges",
    _("提交年度承诺"),
    {VANGUARD: (Due("A-PLEDGES"),), TALLY: (Due("B-PLEDGES"),)},
    MEMBER,
    BY_MEMBER,
    _pledges_handed_in,
    "my_pledges",
)
# The branch's review of the pledges handed in: counted on the dashboards, owning no deadline of its own.
PLEDGE_REVIEW = Step(
    "pledge_review",
    _("审核党员承诺"),
    {VANGUARD: (), TALLY: ()},
    MEMBER,
    BY_SECRETARY,
    _pledges_approved,
    "branch_reviews",
    _branch_page,
)
SELF_ASSESSMENT = Step(
    "self_assessment",
    _("%(period)s自查自评"),
    {VANGUARD: (Due("A-S1-SELF", ("semester", 1)), Due("A-S2-SELF", ("semester", 2)))},
    MEMBER,
    BY_MEMBER,
    _self_submitted,
    "self_assessment",
    lambda b, period, y: (period.pk,),
)
PANEL_SCORING = Step(
    "panel_scoring",
    _("%(period)s考评小组评分"),
    {VANGUARD: (Due("A-S1-PANEL", ("semester", 1)), Due("A-S2-PANEL", ("semester", 2)))},
    MEMBER,
    BY_PANEL,
    _panel_confirmed,
    "panel_board",
    lambda b, period, y: (b.pk, period.pk),
)
MASS_EVALUATION = Step(
    "mass_evaluation",
    _("群众评议"),
    {VANGUARD: (Due("A-MASSES"),)},
    REPRESENTATIVE,
    BY_MASS_REPRESENTATIVE,
    _mass_answered,
    "mass_form",
    _branch_page,
)
BRANCH_RULES = Step(
    "branch_rules", _("支部评分细则"), {VANGUARD: (Due("A-RULES"),)}, BRANCH, BY_SECRETARY, _own_rules, "scheme_list"
)
# Both policies end in the branch meeting's determination, by the one date the committee sets.
DETERMINATION = Step(
    "determination",
    _("党员大会年度评定"),
    {VANGUARD: (Due("A-MEETING"),), TALLY: (Due("A-MEETING"),)},
    BRANCH,
    BY_SECRETARY,
    _decided,
    "determination",
    lambda branch, period, year: (branch.pk, year),
)
FULFILMENT = Step(
    "fulfilment",
    _("%(period)s践诺情况报告"),
    {TALLY: MONTHS},
    MEMBER,
    BY_MEMBER,
    _fulfilment_reported,
    "fulfilment_new",
)
FULFILMENT_PUBLICITY = Step(
    "fulfilment_publicity",
    _("%(period)s践诺情况公示"),
    {TALLY: MONTHS},
    BRANCH,
    BY_SECRETARY,
    _publicized(Publicity.Kind.FULFILMENT),
    "branch_reviews",
    _branch_page,
)
SCORES_PUBLICITY = Step(
    "scores_publicity",
    _("%(period)s记分情况公开"),
    {TALLY: QUARTERS},
    BRANCH,
    BY_SECRETARY,
    _publicized(Publicity.Kind.SCORES),
    "branch_reviews",
    _branch_page,
)

STEPS = (
    PLEDGES,
    PLEDGE_REVIEW,
    SELF_ASSESSMENT,
    PANEL_SCORING,
    MASS_EVALUATION,
    BRANCH_RULES,
    DETERMINATION,
    FULFILMENT,
    FULFILMENT_PUBLICITY,
    SCORES_PUBLICITY,
)


def steps_of(pipelines, *, responsible=None):
    """The steps of any of `pipelines` (a set of Scheme.Pipeline values), optionally by who acts."""
    return [s for s in STEPS if s.pipelines & set(pipelines) and responsible in (None, s.responsible)]


def dues_of(step, pipelines):
    """The step's deadline codes in any of `pipelines`, each once (a tuple)."""
    return _dues(step, frozenset(pipelines))


# The steps are declared once at import, so these look-ups are pure: the dashboards ask them
# thousands of times a page (each branch × step × period), and they are answered once.
@functools.cache
def _dues(step, pipelines):
    return tuple(dict.fromkeys(d for p in sorted(pipelines) for d in step.deadlines.get(p, ())))


def codes_of(pipelines):
    """Every deadline code the steps of `pipelines` own."""
    return {d.code for step in steps_of(pipelines) for d in dues_of(step, pipelines)}


def period_kinds(step, pipelines):
    """The kinds of period the step runs in under `pipelines` (semester for Policy A's panel)."""
    return _period_kinds(step, frozenset(pipelines))


@functools.cache
def _period_kinds(step, pipelines):
    return frozenset(d.period[0] for d in _dues(step, pipelines) if d.period)


def due_for(step, pipelines, period):
    """The step's deadline code for `period` under `pipelines`, or None."""
    return _due_for(step, frozenset(pipelines), (period.kind, period.index) if period is not None else None)


@functools.cache
def _due_for(step, pipelines, key):
    return next((d.code for d in _dues(step, pipelines) if d.period == key), None)


def reminder_title(step, deadline, period):
    """What a reminder of `step` is called: its deadline's title, unless other steps share the code
    (a month's code closes the members' 践诺 reports and the branch's publicity): then the step's."""
    shared = sum(1 for other in STEPS if any(d.code == deadline.code for ds in other.deadlines.values() for d in ds))
    return step.todo_title(period) if shared > 1 else deadline.title


def runs_in(step, scheme, period):
    """Whether `scheme`'s members go through `step` in `period` (False without a scheme)."""
    return scheme is not None and due_for(step, {scheme.pipeline}, period) is not None
