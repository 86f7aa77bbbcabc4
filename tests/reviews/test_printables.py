"""What a member reads and prints: the handbook of the scheme they are scored by (积分手册) and the
year's pledges as a signed 承诺书."""

from django.urls import reverse

from reviews import services
from scoring.selectors import scheme_for_member

from .pages import html


def test_a_member_reads_the_scheme_they_are_scored_by(a_year, login):
    w = a_year
    member = w.m[3]
    client = login(member.user)
    page = html(client.get(reverse("handbook", args=[member.pk])))
    scheme = scheme_for_member(member=member, year=w.year)
    assert "积分手册" in page and scheme.name in page
    assert "按时参加组织生活和“三会一课”" in page  # an item of the scheme
    rule = scheme.outcome_rules.get(code="A-NOT-EXCELLENT")
    assert f"<strong>{rule.label}</strong>（全体党员）：&lt;90 分" in page  # an outcome rule, its condition in words
    printed = html(client.get(reverse("handbook", args=[member.pk]), {"print": "1"}))
    assert 'class="print-view"' in printed
    # Another member of the branch cannot open it; the secretary can.
    assert login(w.m[4].user).get(reverse("handbook", args=[member.pk])).status_code == 403
    assert login(w.secretary).get(reverse("handbook", args=[member.pk])).status_code == 200


def test_the_pledges_print_as_a_signed_pledge_form(a_year, clock, login):
    w = a_year
    clock(1, 10)
    member = w.m[3]
    services.pledge_save(actor=member.user, member=member, year=w.year, kind="vanguard", content="带头参加志愿服务")
    draft_only = html(login(member.user).get(reverse("my_pledges_print")))
    assert "带头参加志愿服务" not in draft_only and "本年度尚未提交承诺" in draft_only
    services.pledges_submit(actor=member.user, member=member, year=w.year)
    page = html(login(member.user).get(reverse("my_pledges_print")))
    assert f"{w.year}年度党员承诺书" in page and "带头参加志愿服务" in page
    assert "承诺人（签字）" in page and member.name in page and member.number in page
    assert reverse("my_pledges_print") in html(login(member.user).get(reverse("my_pledges")))
