"""partyscore.core.forms.Select writes exactly the HTML Django's Select writes through its templates."""

import pytest
from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from members.models import Organization
from partyscore.core.forms import BootstrapForm, Select
from scoring.forms import CategorySelect

CHOICES = {
    "plain": [("", "全部"), ("a", "甲"), ("b", "乙")],
    "numbers and None": [(None, "---------"), (1, "一"), (2, "二"), (10, "十")],
    "escaped": [('"<x>"', "<b>粗</b> & 'q'"), ("ok", mark_safe("<i>safe</i>"))],
    "lazy labels": [("", gettext_lazy("全部类别")), ("staff", gettext_lazy("教职工"))],
    "groups": [("", "无"), ("组一", [("1", "一"), ("2", "二")]), ("", [("3", "no label")]), ("4", "四")],
    "the same value twice": [("a", "first"), ("a", "second")],
    "empty": [],
}
VALUES = [None, "", "a", "b", 1, "1", 2, "3", "10", '"<x>"', ["a"], "missing"]
ATTRS = [None, {"id": "id_f", "required": True}, {"class": "form-select", "disabled": False, "data-x": "<y>"}]


@pytest.mark.parametrize("choices", CHOICES.values(), ids=CHOICES.keys())
def test_select_renders_what_django_renders(choices):
    for value in VALUES:
        for attrs in ATTRS:
            own = Select(attrs={"class": "form-select"}, choices=choices).render("f", value, attrs=attrs)
            django = forms.Select(attrs={"class": "form-select"}, choices=choices).render("f", value, attrs=attrs)
            assert own == django, (value, attrs)


class CategoryByTemplate(forms.Select):
    """The reference: an option's data-category added the way Django documents (create_option)."""

    def __init__(self, *args, category_of, **kwargs):
        super().__init__(*args, **kwargs)
        self.category_of = category_of

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        key = getattr(value, "value", value)
        if key in self.category_of:
            option["attrs"]["data-category"] = self.category_of[key]
        return option


@pytest.mark.parametrize("value", [None, "", 1, "2"])
def test_an_options_own_attributes_as_create_option_adds_them(value):
    choices, category_of = CHOICES["numbers and None"], {1: "staff", 2: "student staff"}
    own = CategorySelect(attrs={"data-filters": "id_item"}, choices=choices, category_of=category_of)
    django = CategoryByTemplate(attrs={"data-filters": "id_item"}, choices=choices, category_of=category_of)
    assert own.render("member", value) == django.render("member", value)


class Filters(BootstrapForm):
    kind = forms.ChoiceField(choices=CHOICES["plain"], required=False)
    needed = forms.ChoiceField(choices=CHOICES["plain"])
    unit = forms.ModelChoiceField(queryset=Organization.objects.order_by("path"), required=False)
    several = forms.MultipleChoiceField(choices=CHOICES["plain"], required=False)


@pytest.mark.parametrize("data", [None, {}, {"kind": "a", "needed": "b"}, {"kind": "zzz", "unit": "x"}])
def test_a_forms_selects_render_as_djangos_widget_would(world, data):
    """Every plain Select of a form becomes ours (a ModelChoiceField's too, options read from its
    queryset); other choice widgets stay Django's. Bound or not, valid or not, the HTML is the same."""
    ours = Filters(data)
    theirs = Filters(data)
    for name in ("kind", "needed", "unit"):
        assert type(ours.fields[name].widget) is Select
        theirs.fields[name].widget.__class__ = forms.Select
    assert type(ours.fields["several"].widget) is forms.SelectMultiple
    world_unit = Organization.objects.order_by("path").first()
    if data is not None:
        ours.is_valid(), theirs.is_valid()
    for name in ("kind", "needed", "unit", "several"):
        assert str(ours[name]) == str(theirs[name]), name
    assert f'<option value="{world_unit.pk}">' in str(ours["unit"])
    assert "required" in str(ours["needed"]) and "required" not in str(ours["kind"])
