from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from members import permissions as perms
from reviews.selectors import member_due
from scoring.selectors import current_cycle, upcoming_deadlines

from .access_log import may_view_access_log


@login_required
@require_safe
def home(request):
    """One page, a section per role the user holds (roles come from the context processor)."""
    user = request.user
    member = getattr(user, "member", None)
    context = {
        "roster_orgs": perms.scope_roots(user, perms.ROSTER_VIEW),
        "ledger_orgs": perms.scope_roots(user, perms.LEDGER_VIEW),
        "record_orgs": perms.scope_roots(user, perms.ENTRY_RECORD),
        "can_import": perms.orgs_with_perm(user, perms.ROSTER_MANAGE).exists(),
        "can_audit": perms.orgs_with_perm(user, perms.AUDIT_VIEW).exists(),
        "can_view_access_log": may_view_access_log(user),
        "can_approve_exemptions": perms.orgs_with_perm(user, perms.EXEMPTION_APPROVE).exists(),
        "can_manage_cycles": perms.orgs_with_perm(user, perms.CYCLE_MANAGE).exists(),
        "my_board_open": member is not None and member.branch.show_board_to_members,
        "review_branches": perms.scope_roots(user, perms.LEDGER_VIEW).filter(kind="branch"),
        "panel_branches": perms.scope_roots(user, perms.PANEL_SCORE),
        "mass_branches": perms.scope_roots(user, perms.MASS_EVALUATE),
        "can_follow_up": perms.orgs_with_perm(user, perms.BRANCH_RUN).exists(),
    }
    cycle = current_cycle()
    unit = member.branch if member is not None else perms.scope_roots(user, perms.LEDGER_VIEW).first()
    context["upcoming"] = upcoming_deadlines(organization=unit, cycle=cycle) if cycle and unit else []
    if member is not None:
        context["my_due"] = member_due(member=member, year=cycle.year) if cycle else []
    return render(request, "home.html", context)
