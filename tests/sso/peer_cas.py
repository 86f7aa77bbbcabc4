"""The CAS peer's URLs (tests/sso/peer.py): django-cas-server at the root, as a campus runs it."""

from django.urls import include, path

urlpatterns = [path("", include(("cas_server.urls", "cas_server"), namespace="cas_server"))]
