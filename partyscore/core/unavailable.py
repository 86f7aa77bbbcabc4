"""While the database cannot be reached (restarted, failed over, out of connections) every page
answers 503 with a short Chinese notice and Retry-After instead of an error page. Nothing has to be
restarted afterwards: each request tries the database again (a kept connection is health-checked,
CONN_HEALTH_CHECKS, and replaced), so the first request after it is back is served normally.
"""

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.views import defaults

UNREACHABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30
log = logging.getLogger(__name__)


def unavailable_response(request, error):
    """The 503 page. Rendered without a request context: context processors would query the database."""
    log.warning("database unavailable, answered 503 to %s: %s", request.path, str(error).strip().split("\n")[0])
    language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        html = render_to_string("503.html", {"LANGUAGE_CODE": language, "retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


class DatabaseUnavailableMiddleware:
    """Checks the connection before anything else reads the session or the user, and turns a
    connection error raised by a view into the 503 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            connection.cursor().close()  # connects, or health-checks the kept connection and reconnects
        except UNREACHABLE as error:
            return unavailable_response(request, error)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, UNREACHABLE):
            return unavailable_response(request, exception)
        return None


def server_error(request):
    """handler500: the database going away inside another middleware (a session saved after the
    view) is a 503 too; anything else is Django's plain 500 page."""
    error = sys.exc_info()[1]
    if isinstance(error, UNREACHABLE):
        return unavailable_response(request, error)
    return defaults.server_error(request)
