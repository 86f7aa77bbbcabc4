"""The year's rhythm, run once a day: reminders before deadlines, escalation after them, and the
scheduled state changes (publicity windows close, overdue objections go up, ended periods lock).

Everything is driven from the database, so a day missed while Redis or the worker was down is
made up by the next run, and unique Reminder/Escalation rows keep any run from repeating itself.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from members import permissions as perms
from members.models import Member, Organization, Role, RoleAssignment
from partyscore.core.audit import audit_record
from partyscore.core.exceptions import ApplicationError
from partyscore.core.notices import Sentence
from partyscore.core.notifications import notify
from partyscore.core.transitions import transition
from scoring.models import Cycle, Deadline, Period, Scheme

from . import pipeline
from .models import Escalation, Objection, Reminder

if TYPE_CHECKING:
    from collections.abc import Iterable


@dataclass(frozen=True)
class Duty:
    """One person's outstanding step before a deadline, and who hears of it when it is late."""

    user_id: int
    code: str
    title: str
    due_on: datetime.date
    url: str
    escalate_to: int  # the organization one level up


# ── the organization and its schemes, read once per run ─────────────────────────────────────


class Tree:
    def __init__(self, year: int, on: datetime.date | None = None) -> None:
        self.orgs = {o.pk: o for o in Organization.objects.all()}
        self.by_path = {o.path: o for o in self.orgs.values()}
        # A branch closed (撤销, merged) by the run's day `on` has no more duties, reminders or escalations.
        self.branches = [
            o
            for o in self.orgs.values()
            if o.kind == Organization.Kind.BRANCH and not o.is_closed_on(on or timezone.localdate())
        ]
        schemes = Scheme.objects.filter(year=year, status=Scheme.Status.APPROVED).select_related("owner")
        self.schemes = sorted(schemes, key=lambda s: (-s.owner.depth, s.member_category == "all", -s.version))
        self.holders = defaultdict(set)  # (org id, role) → user ids
        for user_id, org_id, role in RoleAssignment.objects.active_on().values_list(
            "user_id", "organization_id", "role"
        ):
            self.holders[(org_id, role)].add(user_id)

    def ancestors(self, org: Organization) -> list[Organization]:
        return [self.by_path[p] for p in org.ancestor_paths() if p in self.by_path]

    def scheme(self, branch: Organization, category: str) -> Scheme | None:
        paths = set(branch.ancestor_paths())
        return next((s for s in self.schemes if s.owner.path in paths and s.member_category in (category, "all")), None)

    def pipelines(self, branch: Organization, category: str | None = None) -> set[str]:
        """The review pipelines the branch's schemes in force run (of `category`'s scheme when given)."""
        schemes = [self.scheme(branch, c) for c in ((category,) if category else ("staff", "student"))]
        return {s.pipeline for s in schemes if s is not None}

    def responsible(self, branch: Organization, who: str) -> set[int]:
        """The users who act on a step at `branch` (reviews.pipeline's BY_… values)."""
        roles = {
            pipeline.BY_SECRETARY: (Role.BRANCH_SECRETARY,),
            pipeline.BY_PANEL: (Role.PANEL_MEMBER, Role.BRANCH_SECRETARY),
            pipeline.BY_MASS_REPRESENTATIVE: (Role.MASS_REPRESENTATIVE,),
        }[who]
        return set().union(*(self.at(branch, role) for role in roles))

    def with_perm(self, org: Organization, perm: str) -> set[int]:
        """Users holding `perm` at `org` through a role there or above."""
        roles = [r for r, granted in perms.ROLE_PERMISSIONS.items() if perm in granted]
        return {u for a in self.ancestors(org) for r in roles for u in self.holders[(a.pk, r)]}

    def at(self, org: Organization, role: str) -> set[int]:
        return self.holders[(org.pk, role)]

    def parent(self, org: Organization) -> Organization | None:
        return self.orgs.get(org.parent_id)


def effective_deadlines(tree: Tree, cycle: Cycle) -> dict[int, dict[str, Deadline]]:
    """Per branch, each deadline code's date: a general branch may move the committee's date
    for its subtree; the deepest setting wins."""
    rows = list(Deadline.objects.filter(cycle=cycle).select_related("organization"))
    result = {}
    for branch in tree.branches:
        paths = set(branch.ancestor_paths())
        chosen = {}
        for row in sorted(rows, key=lambda d: d.organization.depth):
            if row.organization.path in paths:
                chosen[row.code] = row
        result[branch.pk] = chosen
    return result


# ── who must act ─────────────────────────────────────────────────────────────────────────────


