from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.password_validation import validate_password
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partyscore.core.filters import FilterForm
from partyscore.core.forms import BootstrapForm, BootstrapMixin

from .models import Member, Organization, Role, RoleAssignment, User


class MemberFilterForm(FilterForm):
    q = forms.CharField(label=_("姓名或学号/工号"), required=False, max_length=100)
    category = forms.ChoiceField(
        label=_("类别"), required=False, choices=[("", _("全部类别")), *Member.Category.choices]
    )
    status = forms.ChoiceField(
        label=_("党员身份"), required=False, choices=[("", _("全部身份")), *Member.Status.choices]
    )
    cadre = forms.ChoiceField(
        label=_("党员干部"), required=False, choices=[("", _("不限")), ("1", _("是")), ("0", _("否"))]
    )


class AuditFilterForm(FilterForm):
    action = forms.CharField(label=_("操作"), required=False, max_length=64)
    target_type = forms.CharField(label=_("对象类型"), required=False, max_length=64)
    target_id = forms.CharField(label=_("对象编号"), required=False, max_length=64)


class RosterUploadForm(BootstrapForm):
    ADD, UPDATE = "add", "update"

    mode = forms.ChoiceField(
        label=_("导入方式"),
        initial=ADD,
        required=False,
        widget=forms.RadioSelect,
        choices=[(ADD, _("新增党员")), (UPDATE, _("更新已有党员"))],
        help_text=_("更新时按学号/工号对应：名册中没有的学号/工号新增，已有的按表中各列修改"),
    )
    file = forms.FileField(label=_("名册文件（.xlsx）"))
    reason = forms.CharField(
        label=_("修改原因"), max_length=200, required=False, help_text=_("更新已有党员时必填，记入每位党员的修改记录")
    )
    create_accounts = forms.BooleanField(label=_("为每位党员创建登录账号（账号为学号/工号）"), required=False)
    initial_password = forms.CharField(
        label=_("初始密码"),
        required=False,
        widget=forms.PasswordInput(render_value=True),
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
        data["mode"] = data.get("mode") or self.ADD  # as before the update mode existed
        if data["mode"] == self.UPDATE and not (data.get("reason") or "").strip():
            self.add_error("reason", _("请写明修改原因"))
        return data


class ExemptionRequestForm(BootstrapForm):
    reason = forms.CharField(
        label=_("免于记分原因（支委会研究意见）"), max_length=200, widget=forms.Textarea(attrs={"rows": 2})
    )


class ExemptionDecisionForm(BootstrapForm):
    approve = forms.TypedChoiceField(
        label=_("审批结果"), coerce=lambda v: v == "1", choices=[("1", _("批准")), ("0", _("不予批准"))]
    )
    reason = forms.CharField(label=_("意见"), max_length=200, required=False)


class TwoFactorCodeForm(BootstrapForm):
    token = forms.RegexField(
        label=_("6 位验证码"),
        regex=r"^\d{6}$",
        max_length=6,
        error_messages={"invalid": _("请输入验证器上显示的 6 位数字")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}),
    )


