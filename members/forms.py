from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from partyscore.forms import BootstrapForm

from .models import Member


class MemberFilterForm(BootstrapForm):
    q = forms.CharField(label=_("姓名或学号/工号"), required=False)
    category = forms.ChoiceField(label=_("类别"), required=False,
                                 choices=[("", _("全部类别")), *Member.Category.choices])
    status = forms.ChoiceField(label=_("党员身份"), required=False,
                               choices=[("", _("全部身份")), *Member.Status.choices])
    cadre = forms.ChoiceField(label=_("党员干部"), required=False,
                              choices=[("", _("不限")), ("1", _("是")), ("0", _("否"))])


class RosterUploadForm(BootstrapForm):
    file = forms.FileField(label=_("名册文件（.xlsx）"))
    create_accounts = forms.BooleanField(label=_("为每位党员创建登录账号（账号为学号/工号）"), required=False)
    initial_password = forms.CharField(
        label=_("初始密码"), required=False, widget=forms.PasswordInput(render_value=True),
        help_text=_("党员首次登录时必须修改"),
    )

    def clean(self):
        data = super().clean()
        if data.get("create_accounts"):
            password = data.get("initial_password") or ""
            if not password:
                self.add_error("initial_password", _("创建账号时必须设置初始密码"))
            else:
                try:
                    validate_password(password)
                except forms.ValidationError as error:
                    self.add_error("initial_password", error)
        return data


class ExemptionRequestForm(BootstrapForm):
    reason = forms.CharField(label=_("免于记分原因（支委会研究意见）"), max_length=200,
                             widget=forms.Textarea(attrs={"rows": 2}))


class ExemptionDecisionForm(BootstrapForm):
    approve = forms.TypedChoiceField(label=_("审批结果"), coerce=lambda v: v == "1",
                                     choices=[("1", _("批准")), ("0", _("不予批准"))])
    reason = forms.CharField(label=_("意见"), max_length=200, required=False)


class TwoFactorCodeForm(BootstrapForm):
    token = forms.RegexField(
        label=_("6 位验证码"), regex=r"^\d{6}$", max_length=6,
        error_messages={"invalid": _("请输入验证器上显示的 6 位数字")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}),
    )
