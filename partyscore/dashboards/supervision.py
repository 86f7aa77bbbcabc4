"""The organization department's supervision: spot checks, notices and the branch figures
behind them."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
)
from django.utils.translation import gettext as _

from members import permissions as perms
from reviews.models import (
    FollowUp,
)
from scoring.io_selectors import schemes_by_branch
from scoring.models import (
    LedgerEntry,
)

from .facts import branch_facts
from .fairness import fairness
from .models import BranchCommendation, SpotCheck, SpotCheckItem
from .progress import mass_needed, progress, year_periods
from .results import results, share_rules
from .scope import DONE, TALKS, deadlines_by_code, setting

if TYPE_CHECKING:
    from members.models import User

    from .scope import Scope

# ── supervision ──────────────────────────────────────────────────────────────────────────────


def supervision(scope: Scope, facts: dict[int, dict[str, Any]] | None = None, lists: bool = True) -> dict[str, Any]:
    """Talks and follow-ups due and done (from the stored counts when given), and the lists of open
    follow-ups, spot checks and notices (at most LIST_LIMIT each; only their numbers when not
    `lists`): two to four queries."""
    limit = setting("LIST_LIMIT")
    labels = dict(FollowUp.Kind.choices)
    counts = defaultdict(lambda: {"done": 0, "open": 0, "late": 0})
    follow_ups = FollowUp.objects.filter(scope.within("determination__branch_id"), determination__year=scope.year)
    if facts is None:
        for row in follow_ups.values("kind", "status").annotate(
            n=Count("id"), late=Count("id", filter=Q(due_on__lt=scope.today))
        ):
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
    by_kind = [
        {
            "kind": kind,
            "name": str(labels[kind]),
            **counts[kind],
            "is_talk": kind in TALKS,
            "done_url": scope.drill_url("follow_ups", kind=kind, status=DONE),
            "open_url": scope.drill_url("follow_ups", kind=kind, status="open"),
        }
        for kind in FollowUp.Kind.values
        if kind in counts
    ]
    talks = {
        "done": sum(k["done"] for k in by_kind if k["is_talk"]),
        "open": sum(k["open"] for k in by_kind if k["is_talk"]),
        "late": sum(k["late"] for k in by_kind if k["is_talk"]),
    }
    checks = SpotCheck.objects.filter(scope.within("branch_id"), year=scope.year)
    notices = BranchCommendation.objects.filter(branch__path__startswith=scope.org.path, year=scope.year)
    if not lists:
        return {"by_kind": by_kind, "talks": talks, "spot_check_count": checks.count(), "notice_count": notices.count()}
    open_items = list(
        follow_ups.exclude(status=DONE).select_related("member__branch", "responsible").order_by("due_on", "id")[:limit]
    )
    spot_checks = list(
        checks.select_related("branch", "created_by")
        .annotate(
            sampled=Count("items"),
            reviewed=Count("items", filter=~Q(items__verdict="pending")),
            problems=Count("items", filter=Q(items__verdict="problem")),
        )
        .order_by("-created_at", "-id")[:limit]
    )
    notices = list(notices.select_related("branch", "created_by").order_by("-created_at", "-id")[:limit])
    return {
        "by_kind": by_kind,
        "open_items": open_items,
        "spot_checks": spot_checks,
        "notices": notices,
        "talks": talks,
        "spot_check_count": len(spot_checks),
        "notice_count": len(notices),
    }


def spot_check_get(*, actor: User, spot_check_id: int) -> tuple[SpotCheck, list[SpotCheckItem]]:
    """A spot check with its sampled lines; for whoever may see the branch's ledger."""
    check = SpotCheck.objects.select_related("branch", "created_by", "closed_by").filter(pk=spot_check_id).first()
    if check is None or not perms.has_org_perm(actor, perms.LEDGER_VIEW, check.branch):
        raise PermissionDenied(_("您无权查看该抽查"))
    items = list(
        SpotCheckItem.objects.filter(spot_check=check)
        .select_related(
            "entry__member", "entry__item", "entry__period", "entry__recorded_by", "entry__verified_by", "reviewed_by"
        )
        .annotate(is_reversed=Exists(LedgerEntry.objects.filter(reverses=OuterRef("entry_id"))))
        .order_by("id")
    )
    return check, items


def figures(scope: Scope) -> dict[str, Any]:
    """Progress, results and fairness of the scope from the stored per-branch counts: about ten
    queries when no branch changed, about twenty more when some did."""
    in_force = schemes_by_branch(scope.branches, scope.year)
    periods = year_periods(scope)
    deadlines = deadlines_by_code(scope)
    facts = branch_facts(scope, in_force)
    prog = progress(scope, facts, in_force, periods, deadlines, mass_needed(in_force))
    res = results(scope, facts, in_force, share_rules(in_force))
    return {
        "facts": facts,
        "in_force": in_force,
        "progress": prog,
        "results": res,
        "fairness": fairness(scope, facts, prog, res),
    }
