"""The table-row helpers (partyscore/core/templatetags/rows.py) say exactly what Django would."""

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from members.models import Member
from partyscore.core.templatetags.rows import display, id_url
from scoring.models import LedgerEntry


@pytest.mark.parametrize("name", ["member_detail", "points_card", "entry_reverse", "evidence_entry"])
@pytest.mark.parametrize("pk", [1, 7, 40321, 2**31 - 1])
def test_id_url_is_the_reversed_url(name, pk):
    assert id_url(name, pk) == reverse(name, args=[pk])


def test_id_url_in_a_template_and_into_a_variable():
    page = Template("{% load rows %}{% id_url 'member_detail' 12 %}|{% id_url 'points_card' pk as u %}{{ u }}")
    assert (
        page.render(Context({"pk": 5})) == f"{reverse('member_detail', args=[12])}|{reverse('points_card', args=[5])}"
    )


def test_id_url_refuses_a_route_without_an_id_as_url_does():
    with pytest.raises(NoReverseMatch):
        id_url("follow_ups", 3)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_display_is_get_foo_display_in_each_language(language):
    with translation.override(language):
        for status in [*Member.Status.values, "unknown"]:
            member = Member(status=status, category=Member.Category.values[0])
            assert display(member, "status") == member.get_status_display()
            assert display(member, "category") == member.get_category_display()
        for source in LedgerEntry.Source.values:
            entry = LedgerEntry(source=source, kind="bonus")
            assert display(entry, "source") == entry.get_source_display()
            assert display(entry, "kind") == entry.get_kind_display()


def test_display_changes_with_the_language():
    member = Member(status=Member.Status.values[0])
    with translation.override("zh-hans"):
        chinese = display(member, "status")
    with translation.override("en"):
        english = display(member, "status")
    assert chinese != english