class RoleAssignForm(BootstrapForm):
    """Appoint someone, chosen by staff/student number, to one of the roles the actor may give here."""

    username = forms.CharField(
        label=_("学号/工号"), max_length=150, help_text=_("已有账号的填学号/工号即可；群众代表可以不是党员")
    )
    full_name = forms.CharField(label=_("姓名（为尚无账号的人开立账号时填写）"), max_length=150, required=False)
    email = forms.EmailField(label=_("邮箱（可不填，用于找回密码）"), required=False)
    role = forms.ChoiceField(label=_("角色"))
    starts_on = forms.DateField(label=_("任期开始"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        label=_("任期结束（可不填）"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(
        label=_("任命依据"), max_length=200, required=False, help_text=_("如：支委会 2026 年 3 月 1 日研究决定")
    )

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in roles]
        self.fields["starts_on"].initial = timezone.localdate()

    def clean_username(self):
        return self.cleaned_data["username"].strip()

    def clean(self):
        """`user` is the account appointed, or None: a new account is opened under `username`."""
        data = super().clean()
        username = data.get("username")
        if username:
            data["user"] = User.objects.filter(username=username, is_active=True).first()
            if data["user"] is None and not data.get("full_name", "").strip():
                self.add_error(
                    "username",
                    _("没有学号/工号为“%(number)s”的账号；如需为其开立账号，请同时填写姓名") % {"number": username},
                )
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("任期结束不能早于任期开始"))
        return data


class RoleRevokeForm(BootstrapForm):
    assignment = forms.ModelChoiceField(queryset=RoleAssignment.objects.none(), widget=forms.HiddenInput)
    reason = forms.CharField(label=_("撤销原因"), max_length=200)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        # Only a live appointment at this node: a forged id from elsewhere is simply not a choice.
        self.fields["assignment"].queryset = RoleAssignment.objects.filter(
            organization=organization, revoked_at__isnull=True
        ).select_related("organization", "user")


class MemberTransferForm(BootstrapForm):
    to_branch = forms.ModelChoiceField(
        label=_("转入支部"), queryset=Organization.objects.none(), empty_label=_("请选择")
    )
    transferred_on = forms.DateField(label=_("转接日期"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("原因"), max_length=200)

    def __init__(self, *args, branches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_branch"].queryset = branches
        self.fields["transferred_on"].initial = timezone.localdate()


class PasswordResetForm(BootstrapMixin, auth_forms.PasswordResetForm):
    """Django's 忘记密码 form (by e-mail), styled like the site's."""


class SetPasswordForm(BootstrapMixin, auth_forms.SetPasswordForm):
    """The new password from a reset link: Django's form and password validators."""


class MemberEditForm(BootstrapForm):
    """The member page's corrections (name, numbers, contact, category, cadre), with the reason."""

    name = forms.CharField(label=_("姓名"), max_length=50)
    number = forms.CharField(label=_("学号/工号"), max_length=32)
    phone = forms.CharField(label=_("手机"), max_length=20, required=False)
    email = forms.EmailField(label=_("邮箱"), required=False)
    category = forms.ChoiceField(label=_("类别"), choices=Member.Category.choices)
    is_cadre = forms.BooleanField(label=_("党员干部"), required=False)
    cadre_post = forms.CharField(
        label=_("干部职务"), max_length=100, required=False, help_text=_("党员干部填写，如“学院办公室主任”")
    )
    party_group = forms.CharField(
        label=_("党小组"), max_length=50, required=False, help_text=_("支部设党小组的填写，如“第一党小组”")
    )
    reason = forms.CharField(label=_("修改原因"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}))


class MemberStatusForm(BootstrapForm):
    """A dated status change (转正, 延长预备期, 出党, 转出, 毕业…)."""

    kind = forms.ChoiceField(label=_("身份变化"))
    occurred_on = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    until = forms.DateField(
        label=_("延长至（延长预备期时填写）"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(
        label=_("原因及依据（会议、批复文号等）"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds
        if "probation_extended" not in dict(kinds):
            del self.fields["until"]


class TwoFactorRequirementForm(BootstrapForm):
    """The roles whose holders must use the second factor, and why."""

    roles = forms.MultipleChoiceField(
        label=_("须启用两步验证的角色"), choices=Role.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(label=_("调整原因"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class OrganizationAddForm(BootstrapForm):
    name = forms.CharField(label=_("组织名称"), max_length=100)
    code = forms.CharField(label=_("组织代码"), max_length=32, help_text=_("全校唯一，如“A03”"))
    category = forms.ChoiceField(
        label=_("党员类别"), choices=Organization.Category.choices, initial=Organization.Category.MIXED
    )
    reason = forms.CharField(label=_("原因"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class OrganizationRenameForm(BootstrapForm):
    name = forms.CharField(label=_("新名称"), max_length=100)
    reason = forms.CharField(label=_("原因"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class OrganizationMoveForm(BootstrapForm):
    new_parent = forms.ModelChoiceField(
        label=_("改隶属于"), queryset=Organization.objects.none(), empty_label=_("请选择")
    )
    reason = forms.CharField(label=_("原因"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_parent"].queryset = targets


class OrganizationMergeForm(BootstrapForm):
    target = forms.ModelChoiceField(
        label=_("并入党支部"), queryset=Organization.objects.none(), empty_label=_("请选择")
    )
    merged_on = forms.DateField(label=_("合并日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    reason = forms.CharField(label=_("原因"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = targets
        self.fields["merged_on"].initial = timezone.localdate()


class OrganizationCloseForm(BootstrapForm):
    closed_on = forms.DateField(label=_("撤销日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    reason = forms.CharField(label=_("原因"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["closed_on"].initial = timezone.localdate()


class TreeUploadForm(BootstrapForm):
    file = forms.FileField(label=_("组织架构与任命文件（.xlsx）"))


class PasswordLoginPolicyForm(BootstrapForm):
    """The committee's switch: party members log in only through 统一身份认证."""

    members_use_campus_login = forms.BooleanField(
        label=_("党员只能通过统一身份认证登录（没有党员档案的群众代表仍可用密码登录）"), required=False
    )
    reason = forms.CharField(label=_("调整原因"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class ApiTokenForm(BootstrapForm):
    name = forms.CharField(label=_("令牌名称"), max_length=60, help_text=_("用途，例如“微信小程序”或“智慧党建平台”"))
