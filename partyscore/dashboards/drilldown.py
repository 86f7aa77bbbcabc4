"""The members behind a number on a dashboard: one function per metric (`METRICS`)."""

from typing import NamedTuple

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Exists,
    F,
    OuterRef,
    Q,
    Subquery,
)
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.models import Member
from reviews import pipeline
from reviews.models import (
    Determination,
    DeterminationLine,
    FollowUp,
    Publicity,
    SelfAssessment,
)
from scoring.io_selectors import schemes_by_branch
from scoring.models import (
    MemberOutcome,
    MemberYearTotal,
    OutcomeRule,
    Period,
)
from scoring.points import format_points, to_centi

from .fairness import _confirmed, _final_period_score
from .scope import BINS, bin_label, bin_q, setting


def _active():
    return Q(left_on__isnull=True, exempt=False)


def _expected_q(scope, step=None):
    """Members expected in their branch's scheme in force (in a pipeline with `step` when given)."""
    in_force = schemes_by_branch(scope.branches, scope.year)
    condition = Q(pk__in=[])
    for category in (Member.Category.STAFF, Member.Category.STUDENT):
        ids = [
            b
            for b, schemes in in_force.items()
            if category in schemes and (step is None or schemes[category].pipeline in step.pipelines)
        ]
        if ids:
            condition |= Q(category=category, branch_id__in=ids)
    return _active() & condition


class Metric(NamedTuple):
    """One number a dashboard links to: its list's title, and `members(context)` → (members of the
    organization behind that number, a suffix for the title). `per_period`: the number is one
    period's (self-assessment, panel scoring), named by the `period` parameter."""

    title: object
    members: object
    per_period: bool = False


class Drill(NamedTuple):
    """What a metric's function is given: the scope, the organization drilled into, its members,
    the year's stored totals (a subquery on the member), the request's parameters, the period."""

    scope: object
    members: object
    totals: object
    params: dict
    period: object = None


def _expected(d):
    return d.members.filter(_expected_q(d.scope)), ""


def _scored(d):
    return d.members.filter(Exists(d.totals.filter(scored=True, total__isnull=False))), ""


def _in_bin(d):
    index = _int(d.params.get("bin"), -1)
    if not 0 <= index < len(BINS):
        raise PermissionDenied(_("未知的分数区间"))
    return d.members.filter(Exists(d.totals.filter(bin_q(index), scored=True))), "：" + str(bin_label(index))


def _with_consequence(d):
    code = d.params.get("consequence", "")
    if code not in OutcomeRule.Consequence.values:
        raise PermissionDenied(_("未知的积分结果"))
    found = MemberOutcome.objects.filter(member_id=OuterRef("pk"), year=d.scope.year, consequence=code)
    return d.members.filter(Exists(found)), "：" + str(OutcomeRule.Consequence(code).label)


def _at_or_above(d):
    try:
        at = to_centi(d.params.get("at") or setting("HIGH_SCORE"))
    except ValueError as error:
        raise PermissionDenied(_("未知的分数线")) from error
    return (
        d.members.filter(Exists(d.totals.filter(scored=True, total__gte=at))),
        f"（{format_points(at)} " + _("分以上") + "）",
    )


def _done_in(step, d):
    return Q(pk__in=step.done(year=d.scope.year, period=d.period).values("member_id"))


def _step_done(step):
    def members(d):
        return d.members.filter(_active()).filter(_done_in(step, d)), ""

    return members


def _step_missing(step):
    """Expected in a pipeline with `step`, and not done."""

    def members(d):
        return d.members.filter(_expected_q(d.scope, step)).filter(~_done_in(step, d)), ""

    return members


def _determined(publicized):
    def members(d):
        lines = DeterminationLine.objects.filter(
            member_id=OuterRef("pk"),
            determination__year=d.scope.year,
            determination__status=Determination.Status.DECIDED,
        )
        if publicized:
            lines = lines.filter(
                Exists(
                    Publicity.objects.filter(
                        branch_id=OuterRef("determination__branch_id"), year=d.scope.year, kind=Publicity.Kind.ANNUAL
                    )
                )
            )
        return d.members.filter(_active()).filter(Exists(lines)), ""

    return members


