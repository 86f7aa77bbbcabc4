"""Signals that a branch's scoring may not be fair (self-scores taken as final, everyone high)."""

from collections import Counter
from decimal import Decimal

from django.db.models import (
    Case,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    When,
)
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reviews.models import (
    PanelConfirmation,
)

from .scope import overdue, setting

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
    return Case(
        *[When(period__index=i, then=ObjectKeyInteger(F(f"{prefix}period_scores"), i)) for i in indexes],
        output_field=IntegerField(),
    )


def _confirmed():
    return Exists(PanelConfirmation.objects.filter(member_id=OuterRef("member_id"), period_id=OuterRef("period_id")))


def _at_least(part, whole, share):
    return whole > 0 and Decimal(part) >= Decimal(str(share)) * whole


FLAG_TITLES = {
    "self_unchanged": gettext_lazy("自评分原样成为最终得分"),
    "high_scores": gettext_lazy("几乎人人高分"),
    "silent": gettext_lazy("无异议、无群众意见"),
    "publicity": gettext_lazy("公示缺失或逾期"),
    "share_cap": gettext_lazy("超过高分比例上限"),
}


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
            flags.append(
                {
                    "code": "self_unchanged",
                    "branch": branch,
                    "where": where,
                    "title": _("自评分未经调整即成为最终得分"),
                    "detail": _("%(same)s/%(all)s 份已考评确认的自评，最终得分与自评分完全相同")
                    % {"same": same, "all": compared},
                    "url": scope.drill_url("self_unchanged", org=branch.pk),
                    "count": same,
                }
            )
        if r.scored >= minimum and _at_least(r.high, r.scored, setting("HIGH_SCORE_SHARE")):
            flags.append(
                {
                    "code": "high_scores",
                    "branch": branch,
                    "where": where,
                    "title": _("几乎人人 %(at)s 分以上") % {"at": setting("HIGH_SCORE")},
                    "detail": _("%(high)s/%(all)s 名参评党员年度总分不低于 %(at)s 分")
                    % {"high": r.high, "all": r.scored, "at": setting("HIGH_SCORE")},
                    "url": scope.drill_url("high", org=branch.pk),
                    "count": r.high,
                }
            )
        finished = p.branches_decided or overdue(masses_due, scope.today)
        if finished and p.expected and p.objections == 0 and p.mass_forms == 0:
            flags.append(
                {
                    "code": "silent",
                    "branch": branch,
                    "where": where,
                    "title": _("全年无异议、无群众评议意见"),
                    "detail": _("本年度没有任何异议记录和群众评议表"),
                    "url": scope.drill_url("scored", org=branch.pk),
                    "count": p.expected,
                }
            )
        if p.publicity_problems:
            late = sum(1 for item in p.publicity_problems if item[1] == "late")
            missing = len(p.publicity_problems) - late
            flags.append(
                {
                    "code": "publicity",
                    "branch": branch,
                    "where": where,
                    "title": _("公示未按时进行"),
                    "detail": _("未公示 %(missing)s 项，逾期公示 %(late)s 项") % {"missing": missing, "late": late},
                    "records": p.publicity_problems,
                    "url": reverse("branch_reviews", args=[branch.pk]),
                    "count": len(p.publicity_problems),
                }
            )
        for check in r.share:
            if not check["ok"]:
                flags.append(
                    {
                        "code": "share_cap",
                        "branch": branch,
                        "where": where,
                        "title": check["label"],
                        "detail": _("现有 %(count)s 人，上限 %(limit)s 人") % check,
                        "url": check["url"],
                        "count": check["count"],
                    }
                )
    summary = Counter(f["code"] for f in flags)
    groups = [
        {"code": code, "name": str(title), "flags": [f for f in flags if f["code"] == code]}
        for code, title in FLAG_TITLES.items()
        if summary.get(code)
    ]
    return {
        "flags": flags,
        "groups": groups,
        "summary": [
            {"code": code, "name": str(title), "value": summary.get(code, 0)} for code, title in FLAG_TITLES.items()
        ],
    }
