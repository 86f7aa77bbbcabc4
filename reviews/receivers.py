"""Reactions to other apps' signals (connected in ReviewsConfig.ready)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy, gettext_noop

from members.models import Role


def mass_representative_appointed(sender, assignment, actor, **kwargs):
    """The general branch above hears of every mass representative appointed in its branches: the
    secretary who appoints them is the one whose work they judge."""
    if assignment.role != Role.MASS_REPRESENTATIVE:
        return
    from members.selectors import general_branch_secretaries
    from partyscore.core.notifications import notify

    branch = assignment.organization
    notify(
        general_branch_secretaries(branch=branch),
        gettext_noop("%(actor)s 任命 %(user)s 为“%(branch)s”的群众代表"),
        reverse("org_roles", args=[branch.parent_id]) if branch.parent_id else "",
        {"actor": actor or gettext_lazy("系统管理员"), "user": assignment.user, "branch": branch},
    )
