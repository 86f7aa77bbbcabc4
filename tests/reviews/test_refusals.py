"""Every forbidden move and every out-of-scope actor of the review pipeline is refused: a move the
object's status does not allow gets the Chinese refusal and changes nothing; a person without the
role, or with it in another branch, gets 403 (PermissionDenied from the service)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from members.models import Role
from partyscore.core.models import AuditEvent
from reviews import services
from reviews.models import (
    Determination,
    MassEvaluation,
    Objection,
    PanelScore,
    Publicity,
    SelfAssessment,
)
from scoring import services as scoring
from scoring.models import LedgerEntry, MemberYearTotal, Period
from tests.builders import make_user

from .conftest import give
from .pages import (
    SHANGHAI,
    branch_action,
    determination_url,
    html,
    item,
    objection_url,
    panel_url,
    points,
    proposed_grades,
)


def elsewhere(w, role):
    """Someone holding `role` in A2, the branch next door."""
    return give(w, make_user(f"a2-{role}"), role, org=w.A2, actor=w.admin)


def pledge_of(w, member):
    pledge = services.pledge_save(actor=member.user, member=member, year=w.year, kind="vanguard", content="争做先锋")
    services.pledges_submit(actor=member.user, member=member, year=w.year)
    return pledge


def panel_scored(w, member, period, **by_code):
    for panelist in (w.panel, w.panel2):
        services.panel_score_save(
            actor=panelist,
            member=member,
            period=period,
            scores={item(w, code.replace("_", "-")): v for code, v in by_code.items()},
        )


def objection_on_entry(w, member, clock):
    """A recorder's entry for `member` and the member's objection to it (July)."""
    clock(7, 1)
    entry = scoring.entry_record(
        actor=w.recorder, member=member, item=item(w, "A-B03"), period=w.s1, points=2, reason="缺席理论学习"
    )
    return services.objection_raise(actor=member.user, member=member, reason="当天在医院，有病假条", entry=entry)


def messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# ── the status tables: a move the current status does not allow ─────────────────────────────


def test_deciding_an_already_decided_item_again_is_refused(a_year, clock, login):
    """An approved pledge, a verified fulfilment report, a verified declaration: neither approved
    nor returned again (a verified declaration goes on to its publicity, not back to the branch)."""
    w, member = a_year, a_year.m[4]
    clock(2, 3)
    month = Period.objects.get(cycle__year=w.year, kind="month", index=1)
    targets = [
        (pledge_of(w, member), "pledge_decide", "已审核"),
        (
            services.fulfilment_submit(actor=member.user, member=member, period=month, content="践诺"),
            "fulfilment_decide",
            "已核实",
        ),
        (
            services.declaration_submit(
                actor=member.user, member=member, item=item(w, "A-C02"), period=w.s1, points=2, reason="志愿服务"
            ),
            "declaration_decide",
            "已审核，待公示",
        ),
    ]
    secretary = login(w.secretary)
    for target, url, status_label in targets:
        assert secretary.post(reverse(url, args=[target.pk]), {"approve": "1"}).status_code == 302
        decided = type(target).objects.get(pk=target.pk).status
        for data in ({"approve": "1"}, {"approve": "0", "reason": "再审"}):
            again = secretary.post(reverse(url, args=[target.pk]), data, follow=True)
            assert f"当前状态为“{status_label}”，不能执行此操作" in messages(again), url
        assert type(target).objects.get(pk=target.pk).status == decided
    assert not AuditEvent.objects.filter(action__in=["pledge.return", "fulfilment.return", "declaration.reject"])


def test_a_submitted_pledge_cannot_be_edited_and_an_empty_submit_is_refused(a_year, login):
    w, member = a_year, a_year.m[4]
    client = login(member.user)
    assert "没有待提交的承诺" in html(client.post(reverse("my_pledges"), {"action": "submit"}, follow=True))
    pledge = pledge_of(w, member)
    page = html(
        client.post(reverse("my_pledges"), {"pledge": pledge.pk, "kind": "vanguard", "content": "改"}, follow=True)
    )
    assert "已提交的承诺不能修改" in page
    pledge.refresh_from_db()
    assert (pledge.content, pledge.status) == ("争做先锋", "submitted")


def test_pledges_are_reviewed_only_by_their_branch(a_year, login):
    w = a_year
    pledge = pledge_of(w, w.m[3])
    for user in (
        w.member,
        w.m[3].user,
        w.panel,
        w.recorder,
        w.mass_rep,
        w.gb_secretary,
        elsewhere(w, Role.BRANCH_SECRETARY),
    ):
        assert login(user).post(reverse("pledge_decide", args=[pledge.pk]), {"approve": "1"}).status_code == 403
        with pytest.raises(PermissionDenied):
            services.pledge_decide(actor=user, pledge=pledge, approve=True)
    pledge.refresh_from_db()
    assert pledge.status == "submitted"


def test_a_submitted_self_assessment_cannot_be_changed(a_year, clock, login):
    w, member = a_year, a_year.m[4]
    clock(6, 1)
    url = reverse("self_assessment", args=[w.s1.pk])
    client = login(member.user)
    client.post(url, {**points(w, {"A-C02": 3}), "action": "submit"})
    page = html(client.post(url, {**points(w, {"A-C02": 5}), "action": "save"}, follow=True))
    assert "本期自查自评已提交" in page
    assert SelfAssessment.objects.get(member=member, period=w.s1).self_score == 6300
    too_much = html(login(w.m[3].user).post(url, {**points(w, {"A-C02": 6}), "action": "save"}, follow=True))
    assert "本期分值应在 0—5 分之间" in too_much


# ── objections ───────────────────────────────────────────────────────────────────────────────


def test_escalating_an_open_objection_is_refused(a_year, clock, login):
    w = a_year
    objection = objection_on_entry(w, w.m[4], clock)
    response = login(w.m[4].user).post(
        reverse("objection_detail", args=[objection.pk]),
        {"action": "escalate", "reason": "等不及支部答复"},
        follow=True,
    )
    assert "当前状态为“待支部调查核实”，不能执行此操作" in messages(response)
    resolve = login(w.org_department).post(
        reverse("objection_detail", args=[objection.pk]),
        {"action": "resolve", "uphold": "1", "text": "越级"},
        follow=True,
    )
    assert "当前状态为“待支部调查核实”，不能执行此操作" in messages(resolve)
    objection.refresh_from_db()
    assert (objection.status, objection.escalation_reason, objection.decision) == ("open", "", "")


def test_the_branch_cannot_answer_an_escalated_objection(a_year, clock, login):
    w = a_year
    objection = objection_on_entry(w, w.m[4], clock)
    services.objection_answer(actor=w.secretary, objection=objection, uphold=False, answer="无病假手续")
    services.objection_escalate(actor=w.m[4].user, objection=objection, reason="有病假条")
    for user in (w.secretary, w.committee):
        client = login(user)
        answer = client.post(
            reverse("objection_detail", args=[objection.pk]),
            {"action": "answer", "uphold": "1", "text": "改判"},
            follow=True,
        )
        assert "当前状态为“已提请组织部核实”，不能执行此操作" in messages(answer)
        assert (
            client.post(
                reverse("objection_detail", args=[objection.pk]), {"action": "resolve", "uphold": "1", "text": "改判"}
            ).status_code
            == 403
        )
        assert "提交核实意见" not in html(client.get(reverse("objection_detail", args=[objection.pk])))
    objection.refresh_from_db()
    assert objection.status == "escalated" and not LedgerEntry.objects.filter(reverses=objection.entry).exists()


def test_only_the_person_who_objected_escalates(a_year, clock, login):
    w = a_year
    objection = objection_on_entry(w, w.m[4], clock)
    services.objection_answer(actor=w.secretary, objection=objection, uphold=False, answer="无病假手续")
    for user in (w.secretary, w.committee, w.org_department, w.m[3].user):
        response = login(user).post(
            reverse("objection_detail", args=[objection.pk]), {"action": "escalate", "reason": "代为提请"}
        )
        assert response.status_code == 403
    objection.refresh_from_db()
    assert objection.status == "rejected"


def test_an_objection_after_the_window_is_refused(a_year, clock, login):
    w, member = a_year, a_year.m[4]
    clock(7, 1)
    entry = scoring.entry_record(
        actor=w.recorder, member=member, item=item(w, "A-B03"), period=w.s1, points=2, reason="缺席理论学习"
    )
    clock(7, 6)  # within the 5 publicity days of the entry
    assert login(member.user).post(objection_url(member, entry=entry), {"reason": "有病假"}).status_code == 302
    Objection.objects.all().delete()
    clock(7, 7)  # past them, and no window open
    response = login(member.user).post(objection_url(member, entry=entry), {"reason": "有病假"})
    assert response.status_code == 400 and "已过公示期或异议期限，不能再提出异议" in html(response)
    # A publicity window of the branch opens the entry to objections again, only while it is open.
    services.publicity_open(
        actor=w.secretary,
        branch=w.A1,
        year=w.year,
        kind="scores",
        starts_at=datetime.datetime(2030, 7, 7, tzinfo=SHANGHAI),
        ends_at=datetime.datetime(2030, 7, 12, tzinfo=SHANGHAI),
    )
    assert login(member.user).post(objection_url(member, entry=entry), {"reason": "有病假"}).status_code == 302
    clock(7, 12)
    window = Publicity.objects.get()
    late = login(member.user).post(objection_url(member, publicity=window), {"reason": "公示结果有误"})
    assert late.status_code == 400 and "已过公示期或异议期限" in html(late)
    assert Objection.objects.count() == 1


def test_only_the_member_or_a_mass_representative_of_the_branch_objects(a_year, clock, login):
    w, member = a_year, a_year.m[4]
    clock(7, 1)
    entry = scoring.entry_record(
        actor=w.recorder, member=member, item=item(w, "A-B03"), period=w.s1, points=2, reason="缺席理论学习"
    )
    for user in (w.m[3].user, w.a2_members[0].user, elsewhere(w, Role.MASS_REPRESENTATIVE)):
        assert login(user).post(objection_url(member, entry=entry), {"reason": "替他申诉"}).status_code == 403
        with pytest.raises(PermissionDenied):
            services.objection_raise(actor=user, member=member, reason="替他申诉", entry=entry)
    assert not Objection.objects.exists()
    # The member themself may.
    assert login(member.user).post(objection_url(member, entry=entry), {"reason": "本人有异议"}).status_code == 302


def test_a_mass_representative_reads_no_ledger_entry_through_the_objection_form(a_year, clock, login):
    """The form named its target: any entry of the branch, read by a mass representative who may not
    see the ledger. Now only the member concerned and those who may see the ledger get the page."""
    w, member = a_year, a_year.m[4]
    clock(7, 1)
    entry = scoring.entry_record(
        actor=w.recorder, member=member, item=item(w, "A-B03"), period=w.s1, points=2, reason="缺席理论学习"
    )
    url = objection_url(member, entry=entry)
    refused = login(w.mass_rep).get(url)
    assert refused.status_code == 403 and str(entry) not in html(refused)
    assert login(w.mass_rep).post(url, {"reason": "群众反映有误"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.objection_raise(actor=w.mass_rep, member=member, reason="群众反映有误", entry=entry)
    assert not Objection.objects.exists()
    for allowed in (member.user, w.secretary):
        page = login(allowed).get(url)
        assert page.status_code == (200 if allowed == member.user else 403)  # the secretary may read, not object
    assert str(entry) in html(login(member.user).get(url))


# ── panel scoring ────────────────────────────────────────────────────────────────────────────


def test_confirming_a_panel_score_twice_is_refused(a_year, clock, login):
    w, member = a_year, a_year.m[4]
    clock(7, 10)
    panel_scored(w, member, w.s1, A_C02=4)
    secretary = login(w.secretary)
    secretary.post(panel_url(w, w.s1, member), {"action": "confirm"})
    lines = list(LedgerEntry.objects.filter(member=member).values_list("id", "points"))
    assert lines and lines[0][1] == 400
    again = secretary.post(panel_url(w, w.s1, member), {"action": "confirm"}, follow=True)
    assert "该党员本期得分已确认" in messages(again)
    later = login(w.panel).post(panel_url(w, w.s1, member), {**points(w, {"A-C02": 5}), "action": "save"}, follow=True)
    assert "该党员本期得分已确认，不能再修改评分" in messages(later)
    assert list(LedgerEntry.objects.filter(member=member).values_list("id", "points")) == lines


def test_a_panelist_does_not_score_themself(a_year, clock, login):
    w = a_year
    clock(7, 10)
    himself = w.m[2]
    assert w.panel == himself.user
    page = html(login(w.panel).get(panel_url(w, w.s1, himself)))
    assert "保存我的评分" not in page  # no form for himself
    response = login(w.panel).post(panel_url(w, w.s1, himself), {**points(w, {"A-C02": 5}), "action": "save"})
    assert response.status_code == 403
    with pytest.raises(PermissionDenied, match="考评小组成员不能为自己打分"):
        services.panel_score_save(actor=w.panel, member=himself, period=w.s1, scores={item(w, "A-C02"): 5})
    assert not PanelScore.objects.exists()


def test_only_the_branchs_panel_scores(a_year, clock, login):
    w = a_year
    clock(7, 10)
    other_panelist = elsewhere(w, Role.PANEL_MEMBER)
    for user in (other_panelist, w.secretary, w.recorder, w.member, w.mass_rep):
        client = login(user)
        response = client.post(panel_url(w, w.s1, w.m[3]), {**points(w, {"A-C02": 5}), "action": "save"})
        assert response.status_code == 403
        with pytest.raises(PermissionDenied):
            services.panel_score_save(actor=user, member=w.m[3], period=w.s1, scores={item(w, "A-C02"): 5})
        if user in (other_panelist, w.member, w.mass_rep):  # not even the board
            assert client.get(reverse("panel_board", args=[w.A1.pk, w.s1.pk])).status_code == 403
    assert login(other_panelist).get(reverse("panel_board", args=[w.A2.pk, w.s1.pk])).status_code == 200
    assert not PanelScore.objects.exists()


def test_a_stale_panel_score_is_refused(a_year, clock, login):
    w, member = a_year, a_year.m[3]
    clock(7, 10)
    client = login(w.panel)
    client.post(panel_url(w, w.s1, member), {**points(w, {"A-C02": 3}), "action": "save"})
    code = item(w, "A-C02").pk
    client.post(panel_url(w, w.s1, member), {**points(w, {"A-C02": 4}), f"version_{code}": "1", "action": "save"})
    stale = client.post(
        panel_url(w, w.s1, member), {**points(w, {"A-C02": 1}), f"version_{code}": "1", "action": "save"}, follow=True
    )
    assert "评分已被他人修改，请刷新后重试" in messages(stale)
    score = PanelScore.objects.get()
    assert (score.points, score.version) == (400, 2)


# ── mass evaluation ──────────────────────────────────────────────────────────────────────────


def mass_answer(w, rep, rating=3, comment=""):
    ratings = {m.pk: (rating, comment) for m in w.m}
    return services.mass_evaluation_submit(
        actor=rep,
        branch=w.A1,
        year=w.year,
        panel_rating=3,
        branch_rating=4,
        comments=f"{rep.username}的意见",
        ratings=ratings,
    )


def test_the_branch_sees_mass_answers_only_in_aggregate_and_only_once_enough_answered(a_year, clock, login):
    w = a_year
    clock(12, 1)
    url = reverse("mass_results", args=[w.A1.pk])
    viewers = {w.secretary: False, w.committee: False, w.gb_secretary: False, w.org_department: True}
    for rep in w.reps[:4]:  # one fewer than the default minimum of five
        mass_answer(w, rep, 4, "工作认真")
    for viewer, individual in viewers.items():
        page = html(login(viewer).get(url))
        assert "评议进行中，已有 4 位群众代表提交" in page and "平均评价" not in page
        assert ("massrep的意见" in page) is individual  # the organization department audits from the first
    clock(12, 11)
    for viewer, individual in viewers.items():
        page = html(login(viewer).get(url))
        assert "共收到 4 份答卷，少于党委规定的 5 份" in page and "平均评价" not in page
        assert ("massrep的意见" in page) is individual
        assert ("工作认真" in page) is individual  # a comment on one member is only for the audit
    for outsider in (w.mass_rep, w.member, w.panel, w.recorder):
        assert login(outsider).get(url).status_code == 403


def test_a_second_mass_evaluation_by_the_same_representative_is_refused(a_year, clock, login):
    w = a_year
    clock(12, 1)
    data = {**{f"rating_{m.pk}": "3" for m in w.m}, "panel_rating": "3", "branch_rating": "3", "comments": ""}
    client = login(w.mass_rep)
    assert client.post(reverse("mass_form", args=[w.A1.pk]), data).status_code == 302
    again = client.post(reverse("mass_form", args=[w.A1.pk]), data)
    assert again.status_code == 400 and "您已提交过本年度的评议" in html(again)
    incomplete = login(w.reps[1]).post(reverse("mass_form", args=[w.A1.pk]), {**data, f"rating_{w.m[0].pk}": ""})
    assert "请对每位党员作出评价" in html(incomplete)
    assert MassEvaluation.objects.count() == 1


def test_mass_evaluation_closes_on_its_deadline_and_stays_in_its_branch(a_year, clock, login):
    w = a_year
    data = {**{f"rating_{m.pk}": "3" for m in w.m}, "panel_rating": "3", "branch_rating": "3", "comments": ""}
    clock(12, 11)
    late = login(w.mass_rep).post(reverse("mass_form", args=[w.A1.pk]), data)
    assert "群众评议已于 2030-12-10 截止" in html(late)
    assert login(w.mass_rep).get(reverse("mass_form", args=[w.A2.pk])).status_code == 403
    assert login(w.member).get(reverse("mass_form", args=[w.A1.pk])).status_code == 403
    assert not MassEvaluation.objects.exists()


# ── the determination ────────────────────────────────────────────────────────────────────────


def meeting(determination, expected=5, present=5, lock=None):
    return {
        "meeting_date": "2030-12-20",
        "members_expected": str(expected),
        "members_present": str(present),
        "decision": "评定",
        "lock_version": str(determination.lock_version if lock is None else lock),
        **proposed_grades(determination.branch, determination.year),
    }


def test_a_stale_lock_version_is_refused_with_a_conflict_message(a_year, clock, login):
    w = a_year
    clock(12, 20)
    determination = services.determination_prepare(actor=w.secretary, branch=w.A1, year=w.year)
    form_seen = meeting(determination)  # the secretary opened the form …
    assert login(w.org_department).post(determination_url(w), meeting(determination)).status_code == 302
    determination.refresh_from_db()
    assert (determination.status, determination.lock_version) == ("decided", 1)  # … someone decided meanwhile
    stale = login(w.secretary).post(determination_url(w), form_seen, follow=True)
    assert "评定已被他人修改，请刷新后重试" in messages(stale)
    determination.refresh_from_db()
    assert (determination.decided_by, determination.lock_version) == (w.org_department, 1)
    again = login(w.secretary).post(determination_url(w), meeting(determination), follow=True)
    assert "当前状态为“已评定”，不能执行此操作" in messages(again)


def test_a_meeting_needs_more_than_half_present(a_year, clock, login):
    w = a_year
    clock(12, 20)
    determination = services.determination_prepare(actor=w.secretary, branch=w.A1, year=w.year)
    secretary = login(w.secretary)
    for expected, present in ((5, 2), (6, 3), (5, 6)):  # half is not more than half; nor more than expected
        response = secretary.post(determination_url(w), meeting(determination, expected, present), follow=True)
        assert "到会人数须超过应到人数的一半，党员大会方可作出决定" in messages(response)
        assert response.status_code == 400 and f'name="members_present" value="{present}"' in html(response)
        determination.refresh_from_db()
        assert determination.status == "draft"
    response = secretary.post(determination_url(w), meeting(determination, 5, 3), follow=True)
    assert "已记录党员大会评定" in messages(response)
    determination.refresh_from_db()
    assert (determination.status, determination.members_expected, determination.members_present) == ("decided", 5, 3)


def test_only_the_secretary_records_the_meeting(a_year, clock, login):
    w = a_year
    clock(12, 20)
    for user in (w.committee, w.panel, w.member, w.gb_secretary):
        assert login(user).post(determination_url(w), {"action": "prepare"}).status_code == 403
    assert not Determination.objects.exists()
    determination = services.determination_prepare(actor=w.secretary, branch=w.A1, year=w.year)
    for user in (w.committee, w.panel, w.member, w.gb_secretary):
        assert login(user).post(determination_url(w), meeting(determination)).status_code == 403
        with pytest.raises(PermissionDenied):
            services.determination_decide(
                actor=user,
                determination=determination,
                meeting_date=datetime.date(2030, 12, 20),
                members_expected=5,
                members_present=5,
                decision="",
                lock_version=0,
                grades={},
            )
    assert Determination.objects.get().status == "draft"


def test_a_publicity_is_visible_to_members_only_from_its_start(a_year, clock, login):
    w = a_year
    clock(3, 1)
    window = services.publicity_open(
        actor=w.secretary,
        branch=w.A1,
        year=w.year,
        kind="scores",
        starts_at=datetime.datetime(2030, 3, 5, tzinfo=SHANGHAI),
        ends_at=datetime.datetime(2030, 3, 10, tzinfo=SHANGHAI),
    )
    url = reverse("publicity_detail", args=[window.pk])
    assert login(w.member).get(url).status_code == 403
    assert login(w.secretary).get(url).status_code == 200  # the branch prepares it
    assert login(w.a2_members[0].user).get(url).status_code == 403
    clock(3, 5, 8)
    assert login(w.member).get(url).status_code == 200
    assert login(w.a2_members[0].user).get(url).status_code == 403  # another branch's window


def test_bad_numbers_on_the_phone_forms_are_refused_in_chinese(a_year, clock, login):
    w = a_year
    clock(6, 1)
    response = login(w.member).post(
        reverse("self_assessment", args=[w.s1.pk]), {**points(w, {"A-C02": "两分"}), "action": "save"}, follow=True
    )
    assert response.status_code == 400 and "分值须为数字" in html(response)
    assert 'value="两分"' in html(response)  # what was typed is still there to correct
    assert not SelfAssessment.objects.exists()
    code = item(w, "A-C01").pk
    exe = SimpleUploadedFile("获奖证书.exe", b"MZ", content_type="application/x-msdownload")
    refused = login(w.member).post(
        reverse("self_assessment", args=[w.s1.pk]),
        {**points(w, {"A-C01": 5}), f"file_{code}": exe, "action": "save"},
        follow=True,
    )
    assert "佐证材料“获奖证书.exe”类型不支持，只接受图片或 PDF" in html(refused)
    assert not SelfAssessment.objects.exists()
    pdf = SimpleUploadedFile("获奖证书.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    login(w.member).post(
        reverse("self_assessment", args=[w.s1.pk]), {**points(w, {"A-C01": 5}), f"file_{code}": pdf, "action": "save"}
    )
    assert SelfAssessment.objects.get().claims.get().evidence.name.endswith(".pdf")
    clock(7, 10)
    bad = login(w.panel).post(panel_url(w, w.s1, w.m[3]), {**points(w, {"A-C02": "x"}), "action": "save"}, follow=True)
    assert bad.status_code == 200 and "分值须为数字" in html(bad)
    assert not PanelScore.objects.exists()


def test_words_in_number_fields_are_refused_in_chinese_not_a_500(a_year, clock, login):
    """The form fields read without a Django form: reopening days, a panel score's version, a mass rating."""
    w = a_year
    clock(7, 10)
    reopen = login(w.secretary).post(
        branch_action(w, "reopen"),
        {"member": w.m[0].pk, "period": w.s1.pk, "days": "一周", "reason": "病假"},
        follow=True,
    )
    assert reopen.status_code == 200 and "“一周”不是整数" in messages(reopen)
    code = item(w, "A-C02").pk
    panel = login(w.panel).post(
        panel_url(w, w.s1, w.m[3]), {**points(w, {"A-C02": 3}), f"version_{code}": "v1", "action": "save"}, follow=True
    )
    assert panel.status_code == 200 and "“v1”不是整数" in html(panel)
    assert not PanelScore.objects.exists()
    clock(12, 1)
    data = {**{f"rating_{m.pk}": "3" for m in w.m}, "panel_rating": "3", "branch_rating": "3", "comments": ""}
    mass = login(w.mass_rep).post(reverse("mass_form", args=[w.A1.pk]), {**data, f"rating_{w.m[0].pk}": "好"})
    assert mass.status_code == 400 and "“好”不是整数" in html(mass)
    assert not MassEvaluation.objects.exists()


def test_the_branch_page_shows_members_whose_total_is_not_stored_yet(a_year, login):
    """After a scheme is approved its branches are recalculated in the background; until then
    the secretary's page shows the members with a dash, not a server error."""
    w = a_year
    MemberYearTotal.objects.filter(branch=w.A1).delete()
    response = login(w.secretary).get(reverse("branch_reviews", args=[w.A1.pk]))
    assert response.status_code == 200 and w.m[4].name in html(response)