def _with_follow_ups(d):
    found, suffix = FollowUp.objects.filter(member_id=OuterRef("pk"), determination__year=d.scope.year), ""
    if d.params.get("kind") in FollowUp.Kind.values:
        found = found.filter(kind=d.params["kind"])
        suffix += "：" + str(FollowUp.Kind(d.params["kind"]).label)
    if d.params.get("status") in FollowUp.Status.values:
        found = found.filter(status=d.params["status"])
        suffix += "（" + str(FollowUp.Status(d.params["status"]).label) + "）"
    return d.members.filter(Exists(found)), suffix


def _self_score_unchanged(d):
    same = (
        SelfAssessment.objects.filter(
            member_id=OuterRef("pk"),
            status="submitted",
            self_score__isnull=False,
            period__cycle__year=d.scope.year,
            member__year_totals__year=d.scope.year,
        )
        .filter(_confirmed())
        .annotate(final=_final_period_score("member__year_totals__"))
        .filter(self_score=F("final"))
    )
    return d.members.filter(Exists(same)), ""


METRICS = {
    "expected": Metric(gettext_lazy("应参与记分的党员"), _expected),
    "scored": Metric(gettext_lazy("参与记分的党员"), _scored),
    "bin": Metric(gettext_lazy("年度总分在该区间的党员"), _in_bin),
    "consequence": Metric(gettext_lazy("有该积分结果的党员"), _with_consequence),
    "share": Metric(gettext_lazy("达到比例上限分数线的党员"), _at_or_above),
    "high": Metric(gettext_lazy("高分党员"), _at_or_above),
    "pledges_submitted": Metric(gettext_lazy("已提交承诺的党员"), _step_done(pipeline.PLEDGES)),
    "pledges_approved": Metric(gettext_lazy("承诺已审核的党员"), _step_done(pipeline.PLEDGE_REVIEW)),
    "pledges_missing": Metric(gettext_lazy("尚未提交承诺的党员"), _step_missing(pipeline.PLEDGES)),
    "self": Metric(gettext_lazy("已提交自查自评的党员"), _step_done(pipeline.SELF_ASSESSMENT), per_period=True),
    "self_missing": Metric(
        gettext_lazy("尚未提交自查自评的党员"), _step_missing(pipeline.SELF_ASSESSMENT), per_period=True
    ),
    "panel": Metric(gettext_lazy("考评得分已确认的党员"), _step_done(pipeline.PANEL_SCORING), per_period=True),
    "panel_missing": Metric(
        gettext_lazy("考评得分尚未确认的党员"), _step_missing(pipeline.PANEL_SCORING), per_period=True
    ),
    "determined": Metric(gettext_lazy("已年度评定的党员"), _determined(publicized=False)),
    "publicized": Metric(gettext_lazy("评定结果已公示的党员"), _determined(publicized=True)),
    "follow_ups": Metric(gettext_lazy("有后续处理事项的党员"), _with_follow_ups),
    "self_unchanged": Metric(gettext_lazy("自评分原样成为最终得分的党员"), _self_score_unchanged),
}


def drill(scope, metric, params):
    """(title, organization, members) for `metric` within the scope (or one organization in it): a
    queryset of members with `year_total` and `year_rank` annotated; raises PermissionDenied for an
    unknown metric or an organization outside the scope."""
    found = METRICS.get(metric)
    if found is None:
        raise PermissionDenied(_("未知的统计项"))
    org = scope.org
    if params.get("org"):
        org = next((o for o in scope.orgs if str(o.pk) == str(params["org"])), None)
        if org is None:
            raise PermissionDenied(_("您无权查看该党组织的数据"))
    title, period = str(found.title), None
    if found.per_period:
        period = Period.objects.filter(pk=params.get("period") or 0, cycle__year=scope.year).first()
        if period is None:
            raise PermissionDenied(_("未知的周期"))
        title = f"{period.name} · {title}"
    totals = MemberYearTotal.objects.filter(year=scope.year, member_id=OuterRef("pk"))
    members, suffix = found.members(
        Drill(scope, Member.objects.filter(branch__path__startswith=org.path), totals, params, period)
    )
    members = members.annotate(
        year_total=Subquery(totals.values("total")[:1]), year_rank=Subquery(totals.values("rank")[:1])
    )
    return title + suffix, org, members.select_related("branch").order_by("branch__path", "number")


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
