"""In English, the text the system made itself reads in English too: period names (stored in
Chinese when the year opens), the outcome reasons of the preset rules, and the language menu names
each language in itself."""

import re

from django.urls import reverse

from scoring import services as scoring
from scoring.models import MemberOutcome, Period

from .pages import html, item


def english(client):
    client.cookies["django_language"] = "en"
    return client


def test_period_names_read_in_the_readers_language(a_year, clock, login):
    w = a_year
    clock(3, 2)
    scoring.entry_record(
        actor=w.recorder, member=w.m[3], item=item(w, "A-C02"), period=w.s1, points=2, reason="志愿服务"
    )
    assert Period.objects.get(pk=w.s1.pk).name == "2030年第一学期"  # stored as made
    url = reverse("ledger", args=[w.A1.pk])
    assert "2030年第一学期" in html(login(w.secretary).get(url))
    page = html(english(login(w.secretary)).get(url))
    assert "Semester 1, 2030" in page and "2030年第一学期" not in page
    card = html(english(login(w.m[3].user)).get(reverse("points_card", args=[w.m[3].pk])))
    assert "Semester 1, 2030" in card and "学期" not in card


def test_outcome_reasons_of_preset_rules_read_in_english(a_year, clock, login):
    w = a_year
    clock(3, 2)
    scoring.recalculate(year=w.year, organization=w.A1)
    outcome = MemberOutcome.objects.filter(member=w.m[3], year=w.year, rule_code="A-NOT-EXCELLENT").first()
    assert outcome is not None and outcome.reason.startswith("积分低于90分，不得确定为年度考核优秀：年度总分")
    card = html(english(login(w.m[3].user)).get(reverse("points_card", args=[w.m[3].pk])))
    assert "Below 90 points: may not be rated excellent in the annual appraisal" in card
    assert "不得确定为年度考核优秀" not in card
    w.m[3].user.refresh_from_db()
    del login(w.m[3].user).cookies["django_language"]
    assert outcome.reason in html(login(w.m[3].user).get(reverse("points_card", args=[w.m[3].pk])))
    # Recalculated from an English request, the stored reasons stay Chinese.
    recorded = english(login(w.recorder)).post(
        reverse("entry_record", args=[w.A1.pk]),
        {
            "member": w.m[3].pk,
            "item": item(w, "A-C02").pk,
            "period": w.s1.pk,
            "points": "1",
            "occurred_on": "2030-03-02",
            "reason": "志愿服务",
        },
    )
    assert recorded.status_code == 302
    again = MemberOutcome.objects.get(member=w.m[3], year=w.year, rule_code="A-NOT-EXCELLENT")
    assert again.pk != outcome.pk and again.reason.startswith("积分低于90分，不得确定为年度考核优秀：年度总分")


def test_the_language_menu_names_each_language_in_itself(a_year, login):
    for client in (login(a_year.secretary), english(login(a_year.secretary))):
        page = html(client.get(reverse("home")))
        menu = re.search(r'<select id="language".*?</select>', page, re.S).group(0)
        assert re.findall(r">([^<]+)</option>", menu) == ["简体中文", "English"]
