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


class CategorySelect(forms.Select):
    """A select whose options carry the member category they belong to (data-category), so
    page.js can offer only the items of the chosen member's own scheme."""

    def __init__(self, *args, category_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.category_of = category_of or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        key = getattr(value, "value", value)
        if key in self.category_of:
            option["attrs"]["data-category"] = self.category_of[key]
        return option


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

    def __init__(self, *args, members, schemes, periods, **kwargs):
        """`schemes` maps a member category to the scheme in force for it: the item list offers
        only the items of those schemes, each marked with its category, and `clean` refuses an item
        or period of another member's scheme before the ledger is touched."""
        super().__init__(*args, **kwargs)
        self.schemes = schemes
        members = members.filter(category__in=schemes.keys())
        items = list(RuleItem.objects.filter(scheme__in={s.pk for s in schemes.values()}).select_related("scheme")
                     .order_by("scheme__member_category", "order", "code"))
        member_field, item_field = self.fields["member"], self.fields["item"]
        member_field.widget = CategorySelect(attrs={"class": "form-select", "data-filters": "id_item"},
                                             category_of=dict(members.values_list("pk", "category")))
        member_field.queryset = members
        item_field.widget = CategorySelect(attrs={"class": "form-select"}, category_of={
            i.pk: " ".join(c for c, s in schemes.items() if s.pk == i.scheme_id) for i in items})
        item_field.queryset = RuleItem.objects.filter(pk__in=[i.pk for i in items]).select_related("scheme") \
            .order_by("scheme__member_category", "order", "code")
        several = len({s.pk for s in schemes.values()}) > 1
        item_field.label_from_instance = (lambda i: f"{i.scheme.name}：{item_label(i)}") if several else item_label
        self.fields["period"].queryset = periods

    def clean(self):
        data = super().clean()
        member, item, period = data.get("member"), data.get("item"), data.get("period")
        if member is not None:
            scheme = self.schemes.get(member.category)
            if item is not None and item.scheme_id != scheme.pk:
                self.add_error("item", _("“%(item)s”不属于%(member)s适用的评分细则（%(scheme)s），请重新选择") % {
                    "item": item.title, "member": member.name, "scheme": scheme.name})
            if period is not None and period.kind != scheme.period_kind:
                self.add_error("period", _("%(member)s按%(kind)s记分，请选择相应的周期") % {
                    "member": member.name, "kind": scheme.get_period_kind_display()})
        return data


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
