from django import forms
from django.utils.translation import gettext_lazy as _

from partyscore.core.forms import BootstrapForm

from .models import MassEvaluation, Pledge, Publicity, ReviewSettings


class PledgeForm(BootstrapForm):
    kind = forms.ChoiceField(label=_("类别"), choices=Pledge.Kind.choices)
    content = forms.CharField(label=_("承诺内容"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class DecisionForm(BootstrapForm):
    approve = forms.TypedChoiceField(
        label=_("结果"), coerce=lambda v: v == "1", choices=[("1", _("通过")), ("0", _("退回/不通过"))]
    )
    reason = forms.CharField(label=_("意见"), required=False, max_length=500)


class DeclarationForm(BootstrapForm):
    item = forms.ModelChoiceField(label=_("申报项目"), queryset=None)
    period = forms.ModelChoiceField(label=_("周期"), queryset=None)
    points = forms.DecimalField(label=_("申报分值"), min_value=0, max_digits=6, decimal_places=2)
    reason = forms.CharField(label=_("申报事由"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)
    evidence = forms.FileField(label=_("佐证材料（图片或 PDF）"), required=False)

    def __init__(self, *args, items, periods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = items
        self.fields["period"].queryset = periods


class FulfilmentForm(BootstrapForm):
    period = forms.ModelChoiceField(label=_("月份"), queryset=None)
    content = forms.CharField(label=_("践诺情况"), widget=forms.Textarea(attrs={"rows": 4}), max_length=2000)
    evidence = forms.FileField(label=_("佐证材料（图片或 PDF）"), required=False)

    def __init__(self, *args, periods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = periods


class ObjectionForm(BootstrapForm):
    reason = forms.CharField(label=_("异议理由"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    evidence = forms.FileField(label=_("佐证材料（图片或 PDF）"), required=False)


class ObjectionAnswerForm(BootstrapForm):
    uphold = forms.TypedChoiceField(
        label=_("结论"), coerce=lambda v: v == "1", choices=[("1", _("异议成立")), ("0", _("异议不成立"))]
    )
    text = forms.CharField(label=_("调查核实意见"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    corrected_points = forms.DecimalField(
        label=_("更正后的分值（异议成立且需重新记分时填写）"),
        required=False,
        min_value=0,
        max_digits=6,
        decimal_places=2,
    )
    evidence = forms.FileField(
        label=_("佐证材料（图片或 PDF）"),
        required=False,
        help_text=_(
            "须提供佐证材料的项目重新记分时，更正记录附上异议附件、党员自查自评材料和原记录的材料；都没有时在此上传"
        ),
    )


class PublicityForm(BootstrapForm):
    kind = forms.ChoiceField(label=_("公示内容"), choices=Publicity.Kind.choices)
    period = forms.ModelChoiceField(label=_("月份/周期（按月公示时必选）"), queryset=None, required=False)
    audience = forms.ChoiceField(
        label=_("公示范围"),
        choices=ReviewSettings.Audience.choices,
        help_text=_("公示承诺时按评议流程设置的承诺公示范围"),
    )
    starts_on = forms.DateField(label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    days = forms.IntegerField(label=_("公示天数"), min_value=1, max_value=30, initial=5)

    def __init__(self, *args, periods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = periods


class DeterminationForm(BootstrapForm):
    meeting_date = forms.DateField(
        label=_("党员大会日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    members_expected = forms.IntegerField(label=_("应到人数"), min_value=1)
    members_present = forms.IntegerField(label=_("实到人数"), min_value=0)
    decision = forms.CharField(label=_("大会决定"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    lock_version = forms.IntegerField(widget=forms.HiddenInput)


class MassForm(BootstrapForm):
    panel_rating = forms.TypedChoiceField(
        label=_("对考评小组评分的评价"), coerce=int, choices=MassEvaluation.Rating.choices
    )
    branch_rating = forms.TypedChoiceField(
        label=_("对支部评分工作的评价"), coerce=int, choices=MassEvaluation.Rating.choices
    )
    comments = forms.CharField(
        label=_("意见建议"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )


class FollowUpForm(BootstrapForm):
    done_on = forms.DateField(label=_("办理日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    record = forms.CharField(
        label=_("办理记录（谈话情况等）"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )

    def __init__(self, *args, status_kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        if status_kinds:  # a probation proposal or 不合格 disposal: the status change, in the same step
            self.fields["status_kind"] = forms.ChoiceField(
                label=_("同时记录党员身份变化"),
                required=False,
                choices=[("", _("不记录身份变化")), *status_kinds],
                help_text=_("以办理日期为身份变化日期，记入该党员的身份变化记录"),
            )
            self.fields["until"] = forms.DateField(
                label=_("延长至（延长预备期时填写）"),
                required=False,
                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            )


def _days(label, low, high, help_text):
    return forms.IntegerField(
        label=label,
        min_value=low,
        max_value=high,
        help_text=help_text,
        error_messages={
            "required": _("请填写天数"),
            "invalid": _("请填写整数"),
            "min_value": _("不能少于 %(limit_value)s"),
            "max_value": _("不能多于 %(limit_value)s"),
        },
    )


class ReviewSettingsForm(BootstrapForm):
    """A scheme's 评议流程设置 with the reason of the change; the committee's reserved fields are
    disabled on a college's or branch's scheme (the posted value of a disabled field is ignored)."""

    panel_combination = forms.ChoiceField(
        label=_("考评小组多人评分合成方式"),
        choices=ReviewSettings.PanelCombination.choices,
        help_text=_("几位考评小组成员对同一项目的评分如何合成为本期得分；支部可自行选择"),
    )
    declaration_verifier = forms.ChoiceField(
        label=_("本人申报审核"),
        choices=ReviewSettings.Verifier.choices,
        help_text=_(
            "支委会：书记或支委审核；支部党员大会：由支部书记登记大会的决定，须写明大会日期和决定。支部可自行选择"
        ),
    )
    pledge_audience = forms.ChoiceField(
        label=_("承诺公示范围"),
        choices=ReviewSettings.Audience.choices,
        help_text=_("支部公开承诺公示给谁看；支部可自行选择"),
    )
    mass_min_answers = forms.IntegerField(
        label=_("群众评议结果公开所需最少人数"),
        min_value=2,
        max_value=50,
        help_text=_("少于此数时支部只看到答卷份数，保护群众代表匿名；由校党委统一规定"),
        error_messages={
            "required": _("请填写人数"),
            "invalid": _("请填写整数"),
            "min_value": _("不能少于 %(limit_value)s 人"),
            "max_value": _("不能多于 %(limit_value)s 人"),
        },
    )
    publicity_days = _days(_("公示天数"), 1, 30, _("发布公示时默认的公示天数；由校党委统一规定"))
    objection_answer_days = _days(_("异议答复期限（天）"), 1, 60, _("支部答复异议的期限；由校党委统一规定"))
    reason = forms.CharField(
        label=_("修改理由"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=500,
        error_messages={"required": _("请填写修改理由")},
    )

    def __init__(self, *args, reserved=(), **kwargs):
        super().__init__(*args, **kwargs)
        for name in reserved:
            self.fields[name].disabled = True


class NotificationChannelsForm(BootstrapForm):
    """Where else a person's notices reach them, among the channels the deployment switched on."""

    channels = forms.MultipleChoiceField(
        label=_("同时通过以下渠道接收"), required=False, widget=forms.CheckboxSelectMultiple
    )
    wecom_userid = forms.CharField(
        label=_("企业微信账号"),
        max_length=64,
        required=False,
        help_text=_("企业微信通讯录中的账号（UserID），通常是工号或学号"),
    )
    dingtalk_userid = forms.CharField(
        label=_("钉钉账号"), max_length=64, required=False, help_text=_("钉钉通讯录中的 userid")
    )

    def __init__(self, *args, available, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channels"].choices = [(c.name, c.label) for c in available]
        names = {c.name for c in available}
        for name, field in (("wecom", "wecom_userid"), ("dingtalk", "dingtalk_userid")):
            if name not in names:
                del self.fields[field]
