"""The site's URLs with both campus logins, whatever the settings said when partyscore.urls was loaded
(each test switches CAS or OIDC on through its settings)."""

from members.campus_login import CAS_URLS, OIDC_URLS
from partyscore.urls import handler403, handler500
from partyscore.urls import urlpatterns as site_urls

urlpatterns = [*CAS_URLS, *OIDC_URLS, *site_urls]
__all__ = ["handler403", "handler500", "urlpatterns"]
