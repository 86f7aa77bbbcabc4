from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers

from .access_log import Kind, access_log


class ChineseFirstLocaleMiddleware:
    """Simplified Chinese unless the user chose another language with the switcher (a cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language, so a campus PC with an
    English browser would get English; the product is Chinese first.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        return response


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY on every response; neither Django nor django-csp does."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class DeniedAccessLogMiddleware:
    """Writes every 403 to the security log: a PermissionDenied raised by a view or a permission
    check has become its 403 response by the time it gets here, as has a refused CSRF token."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            access_log(request, Kind.DENIED, {"method": request.method})
        return response
