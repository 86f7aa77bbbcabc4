from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

from members.views import PasswordChangeView

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="registration/login.html",
                                                         redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", PasswordChangeView.as_view(), name="password_change"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("members.urls")),
    path("", include("scoring.urls")),
    path("", include("scoring.io_urls")),
    path("", include("reviews.urls")),
    path("", include("partyscore.dashboard_urls")),
    path("admin/", admin.site.urls),
]
