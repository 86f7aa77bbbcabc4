"""Policy B (亮化记分管理) for one branch, the whole year through the web pages: pledges with at
least one 实事 pledge → monthly fulfilment reports verified and publicized → member declarations
verified, publicized in a window and confirmed when it closes → quarterly score publicity → an
objection escalated to the organization department → the year-end 述职 → the determination →
publicity → follow-ups.

A1 under the committee's Policy B reference (base 80; base items −1…−2, bonus +1…+5, penalty
−1…−5; veto → 0; floor 0, no cap). Worked out by hand from POLICIES.md:

    M0  declaration B-ADD-02 +2: objected to in the window, pending when it closed, then the
        objection was rejected → confirmed                                   80 + 2         = 82
    M1  B-BASE-ID −1 (did not wear the badge)                                 80 − 1         = 79
        → admonishment talk although 79 ≥ 75: not showing identity is a recorded base-item failure
    M2  a veto item                                                          one-vote veto  = 0
        → admonishment talk (< 75) and unqualified candidate (< 60)
    M3  B-ADD-01 +5 (Q1), +3 (Q2); declaration B-ADD-02 +4 rejected: an objection was upheld
                                                                             80 + 5 + 3     = 88 → ≥ 85 excellent
    M4  declaration B-ADD-01 +3, B-SUB-02 −5, B-BASE-LIFE −2, B-SUB-01 −2 disputed: the branch
        rejected, the organization department upheld and corrected it to −1
                                                                80 + 3 − 5 − 2 − 1 = 75 → not below 75: no talk
    ranks: M3 1, M0 2, M1 3, M4 4, M2 5
"""

import datetime

from django.urls import reverse

from reviews import services
from reviews.models import (
    AnnualReport,
    Declaration,
    Determination,
    FollowUp,
    FulfilmentReport,
    Objection,
    Pledge,
    Publicity,
)
from scoring.models import LedgerEntry, MemberOutcome, MemberYearTotal

from .pages import SHANGHAI, branch_action, determination_url, html, item, objection_url, proposed_grades

EXPECTED_TOTALS = {0: 8200, 1: 7900, 2: 0, 3: 8800, 4: 7500}  # hundredths of a point
EXPECTED_OUTCOMES = {0: set(), 1: {"B-ADMONISH"}, 2: {"B-ADMONISH", "B-UNQUALIFIED"}, 3: {"B-EXCELLENT"}, 4: set()}
EXPECTED_RANKS = {0: 2, 1: 3, 2: 5, 3: 1, 4: 4}


def record(client, w, member, code, period, pts, reason, day):
    """The recorder's ledger page (台账记分)."""
    response = client.post(
        reverse("entry_record", args=[w.A1.pk]),
        {
            "member": member.pk,
            "item": item(w, code).pk,
            "period": period.pk,
            "points": str(pts),
            "occurred_on": day.isoformat(),
            "reason": reason,
        },
    )
    assert response.status_code == 302, html(response)
    return LedgerEntry.objects.filter(member=member, item__code=code).latest("id")


def open_publicity(login, w, kind, starts_on, days, period=None):
    page = html(
        login(w.secretary).post(
            branch_action(w, "publicity"),
            {
                "kind": kind,
                "audience": "branch",
                "starts_on": starts_on,
                "days": str(days),
                "period": period.pk if period else "",
            },
            follow=True,
        )
    )
    assert "已发布公示" in page, page
    return Publicity.objects.filter(kind=kind).latest("id")


