"""The product's URLs and, for the load test only, a trivial view: the ceiling each page is compared with.

`/bench/trivial/` answers "ok" through every middleware and touches nothing else, so requested
anonymously it measures gunicorn and Django's request cycle, and with a session cookie also what
every signed-in request pays (the session, the user, the idle-timeout check). It is not in the
product's URLconf: only benchmarks/load/settings.py points ROOT_URLCONF here.
"""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_safe

from benchmarks.load.pages import TRIVIAL
from partyscore import urls
from partyscore.urls import handler403, handler500  # noqa: F401 — Django reads them from ROOT_URLCONF


@require_safe
def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path(TRIVIAL.lstrip("/"), trivial),
    *urls.urlpatterns,
]
