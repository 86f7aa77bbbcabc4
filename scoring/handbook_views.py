"""积分手册: the member's handbook, the scheme they are scored by this year, readable and printable
by the member and by whoever may see their record."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from members import selectors as member_selectors

from . import selectors
from .views import _year


@login_required
@require_safe
def handbook(request, member_id):
    member = member_selectors.member_get(actor=request.user, member_id=member_id)
    year = _year(request)
    scheme = selectors.scheme_for_member(member=member, year=year)
    items, rules = selectors.scheme_detail(scheme=scheme) if scheme is not None else ([], [])
    kinds = {}
    for item in items:
        kinds.setdefault(item.get_kind_display(), []).append(item)
    return render(
        request,
        "scoring/handbook.html",
        {
            "member": member,
            "year": year,
            "scheme": scheme,
            "kinds": kinds,
            "rules": rules,
            "print": "print" in request.GET,
        },
    )
