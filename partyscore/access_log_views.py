from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_safe

from .access_log import access_log_entries
from .filters import list_filters
from .forms import AccessLogFilterForm

ENTRIES_PER_PAGE = 50


@login_required
@require_safe
@list_filters(AccessLogFilterForm)
def access_log_list(request, filters):
    """The security log with its filters; a malformed filter is named under its field (400)."""
    entries = access_log_entries(actor=request.user, kind=filters["kind"], username=filters["username"],
                                 day_from=filters["day_from"], day_to=filters["day_to"])
    query = request.GET.copy()
    query.pop("page", None)
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "access_log.html", {"form": AccessLogFilterForm(request.GET), "page": page,
                                               "query": query.urlencode(),
                                               "retention_days": settings.SECURITY_LOG_RETENTION_DAYS})
