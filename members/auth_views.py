"""Login (password, then the six-digit code when the account has one), lockout page, two-factor settings."""

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from partyscore.core.exceptions import ApplicationError

from . import address_throttle, campus_login, services, two_factor
from .forms import PasswordResetForm, SetPasswordForm, TwoFactorCodeForm

ENROL_KEY = "two_factor_enrol_key"


class ThrottledAuthenticationForm(AuthenticationForm):
    """While the address is slowed down (address_throttle), the password is not even checked."""

    def clean(self):
        username = self.cleaned_data.get("username")
        self.wait = wait = address_throttle.wait_seconds(self.request, username)
        if wait:
            raise ValidationError(
                _("本网络地址近期登录失败次数过多，请 %(seconds)s 秒后再试；曾在本浏览器登录过的账号不受影响")
                % {"seconds": wait},
                code="address_throttled",
            )
        return super().clean()

    def confirm_login_allowed(self, user):
        """After the password was right: a party member's account while the committee has switched
        password login off for them (members/campus_login.py) is sent to 统一身份认证."""
        super().confirm_login_allowed(user)
        if campus_login.password_login_refused(user):
            raise ValidationError(_("党员账号须通过统一身份认证登录，请点击“统一身份认证登录”"), code="campus_only")


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if getattr(form, "wait", 0):  # slowed, not checked: say so, and when to come back
            response.status_code = 429
            response["Retry-After"] = str(form.wait)
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        return {
            **context,
            "university": settings.UNIVERSITY_NAME,
            "campus_cas": campus_login.cas_enabled(),
            "campus_oidc": campus_login.oidc_enabled(),
            "campus_only": context["form"].has_error(NON_FIELD_ERRORS, "campus_only"),
        }

    def form_valid(self, form):
        user = form.get_user()
        if two_factor.device_of(user) is None:
            return address_throttle.remember_device(self.request, super().form_valid(form), user)
        two_factor.pending_start(self.request, user=user, next_url=self.get_success_url())
        return redirect("login_two_factor")


# Forgotten password: Django's reset by e-mail, for accounts that have an e-mail. The page says whom to
# ask otherwise. Django's form answers the same whether or not the address is known (no probing).
class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    form_class = PasswordResetForm
    success_url = reverse_lazy("password_reset_done")
    http_method_names = ["get", "head", "post"]

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "contact": settings.ACCOUNT_HELP_CONTACT,
            "university": settings.UNIVERSITY_NAME,
        }


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"
    http_method_names = ["get", "head"]


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("password_reset_complete")
    http_method_names = ["get", "head", "post"]

    def dispatch(self, *args, **kwargs):
        # Django's view answers a forged link itself, before the method is looked at.
        if self.request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(self.request, *args, **kwargs)
        return super().dispatch(*args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        services.user_password_reset(user=form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"
    http_method_names = ["get", "head"]


@require_http_methods(["GET", "HEAD", "POST"])
def login_two_factor(request):
    """Second step: the code from the authenticator; only now is the user logged in."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    user, next_url = two_factor.pending_user(request)
    if user is None:
        two_factor.pending_end(request)
        messages.info(request, _("请重新输入学号/工号和密码"))
        return redirect("login")
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        two_factor.pending_end(request)
        return get_lockout_response(request, None, credentials)
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = two_factor.verify(user, form.cleaned_data["token"])
        if device is not None:
            two_factor.pending_end(request)
            user.otp_device = device  # django-otp then records the verified device in the session
            auth_login(request, user)
            return address_throttle.remember_device(request, redirect(next_url), user)
        # A wrong code counts like a wrong password: towards the lockout and in the security log.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            two_factor.pending_end(request)
        form.add_error("token", services.TWO_FACTOR_WRONG_CODE)
    return render(request, "registration/login_two_factor.html", {"form": form})


@require_POST
def logout(request):
    """Ends the session here, and the campus session too when the user came through 统一身份认证."""
    campus = campus_login.logout_redirect(request)
    auth_logout(request)
    return redirect(campus or settings.LOGOUT_REDIRECT_URL)


def lockout_response(request, original_response=None, credentials=None):
    """django-axes calls this when a username + address has failed too often (AXES_LOCKOUT_CALLABLE)."""
    context = {
        "failures": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "registration/lockout.html", context, status=429)


def _two_factor_user(request):
    """Only accounts offered the second factor (or still holding a device) see these pages."""
    device = two_factor.device_of(request.user)
    if device is None and not two_factor.offered_to(request.user):
        raise PermissionDenied(_("您的账号不提供两步验证"))
    return device


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def two_factor_manage(request):
    device = _two_factor_user(request)
    form = TwoFactorCodeForm(request.POST or None)
    if device is not None:
        return render(request, "members/two_factor.html", {"device": device, "form": form})
    # The secret waits in the session until a code proves it reached the phone.
    key = request.session.setdefault(ENROL_KEY, two_factor.new_device(request.user).key)
    if request.method == "POST" and form.is_valid():
        try:
            services.two_factor_enable(user=request.user, key=key, token=form.cleaned_data["token"])
        except ApplicationError as error:
            form.add_error("token", error.message)
        else:
            del request.session[ENROL_KEY]
            two_factor.remember_state(request, request.user)
            messages.success(request, _("两步验证已启用：今后登录时须再输入验证器上的 6 位验证码"))
            return redirect("two_factor")
    enrolling = two_factor.new_device(request.user, key)
    context = {
        "form": form,
        "qr": two_factor.qr_svg(enrolling),
        "secret": two_factor.secret_text(enrolling),
        "required": two_factor.required_of(request.user),
    }
    return render(request, "members/two_factor.html", context)


@login_required
@require_POST
def two_factor_disable(request):
    _two_factor_user(request)
    form = TwoFactorCodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["token"][0])
        return redirect("two_factor")
    try:
        services.two_factor_disable(user=request.user, token=form.cleaned_data["token"])
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        two_factor.remember_state(request, request.user)
        messages.success(request, _("两步验证已关闭"))
    return redirect("two_factor")


def admin_login(request, extra_context=None):
    """Replaces the admin site's login view (see members/admin.py)."""
    if request.user.is_authenticated:  # logged in, but not an administrator
        raise PermissionDenied(_("您无权使用管理后台"))
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))
