from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from members import permissions as perms


@login_required
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
        "can_approve_exemptions": perms.orgs_with_perm(user, perms.EXEMPTION_APPROVE).exists(),
        "can_manage_cycles": perms.orgs_with_perm(user, perms.CYCLE_MANAGE).exists(),
        "my_board_open": member is not None and member.branch.show_board_to_members,
    }
    return render(request, "home.html", context)
