"""Policy A (先锋亮绩、积分管理) for one branch, the whole year through the web pages:
亮绩 pledges and self-assessments → 考绩 panel scoring → 评绩 mass evaluation → objections →
定绩 the branch meeting → publicity of the annual results → follow-ups.

A1 under the committee's staff reference (base 60 per semester less deductions, contribution
capped at 40, annual total = mean of the two semesters). Members M0 secretary, M1 committee
(a cadre), M2 panelist P1 (a cadre), M3, M4; panelists P1 (= M2) and P2. Worked out by hand from
POLICIES.md (points; the database keeps hundredths):

    M4  S1: panel P1 {B01 1, C02 4, C04 4}, P2 {B01 1, C02 3, C04 3} → mean B01 1, C02 3.5, C04 3.5
            S1 = 60 − 1 + 3.5 + 3.5 = 66   (objection to the B01 deduction rejected, escalated,
            rejected by the organization department: it stands)
        S2: panel P1 {C02 5, C04 4, C05 2}, P2 {C02 5, C04 4, C05 4} → mean C05 3 → 60 + 12 = 72;
            objection to C05 upheld, corrected to 5 → S2 = 60 + 5 + 4 + 5 = 74
        annual = (66 + 74) / 2 = 70 → 60 ≤ 70 ≤ 70: yellow (range includes its ends), < 90: not excellent
    M3  S1: P1 {C01 12, C02 5, C04 5, C05 5}, P2 {C01 14, …} → C01 13 → 60 + 28 = 88
        S2: both {C01 15, C02 5, C03 10, C04 5, C05 5} → contribution 40 (the cap) → 100
        annual = (88 + 100) / 2 = 94 → ≥ 90 priority; < 95 so the 5% share (0 of 5) holds
    M2  S1: P2 alone {B04 15} (P1 may not score himself) → 60 − 15 = 45;  S2: 60
        annual = (45 + 60) / 2 = 52.5 → red (< 60); a cadre, < 80 and last → reminder talk
    M0, M1: no entries → 60 and 60 → 60 → yellow; M1 is a cadre below 80 but not last → no talk
    ranks: M3 1, M4 2, M0 3, M1 3, M2 5
"""

import datetime

from django.urls import reverse

from members import services as member_services
from partyscore.core.models import AuditEvent, Notification
from reviews.models import (
    Determination,
    DeterminationLine,
    FollowUp,
    MassEvaluation,
    Objection,
    PanelConfirmation,
    Pledge,
    Publicity,
    SelfAssessment,
)
from scoring.models import LedgerEntry, MemberOutcome, MemberYearTotal

from .pages import branch_action, determination_url, html, item, objection_url, panel_url, points, proposed_grades

EXPECTED_TOTALS = {0: 6000, 1: 6000, 2: 5250, 3: 9400, 4: 7000}  # hundredths of a point
EXPECTED_OUTCOMES = {
    0: {"A-NOT-EXCELLENT", "A-YELLOW"},
    1: {"A-NOT-EXCELLENT", "A-YELLOW"},
    2: {"A-NOT-EXCELLENT", "A-RED", "A-CADRE-TALK"},
    3: {"A-PRIORITY"},
    4: {"A-NOT-EXCELLENT", "A-YELLOW"},
}
EXPECTED_RANKS = {0: 3, 1: 3, 2: 5, 3: 1, 4: 2}


def make_cadres(w, *indexes):
    for i in indexes:
        member_services.member_update(actor=w.secretary, member=w.m[i], data={"is_cadre": True})


