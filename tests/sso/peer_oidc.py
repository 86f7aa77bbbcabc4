"""The OpenID Connect peer's URLs and claims (tests/sso/peer.py): django-oauth-toolkit with OIDC on,
a plain login form, and the person's staff/student number released as the `student_number` claim."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from oauth2_provider.oauth2_validators import OAuth2Validator


class Validator(OAuth2Validator):
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "student_number": "openid"}

    def get_additional_claims(self, request):
        return {"student_number": request.user.last_name, "name": request.user.username}


urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="peer_login.html"), name="login"),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
