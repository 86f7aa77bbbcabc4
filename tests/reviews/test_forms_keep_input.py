"""Forms that respect the user: a refused submission keeps what was typed, a closed deadline is
shown before anything is typed, and only choices that can succeed are offered."""

import re

from django.urls import reverse

from members.models import Member
from partyscore.core.models import AuditEvent
from reviews import services
from reviews.models import PanelScore, Pledge, SelfAssessment
from scoring import services as scoring
from scoring.models import LedgerEntry, Period
from tests.builders import add_members

from .pages import html, item, panel_url, points


def _options(page, select_name):
    block = re.search(rf'<select name="{select_name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.findall(r'<option value="(\d+)"', block)


# ── self-assessment ─────────────────────────────────────────────────────────────────────────


def test_a_closed_self_assessment_says_so_before_typing_and_a_refused_one_keeps_the_input(a_year, clock, login):
    w, member = a_year, a_year.m[3]
    url = reverse("self_assessment", args=[w.s1.pk])
    clock(6, 20)
    page = html(login(member.user).get(url))
    assert "self-closed" not in page and " disabled>" not in page
    clock(7, 2)  # after the 30 June deadline, not reopened
    page = html(login(member.user).get(url))
    assert "自查自评已于 2030-06-30 截止" in page
    assert page.count('type="submit" disabled>') == 2  # save and submit both off
    typed = {
        **points(w, {"A-C01": 12, "A-C02": 5}),
        f"note_{item(w, 'A-C02').pk}": "社区志愿服务五次",
        "note": "上半年工作小结",
        "action": "submit",
    }
    refused = login(member.user).post(url, typed)
    assert refused.status_code == 400
    page = html(refused)
    assert "已过自查自评截止日期（2030-06-30），请联系支部书记开放补交" in page
    assert 'value="12"' in page and 'value="5"' in page and 'value="社区志愿服务五次"' in page
    assert "上半年工作小结</textarea>" in page
    assert not SelfAssessment.objects.filter(member=member).exists()
    # Reopened for this member: the form is open again.
    services.self_assessment_reopen(
        actor=w.secretary,
        member=member,
        period=w.s1,
        until=clock(7, 2) + __import__("datetime").timedelta(days=7),
        reason="外出调研",
    )
    page = html(login(member.user).get(url))
    assert "self-closed" not in page and 'type="submit" disabled>' not in page


# ── pledges ─────────────────────────────────────────────────────────────────────────────────


def test_draft_pledges_are_edited_and_deleted_and_the_add_form_goes_once_handed_in(a_year, login):
    w, member = a_year, a_year.m[4]
    client = login(member.user)
    url = reverse("my_pledges")
    client.post(url, {"kind": "vanguard", "content": "争做先锋", "action": "save"})
    client.post(url, {"kind": "common", "content": "按时交纳党费", "action": "save"})
    vanguard, common = Pledge.objects.get(kind="vanguard"), Pledge.objects.get(kind="common")
    page = html(client.get(f"{url}?edit={vanguard.pk}"))
    assert "修改承诺" in page and f'name="pledge" value="{vanguard.pk}"' in page and "争做先锋</textarea>" in page
    client.post(url, {"pledge": vanguard.pk, "kind": "vanguard", "content": "争做教书育人的先锋", "action": "save"})
    vanguard.refresh_from_db()
    assert vanguard.content == "争做教书育人的先锋" and Pledge.objects.count() == 2
    client.post(url, {"pledge": common.pk, "action": "delete"})
    assert not Pledge.objects.filter(pk=common.pk).exists()
    assert AuditEvent.objects.filter(action="pledge.delete").count() == 1
    client.post(url, {"action": "submit"})
    page = html(client.get(url))
    assert "新增承诺" not in page and "本年度承诺已提交" in page and "pledge-edit" not in page
    # Nothing typed is lost when the service refuses; a handed-in pledge is neither edited nor deleted.
    refused = client.post(url, {"kind": "deed", "content": "为学院办一件实事", "action": "save"})
    assert refused.status_code == 400 and "本年度承诺已提交，不能再新增" in html(refused)
    assert "为学院办一件实事</textarea>" in html(refused)
    client.post(url, {"pledge": vanguard.pk, "action": "delete"})
    assert Pledge.objects.filter(pk=vanguard.pk).exists()
    edited = client.post(url, {"pledge": vanguard.pk, "kind": "vanguard", "content": "改", "action": "save"})
    assert edited.status_code == 400 and "已提交的承诺不能修改" in html(edited)
    # Returned by the branch: it can be edited and the add form is back.
    vanguard.refresh_from_db()
    services.pledge_decide(actor=w.secretary, pledge=vanguard, approve=False, reason="请写具体些")
    page = html(client.get(url))
    assert "新增承诺" in page and "pledge-edit" in page


# ── panel scoring ───────────────────────────────────────────────────────────────────────────


def test_the_panel_board_shows_who_self_assessed_and_saving_moves_to_the_next_member(a_year, clock, login):
    w, m = a_year, a_year.m
    clock(6, 20)
    services.self_assessment_save(
        actor=m[3].user, member=m[3], period=w.s1, claims=[(item(w, "A-C02"), "3", "", None)], submit=True
    )
    services.self_assessment_save(actor=m[4].user, member=m[4], period=w.s1, claims=[(item(w, "A-C02"), "2", "", None)])
    clock(7, 10)
    client = login(w.panel)  # w.panel is M2
    board = html(client.get(reverse("panel_board", args=[w.A1.pk, w.s1.pk])))
    statuses = re.findall(r'<td class="self-status">(.*?)</td>', board)
    assert len(statuses) == 5
    assert "未自评" in statuses[0] and "已提交" in statuses[3] and "草稿" in statuses[4]
    # Save and go on: M0 → M1 → (not M2, the panelist) M3.
    saved = client.post(panel_url(w, w.s1, m[1]), {**points(w, {"A-C02": 3}), "action": "save_next"})
    assert saved.status_code == 302 and saved["Location"] == panel_url(w, w.s1, m[3])
    # A refused save keeps what was typed.
    refused = html(
        client.post(panel_url(w, w.s1, m[3]), {**points(w, {"A-C02": 3, "A-C01": 99}), "action": "save_next"})
    )
    assert "本期分值应在" in refused and 'value="99"' in refused and 'value="3"' in refused
    for k in (3, 4):
        client.post(panel_url(w, w.s1, m[k]), {**points(w, {"A-C02": 2}), "action": "save"})
    last = client.post(panel_url(w, w.s1, m[0]), {**points(w, {"A-C02": 2}), "action": "save_next"}, follow=True)
    assert last.redirect_chain[-1][0] == reverse("panel_board", args=[w.A1.pk, w.s1.pk])
    assert "本期名单中的党员您都已评分" in html(last)
    assert PanelScore.objects.filter(panelist=w.panel).count() == 4


# ── the entry form and the ledger ───────────────────────────────────────────────────────────


def _mixed_branch(w):
    """A1 gets a student member; the committee's student reference applies to students."""
    w.student_scheme = scoring.scheme_preset_load(actor=w.org_department, preset="A-student", year=w.year, owner=w.U)
    return add_members(w.A1, 1, start=50, category=Member.Category.STUDENT)[0]


def test_the_entry_form_offers_only_the_items_of_the_chosen_members_scheme(a_year, clock, login):
    w = a_year
    clock(3, 2)
    student = _mixed_branch(w)
    staff = w.m[3]
    client = login(w.recorder)
    url = reverse("entry_record", args=[w.A1.pk])
    staff_items = {str(pk) for pk in w.scheme.items.values_list("pk", flat=True)}
    student_items = {str(pk) for pk in w.student_scheme.items.values_list("pk", flat=True)}
    page = html(client.get(f"{url}?member={staff.pk}"))
    assert set(_options(page, "item")) == staff_items
    page = html(client.get(url))  # no member chosen yet: both, each option marked with its category
    assert set(_options(page, "item")) == staff_items | student_items
    assert 'data-filters="id_item"' in page and f'value="{student.pk}" data-category="student"' in page
    student_item = w.student_scheme.items.filter(kind="bonus", evidence_required=False).order_by("code").first()
    assert f'value="{student_item.pk}" data-category="student"' in page
    data = {
        "member": staff.pk,
        "item": student_item.pk,
        "period": w.s1.pk,
        "points": "3",
        "occurred_on": "2030-03-01",
        "reason": "参加志愿服务",
    }
    refused = client.post(url, data)
    assert refused.status_code == 400
    page = html(refused)
    assert f"不属于{staff.name}适用的评分细则" in page and "参加志愿服务</textarea>" in page
    assert not LedgerEntry.objects.exists()
    accepted = client.post(url, {**data, "member": student.pk})
    assert accepted.status_code == 302, accepted.context["form"].errors


def test_the_ledger_filters_by_member_and_offers_the_periods_of_the_branchs_own_policy(a_year, clock, login):
    w = a_year
    clock(3, 2)
    for member in w.m[3:5]:
        scoring.entry_record(
            actor=w.recorder,
            member=member,
            item=item(w, "A-C02"),
            period=w.s1,
            points=2,
            reason=f"志愿服务{member.name}",
        )
    client = login(w.secretary)
    url = reverse("ledger", args=[w.A1.pk])
    page = html(client.get(url))
    assert '<label class="form-label small mb-0" for="ledger-member">' in page
    assert set(_options(page, "member")) == {str(m.pk) for m in w.m}
    assert set(_options(page, "period")) == {str(w.s1.pk), str(w.s2.pk)}  # semesters, not quarters
    assert Period.objects.filter(cycle__year=w.year, kind="quarter").exists()
    page = html(client.get(f"{url}?member={w.m[3].pk}"))
    assert f"志愿服务{w.m[3].name}" in page and f"志愿服务{w.m[4].name}" not in page
    assert f'<option value="{w.m[3].pk}" selected>' in page


def test_the_branch_page_offers_the_periods_of_its_own_policy(a_year, login):
    w = a_year
    page = html(login(w.secretary).get(reverse("branch_reviews", args=[w.A1.pk])))
    reopen = re.search(r"branch_action.*?reopen.*?</form>|/reopen/.*?</form>", page, re.S)
    assert reopen is not None
    periods = set(re.findall(r'<option value="(\d+)">', reopen.group(0)))
    assert periods == {str(w.s1.pk), str(w.s2.pk)}  # semesters only, not quarters
    publicity = re.search(r'<select name="period"[^>]*id="id_period"[^>]*>(.*?)</select>', page, re.S)
    offered = set(re.findall(r'<option value="(\d+)"', publicity.group(1))) if publicity else set()
    assert not offered & {
        str(pk) for pk in Period.objects.filter(kind__in=("month", "quarter")).values_list("pk", flat=True)
    }


def test_a_policy_b_branch_has_no_self_assessment_reopening(b_year, login):
    w = b_year
    page = html(login(w.secretary).get(reverse("branch_reviews", args=[w.A1.pk])))
    assert reverse("branch_action", args=[w.A1.pk, "reopen"]) not in page


def test_a_policy_b_branch_publicizes_by_month_and_by_quarter(b_year, login):
    """Policy B scores by quarter but reports fulfilment and publicizes monthly: both are offered."""
    w = b_year
    page = html(login(w.secretary).get(reverse("branch_reviews", args=[w.A1.pk])))
    publicity = re.search(r'<select name="period"[^>]*id="id_period"[^>]*>(.*?)</select>', page, re.S)
    offered = set(re.findall(r'<option value="(\d+)"', publicity.group(1)))
    for kind in ("month", "quarter"):
        assert {str(pk) for pk in Period.objects.filter(kind=kind).values_list("pk", flat=True)} <= offered, kind
    assert not offered & {str(pk) for pk in Period.objects.filter(kind="semester").values_list("pk", flat=True)}
