from django import template

from members.permissions import LEDGER_VIEW, ROLE_PERMISSIONS

register = template.Library()


@register.filter
def may_export(role_assignments):
    """Whether any of the user's (already loaded) role assignments lets them view a ledger: no query."""
    return any(LEDGER_VIEW in ROLE_PERMISSIONS.get(a.role, ()) for a in role_assignments or ())
