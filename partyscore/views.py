from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from members.selectors import roles_of, who_can_help
from reviews.selectors import deadlines_ahead, pipelines_at

from .home import home_for


@login_required
@require_safe
def home(request):
    """The user's to-do, a section per role held (see partyscore/home.py), then the pages they work from."""
    user = request.user
    context = home_for(user=user)
    member = getattr(user, "member", None)
    roots = context["links"]["ledger_orgs"]
    unit = member.branch if member is not None else (roots[0] if roots else None)
    cycle = context["cycle"]
    context["upcoming"] = (
        deadlines_ahead(organization=unit, cycle=cycle, pipelines=pipelines_at(organization=unit, year=cycle.year))
        if cycle and unit
        else []
    )
    if member is None and not roles_of(user=user).exists() and not user.is_superuser:
        context["no_role"] = True
        context["helpers"] = who_can_help(user=user, roles=[])
    return render(request, "home.html", context)


def permission_denied(request, exception=None):
    """403 with whom to ask: the secretary and general branch of the user's own organization, by name."""
    user = getattr(request, "user", None)
    helpers = who_can_help(user=user) if user is not None and user.is_authenticated else []
    return render(request, "403.html", {"helpers": helpers}, status=403)
