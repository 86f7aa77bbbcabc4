"""The home page as a to-do list: for each role the user holds, its work with counts and deadlines,
each a link to the page where it is done.

Nothing is counted here that a role's own page does not already count: the secretary's list is the
branch dashboard's (`selectors.branch_dashboard`), a panelist's and a mass representative's come
from `reviews.selectors`, the organization department's and a college's figures from the dashboard
figures (`supervision.figures`). A link is shown only where the page's own permission check lets the
user in (and, for a to-do, lets them act).
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members import permissions as perms
from members.models import Organization
from members.selectors import may_view_access_log
from reviews import selectors as review_selectors
from reviews.models import Escalation, Objection
from scoring.models import OutcomeRule
from scoring.selectors import current_cycle

from .dashboards import scope as scope_reads
from .dashboards import selectors, supervision

BRANCH_WORK = (perms.MEMBERS_REVIEW, perms.BRANCH_RUN, perms.OBJECTIONS_HANDLE)
WARNINGS = (OutcomeRule.Consequence.YELLOW, OutcomeRule.Consequence.RED, OutcomeRule.Consequence.UNQUALIFIED)
ESCALATED_SHOWN = 5


def _branches_where(user, *perm_list):
    """The branches (not the nodes above them) where `user` holds one of `perm_list`, in tree order."""
    found = {}
    for perm in perm_list:
        for org in perms.scope_roots(user, perm):
            if org.kind == Organization.Kind.BRANCH:
                found[org.pk] = org
    return sorted(found.values(), key=lambda o: o.path)


def _item(what, count, url, *, due=None, today=None, late=None, detail=""):
    return {
        "what": what,
        "count": count,
        "url": url,
        "due": due,
        "detail": detail,
        "late": bool(count) and (late if late is not None else scope_reads.overdue(due, today)),
    }


def branch_work(*, user, year, today):
    """A branch secretary's or committee member's to-do, per branch: the branch dashboard's items
    the user may act on."""
    sections = []
    for branch in _branches_where(user, *BRANCH_WORK):
        data = selectors.branch_dashboard(actor=user, branch=branch, year=year, today=today)
        determination = data["todo"]["determination"]
        sections.append(
            {
                "branch": branch,
                "items": [i for i in data["items"] if i["may_act"]],
                "determination": determination.get_status_display() if determination else _("尚未筹备党员大会"),
                "determination_url": reverse("determination", args=[branch.pk, year]),
                "dashboard_url": reverse("dashboard_branch", args=[branch.pk]),
            }
        )
    return sections


def panel_work(*, user, year, today):
    sections = []
    for branch in _branches_where(user, perms.PANEL_SCORE):
        work = review_selectors.panelist_work(actor=user, branch=branch, year=year, today=today)
        if work is None:
            continue
        sections.append(
            {
                "branch": branch,
                **work,
                "item": _item(
                    _("%(p)s待评分的党员") % {"p": work["period"].name},
                    work["left"],
                    reverse("panel_board", args=[branch.pk, work["period"].pk]),
                    due=work["due"],
                    today=today,
                ),
            }
        )
    return sections


def mass_work(*, user, year, today):
    sections = []
    for branch in _branches_where(user, perms.MASS_EVALUATE):
        work = review_selectors.mass_work(actor=user, branch=branch, year=year)
        closed = scope_reads.overdue(work["due"], today)
        sections.append(
            {
                "branch": branch,
                **work,
                "closed": closed,
                "item": _item(
                    _("%(year)s年度群众评议") % {"year": year},
                    0 if work["submitted"] else 1,
                    reverse("mass_form", args=[branch.pk]),
                    due=work["due"],
                    today=today,
                ),
            }
        )
    return sections


def oversight(*, user, year, today):
    """The organization department's and a college's few figures, per unit they oversee: branches
    with an overdue step, objections escalated to the committee, warnings among the results, and
    overdue duties reported up."""
    units = [
        org
        for org in scope_reads.dashboard_roots(actor=user)
        if not org.is_branch
        and (perms.has_org_perm(user, perms.SCHEME_APPROVE, org) or perms.has_org_perm(user, perms.OVERSEE, org))
    ]
    escalation_units = review_selectors.escalation_units(actor=user) if units else []
    sections = []
    for org in units:
        scope = scope_reads.scope_for(actor=user, org=org, year=year, today=today)
        data = supervision.figures(scope)
        late = [r for r in data["progress"]["rows"] if r.is_branch and r.any_overdue]
        top = data["results"]["by_id"][org.pk]
        escalated = list(
            Objection.objects.filter(scope.within("branch_id"), year=year, status="escalated")
            .select_related("member", "branch")
            .order_by("due_on", "pk")
        )
        dashboard_url = reverse("dashboard_org", args=[org.pk])
        named = "、".join(scope.branch_label(r.org) for r in late[:ESCALATED_SHOWN])
        if len(late) > ESCALATED_SHOWN:
            named = _("%(names)s 等") % {"names": named}
        items = [_item(_("有逾期环节的支部"), len(late), dashboard_url + "#progress", late=True, detail=named)]
        for consequence in WARNINGS:
            count = top.consequences.get(consequence, 0)
            items.append(
                _item(
                    OutcomeRule.Consequence(consequence).label,
                    count,
                    scope.drill_url("consequence", consequence=consequence.value),
                    late=False,
                )
            )
        openable = [o for o in escalated if review_selectors.may_see_objection(actor=user, objection=o)]
        # Each escalated objection is decided on its own page: the item lists those the user may open.
        items.append(
            _item(
                _("提请组织部核实的异议"),
                len(escalated),
                reverse("objection_detail", args=[openable[0].pk]) if openable else "",
                late=any(o.due_on < today for o in escalated),
            )
        )
        open_duties = 0
        if escalation_units:
            open_duties = Escalation.objects.filter(organization__in=escalation_units, resolved_on__isnull=True).count()
            items.append(_item(_("逾期上报的事项"), open_duties, reverse("escalations"), late=True))
        sections.append(
            {"org": org, "items": items, "escalated": openable[:ESCALATED_SHOWN], "dashboard_url": dashboard_url}
        )
        escalation_units = []  # counted once, under the first unit
    return sections


def links(*, user):
    """The pages each role works from, for the cards under the to-do (each shown only where its
    view lets the user in)."""
    member = getattr(user, "member", None)
    ledger_orgs = perms.scope_roots(user, perms.LEDGER_VIEW)
    return {
        "roster_orgs": perms.scope_roots(user, perms.ROSTER_VIEW),
        "ledger_orgs": ledger_orgs,
        "record_orgs": perms.scope_roots(user, perms.ENTRY_RECORD),
        "can_import": perms.holds_anywhere(user, perms.ROSTER_MANAGE),
        "can_audit": perms.holds_anywhere(user, perms.AUDIT_VIEW),
        "can_view_access_log": may_view_access_log(user),
        "can_approve_exemptions": perms.holds_anywhere(user, perms.EXEMPTION_APPROVE),
        "can_manage_cycles": perms.holds_anywhere(user, perms.CYCLE_MANAGE),
        "my_board_open": member is not None and member.branch.show_board_to_members,
        "review_branches": [o for o in ledger_orgs if o.is_branch],
        "can_follow_up": review_selectors.may_see_follow_ups(actor=user),
        "can_see_escalations": bool(review_selectors.escalation_units(actor=user)),
    }


def home_for(*, user, today=None):
    today = today or timezone.localdate()
    cycle = current_cycle()
    year = cycle.year if cycle else today.year
    member = getattr(user, "member", None)
    context = {"year": year, "today": today, "cycle": cycle, "links": links(user=user)}
    if member is not None:
        context["me"] = selectors.member_dashboard(actor=user, year=year)
    if cycle is None:  # nothing is due before the first year is opened
        return context
    context["branch_work"] = branch_work(user=user, year=year, today=today)
    context["panel_work"] = panel_work(user=user, year=year, today=today)
    context["mass_work"] = mass_work(user=user, year=year, today=today)
    context["oversight"] = oversight(user=user, year=year, today=today)
    return context