def test_policy_a_whole_year_for_one_branch(a_year, clock, login):
    w = a_year
    M = w.m
    make_cadres(w, 1, 2)

    # ── 亮绩 1: pledges (January) ──────────────────────────────────────────────────────────
    clock(1, 6)
    for member, content in ((M[4], "立足岗位作表率，全年志愿服务不少于8次"), (M[3], "争做先锋")):
        client = login(member.user)
        assert "没有待提交的承诺" in html(client.post(reverse("my_pledges"), {"action": "submit"}, follow=True))
        assert client.post(reverse("my_pledges"), {"kind": "vanguard", "content": content}).status_code == 302
        page = html(client.post(reverse("my_pledges"), {"action": "submit"}, follow=True))
        assert "承诺已提交，待支部审核" in page
    pledge4, pledge3 = (Pledge.objects.get(member=m, year=w.year) for m in (M[4], M[3]))
    assert pledge4.status == pledge3.status == "submitted"

    secretary = login(w.secretary)
    todo = html(secretary.get(reverse("branch_reviews", args=[w.A1.pk])))
    assert "立足岗位作表率" in todo and "争做先锋" in todo
    secretary.post(reverse("pledge_decide", args=[pledge4.pk]), {"approve": "1", "reason": ""})
    refused = html(
        secretary.post(reverse("pledge_decide", args=[pledge3.pk]), {"approve": "0", "reason": ""}, follow=True)
    )
    assert "退回时请写明理由" in refused
    secretary.post(
        reverse("pledge_decide", args=[pledge3.pk]), {"approve": "0", "reason": "内容过于笼统，请结合岗位写明具体承诺"}
    )
    pledge4.refresh_from_db(), pledge3.refresh_from_db()
    assert (pledge4.status, pledge4.reviewed_by) == ("approved", w.secretary)
    assert (pledge3.status, pledge3.returned_reason) == ("returned", "内容过于笼统，请结合岗位写明具体承诺")

    client = login(M[3].user)
    assert "内容过于笼统" in html(client.get(reverse("my_pledges")))
    client.post(
        reverse("my_pledges"), {"pledge": pledge3.pk, "kind": "vanguard", "content": "承担一门党课，结对帮扶两名学生"}
    )
    client.post(reverse("my_pledges"), {"action": "submit"})
    login(w.secretary).post(reverse("pledge_decide", args=[pledge3.pk]), {"approve": "1"})
    pledge3.refresh_from_db()
    assert (pledge3.status, pledge3.content, pledge3.returned_reason) == (
        "approved",
        "承担一门党课，结对帮扶两名学生",
        "",
    )
    assert Notification.objects.filter(user=M[3].user, message__contains="被退回").exists()

    # The approved pledges are shown to the branch.
    login(w.secretary).post(
        branch_action(w, "publicity"),
        {"kind": "pledges", "audience": "branch", "starts_on": "2030-01-10", "days": "10"},
    )
    pledge_window = Publicity.objects.get(kind="pledges")
    clock(1, 11)
    shown = html(login(M[0].user).get(reverse("publicity_detail", args=[pledge_window.pk])))
    assert "立足岗位作表率" in shown and "结对帮扶两名学生" in shown

    # ── 亮绩 2: the first semester's self-assessment (due 30 June) ─────────────────────────
    clock(6, 20)
    client = login(M[4].user)
    home = html(client.get(reverse("home")))
    form_url = reverse("self_assessment", args=[w.s1.pk])
    assert f'href="{form_url}"' in home and "第一学期自查自评" in home and "2030-06-30" in home
    claims = {**points(w, {"A-C02": 4, "A-B01": 1}), f"note_{item(w, 'A-C02').pk}": "社区志愿服务4次"}
    page = html(client.post(form_url, {**claims, "action": "save"}, follow=True))
    assert "草稿已保存" in page
    assessment = SelfAssessment.objects.get(member=M[4], period=w.s1)
    assert (assessment.status, assessment.self_score) == ("draft", 6300)  # 60 − 1 + 4
    page = html(client.post(form_url, {**claims, "action": "submit"}, follow=True))
    assessment.refresh_from_db()
    assert assessment.status == "submitted" and "自评得分 <strong>63</strong>" in page
    assert f'href="{form_url}"' not in html(client.get(reverse("home")))  # no longer due

    # M3 is late: refused after the deadline until the secretary reopens it for M3 alone.
    clock(7, 2)
    late = {**points(w, {"A-C01": 12, "A-C02": 5}), "action": "submit"}
    page = html(login(M[3].user).post(form_url, late, follow=True))
    assert "已过自查自评截止日期（2030-06-30），请联系支部书记开放补交" in page
    assert not SelfAssessment.objects.filter(member=M[3], period=w.s1, status="submitted").exists()
    secretary = login(w.secretary)
    page = html(
        secretary.post(branch_action(w, "reopen"), {"member": M[3].pk, "period": w.s1.pk, "reason": ""}, follow=True)
    )
    assert "请写明开放补交的理由" in page
    secretary.post(branch_action(w, "reopen"), {"member": M[3].pk, "period": w.s1.pk, "reason": "外出调研，补交"})
    assert "已提交" in html(login(M[3].user).post(form_url, late, follow=True))
    assert SelfAssessment.objects.get(member=M[3], period=w.s1).self_score == 7700  # 60 + 12 + 5
    page = html(login(M[1].user).post(form_url, {**points(w, {"A-C02": 1}), "action": "submit"}, follow=True))
    assert "已过自查自评截止日期" in page  # reopened for M3, not for M1

    # ── 考绩: the panel scores semester 1, the secretary confirms (July) ───────────────────
    clock(7, 10)
    board = html(login(w.panel).get(reverse("panel_board", args=[w.A1.pk, w.s1.pk])))
    assert M[4].name in board and M[3].name in board
    scores_s1 = [
        (w.panel, M[4], {"A-B01": 1, "A-C02": 4, "A-C04": 4}),
        (w.panel2, M[4], {"A-B01": 1, "A-C02": 3, "A-C04": 3}),
        (w.panel, M[3], {"A-C01": 12, "A-C02": 5, "A-C04": 5, "A-C05": 5}),
        (w.panel2, M[3], {"A-C01": 14, "A-C02": 5, "A-C04": 5, "A-C05": 5}),
        (w.panel2, M[2], {"A-B04": 15}),
    ]
    for panelist, member, scores in scores_s1:
        page = html(
            login(panelist).post(panel_url(w, w.s1, member), {**points(w, scores), "action": "save"}, follow=True)
        )
        assert "评分已保存" in page
    assert (
        login(w.panel).post(panel_url(w, w.s1, M[2]), {**points(w, {"A-B04": 0}), "action": "save"}).status_code == 403
    )  # himself

    secretary = login(w.secretary)
    seen = html(secretary.get(panel_url(w, w.s1, M[4])))
    assert "取平均" in seen and "已评分人数：2" in seen and "63" in seen  # the self-score is shown
    for member in (M[4], M[3], M[2]):
        page = html(secretary.post(panel_url(w, w.s1, member), {"action": "confirm"}, follow=True))
        assert "已确认本期得分并记入台账" in page
    panel_lines = LedgerEntry.objects.filter(member=M[4], period=w.s1)
    assert {(e.item.code, e.points, e.source) for e in panel_lines} == {
        ("A-B01", -100, "panel"),
        ("A-C02", 350, "panel"),
        ("A-C04", 350, "panel"),
    }
    assert PanelConfirmation.objects.get(member=M[4], period=w.s1).combined == {
        "A-B01": 100,
        "A-C02": 350,
        "A-C04": 350,
    }
    # In July only the first semester has begun: the running total is its score.
    assert MemberYearTotal.objects.get(member=M[4], year=w.year).total == 6600
    assert MemberYearTotal.objects.get(member=M[3], year=w.year).total == 8800
    assert MemberYearTotal.objects.get(member=M[2], year=w.year).total == 4500

    # ── an objection rejected by the branch, escalated, decided by the organization department ─
    clock(7, 12)
    deduction = panel_lines.get(item__code="A-B01")
    client = login(M[4].user)
    assert "提出异议" in html(client.get(objection_url(M[4], entry=deduction)))
    response = client.post(objection_url(M[4], entry=deduction), {"reason": "当天因公出差，已向支部请假"})
    first = Objection.objects.get(entry=deduction)
    assert response["Location"] == reverse("objection_detail", args=[first.pk])
    assert (first.status, first.due_on) == ("open", datetime.date(2030, 7, 19))  # 7 days to answer
    clock(7, 14)
    secretary = login(w.secretary)
    assert "未办结的异议" in html(secretary.get(reverse("branch_reviews", args=[w.A1.pk])))
    secretary.post(
        reverse("objection_detail", args=[first.pk]),
        {"action": "answer", "uphold": "0", "text": "经核实，当天未履行请假手续"},
    )
    first.refresh_from_db()
    assert (first.status, first.answered_by) == ("rejected", w.secretary)
    clock(7, 15)
    client = login(M[4].user)
    assert "提请组织部核实" in html(client.get(reverse("objection_detail", args=[first.pk])))
    client.post(reverse("objection_detail", args=[first.pk]), {"action": "escalate", "reason": "有出差审批单为证"})
    first.refresh_from_db()
    assert (first.status, first.due_on) == ("escalated", datetime.date(2030, 7, 22))
    assert Notification.objects.filter(user=w.org_department, message__contains="已提请组织部核实").exists()
    clock(7, 20)
    org = login(w.org_department)
    org.post(
        reverse("objection_detail", args=[first.pk]),
        {"action": "resolve", "uphold": "0", "text": "出差审批单日期与组织生活日期不符，维持扣分"},
    )
    first.refresh_from_db()
    assert (first.status, first.decided_by) == ("resolved_rejected", w.org_department)
    assert first.correction is None and not LedgerEntry.objects.filter(reverses=deduction).exists()
    assert Notification.objects.filter(user=M[4].user, message__contains="组织部已核实您的异议").exists()

    # ── the second semester: self-assessments, panel, an objection upheld ──────────────────
    clock(11, 20)
    form_url = reverse("self_assessment", args=[w.s2.pk])
    for member, scores in ((M[4], {"A-C02": 5, "A-C04": 4, "A-C05": 5}), (M[3], {"A-C01": 15, "A-C03": 10})):
        page = html(login(member.user).post(form_url, {**points(w, scores), "action": "submit"}, follow=True))
        assert "已提交" in page
    assert SelfAssessment.objects.get(member=M[4], period=w.s2).self_score == 7400

    clock(12, 3)
    full = {"A-C01": 15, "A-C02": 5, "A-C03": 10, "A-C04": 5, "A-C05": 5}
    for panelist, member, scores in (
        (w.panel, M[4], {"A-C02": 5, "A-C04": 4, "A-C05": 2}),
        (w.panel2, M[4], {"A-C02": 5, "A-C04": 4, "A-C05": 4}),
        (w.panel, M[3], full),
        (w.panel2, M[3], full),
    ):
        login(panelist).post(panel_url(w, w.s2, member), {**points(w, scores), "action": "save"})
    secretary = login(w.secretary)
    for member in (M[4], M[3]):
        secretary.post(panel_url(w, w.s2, member), {"action": "confirm"})
    assert MemberYearTotal.objects.get(member=M[4], year=w.year).period_scores == {"1": 6600, "2": 7200}
    assert MemberYearTotal.objects.get(member=M[3], year=w.year).period_scores == {"1": 8800, "2": 10000}

    clock(12, 5)
    disputed = LedgerEntry.objects.get(member=M[4], period=w.s2, item__code="A-C05")
    assert disputed.points == 300 and disputed.source == "panel"
    login(M[4].user).post(objection_url(M[4], entry=disputed), {"reason": "本学期作了5次政策宣讲，有记录"})
    second = Objection.objects.get(entry=disputed)

    # ── 评绩: mass evaluation by five representatives (by 10 December) ─────────────────────
    clock(12, 8)
    ratings = [  # M0..M4, panel, branch, comments
        ((4, 3, 1, 4, 3), 4, 4, "考评认真"),
        ((4, 3, 2, 4, 3), 3, 4, ""),
        ((3, 3, 1, 4, 2), 3, 3, "希望多开座谈会"),
        ((4, 4, 2, 3, 3), 4, 3, ""),
        ((3, 2, 1, 4, 4), 3, 4, "加强学习"),
    ]
    mass_url = reverse("mass_form", args=[w.A1.pk])
    results_url = reverse("mass_results", args=[w.A1.pk])
    assert M[4].name in html(login(w.reps[0]).get(mass_url))
    for n, (rep, (by_member, panel_rating, branch_rating, comments)) in enumerate(zip(w.reps, ratings, strict=True)):
        data = {f"rating_{m.pk}": str(r) for m, r in zip(M, by_member, strict=True)}
        data.update(
            {
                f"comment_{M[2].pk}": "多次缺席组织生活",
                "panel_rating": panel_rating,
                "branch_rating": branch_rating,
                "comments": comments,
            }
        )
        assert login(rep).post(mass_url, data).status_code == 302
        page = html(login(w.secretary).get(results_url))  # while the window is open: the count only
        assert f"评议进行中，已有 {n + 1} 位群众代表提交" in page and "mass-summary" not in page
    assert MassEvaluation.objects.filter(branch=w.A1, year=w.year).count() == 5
    clock(12, 11)  # the window closed on 10 December: the results are frozen once and shown
    page = html(login(w.secretary).get(results_url))
    assert "共 5 位群众代表评议" in page and "3.40" in page and "3.60" in page  # panel 17/5, branch 18/5
    assert "1.40" in page and "3.00" in page  # M2 (1+2+1+2+1)/5, M4 (3+3+2+3+4)/5
    assert page.index("加强学习") < page.index("希望多开座谈会") < page.index("考评认真")  # by text, not by time
    assert "群众代表2" not in page and "massrep" not in page
    assert "多次缺席组织生活" not in page and "逐份答卷" not in page
    audit_page = html(login(w.org_department).get(results_url))
    assert "逐份答卷" in audit_page and "群众代表2" in audit_page and "massrep" in audit_page

    # ── 定绩: the branch meeting (December) ────────────────────────────────────────────────
    clock(12, 10)
    secretary = login(w.secretary)
    assert "筹备党员大会" in html(secretary.get(determination_url(w)))
    secretary.post(determination_url(w), {"action": "prepare"})
    determination = Determination.objects.get(branch=w.A1, year=w.year)
    meeting = {
        "meeting_date": "2030-12-20",
        "members_expected": "5",
        "members_present": "5",
        "decision": "经党员大会综合评定，确定全体党员年度积分",
        "lock_version": str(determination.lock_version),
        **proposed_grades(w.A1, w.year),
    }
    page = html(secretary.post(determination_url(w), meeting, follow=True))
    assert "还有 1 项异议未办结，不能作出评定" in page  # the C05 objection is still open
    determination.refresh_from_db()
    assert determination.status == "draft"

    page = html(
        secretary.post(
            reverse("objection_detail", args=[second.pk]),
            {"action": "answer", "uphold": "1", "text": "宣讲记录属实，更正为5分", "corrected_points": "5"},
            follow=True,
        )
    )
    assert "已记录" in page
    second.refresh_from_db()
    assert second.status == "upheld" and second.correction.reverses == disputed
    assert second.correction.points == -300
    correction = LedgerEntry.objects.get(
        member=M[4], period=w.s2, item__code="A-C05", source="correction", reverses__isnull=True
    )
    assert correction.points == 500
    assert MemberYearTotal.objects.get(member=M[4], year=w.year).total == 7000  # recalculated: (66 + 74) / 2

    clock(12, 20)
    secretary = login(w.secretary)
    proposed = html(secretary.get(determination_url(w)))
    assert "记录党员大会评定" in proposed and M[3].name in proposed
    page = html(secretary.post(determination_url(w), meeting, follow=True))
    assert "已记录党员大会评定" in page and "校验码" in page
    determination.refresh_from_db()
    assert (determination.status, determination.members_present, determination.decided_by) == (
        "decided",
        5,
        w.secretary,
    )
    assert len(determination.checksum) == 64

    # ── the hand-worked totals, ranks and outcomes ─────────────────────────────────────────
    for i, total in EXPECTED_TOTALS.items():
        row = MemberYearTotal.objects.get(member=M[i], year=w.year)
        assert (i, row.total, row.rank) == (i, total, EXPECTED_RANKS[i])
        assert (
            set(MemberOutcome.objects.filter(member=M[i], year=w.year).values_list("rule_code", flat=True))
            == EXPECTED_OUTCOMES[i]
        ), i
        line = DeterminationLine.objects.get(determination=determination, member=M[i])  # archived
        assert (line.total, line.rank, {o["code"] for o in line.outcomes}) == (
            total,
            EXPECTED_RANKS[i],
            EXPECTED_OUTCOMES[i],
        )
    snapshot = {row["member"]: row["total"] for row in determination.snapshot}
    assert snapshot == {M[i].pk: total for i, total in EXPECTED_TOTALS.items()}

    follow_ups = set(
        FollowUp.objects.filter(determination=determination).values_list("member_id", "kind", "responsible__code")
    )
    assert follow_ups == {
        (M[0].pk, "warning_yellow", "A1"),
        (M[0].pk, "talk_secretary", "A1"),
        (M[1].pk, "warning_yellow", "A1"),
        (M[1].pk, "talk_secretary", "A1"),
        (M[2].pk, "warning_red", "A1"),
        (M[2].pk, "talk_reminder", "U"),
        (M[4].pk, "warning_yellow", "A1"),
        (M[4].pk, "talk_secretary", "A1"),
    }

    # ── publicity of the annual results, then no more objections ───────────────────────────
    clock(12, 21)
    page = html(
        login(w.secretary).post(
            branch_action(w, "publicity"),
            {"kind": "annual", "audience": "branch", "starts_on": "2030-12-21", "days": "5"},
            follow=True,
        )
    )
    assert "已发布公示" in page
    annual = Publicity.objects.get(kind="annual")
    assert annual.determination == determination
    client = login(M[4].user)
    shown = html(client.get(reverse("publicity_detail", args=[annual.pk])))
    assert "公示中，可提出异议" in shown and M[3].name in shown and ">94<" in shown and ">70<" in shown
    mine = html(client.get(reverse("my_reviews")))
    assert "党员大会评定" in mine and "<strong>70</strong>" in mine and "黄色预警" in mine
    clock(12, 27)
    late = login(M[4].user).post(objection_url(M[4], determination=determination), {"reason": "对结果有异议"})
    assert late.status_code == 400 and "已过公示期或异议期限，不能再提出异议" in html(late)
    assert Objection.objects.filter(determination=determination).count() == 0

    # ── follow-ups: the secretary's talk with M4, the organization department's with M2 ─────
    clock(12, 28)
    secretary = login(w.secretary)
    listing = html(secretary.get(reverse("follow_ups")))
    assert "支部书记约谈" in listing and "黄色预警" in listing and M[4].name in listing
    talk = FollowUp.objects.get(member=M[4], kind="talk_secretary")
    assert talk.due_on == datetime.date(2031, 1, 19)  # 30 days after the meeting
    secretary.post(
        reverse("follow_up_record", args=[talk.pk]),
        {"done_on": "2030-12-28", "record": "与该同志谈心谈话，指出不足，明确改进措施"},
    )
    talk.refresh_from_db()
    assert (talk.status, talk.done_by, talk.done_on) == ("done", w.secretary, datetime.date(2030, 12, 28))
    reminder = FollowUp.objects.get(member=M[2], kind="talk_reminder")
    assert (
        secretary.post(
            reverse("follow_up_record", args=[reminder.pk]), {"done_on": "2030-12-28", "record": "越权"}
        ).status_code
        == 403
    )
    login(w.org_department).post(
        reverse("follow_up_record", args=[reminder.pk]),
        {"done_on": "2030-12-29", "record": "组织部对该同志进行提醒谈话"},
    )
    reminder.refresh_from_db()
    assert (reminder.status, reminder.done_by) == ("done", w.org_department)

    # Every step left its audit trail.
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "pledge.submit",
        "pledge.approve",
        "pledge.return",
        "self_assessment.submit",
        "self_assessment.reopen",
        "panel.score",
        "panel.confirm",
        "objection.raise",
        "objection.reject",
        "objection.escalate",
        "objection.resolve",
        "objection.uphold",
        "mass.submit",
        "determination.prepare",
        "determination.decide",
        "publicity.open",
        "follow_up.done",
    } <= actions
