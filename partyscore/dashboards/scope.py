"""Whose numbers a dashboard shows (the acting user's scope: organizations, branches, year), the
committee's dashboard settings, the score bins and the deadlines by code."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Q,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members import permissions as perms
from members.models import Organization
from reviews.models import (
    FollowUp,
)
from scoring.models import (
    Cycle,
    Deadline,
    OutcomeRule,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from members.models import User

# ── settings (each a number the committee may change in settings.DASHBOARD_SETTINGS) ───────────

DEFAULTS = {
    "HIGH_SCORE": 95,  # "nearly everyone scored at or above" this many points …
    "HIGH_SCORE_SHARE": 0.8,  # … means at least this share of the branch's scored members
    "UNCHANGED_SHARE": 0.8,  # self-scores that became final unchanged for at least this share
    "MIN_MEMBERS": 5,  # no share-based flag for a branch with fewer members than this
    "PUBLICITY_GRACE_DAYS": 7,  # the annual results are publicized within this many days of the meeting
    "PLEDGE_PUBLICITY_DAYS": 30,  # pledges are publicized within this many days after their deadline
    "SPOT_CHECK_MAX": 50,  # at most this many ledger lines in one spot check
    "HISTORY_YEARS": 3,  # year over year: this many years up to the dashboard's
    "LIST_LIMIT": 100,  # the longest list a dashboard shows inline (the rest is in the drill-down)
    "FACTS_MAX_AGE_MINUTES": 60,  # stored per-branch counts are recomputed at least this often
}


def setting(name: str) -> Any:
    return getattr(settings, "DASHBOARD_SETTINGS", {}).get(name, DEFAULTS[name])


# Histogram of annual totals, in points: (lower edge or None, upper edge or None).
BINS = [(None, 60), (60, 70), (70, 75), (75, 80), (80, 85), (85, 90), (90, 95), (95, 100), (100, None)]

# Consequences the results table counts per branch, in this order.
RESULT_CONSEQUENCES = [
    OutcomeRule.Consequence.EXCELLENT_ELIGIBLE,
    OutcomeRule.Consequence.PRIORITY,
    OutcomeRule.Consequence.YELLOW,
    OutcomeRule.Consequence.RED,
    OutcomeRule.Consequence.UNQUALIFIED,
]
TALKS = [FollowUp.Kind.TALK_SECRETARY, FollowUp.Kind.TALK_ADMONISH, FollowUp.Kind.TALK_REMINDER]
DONE = "done"


def bin_label(index: int) -> str:
    low, high = BINS[index]
    if low is None:
        return _("低于%(high)s") % {"high": high}
    if high is None:
        return _("%(low)s及以上") % {"low": low}
    return f"{low}–{high}"


def bin_q(index: int, field_name: str = "total") -> Q:
    low, high = BINS[index]
    condition = Q(**{f"{field_name}__isnull": False})
    if low is not None:
        condition &= Q(**{f"{field_name}__gte": low * 100})
    if high is not None:
        condition &= Q(**{f"{field_name}__lt": high * 100})
    return condition


# ── scope ────────────────────────────────────────────────────────────────────────────────────


def default_year() -> int:
    """The open cycle's year (the latest), else the calendar year."""
    year = Cycle.objects.filter(is_open=True).order_by("-year").values_list("year", flat=True).first()
    return year or timezone.localdate().year


def parse_year(value: object, fallback: int | None = None) -> int:
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
    def branch_ids(self) -> list[int]:
        return [b.pk for b in self.branches]

    def branch_subquery(self) -> QuerySet[Organization, dict[str, Any]]:
        """The scope's branches as SQL (a subquery, so the parameter list stays short)."""
        return Organization.objects.filter(path__startswith=self.org.path, kind=Organization.Kind.BRANCH).values("pk")

    def within(self, field_name: str) -> Q:
        """`field_name` (a branch id) is in the scope: no condition at all for the whole tree, which
        lets the database aggregate a table in one pass instead of probing a subquery per row."""
        if self.everything:
            return Q()
        return Q(**{f"{field_name}__in": self.branch_subquery()})

    def branch_label(self, branch: Organization) -> str:
        """A branch's name, with its college's where the scope holds branches of several colleges
        (the branch's parent is then not the scope's own organization)."""
        if "_names" not in self.__dict__:
            self.__dict__["_names"] = {o.pk: o.name for o in self.orgs}
        college = self.__dict__["_names"].get(branch.parent_id)
        return f"{college}·{branch.name}" if college and branch.parent_id != self.org.pk else branch.name

    def drill_url(self, metric: str, year: int | None = None, **params: object) -> str:
        """The drill-down page listing the members behind a number (reversed once per scope)."""
        if "_drill_base" not in self.__dict__:
            self.__dict__["_drill_base"] = reverse("dashboard_drill", args=[self.org.pk])
        query = {"metric": metric, "year": year or self.year, **{k: v for k, v in params.items() if v is not None}}
        # Built by hand: a dashboard makes thousands of these, and urlencode costs ~40 µs each.
        return (
            self.__dict__["_drill_base"]
            + "?"
            + "&".join(
                f"{key}={value}" if isinstance(value, int) else f"{key}={quote(str(value), safe='')}"
                for key, value in query.items()
            )
        )


def org_get(*, actor: User, org_id: int, perm: str = perms.LEDGER_VIEW) -> Organization:
    """The organization, or 403 when it is outside the actor's scope (never 404: no probing)."""
    org = Organization.objects.filter(pk=org_id).first()
    if org is None or not perms.has_org_perm(actor, perm, org):
        raise PermissionDenied(_("您无权查看该党组织的数据"))
    return org


def scope_for(
    *, actor: User, org: Organization, year: int, today: datetime.date | None = None, perm: str = perms.LEDGER_VIEW
) -> Scope:
    """One query: the subtree (and the other roots, to know whether it is the whole tree). Refuses
    an organization outside the actor's scope."""
    if not perms.has_org_perm(actor, perm, org):
        raise PermissionDenied(_("您无权查看该党组织的数据"))
    found = list(Organization.objects.filter(Q(path__startswith=org.path) | Q(parent__isnull=True)).order_by("path"))
    orgs = [o for o in found if o.path.startswith(org.path)]
    return Scope(
        org=org,
        year=year,
        today=today or timezone.localdate(),
        orgs=orgs,
        branches=[o for o in orgs if o.kind == Organization.Kind.BRANCH],
        everything=len(orgs) == len(found) and org.parent_id is None,
    )


def dashboard_roots(*, actor: User) -> list[Organization]:
    """Where the actor's dashboards start: the topmost nodes of their ledger scope."""
    return perms.scope_roots(actor, perms.LEDGER_VIEW)


# ── deadlines ────────────────────────────────────────────────────────────────────────────────


def deadlines_by_code(scope: Scope) -> dict[str, datetime.date]:
    """code → due date for the scope's branches; a deadline set nearer a branch wins (one query)."""
    rows = list(
        Deadline.objects.filter(cycle__year=scope.year).select_related("organization").order_by("organization__depth")
    )
    chosen = {}
    for row in rows:
        if scope.org.path.startswith(row.organization.path) or row.organization.path.startswith(scope.org.path):
            chosen[row.code] = row.due_on
    return chosen


def overdue(due: datetime.date | None, today: datetime.date) -> bool:
    return due is not None and today > due
