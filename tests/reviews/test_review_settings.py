"""The pipeline's settings are data (ReviewSettings of the scheme): how several panelists' scores
combine (mean / median / the secretary's decision) and how many mass answers the branch needs
before it sees anything."""

import pytest
from django.urls import reverse

from members.models import Role
from reviews import services
from reviews.models import PanelConfirmation, ReviewSettings
from scoring.models import LedgerEntry, MemberYearTotal
from tests.builders import make_user

from .conftest import give
from .pages import html, panel_url, points

# Three panelists score M4 in semester 1 (a blank is a 0 from that panelist):
#   A-C02: 1, 2, 5      mean 8/3 = 2.67 (to the hundredth)   median 2
#   A-C04: 2, —, 5      mean 7/3 = 2.33                      median 2
#   A-B01: 1, 1, —      mean 2/3 = 0.67 (a deduction)        median 1
# semester 1 = 60 − B01 + C02 + C04: mean 60 − 0.67 + 2.67 + 2.33 = 64.33; median 60 − 1 + 2 + 2 = 63
SCORES = [{"A-C02": 1, "A-C04": 2, "A-B01": 1}, {"A-C02": 2, "A-B01": 1}, {"A-C02": 5, "A-C04": 5}]
COMBINED = {
    "mean": ({"A-C02": 267, "A-C04": 233, "A-B01": 67}, 6433),
    "median": ({"A-C02": 200, "A-C04": 200, "A-B01": 100}, 6300),
}


@pytest.fixture
def three_panelists(a_year, clock, login):
    w = a_year
    w.panel3 = give(w, make_user("panel3", "考评员丙"), Role.PANEL_MEMBER)
    clock(7, 10)
    for panelist, scores in zip((w.panel, w.panel2, w.panel3), SCORES, strict=True):
        page = html(
            login(panelist).post(panel_url(w, w.s1, w.m[4]), {**points(w, scores), "action": "save"}, follow=True)
        )
        assert "评分已保存" in page
    return w


@pytest.mark.parametrize("combination", ["mean", "median"])
def test_panel_scores_combine_by_the_schemes_setting(three_panelists, login, combination):
    w = three_panelists
    if combination != "mean":  # the default, without a settings row
        ReviewSettings.objects.create(scheme=w.scheme, panel_combination=combination)
    combined, semester = COMBINED[combination]
    secretary = login(w.secretary)
    page = html(secretary.get(panel_url(w, w.s1, w.m[4])))
    label = {"mean": "取平均", "median": "取中位数"}[combination]
    assert f"多人评分合成方式：{label}；已评分人数：3" in page
    secretary.post(panel_url(w, w.s1, w.m[4]), {"action": "confirm"})
    assert PanelConfirmation.objects.get(member=w.m[4]).combined == combined
    ledger = {e.item.code: e.points for e in LedgerEntry.objects.filter(member=w.m[4], source="panel")}
    assert ledger == {"A-C02": combined["A-C02"], "A-C04": combined["A-C04"], "A-B01": -combined["A-B01"]}
    assert MemberYearTotal.objects.get(member=w.m[4], year=w.year).period_scores == {"1": semester}


def test_with_the_secretary_setting_the_secretary_decides_after_seeing_the_panel(three_panelists, login):
    w = three_panelists
    ReviewSettings.objects.create(scheme=w.scheme, panel_combination=ReviewSettings.PanelCombination.SECRETARY)
    secretary = login(w.secretary)
    assert "由支部书记确定" in html(secretary.get(panel_url(w, w.s1, w.m[4])))
    refused = html(secretary.post(panel_url(w, w.s1, w.m[4]), {"action": "confirm"}, follow=True))
    assert "请填写支部书记确定的各项分值" in refused and not PanelConfirmation.objects.exists()
    typo = html(
        secretary.post(
            panel_url(w, w.s1, w.m[4]), {**points(w, {"A-C02": "三"}), "decided": "1", "action": "confirm"}, follow=True
        )
    )
    assert "分值须为数字，最多两位小数" in typo and not PanelConfirmation.objects.exists()
    decided = points(w, {"A-C02": 3, "A-C04": 4})  # items left empty are decided as 0
    page = html(
        secretary.post(panel_url(w, w.s1, w.m[4]), {**decided, "decided": "1", "action": "confirm"}, follow=True)
    )
    assert "已确认本期得分并记入台账" in page
    ledger = {e.item.code: e.points for e in LedgerEntry.objects.filter(member=w.m[4], source="panel")}
    assert ledger == {"A-C02": 300, "A-C04": 400}
    assert MemberYearTotal.objects.get(member=w.m[4], year=w.year).period_scores == {"1": 6700}  # 60 + 3 + 4
    assert PanelConfirmation.objects.get(member=w.m[4]).confirmed_by == w.secretary


def test_the_branch_needs_as_many_mass_answers_as_the_setting_says(a_year, clock, login):
    w = a_year
    ReviewSettings.objects.create(scheme=w.scheme, mass_min_answers=4)
    clock(12, 1)
    url = reverse("mass_results", args=[w.A1.pk])
    for rep in w.reps[:4]:
        services.mass_evaluation_submit(
            actor=rep,
            branch=w.A1,
            year=w.year,
            panel_rating=4,
            branch_rating=4,
            comments="",
            ratings={m.pk: (4, "") for m in w.m},
        )
    clock(12, 11)
    page = html(login(w.secretary).get(url))
    assert "共 4 位群众代表评议" in page and "4.00" in page  # four suffice where the setting says four


def test_mass_results_below_the_setting_are_withheld(a_year, clock, login):
    w = a_year
    ReviewSettings.objects.create(scheme=w.scheme, mass_min_answers=6)
    clock(12, 1)
    for rep in w.reps:
        services.mass_evaluation_submit(
            actor=rep,
            branch=w.A1,
            year=w.year,
            panel_rating=4,
            branch_rating=4,
            comments="",
            ratings={m.pk: (4, "") for m in w.m},
        )
    clock(12, 11)
    page = html(login(w.secretary).get(reverse("mass_results", args=[w.A1.pk])))
    assert "共收到 5 份答卷，少于党委规定的 6 份" in page and "4.00" not in page
