"""The stored per-branch counts (BranchYearFacts) that every dashboard adds up, and when they are
recounted."""

import datetime

from django.db.models import (
    Count,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.utils import timezone

from members.models import Member
from reviews import pipeline
from reviews.models import (
    Determination,
    DeterminationLine,
    FollowUp,
    Objection,
    PanelConfirmation,
    Publicity,
    SelfAssessment,
)
from scoring.models import (
    MemberOutcome,
    MemberYearTotal,
    OutcomeRule,
    Scheme,
)
from scoring.points import to_centi
from scoring.policy import share_cap_line

from .fairness import PERIOD_INDEXES, _final_period_score
from .models import BranchCommendation
from .scope import BINS, DONE, RESULT_CONSEQUENCES, bin_q, setting

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
    facts = {
        pk: {
            "v": _facts_version(),
            "expected": {},
            "pending_scheme": False,
            "pledges": [0, 0],
            "self": {},
            "panel": {},
            "mass_forms": 0,
            "publicity": {},
            "determination": None,
            "determined": 0,
            "follow_ups": {},
            "objections": [0, 0],
            "scored": 0,
            "total_sum": 0,
            "bins": [0] * len(BINS),
            "at": {},
            "consequences": {},
            "notices": {},
            "self_compared": 0,
            "self_unchanged": 0,
            "history": {},
        }
        for pk in ids
    }

    def where(field_name):
        return _in(field_name, branch_ids, scope)

    active = Q(member__left_on__isnull=True, member__exempt=False)
    for row in (
        Member.objects.filter(where("branch_id"), left_on__isnull=True, exempt=False)
        .values("branch_id", "category")
        .annotate(n=Count("id"))
    ):
        facts[row["branch_id"]]["expected"][row["category"]] = row["n"]
    for owner_id in Scheme.objects.filter(where("owner_id"), year=year, status=Scheme.Status.SUBMITTED).values_list(
        "owner_id", flat=True
    ):
        facts[owner_id]["pending_scheme"] = True

    # Counted from the members against the set of members with such pledges (an uncorrelated IN,
    # which both databases evaluate once, as a hash or an index): no join of the pledges with the
    # members, which PostgreSQL without statistics ran as a nested loop of every pledge against
    # every member, and no per-member probe, which it ran 90,000 times with statistics.
    def did(step):
        return Q(pk__in=step.done(year=year).filter(where("member__branch_id")).values("member_id"))

    for row in (
        Member.objects.filter(where("branch_id"), left_on__isnull=True, exempt=False)
        .values("branch_id")
        .annotate(
            submitted=Count("id", filter=did(pipeline.PLEDGES)),
            approved=Count("id", filter=did(pipeline.PLEDGE_REVIEW)),
        )
    ):
        facts[row["branch_id"]]["pledges"] = [row["submitted"], row["approved"]]
    for step, key in ((pipeline.SELF_ASSESSMENT, "self"), (pipeline.PANEL_SCORING, "panel")):
        for row in (
            step.done(year=year)
            .filter(where("member__branch_id"), active)
            .values("member__branch_id", "period_id")
            .annotate(n=Count("id"))
        ):
            facts[row["member__branch_id"]][key][str(row["period_id"])] = row["n"]
    for row in (
        pipeline.MASS_EVALUATION.done(year=year).filter(where("branch_id")).values("branch_id").annotate(n=Count("id"))
    ):
        facts[row["branch_id"]]["mass_forms"] = row["n"]
    for row in (
        Publicity.objects.filter(where("branch_id"), year=year)
        .values("branch_id", "kind", "period_id")
        .annotate(first=Min("starts_at"))
    ):
        facts[row["branch_id"]]["publicity"].setdefault(row["kind"], []).append(
            [row["period_id"], timezone.localtime(row["first"]).date().isoformat()]
        )
    for row in (
        Determination.objects.filter(where("branch_id"), year=year)
        .exclude(status=Determination.Status.REOPENED)
        .values("branch_id", "status", "decided_at")
    ):
        decided = row["decided_at"]
        facts[row["branch_id"]]["determination"] = {
            "status": row["status"],
            "decided_on": timezone.localtime(decided).date().isoformat() if decided else None,
        }
    for row in (
        DeterminationLine.objects.filter(
            where("determination__branch_id"),
            active,
            determination__year=year,
            determination__status=Determination.Status.DECIDED,
        )
        .values("determination__branch_id")
        .annotate(n=Count("id"))
    ):
        facts[row["determination__branch_id"]]["determined"] = row["n"]
    for row in (
        FollowUp.objects.filter(where("determination__branch_id"), determination__year=year)
        .values("determination__branch_id", "kind", "status", "due_on")
        .annotate(n=Count("id"))
    ):
        cell = facts[row["determination__branch_id"]]["follow_ups"].setdefault(row["kind"], {"done": 0, "open": {}})
        if row["status"] == DONE:
            cell["done"] += row["n"]
        else:
            cell["open"][row["due_on"].isoformat()] = cell["open"].get(row["due_on"].isoformat(), 0) + row["n"]
    for row in (
        Objection.objects.filter(where("branch_id"), year=year)
        .values("branch_id")
        .annotate(n=Count("id"), pending=Count("id", filter=Q(status__in=Objection.PENDING)))
    ):
        facts[row["branch_id"]]["objections"] = [row["n"], row["pending"]]
    thresholds = _thresholds(in_force)
    scored = Q(scored=True, total__isnull=False)
    aggregates = {
        "scored_n": Count("id", filter=scored),
        "total_sum": Sum("total", filter=scored),
        **{f"bin{i}": Count("id", filter=scored & bin_q(i)) for i in range(len(BINS))},
        **{f"at{t}": Count("id", filter=scored & Q(total__gte=t)) for t in thresholds},
    }
    for row in MemberYearTotal.objects.filter(where("branch_id"), year=year).values("branch_id").annotate(**aggregates):
        cell = facts[row["branch_id"]]
        cell["scored"], cell["total_sum"] = row["scored_n"], row["total_sum"] or 0
        cell["bins"] = [row[f"bin{i}"] for i in range(len(BINS))]
        cell["at"] = {str(t): row[f"at{t}"] for t in thresholds}
    for row in (
        MemberOutcome.objects.filter(where("branch_id"), year=year)
        .values("branch_id", "consequence")
        .annotate(n=Count("member_id", distinct=True))
    ):
        facts[row["branch_id"]]["consequences"][row["consequence"]] = row["n"]
    for row in (
        BranchCommendation.objects.filter(where("branch_id"), year=year)
        .values("branch_id", "kind", "loses_award_eligibility")
        .annotate(n=Count("id"))
    ):
        notices = facts[row["branch_id"]]["notices"]
        notices[row["kind"]] = notices.get(row["kind"], 0) + row["n"]
        if row["loses_award_eligibility"]:
            notices["loses"] = notices.get("loses", 0) + row["n"]
    # From the confirmations, each looking up its own self-assessment by the unique (member, period)
    # index: a plan that stays linear even before the database has statistics (a semi-join of the
    # self-assessments with the confirmations was quadratic on a never-analysed PostgreSQL).
    own_score = Subquery(
        SelfAssessment.objects.filter(
            member_id=OuterRef("member_id"), period_id=OuterRef("period_id"), status="submitted"
        ).values("self_score")[:1]
    )
    indexes = sorted(
        {
            i
            for schemes in in_force.values()
            for scheme in schemes.values()
            if pipeline.period_kinds(pipeline.PANEL_SCORING, {scheme.pipeline})
            for i in PERIOD_INDEXES[scheme.period_kind]
        }
    )
    assessed = (
        PanelConfirmation.objects.filter(
            where("member__year_totals__branch_id"), period__cycle__year=year, member__year_totals__year=year
        )
        if indexes
        else PanelConfirmation.objects.none()
    )
    for row in (
        assessed.annotate(self_score=own_score, final=_final_period_score("member__year_totals__", indexes))
        .filter(self_score__isnull=False)
        .values("member__year_totals__branch_id")
        .annotate(compared=Count("id"), unchanged=Count("id", filter=Q(self_score=F("final"))))
    ):
        cell = facts[row["member__year_totals__branch_id"]]
        cell["self_compared"], cell["self_unchanged"] = row["compared"], row["unchanged"]
    earlier = _history_years(year)
    if earlier:
        for row in (
            MemberYearTotal.objects.filter(where("branch_id"), scored, year__in=earlier)
            .values("branch_id", "year")
            .annotate(n=Count("id"), total_sum=Sum("total"))
        ):
            facts[row["branch_id"]]["history"].setdefault(str(row["year"]), {"consequences": {}}).update(
                n=row["n"], total_sum=row["total_sum"] or 0
            )
        for row in (
            MemberOutcome.objects.filter(where("branch_id"), year__in=earlier, consequence__in=RESULT_CONSEQUENCES)
            .values("branch_id", "year", "consequence")
            .annotate(n=Count("member_id", distinct=True))
        ):
            year_cell = facts[row["branch_id"]]["history"].setdefault(
                str(row["year"]), {"n": 0, "total_sum": 0, "consequences": {}}
            )
            year_cell["consequences"][row["consequence"]] = row["n"]
    return facts


def _thresholds(in_force):
    """Every share cap's line in force (A: 95) and the high-score signal's, in centipoints."""
    scheme_ids = {s.pk for schemes in in_force.values() for s in schemes.values()}
    lines = {
        share_cap_line(params)
        for params in OutcomeRule.objects.filter(scheme_id__in=scheme_ids, kind=OutcomeRule.Kind.SHARE_CAP).values_list(
            "params", flat=True
        )
    }
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
        events = list(
            AuditEvent.objects.filter(id__gt=since)
            .exclude(quiet)
            .values("organization_id", "organization__path")
            .annotate(last=Max("id"))
        )
        moved = list(AuditEvent.objects.filter(id__gt=since, action="member.transfer").values_list("id", "before"))
        paths = {b.pk: b.path for b in scope.branches}
        for row in current:
            path = paths[row.branch_id]
            for event in events:
                if event["last"] > row.audit_mark and (
                    event["organization__path"] is None or path.startswith(event["organization__path"])
                ):
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
            [
                BranchYearFacts(branch_id=pk, year=scope.year, facts=value, audit_mark=mark, computed_at=now)
                for pk, value in fresh.items()
            ],
            update_conflicts=True,
            unique_fields=["branch", "year"],
            update_fields=["facts", "audit_mark", "computed_at"],
        )
        facts.update(fresh)
    return facts