def _members_by_branch(branch_ids: Iterable[int]) -> defaultdict[int, list[Member]]:
    members = defaultdict(list)
    for m in Member.objects.filter(branch_id__in=branch_ids, left_on__isnull=True, exempt=False, user__isnull=False):
        members[m.branch_id].append(m)
    return members


def duties(tree: Tree, cycle: Cycle, deadlines_by_branch: dict[int, dict[str, Deadline]]) -> list[Duty]:
    """Every outstanding duty of the cycle, step by step of the pipeline registry: one done query
    per step and deadline code, whatever the number of branches."""
    year = cycle.year
    found = []
    members = _members_by_branch([b.pk for b in tree.branches])
    periods = {(p.kind, p.index): p for p in Period.objects.filter(cycle=cycle)}

    def add(user_id, deadline, title, url, escalate_to):
        found.append(Duty(user_id, deadline.code, title, deadline.due_on, url, escalate_to.pk))

    for step in pipeline.STEPS:
        for due in pipeline.dues_of(step, step.pipelines):
            period = periods.get(due.period) if due.period else None
            targets = [
                (b, deadlines_by_branch[b.pk][due.code])
                for b in tree.branches
                if due.code in deadlines_by_branch[b.pk] and due in pipeline.dues_of(step, tree.pipelines(b))
            ]
            if not targets or (due.period and period is None):
                continue
            done = step.done_subjects(year=year, period=period, branch_ids=[b.pk for b, _d in targets])
            for branch, deadline in targets:
                url = step.url(branch=branch, period=period, year=year)
                title = pipeline.reminder_title(step, deadline, period)
                if step.subject == pipeline.MEMBER:
                    missing = [
                        m
                        for m in members[branch.pk]
                        if m.pk not in done and due in pipeline.dues_of(step, tree.pipelines(branch, m.category))
                    ]
                    if step.responsible == pipeline.BY_MEMBER:
                        for m in missing:
                            add(m.user_id, deadline, title, url, branch)
                    elif missing:
                        for user_id in tree.responsible(branch, step.responsible):
                            add(user_id, deadline, title, url, tree.parent(branch))
                elif step.subject == pipeline.REPRESENTATIVE:
                    for user_id in tree.responsible(branch, step.responsible):
                        if (user_id, branch.pk) not in done:
                            add(user_id, deadline, title, url, branch)
                elif branch.pk not in done:
                    for user_id in tree.responsible(branch, step.responsible):
                        add(user_id, deadline, title, url, tree.parent(branch))
    return found


def objection_duties(tree: Tree, year: int) -> list[Duty]:
    """Open objections are due by their own date, for whoever handles them."""
    found = []
    for objection in Objection.objects.filter(year=year, status="open").select_related("member"):
        branch = tree.orgs[objection.branch_id]
        for user_id in tree.at(branch, Role.BRANCH_SECRETARY) | tree.at(branch, Role.BRANCH_COMMITTEE):
            found.append(
                Duty(
                    user_id,
                    f"OBJ-{objection.pk}",
                    _("答复%(name)s的异议") % {"name": objection.member.name},
                    objection.due_on,
                    reverse("objection_detail", args=[objection.pk]),
                    tree.parent(branch).pk,
                )
            )
    return found


# ── the daily run ───────────────────────────────────────────────────────────────────────────


def lead_days() -> list[int]:
    return sorted(settings.REMINDER_LEAD_DAYS, reverse=True)


def run_reminders(*, today: datetime.date | None = None) -> tuple[int, int]:
    """Remind each person of what falls due within the lead times (one digest a day, each
    reminder once), and report overdue duties one level up. Returns (reminders, escalations)."""
    today = today or timezone.localdate()
    sent, escalated = 0, 0
    for cycle in Cycle.objects.filter(is_open=True):
        tree = Tree(cycle.year, today)
        found = duties(tree, cycle, effective_deadlines(tree, cycle)) + objection_duties(tree, cycle.year)
        with transaction.atomic():
            sent += _remind(found, cycle.year, today)
            escalated += _escalate(tree, found, cycle.year, today)
    return sent, escalated


