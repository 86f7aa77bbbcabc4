import json

from django import forms
from django.utils.translation import gettext_lazy as _

from partyscore.filters import FilterForm, IdField, YearField
from partyscore.forms import BootstrapForm, BootstrapMixin

from .models import OutcomeRule, RuleItem, Scheme
from .points import format_points, to_centi


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,application/pdf"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


def item_label(item):
    low, high = format_points(to_centi(item.points_min)), format_points(to_centi(item.points_max))
    return f"{item.code} {item.title}（{item.get_kind_display()} {low}—{high}）"


class EntryForm(BootstrapForm):
    member = forms.ModelChoiceField(label=_("党员"), queryset=None)
    item = forms.ModelChoiceField(label=_("项目"), queryset=None)
    period = forms.ModelChoiceField(label=_("周期"), queryset=None)
    points = forms.DecimalField(label=_("分值（正数，加减由项目类别决定）"), min_value=0, max_digits=6,
                                decimal_places=2)
    occurred_on = forms.DateField(label=_("发生日期"),
                                  widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    reason = forms.CharField(label=_("事由"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500)
    evidence = MultipleFileField(label=_("佐证材料（图片或 PDF，可多选）"), required=False)

    def __init__(self, *args, members, items, periods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members
        self.fields["item"].queryset = items
        self.fields["item"].label_from_instance = item_label
        self.fields["period"].queryset = periods


class ReasonForm(BootstrapForm):
    reason = forms.CharField(label=_("理由"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500)


class SchemeForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Scheme
        fields = ["name", "composition", "base_points", "bonus_cap", "floor", "cap", "aggregation", "period_kind"]


class RuleItemForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = RuleItem
        fields = ["kind", "code", "title", "description", "points_min", "points_max", "cap_per_period",
                  "cap_per_year", "times_per_period", "evidence_required", "member_may_declare", "order"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


PARAMS_HELP = _(
    "JSON。分数段 band：{\"lower\": 60, \"upper\": 70, \"upper_inclusive\": true}（下限默认含、上限默认不含，"
    "可加 \"item_codes\": [\"B-BASE-ID\"]）；支部最后一名 rank_last：{\"below\": 80}；连续多年 streak："
    "{\"of\": \"A-RED\", \"years\": 2}；人数比例上限 share_cap：{\"at_or_above\": 95, \"share\": \"0.05\"}；"
    "表彰 commendation：{\"at_or_above\": 95, \"every_years\": 2, \"anchor_year\": 2018}"
)
REQUIRED_PARAMS = {
    "band": (),
    "rank_last": ("below",),
    "streak": ("of", "years"),
    "share_cap": ("at_or_above", "share"),
    "commendation": ("at_or_above",),
}


class OutcomeRuleForm(BootstrapMixin, forms.ModelForm):
    params = forms.CharField(label=_("参数"), widget=forms.Textarea(attrs={"rows": 3}), help_text=PARAMS_HELP)

    class Meta:
        model = OutcomeRule
        fields = ["code", "kind", "consequence", "label", "applies_to", "params", "order"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["params"] = json.dumps(self.instance.params, ensure_ascii=False)

    def clean_params(self):
        try:
            params = json.loads(self.cleaned_data["params"] or "{}")
        except json.JSONDecodeError as error:
            raise forms.ValidationError(_("参数不是有效的 JSON：%(error)s") % {"error": error.msg}) from error
        if not isinstance(params, dict):
            raise forms.ValidationError(_("参数必须是 JSON 对象，如 {\"lower\": 90}"))
        return params

    def clean(self):
        data = super().clean()
        kind, params = data.get("kind"), data.get("params")
        if kind and isinstance(params, dict):
            missing = [k for k in REQUIRED_PARAMS[kind] if k not in params]
            if kind == "band" and not ({"lower", "upper", "item_codes"} & set(params)):
                missing.append("lower/upper")
            if missing:
                self.add_error("params", _("缺少参数：%(keys)s") % {"keys": "、".join(missing)})
        return data


class CycleOpenForm(BootstrapForm):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    deadline_sets = forms.MultipleChoiceField(
        label=_("默认时间节点"), widget=forms.CheckboxSelectMultiple,
        choices=[("A", _("先锋亮绩、积分管理")), ("B", _("亮化记分管理"))], initial=["A", "B"])


class PresetForm(BootstrapForm):
    preset = forms.ChoiceField(label=_("参考标准"), choices=[
        ("A-staff", _("先锋亮绩、积分管理：教职工党员（示例）")),
        ("A-student", _("先锋亮绩、积分管理：学生党员（示例）")),
        ("B", _("亮化记分管理（示例）")),
    ])
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)


class LedgerFilterForm(FilterForm):
    """The ledger page's filters (all optional)."""

    year = YearField()
    member = IdField(_("党员"))
    kind = forms.ChoiceField(label=_("类别"), required=False, choices=[("", ""), *RuleItem.Kind.choices])
    source = forms.ChoiceField(label=_("来源"), required=False)
    period = IdField(_("周期"))

    def __init__(self, *args, **kwargs):
        from .models import LedgerEntry

        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", ""), *LedgerEntry.Source.choices]
