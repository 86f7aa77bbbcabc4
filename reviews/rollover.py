"""Opening the next year (年度切换). Scoring starts afresh each year (B: 每年重新记分); the past
years' stored outcomes stay, which is the history the streak rules read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _

from members import permissions as perms
from members.models import Organization
from partyscore.core.audit import audit_record
from partyscore.core.exceptions import ApplicationError
from partyscore.core.queue import enqueue
from scoring import services as scoring
from scoring.models import Cycle, Deadline, Period, PeriodKind, Scheme
from scoring.recalculation import recalculate_branch

from .models import Rollover, RolloverBranch

if TYPE_CHECKING:
    import datetime

    from members.models import User


def _carry_schemes(actor: User, from_year: int, to_year: int) -> int:
    """Approved schemes move to the new year: those of the committee and colleges stay approved
    (they were published), a branch's detailed rules come back as a draft to be approved again."""
    # From the top of the tree down, so that each copy derives from next year's copy of its source
    # (the committee's later changes to its reserved review settings reach it as they did this year).
    copies = {}  # (owner, category) → the new year's copy
    schemes = (
        Scheme.objects.filter(year=from_year, status=Scheme.Status.APPROVED)
        .select_related("owner", "derived_from")
        .order_by("owner__depth", "owner__path")
    )
    for scheme in schemes:
        newer = Scheme.objects.filter(
            owner=scheme.owner,
            year=from_year,
            member_category=scheme.member_category,
            status=Scheme.Status.APPROVED,
            version__gt=scheme.version,
        ).exists()
        if newer:
            continue
        fields = model_to_dict(scheme, fields=scoring.SCHEME_FIELDS)
        is_branch = scheme.owner.kind == Organization.Kind.BRANCH
        fields.update(year=to_year, version=1, status=Scheme.Status.DRAFT if is_branch else Scheme.Status.APPROVED)
        source = scheme.derived_from
        derived_from = copies.get((source.owner_id, source.member_category)) if source else None
        copy = Scheme.objects.create(
            owner=scheme.owner,
            derived_from=derived_from,
            created_by=actor,
            decided_by=None if is_branch else actor,
            decided_at=None if is_branch else timezone.now(),
            **fields,
        )
        scoring.scheme_copy_children(scheme, copy)
        copies[(scheme.owner_id, scheme.member_category)] = copy
    return len(copies)


def _same_day(date: datetime.date, year: int) -> datetime.date:
    """`date`'s month and day in `year`; the year after a leap year has no 29 February: the 28th."""
    return date.replace(year=year, day=28) if (date.month, date.day) == (2, 29) else date.replace(year=year)


@transaction.atomic
def rollover_start(*, actor: User, committee: Organization, from_year: int) -> Rollover:
    """Open `from_year + 1` with the same deadline sets, carry the schemes over, and create every
    member's record for the new year branch by branch in the background."""
    if not perms.has_org_perm(actor, perms.CYCLE_MANAGE, committee):
        raise PermissionDenied(_("只有组织部可以进行年度切换"))
    if not Cycle.objects.filter(year=from_year).exists():
        raise ApplicationError(_("%(y)s年度尚未开启") % {"y": from_year})
    to_year = from_year + 1
    codes = set(Deadline.objects.filter(cycle__year=from_year).values_list("code", flat=True))
    deadline_sets = [key for key in ("A", "B") if any(code.startswith(f"{key}-") for code in codes)] or ["A", "B"]
    # The new year's semesters split where this year's did (a 春季/秋季 university keeps its date).
    boundary = Period.objects.get(cycle__year=from_year, kind=PeriodKind.SEMESTER, index=2).starts_on
    scoring.cycle_open(
        actor=actor,
        year=to_year,
        committee=committee,
        deadline_sets=deadline_sets,
        second_semester_starts=_same_day(boundary, to_year),
    )
    carried = _carry_schemes(actor, from_year, to_year)
    branches = list(Organization.objects.filter(kind=Organization.Kind.BRANCH).values_list("pk", flat=True))
    try:
        with transaction.atomic():
            job = Rollover.objects.create(
                from_year=from_year, to_year=to_year, branches_total=len(branches), started_by=actor
            )
    except IntegrityError as error:
        raise ApplicationError(_("%(y)s年度已经切换") % {"y": to_year}) from error
    audit_record(
        actor=actor,
        action="rollover.start",
        target=job,
        organization=committee,
        after={"to_year": to_year, "schemes": carried, "branches": len(branches)},
    )
    for branch_id in branches:
        enqueue("reviews.tasks.rollover_branch_task", job.pk, branch_id)
    return job


def rollover_branch(*, rollover_id: int, branch_id: int) -> None:
    """One branch of a rollover: its members' records for the new year. Idempotent."""
    job = Rollover.objects.get(pk=rollover_id)
    if RolloverBranch.objects.filter(rollover=job, branch_id=branch_id).exists():
        return
    with transaction.atomic():
        count = recalculate_branch(branch=Organization.objects.get(pk=branch_id), year=job.to_year)
        RolloverBranch.objects.get_or_create(rollover=job, branch_id=branch_id, defaults={"members": count})
        if job.branches_done.count() >= job.branches_total and job.finished_at is None:
            Rollover.objects.filter(pk=job.pk, finished_at__isnull=True).update(finished_at=timezone.now())


def rollover_resume() -> int:
    """Scheduled: send again whatever branches an unfinished rollover is missing (the broker or
    a worker may have lost them)."""
    sent = 0
    for job in Rollover.objects.filter(finished_at__isnull=True):
        done = set(job.branches_done.values_list("branch_id", flat=True))
        for branch_id in (
            Organization.objects.filter(kind=Organization.Kind.BRANCH).exclude(pk__in=done).values_list("pk", flat=True)
        ):
            enqueue("reviews.tasks.rollover_branch_task", job.pk, branch_id)
            sent += 1
    return sent