def _remind(found: list[Duty], year: int, today: datetime.date) -> int:
    leads = lead_days()
    already = set(Reminder.objects.filter(year=year).values_list("user_id", "code", "lead_days"))
    digest = defaultdict(list)
    rows = []
    for duty in found:
        days_left = (duty.due_on - today).days
        applicable = [lead for lead in leads if 0 <= days_left <= lead]
        if not applicable:
            continue
        nearest = applicable[-1]
        if (duty.user_id, duty.code, nearest) in already:
            continue
        digest[duty.user_id].append(duty)
        for lead in applicable:
            if (duty.user_id, duty.code, lead) not in already:
                already.add((duty.user_id, duty.code, lead))
                rows.append(
                    Reminder(
                        user_id=duty.user_id,
                        year=year,
                        code=duty.code,
                        due_on=duty.due_on,
                        lead_days=lead,
                        sent_on=today,
                    )
                )
    Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    from members.models import User

    users = User.objects.in_bulk(list(digest))
    for user_id, items in digest.items():
        lines = [
            Sentence(
                gettext_noop("%(title)s（%(due)s 截止，还有 %(n)s 天）"),
                {
                    "title": gettext_lazy(d.title),  # a preset deadline's title is its msgid
                    "due": d.due_on,
                    "n": (d.due_on - today).days,
                },
            )
            for d in items
        ]
        notify([users[user_id]], gettext_noop("待办提醒：%(lines)s"), items[0].url, {"lines": lines})
    return len(rows)


def _escalate(tree: Tree, found: list[Duty], year: int, today: datetime.date) -> int:
    overdue = [d for d in found if d.due_on < today]
    existing = {(e.organization_id, e.subject_id, e.code): e for e in Escalation.objects.filter(year=year)}
    current = {(d.escalate_to, d.user_id, d.code) for d in overdue}
    Escalation.objects.filter(year=year, resolved_on__isnull=True).exclude(
        pk__in=[e.pk for key, e in existing.items() if key in current]
    ).update(resolved_on=today)
    created = []
    for duty in overdue:
        key = (duty.escalate_to, duty.user_id, duty.code)
        if key in existing:
            continue
        existing[key] = None
        created.append(
            Escalation(
                organization_id=duty.escalate_to,
                subject_id=duty.user_id,
                year=year,
                code=duty.code,
                title=duty.title,
                due_on=duty.due_on,
                url=duty.url,
                created_on=today,
            )
        )
    Escalation.objects.bulk_create(created, ignore_conflicts=True)
    by_org = defaultdict(list)
    for escalation in created:
        by_org[escalation.organization_id].append(escalation)
    from members.models import User

    subjects = User.objects.in_bulk([e.subject_id for e in created])
    for org_id, items in by_org.items():
        org = tree.orgs[org_id]
        perm = (
            perms.BRANCH_RUN
            if org.kind == Organization.Kind.BRANCH
            else (perms.SCHEME_APPROVE if org.kind == Organization.Kind.GENERAL_BRANCH else perms.OVERSEE)
        )
        recipients = list(User.objects.in_bulk(list(tree.with_perm(org, perm))).values())
        names = "、".join(sorted({subjects[e.subject_id].get_full_name() for e in items}))
        notify(
            recipients,
            gettext_noop("逾期未办：%(names)s 的 %(n)s 项事项已过截止日期"),
            reverse("escalations"),
            {"names": names, "n": len(items)},
        )
    return len(created)


def escalate_overdue_objections(*, today: datetime.date | None = None) -> int:
    """An objection the branch has not answered by its date goes to the organization department."""
    today = today or timezone.localdate()
    moved = 0
    for objection in Objection.objects.filter(status="open", due_on__lt=today).select_related("member__branch"):
        with transaction.atomic():
            try:
                transition(objection, "escalate_overdue")
            except ApplicationError:  # answered meanwhile
                continue
            objection.escalation_reason = _("支部逾期未答复，自动提请组织部核实")
            objection.due_on = today + datetime.timedelta(days=7)
            objection.save(update_fields=["status", "escalation_reason", "due_on"])
            audit_record(
                actor=None,
                action="objection.escalate_overdue",
                target=objection,
                organization=objection.branch,
                before={"status": "open"},
                after={"status": "escalated"},
            )
            moved += 1
    return moved


def lock_ended_periods(*, today: datetime.date | None = None) -> int:
    """A period locks a set number of days after its end (late work has been reminded of)."""
    today = today or timezone.localdate()
    cutoff = today - datetime.timedelta(days=settings.PERIOD_LOCK_GRACE_DAYS)
    locked = 0
    for period in Period.objects.filter(locked_at__isnull=True, ends_on__lt=cutoff, cycle__is_open=True).exclude(
        kind="month"
    ):
        period.locked_at = timezone.now()
        period.save(update_fields=["locked_at"])
        audit_record(actor=None, action="period.lock", target=period, reason=_("周期结束，自动锁定"))
        locked += 1
    return locked
