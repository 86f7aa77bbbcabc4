from django import forms
from django.utils.translation import gettext_lazy as _

from partyscore.forms import BootstrapForm

from .models import MassEvaluation, Pledge, Publicity, ReviewSettings


class PledgeForm(BootstrapForm):
    kind = forms.ChoiceField(label=_("类别"), choices=Pledge.Kind.choices)
    content = forms.CharField(label=_("承诺内容"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class DecisionForm(BootstrapForm):
    approve = forms.TypedChoiceField(label=_("结果"), coerce=lambda v: v == "1",
                                     choices=[("1", _("通过")), ("0", _("退回/不通过"))])
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
    uphold = forms.TypedChoiceField(label=_("结论"), coerce=lambda v: v == "1",
                                    choices=[("1", _("异议成立")), ("0", _("异议不成立"))])
    text = forms.CharField(label=_("调查核实意见"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    corrected_points = forms.DecimalField(label=_("更正后的分值（异议成立且需重新记分时填写）"), required=False,
                                          min_value=0, max_digits=6, decimal_places=2)
    evidence = forms.FileField(
        label=_("佐证材料（图片或 PDF）"), required=False,
        help_text=_("须提供佐证材料的项目重新记分时，更正记录附上异议附件、党员自查自评材料和原记录的材料；"
                    "都没有时在此上传"))


class PublicityForm(BootstrapForm):
    kind = forms.ChoiceField(label=_("公示内容"), choices=Publicity.Kind.choices)
    period = forms.ModelChoiceField(label=_("月份/周期（按月公示时必选）"), queryset=None, required=False)
    audience = forms.ChoiceField(label=_("公示范围"), choices=ReviewSettings.Audience.choices)
    starts_on = forms.DateField(label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    days = forms.IntegerField(label=_("公示天数"), min_value=1, max_value=30, initial=5)

    def __init__(self, *args, periods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = periods


class DeterminationForm(BootstrapForm):
    meeting_date = forms.DateField(label=_("党员大会日期"),
                                   widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    members_expected = forms.IntegerField(label=_("应到人数"), min_value=1)
    members_present = forms.IntegerField(label=_("实到人数"), min_value=0)
    decision = forms.CharField(label=_("大会决定"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    lock_version = forms.IntegerField(widget=forms.HiddenInput)


class MassForm(BootstrapForm):
    panel_rating = forms.TypedChoiceField(label=_("对考评小组评分的评价"), coerce=int,
                                          choices=MassEvaluation.Rating.choices)
    branch_rating = forms.TypedChoiceField(label=_("对支部评分工作的评价"), coerce=int,
                                           choices=MassEvaluation.Rating.choices)
    comments = forms.CharField(label=_("意见建议"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                               max_length=2000)


class FollowUpForm(BootstrapForm):
    done_on = forms.DateField(label=_("办理日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    record = forms.CharField(label=_("办理记录（谈话情况等）"), widget=forms.Textarea(attrs={"rows": 3}),
                             max_length=4000)

    def __init__(self, *args, status_kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        if status_kinds:  # a probation proposal or 不合格 disposal: the status change, in the same step
            self.fields["status_kind"] = forms.ChoiceField(
                label=_("同时记录党员身份变化"), required=False, choices=[("", _("不记录身份变化")), *status_kinds],
                help_text=_("以办理日期为身份变化日期，记入该党员的身份变化记录"))
            self.fields["until"] = forms.DateField(
                label=_("延长至（延长预备期时填写）"), required=False,
                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class NotificationChannelsForm(BootstrapForm):
    """Where else a person's notices reach them, among the channels the deployment switched on."""

    channels = forms.MultipleChoiceField(label=_("同时通过以下渠道接收"), required=False,
                                         widget=forms.CheckboxSelectMultiple)
    wecom_userid = forms.CharField(label=_("企业微信账号"), max_length=64, required=False,
                                   help_text=_("企业微信通讯录中的账号（UserID），通常是工号或学号"))
    dingtalk_userid = forms.CharField(label=_("钉钉账号"), max_length=64, required=False,
                                      help_text=_("钉钉通讯录中的 userid"))

    def __init__(self, *args, available, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channels"].choices = [(c.name, c.label) for c in available]
        names = {c.name for c in available}
        for name, field in (("wecom", "wecom_userid"), ("dingtalk", "dingtalk_userid")):
            if name not in names:
                del self.fields[field]