def test_policy_b_whole_year_for_one_branch(b_year, clock, login):
    w = b_year
    M = w.m

    # ── 公开承诺: common, post and at least one concrete-deed pledge (January) ───────────────
    clock(1, 6)
    member = login(M[4].user)
    for kind, content in (("common", "带头学习，按时参加组织生活"), ("post", "坚守岗位，服务师生")):
        member.post(reverse("my_pledges"), {"kind": kind, "content": content})
    page = html(member.post(reverse("my_pledges"), {"action": "submit"}, follow=True))
    assert "每名党员至少要作出 1 件实事承诺" in page
    assert set(Pledge.objects.filter(member=M[4]).values_list("status", flat=True)) == {"draft"}
    member.post(reverse("my_pledges"), {"kind": "deed", "content": "为社区老人开设智能手机课堂"})
    assert "承诺已提交" in html(member.post(reverse("my_pledges"), {"action": "submit"}, follow=True))
    committee = login(w.committee)  # the branch committee reviews
    for pledge in Pledge.objects.filter(member=M[4]):
        committee.post(reverse("pledge_decide", args=[pledge.pk]), {"approve": "1"})
    assert set(Pledge.objects.filter(member=M[4]).values_list("status", "reviewed_by")) == {
        ("approved", w.committee.pk)
    }
    pledges = open_publicity(login, w, "pledges", "2030-01-08", 10)
    clock(1, 9)
    assert "为社区老人开设智能手机课堂" in html(login(M[0].user).get(reverse("publicity_detail", args=[pledges.pk])))

    # ── 践诺: January's fulfilment report, verified and publicized monthly ─────────────────
    clock(2, 3)
    member = login(M[4].user)
    assert "2030年1月" in html(member.get(reverse("fulfilment_new")))
    member.post(reverse("fulfilment_new"), {"period": w.month[1].pk, "content": "开课两次，40人参加"})
    report = FulfilmentReport.objects.get(member=M[4], period=w.month[1])
    committee = login(w.committee)
    assert "退回时请写明理由" in html(
        committee.post(reverse("fulfilment_decide", args=[report.pk]), {"approve": "0", "reason": ""}, follow=True)
    )
    committee.post(reverse("fulfilment_decide", args=[report.pk]), {"approve": "0", "reason": "请附签到表"})
    report.refresh_from_db()
    assert (report.status, report.answer) == ("returned", "请附签到表")
    login(M[4].user).post(
        reverse("fulfilment_new"), {"period": w.month[1].pk, "content": "开课两次，40人参加，签到表已交支部"}
    )
    report.refresh_from_db()
    assert report.status == "submitted"
    login(w.committee).post(reverse("fulfilment_decide", args=[report.pk]), {"approve": "1", "reason": ""})
    report.refresh_from_db()
    assert (report.status, report.verified_by) == ("verified", w.committee)
    page = html(
        login(w.secretary).post(
            branch_action(w, "publicity"),
            {"kind": "fulfilment", "audience": "branch", "starts_on": "2030-02-05", "days": "5"},
            follow=True,
        )
    )
    assert "请选择公示的月份" in page
    monthly = open_publicity(login, w, "fulfilment", "2030-02-05", 5, period=w.month[1])
    clock(2, 6)
    assert "签到表已交支部" in html(login(M[3].user).get(reverse("publicity_detail", args=[monthly.pk])))

    # ── 本人申报: declared → verified → publicized → confirmed when the window closes ─────────
    clock(2, 10)
    declared = {}
    for i, code, pts, reason in (
        (4, "B-ADD-01", 3, "在学院宣讲二十大精神"),
        (3, "B-ADD-02", 4, "组织主题党日"),
        (0, "B-ADD-02", 2, "参加红色教育基地志愿讲解"),
    ):
        member = login(M[i].user)
        assert item(w, code).title in html(member.get(reverse("declaration_new")))
        response = member.post(
            reverse("declaration_new"),
            {"item": item(w, code).pk, "period": w.q[1].pk, "points": str(pts), "reason": reason},
        )
        assert response.status_code == 302
        declared[i] = Declaration.objects.get(member=M[i])
    committee = login(w.committee)
    for declaration in declared.values():
        committee.post(reverse("declaration_decide", args=[declaration.pk]), {"approve": "1", "reason": ""})
    assert {d.status for d in Declaration.objects.all()} == {"verified"}
    window = open_publicity(login, w, "declarations", "2030-02-12", 5)
    assert {d.status for d in Declaration.objects.all()} == {"publicized"}
    assert window.ends_at == datetime.datetime(2030, 2, 17, tzinfo=SHANGHAI)

    clock(2, 13)
    rep = login(w.mass_rep)
    shown = html(rep.get(reverse("publicity_detail", args=[window.pk])))
    assert "组织主题党日" in shown and "在学院宣讲二十大精神" in shown
    rep.post(objection_url(M[3], declaration=declared[3]), {"reason": "该主题党日由支部组织，非本人组织"})
    rep.post(objection_url(M[0], declaration=declared[0]), {"reason": "讲解时长需要核实"})
    upheld, pending = (Objection.objects.get(declaration=declared[i]) for i in (3, 0))
    clock(2, 14)
    login(w.secretary).post(
        reverse("objection_detail", args=[upheld.pk]),
        {"action": "answer", "uphold": "1", "text": "经核实，主题党日由支部统一组织"},
    )
    declared[3].refresh_from_db()
    assert declared[3].status == "rejected" and "异议成立" in declared[3].answer

    # The window ends on 17 February; the scheduled task closes it the next morning.
    assert services.publicity_close_due(now=datetime.datetime(2030, 2, 16, 12, tzinfo=SHANGHAI)) == 2  # Jan, Feb
    window.refresh_from_db()
    assert window.closed_at is None and Declaration.objects.filter(status="publicized").count() == 2
    assert services.publicity_close_due(now=datetime.datetime(2030, 2, 18, 7, tzinfo=SHANGHAI)) == 1
    for declaration in declared.values():
        declaration.refresh_from_db()
    assert declared[4].status == "confirmed"
    assert (declared[4].entry.points, declared[4].entry.source, declared[4].entry.item.code) == (
        300,
        "declaration",
        "B-ADD-01",
    )
    assert (declared[3].status, declared[3].entry) == ("rejected", None)
    assert (declared[0].status, declared[0].entry) == ("publicized", None)  # waits for its objection
    assert "已确认记分" in html(login(M[4].user).get(reverse("my_reviews")))

    clock(2, 19)
    login(w.secretary).post(
        reverse("objection_detail", args=[pending.pk]),
        {"action": "answer", "uphold": "0", "text": "讲解记录齐全，申报属实"},
    )
    declared[0].refresh_from_db()
    assert declared[0].status == "confirmed" and declared[0].entry.points == 200  # decided with its objection

    # ── the recorder's ledger, and the first quarter's scores made public ──────────────────
    clock(3, 10)
    recorder = login(w.recorder)
    record(recorder, w, M[1], "B-BASE-ID", w.q[1], 1, "工作期间未佩戴党徽", datetime.date(2030, 3, 9))
    record(recorder, w, M[3], "B-ADD-01", w.q[1], 5, "主讲专题党课", datetime.date(2030, 3, 8))
    clock(4, 2)
    q1 = open_publicity(login, w, "scores", "2030-04-02", 5, period=w.q[1])
    shown = html(login(M[4].user).get(reverse("publicity_detail", args=[q1.pk])))
    assert "记分情况公开" in shown and ">83<" in shown and ">85<" in shown and ">79<" in shown

    # ── the second quarter: deductions, penalties, a veto, a disputed penalty ──────────────
    clock(5, 10)
    recorder = login(w.recorder)
    record(recorder, w, M[4], "B-SUB-02", w.q[2], 5, "承担任务推诿不作为", datetime.date(2030, 5, 6))
    record(recorder, w, M[4], "B-BASE-LIFE", w.q[2], 2, "无故缺席组织生活", datetime.date(2030, 5, 7))
    record(recorder, w, M[3], "B-ADD-01", w.q[2], 3, "宣讲党的政策", datetime.date(2030, 5, 8))
    record(recorder, w, M[2], "B-VETO-01", w.q[2], 0, "受到党纪处分", datetime.date(2030, 5, 9))
    clock(5, 12)
    disputed = record(login(w.recorder), w, M[4], "B-SUB-01", w.q[2], 2, "报表出现差错", datetime.date(2030, 5, 11))
    clock(5, 13)
    login(M[4].user).post(objection_url(M[4], entry=disputed), {"reason": "差错系系统故障，非本人失误"})
    objection = Objection.objects.get(entry=disputed)
    clock(5, 15)
    login(w.secretary).post(
        reverse("objection_detail", args=[objection.pk]),
        {"action": "answer", "uphold": "0", "text": "经核实，报表由本人填报"},
    )
    clock(5, 16)
    login(M[4].user).post(
        reverse("objection_detail", args=[objection.pk]), {"action": "escalate", "reason": "系统日志可证明故障"}
    )
    objection.refresh_from_db()
    assert objection.status == "escalated"
    clock(5, 25)
    login(w.org_department).post(
        reverse("objection_detail", args=[objection.pk]),
        {
            "action": "resolve",
            "uphold": "1",
            "text": "系统故障属实，但本人未及时复核，改记1分",
            "corrected_points": "1",
        },
    )
    objection.refresh_from_db()
    assert (objection.status, objection.decided_by) == ("resolved_upheld", w.org_department)
    lines = LedgerEntry.objects.filter(member=M[4], item__code="B-SUB-01").order_by("id")
    assert [(e.points, e.source) for e in lines] == [(-200, "recorder"), (200, "correction"), (-100, "correction")]
    assert MemberYearTotal.objects.get(member=M[4], year=w.year).total == 7500

    clock(7, 2)
    q2 = open_publicity(login, w, "scores", "2030-07-02", 5, period=w.q[2])
    shown = html(login(M[3].user).get(reverse("publicity_detail", args=[q2.pk])))
    assert ">88<" in shown and ">75<" in shown and ">0<" in shown

    # ── 述职: the year-end public report, recorded by the branch ──────────────────────────
    clock(12, 15)
    secretary = login(w.secretary)
    assert "请填写述职要点" in html(
        secretary.post(branch_action(w, "annual-report"), {"member": M[4].pk, "summary": ""}, follow=True)
    )
    for i in (3, 4):
        page = html(
            secretary.post(
                branch_action(w, "annual-report"),
                {"member": M[i].pk, "summary": f"{M[i].name}：践诺情况良好"},
                follow=True,
            )
        )
        assert "已记录述职" in page
    report = AnnualReport.objects.get(member=M[4], year=w.year)
    assert (report.given_on, report.recorded_by) == (datetime.date(2030, 12, 15), w.secretary)
    assert "践诺情况良好" in html(login(M[4].user).get(reverse("my_reviews")))

    # ── the determination, its publicity ──────────────────────────────────────────────────
    clock(12, 20)
    secretary = login(w.secretary)
    secretary.post(determination_url(w), {"action": "prepare"})
    determination = Determination.objects.get(branch=w.A1, year=w.year)
    page = html(
        secretary.post(
            determination_url(w),
            {
                "meeting_date": "2030-12-20",
                "members_expected": "5",
                "members_present": "4",
                "decision": "党员大会评定年度记分",
                "lock_version": str(determination.lock_version),
                **proposed_grades(w.A1, w.year),
            },
            follow=True,
        )
    )
    assert "已记录党员大会评定" in page
    determination.refresh_from_db()
    assert determination.status == "decided"
    for i, total in EXPECTED_TOTALS.items():
        row = MemberYearTotal.objects.get(member=M[i], year=w.year)
        assert (i, row.total, row.rank) == (i, total, EXPECTED_RANKS[i])
        codes = set(MemberOutcome.objects.filter(member=M[i], year=w.year).values_list("rule_code", flat=True))
        assert (i, codes) == (i, EXPECTED_OUTCOMES[i])
        line = determination.lines.get(member=M[i])
        assert (line.total, {o["code"] for o in line.outcomes}) == (total, EXPECTED_OUTCOMES[i])
    assert MemberYearTotal.objects.get(member=M[2], year=w.year).vetoed

    clock(12, 21)
    annual = open_publicity(login, w, "annual", "2030-12-21", 5)
    assert annual.determination == determination
    shown = html(login(M[0].user).get(reverse("publicity_detail", args=[annual.pk])))
    assert "年度积分结果公示" in shown and ">82<" in shown and ">88<" in shown

    # ── follow-ups: the admonishment talks (< 75, or not showing identity) ─────────────────
    assert set(
        FollowUp.objects.filter(determination=determination).values_list("member_id", "kind", "responsible__code")
    ) == {(M[1].pk, "talk_admonish", "A1"), (M[2].pk, "talk_admonish", "A1"), (M[2].pk, "unqualified", "A1")}
    clock(12, 28)
    talk = FollowUp.objects.get(member=M[1], kind="talk_admonish")
    assert "B-BASE-ID" in talk.reason
    secretary = login(w.secretary)
    assert "诫勉谈话" in html(secretary.get(reverse("follow_ups")))
    secretary.post(
        reverse("follow_up_record", args=[talk.pk]),
        {"done_on": "2030-12-28", "record": "支部书记对其进行诫勉谈话，本人表示接受"},
    )
    talk.refresh_from_db()
    assert (talk.status, talk.record) == ("done", "支部书记对其进行诫勉谈话，本人表示接受")
    page = html(
        secretary.post(reverse("follow_up_record", args=[talk.pk]), {"done_on": "2030-12-29", "record": "再记一次"})
    )
    assert "该事项已办理" in page
