import re
from decimal import Decimal

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from partyscore.core.filters import FilterForm, IdField, YearField
from partyscore.core.forms import BootstrapForm, BootstrapMixin, Select

from . import rule_kinds
from .models import AttendanceRule, OutcomeRule, RuleItem, Scheme
from .points import format_points, to_centi
from .rule_kinds import RULE_KINDS
from .services import ITEM_FIELDS


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


class CategorySelect(Select):
    """A select whose options carry the member category they belong to (data-category), so
    page.js can offer only the items of the chosen member's own scheme."""

    def __init__(self, *args, category_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.category_of = category_of or {}

    def option_attrs(self, value):
        key = getattr(value, "value", value)
        return {"data-category": self.category_of[key]} if key in self.category_of else {}


def _offer_items(field, schemes, items):
    """Offer in `field` only `items` (a queryset) of `schemes` (a member category → its scheme),
    each option marked with the categories it serves; named with its scheme when there are several."""
    items = list(
        items.filter(scheme__in={s.pk for s in schemes.values()})
        .select_related("scheme")
        .order_by("scheme__member_category", "order", "code")
    )
    field.widget = CategorySelect(
        attrs={"class": "form-select"},
        category_of={i.pk: " ".join(c for c, s in schemes.items() if s.pk == i.scheme_id) for i in items},
    )
    field.queryset = (
        RuleItem.objects.filter(pk__in=[i.pk for i in items])
        .select_related("scheme")
        .order_by("scheme__member_category", "order", "code")
    )
    several = len({s.pk for s in schemes.values()}) > 1
    field.label_from_instance = (lambda i: f"{i.scheme.name}：{item_label(i)}") if several else item_label


class EntryForm(BootstrapForm):
    member = forms.ModelChoiceField(label=_("党员"), queryset=None)
    item = forms.ModelChoiceField(label=_("项目"), queryset=None)
    period = forms.ModelChoiceField(label=_("周期"), queryset=None)
    points = forms.DecimalField(
        label=_("分值（正数，加减由项目类别决定）"), min_value=0, max_digits=6, decimal_places=2
    )
    occurred_on = forms.DateField(
        label=_("发生日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = forms.CharField(label=_("事由"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500)
    evidence = MultipleFileField(label=_("佐证材料（图片或 PDF，可多选）"), required=False)

    def __init__(self, *args, members, schemes, periods, **kwargs):
        """`schemes` maps a member category to the scheme in force for it: the item list offers
        only the items of those schemes, each marked with its category, and `clean` refuses an item
        or period of another member's scheme before the ledger is touched."""
        super().__init__(*args, **kwargs)
        self.schemes = schemes
        members = members.filter(category__in=schemes.keys())
        member_field = self.fields["member"]
        member_field.widget = CategorySelect(
            attrs={"class": "form-select", "data-filters": "id_item"},
            category_of=dict(members.values_list("pk", "category")),
        )
        member_field.queryset = members
        _offer_items(self.fields["item"], schemes, RuleItem.objects.all())
        self.fields["period"].queryset = periods

    def clean(self):
        data = super().clean()
        member, item, period = data.get("member"), data.get("item"), data.get("period")
        if member is not None:
            scheme = self.schemes.get(member.category)
            if item is not None and item.scheme_id != scheme.pk:
                self.add_error(
                    "item",
                    _("“%(item)s”不属于%(member)s适用的评分细则（%(scheme)s），请重新选择")
                    % {"item": item.title, "member": member.name, "scheme": scheme.name},
                )
            if period is not None and period.kind != scheme.period_kind:
                self.add_error(
                    "period",
                    _("%(member)s按%(kind)s记分，请选择相应的周期")
                    % {"member": member.name, "kind": scheme.get_period_kind_display()},
                )
        return data


class EntryBulkForm(BootstrapForm):
    """One item for many members (批量记分). Items that need evidence are recorded one by one, with
    their files, on the single entry form. Whether the item fits each ticked member (their scheme,
    the period, the item's bounds and caps) is checked line by line by `entries_record_bulk`."""

    item = forms.ModelChoiceField(label=_("项目"), queryset=None)
    period = forms.ModelChoiceField(label=_("周期"), queryset=None)
    points = forms.DecimalField(
        label=_("分值（正数，加减由项目类别决定）"), min_value=0, max_digits=6, decimal_places=2
    )
    occurred_on = forms.DateField(
        label=_("发生日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = forms.CharField(label=_("事由"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500)
    members = forms.ModelMultipleChoiceField(
        label=_("党员"), queryset=None, error_messages={"required": _("请至少选择一名党员")}
    )

    def __init__(self, *args, members, schemes, periods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = members.filter(category__in=schemes.keys())
        _offer_items(self.fields["item"], schemes, RuleItem.objects.filter(evidence_required=False))
        self.fields["period"].queryset = periods

    def ticked(self):
        """The member ids ticked in the posted form (kept on a refusal), as strings."""
        return set(self["members"].value() or []) if self.is_bound else set()


class ReasonForm(BootstrapForm):
    reason = forms.CharField(label=_("理由"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500)


class SchemeForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Scheme
        fields = [
            "name",
            "composition",
            "pipeline",
            "base_points",
            "bonus_cap",
            "floor",
            "cap",
            "aggregation",
            "period_kind",
        ]


class RuleItemForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = RuleItem
        fields = ITEM_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class AttendanceRuleForm(BootstrapMixin, forms.ModelForm):
    """What a status at a kind of meeting records: the item is one of this scheme's."""

    class Meta:
        model = AttendanceRule
        fields = ["meeting_kind", "status", "item", "points"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting_kind"].choices = [("", _("所有会议")), *self.fields["meeting_kind"].choices[1:]]
        self.fields["item"].queryset = self.instance.scheme.items.order_by("order", "code")
        self.fields["item"].label_from_instance = item_label


class RuleKindSelect(Select):
    """The kinds of rule, each option carrying what the kind does (page.js shows the chosen one's)."""

    def option_attrs(self, value):
        kind = RULE_KINDS.get(getattr(value, "value", value))
        return {"data-summary": str(kind.summary)} if kind is not None else {}


def _param_field(param):
    """The form field of one declared parameter: points and shares as numbers (a share in percent),
    whole numbers, a tick box, codes as text. Never required here: which are depends on the kind."""
    common = {"label": param.label, "help_text": param.help, "required": False}
    numbers = {**common, "error_messages": {"invalid": _("请填写数字")}}
    if param.type == rule_kinds.POINTS:
        return forms.DecimalField(
            max_digits=6, decimal_places=2, min_value=param.minimum, max_value=param.maximum, **numbers
        )
    if param.type == rule_kinds.SHARE:
        return forms.DecimalField(
            min_value=Decimal("0.01"),
            max_value=100,
            max_digits=5,
            decimal_places=2,
            **{
                **numbers,
                "label": format_lazy("{}（%）", param.label),
                "help_text": format_lazy("{}（{}）", param.help, _("填 5 表示 5%")),
            },
        )
    if param.type == rule_kinds.WHOLE:
        return forms.IntegerField(min_value=param.minimum, max_value=param.maximum, **numbers)
    if param.type == rule_kinds.FLAG:
        return forms.BooleanField(initial=param.default, **common)
    return forms.CharField(max_length=30 if param.type == rule_kinds.RULE_CODE else 200, **common)


def _plain(value):
    """A Decimal as the JSON number the rules store (60, not "60.00")."""
    return int(value) if value == value.to_integral_value() else float(value)


def _stored(param, value, data):
    """A field's cleaned value as the rule stores it; None leaves the parameter out."""
    if param.type == rule_kinds.ITEM_CODES:
        return [c.strip() for c in re.split(r"[,，、\s]+", value or "") if c.strip()] or None
    if param.type == rule_kinds.FLAG:
        return bool(value) if data.get(param.qualifies) is not None else None
    if value in (None, ""):
        return None
    if param.type == rule_kinds.SHARE:
        return str((value / 100).normalize())
    return _plain(value) if isinstance(value, Decimal) else value


def _shown(param, value):
    """A stored parameter as its field shows it."""
    if param.type == rule_kinds.ITEM_CODES:
        return "，".join(value)
    if param.type == rule_kinds.SHARE:
        return (Decimal(str(value)) * 100).normalize()
    return value


def _param_fields():
    """One field per parameter name the registry declares (kinds share `at_or_above`), each marked
    with the kinds that use it (data-rule-kinds: page.js shows only the chosen kind's)."""
    params, fields = {}, {}
    for kind in RULE_KINDS.values():
        for param in kind.params:
            if param.name not in fields:
                params[param.name], fields[param.name] = param, _param_field(param)
            attrs = fields[param.name].widget.attrs
            attrs["data-rule-kinds"] = " ".join([*attrs.get("data-rule-kinds", "").split(), kind.code])
    return params, fields


class OutcomeRuleForm(BootstrapMixin, forms.ModelForm):
    """A rule and, as fields of their own, the parameters `scoring.rule_kinds` declares for its kind
    (the parameter fields are added below the class); each parameter's error is shown beside its field."""

    class Meta:
        model = OutcomeRule
        fields = ["code", "kind", "consequence", "label", "applies_to", "order"]
        widgets = {"kind": RuleKindSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].label = _("排序")
        kind_field = self.fields["kind"]
        kind_field.widget.attrs["data-rule-kind-select"] = "1"
        chosen = RULE_KINDS.get(self["kind"].value())
        kind_field.help_text = chosen.summary if chosen else ""
        params = self.instance.params or {}
        if self.instance.pk and not self.is_bound:
            for name, param in PARAMS.items():
                if name in params:
                    self.initial[name] = _shown(param, params[name])

    def clean(self):
        data = super().clean()
        kind = RULE_KINDS.get(data.get("kind"))
        if kind is None or any(self.has_error(p.name) for p in kind.params):
            return data
        params = {}
        for param in kind.params:
            value = _stored(param, data.get(param.name), data)
            if value is not None:
                params[param.name] = value
        for name, messages in rule_kinds.param_errors(kind.code, params).items():
            for message in messages:
                self.add_error(name, message)
        data["params"] = params
        return data


PARAMS, PARAM_FIELDS = _param_fields()
OutcomeRuleForm.base_fields.update(PARAM_FIELDS)

SECOND_SEMESTER_HELP = _(
    "第一学期自1月1日起至此日前一天，第二学期自此日起至12月31日；不填为8月1日。"
    "春季/秋季学期制的学校可填秋季学期开学前的日期，如9月1日"
)


class CycleOpenForm(BootstrapForm):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    deadline_sets = forms.MultipleChoiceField(
        label=_("默认时间节点"),
        widget=forms.CheckboxSelectMultiple,
        choices=[("A", _("先锋亮绩、积分管理")), ("B", _("亮化记分管理"))],
        initial=["A", "B"],
    )
    second_semester_starts = forms.DateField(
        label=_("第二学期开始日期"),
        required=False,
        help_text=SECOND_SEMESTER_HELP,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self):
        data = super().clean()
        year, starts = data.get("year"), data.get("second_semester_starts")
        if year and starts and starts.year != year:
            self.add_error("second_semester_starts", _("第二学期开始日期须在%(y)s年内") % {"y": year})
        return data


class SemestersForm(BootstrapForm):
    second_semester_starts = forms.DateField(
        label=_("第二学期开始日期"),
        help_text=SECOND_SEMESTER_HELP,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(label=_("理由"), max_length=200)


class PresetForm(BootstrapForm):
    preset = forms.ChoiceField(
        label=_("参考标准"),
        choices=[
            ("A-staff", _("先锋亮绩、积分管理：教职工党员（示例）")),
            ("A-student", _("先锋亮绩、积分管理：学生党员（示例）")),
            ("B", _("亮化记分管理（示例）")),
        ],
    )
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
