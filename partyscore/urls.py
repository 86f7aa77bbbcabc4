from django.contrib import admin
from django.urls import include, path
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from members import auth_views as login_views
from members import campus_login
from members.views import PasswordChangeView

from . import views

handler500 = "partyscore.core.unavailable.server_error"
handler403 = "partyscore.views.permission_denied"

urlpatterns = [
    path("", views.home, name="home"),
    # Methods are explicit everywhere: a form view would otherwise take PUT as POST and answer OPTIONS,
    # and the login page would redirect a signed-in user's PUT instead of refusing it.
    path(
        "accounts/login/", require_http_methods(["GET", "HEAD", "POST"])(login_views.LoginView.as_view()), name="login"
    ),
    path("accounts/verify/", login_views.login_two_factor, name="login_two_factor"),
    path("accounts/two-factor/", login_views.two_factor_manage, name="two_factor"),
    path("accounts/two-factor/disable/", login_views.two_factor_disable, name="two_factor_disable"),
    path("accounts/logout/", login_views.logout, name="logout"),
    # Campus single sign-on (统一身份认证): present only when configured (docs/deployment.md).
    *campus_login.urlpatterns(),
    path("accounts/password/", PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/forgotten/", login_views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/forgotten/sent/", login_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        login_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/", login_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    # Django's view answers any method; only its POST changes the language.
    path("i18n/setlang/", require_POST(set_language), name="set_language"),
    path("", include("members.urls")),
    path("", include("scoring.urls")),
    path("", include("scoring.io_urls")),
    path("", include("reviews.urls")),
    path("", include("partyscore.dashboards.urls")),
    path("api/", include("partyscore.api.urls")),
    path("admin/", admin.site.urls),
]
