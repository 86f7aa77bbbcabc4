"""Forms of the supervision actions and the annual work report."""

from django import forms
from django.utils.translation import gettext_lazy as _

from partyscore.core.filters import FilterForm, IdField, YearField
from partyscore.core.forms import BootstrapForm

from .models import BranchCommendation, SpotCheckItem
from .scope import setting


class SpotCheckForm(BootstrapForm):
    size = forms.IntegerField(label=_("抽查条数"), min_value=1, max_value=setting("SPOT_CHECK_MAX"), initial=10)


class SpotCheckReviewForm(BootstrapForm):
    item = forms.IntegerField(widget=forms.HiddenInput)
    verdict = forms.ChoiceField(
        label=_("核查结果"),
        choices=[(v.value, v.label) for v in (SpotCheckItem.Verdict.OK, SpotCheckItem.Verdict.PROBLEM)],
    )
    note = forms.CharField(label=_("核查说明"), max_length=300, required=False)


class SpotCheckCloseForm(BootstrapForm):
    conclusion = forms.CharField(label=_("抽查结论"), widget=forms.Textarea(attrs={"rows": 3}))


class CommendationForm(BootstrapForm):
    branch = forms.ModelChoiceField(label=_("党组织"), queryset=None)
    kind = forms.ChoiceField(label=_("类别"), choices=BranchCommendation.Kind.choices)
    reason = forms.CharField(label=_("事由"), widget=forms.Textarea(attrs={"rows": 3}))
    loses_award_eligibility = forms.BooleanField(label=_("取消本年度评先评优资格（仅通报批评）"), required=False)

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = organizations


class WorkReportForm(BootstrapForm):
    summary = forms.CharField(label=_("工作总结"), widget=forms.Textarea(attrs={"rows": 14}))
    lock_version = forms.IntegerField(widget=forms.HiddenInput, initial=0)


class ReasonForm(BootstrapForm):
    reason = forms.CharField(label=_("退回理由"), widget=forms.Textarea(attrs={"rows": 2}))


class DrillFilterForm(FilterForm):
    """The drill-down's parameters: what the dashboards link with, and nothing malformed."""

    year = YearField()
    metric = forms.CharField(label=_("统计项"), required=False, max_length=40)
    org = IdField(_("党组织"))
    period = IdField(_("周期"))
    bin = forms.IntegerField(label=_("分数区间"), required=False, min_value=0, max_value=100)
    consequence = forms.CharField(label=_("积分结果"), required=False, max_length=40)
    at = forms.DecimalField(label=_("分数线"), required=False, min_value=0, max_value=1000, decimal_places=2)
    kind = forms.CharField(label=_("类别"), required=False, max_length=40)
    status = forms.CharField(label=_("状态"), required=False, max_length=40)
