"""Each API route for a caller it lets in and one it turns away, through the pages' own services."""

import datetime

from django.urls import reverse

from partyscore.core.models import AuditEvent
from reviews import meetings
from reviews.models import MeetingAttendee, Objection, SelfAssessment
from scoring import services as scoring
from scoring.models import LedgerEntry

from .conftest import TokenClient  # noqa: F401 (the type the fixtures hand out)


def _record(world, member, points="2"):
    item = world.scheme.items.get(code="A-C02")
    return scoring.entry_record(
        actor=world.secretary, member=member, item=item, period=world.s1, points=points, reason="志愿服务"
    )


def test_my_card_shows_my_total_lines_and_todos(a_year, api_as):
    w = a_year
    entry = _record(w, w.m[4])
    body = api_as(w.member).get(reverse("api_my_card"), {"year": w.year}).json()
    assert body["member"]["id"] == w.m[4].pk
    assert [line["id"] for line in body["lines"]] == [entry.pk]
    assert body["lines"][0]["points"] == "2"
    assert body["total"]["total"] is not None
    assert any("自查自评" in todo["what"] for todo in body["todos"])


def test_my_card_needs_a_member_record(a_year, api_as):
    response = api_as(a_year.gb_secretary).get(reverse("api_my_card"))
    assert response.status_code == 403
    assert response.json()["detail"] == "只有党员本人可以使用此功能"


def test_the_year_must_be_a_year(a_year, api_as):
    assert api_as(a_year.member).get(reverse("api_my_card"), {"year": "abc"}).status_code == 400


def test_roster_for_the_branch_and_not_for_a_plain_member(a_year, api_as):
    w = a_year
    url = reverse("api_branch_members", args=[w.A1.pk])
    body = api_as(w.secretary).get(url).json()
    assert body["count"] == 5
    assert {row["number"] for row in body["results"]} == {m.number for m in w.a1_members}
    assert api_as(w.member).get(url).status_code == 403
    assert api_as(w.secretary).get(reverse("api_branch_members", args=[w.B1.pk])).status_code == 403


def test_ledger_lines_of_the_branch_paginated(a_year, api_as):
    w = a_year
    for member in w.m[2:5]:
        _record(w, member)
    url = reverse("api_branch_ledger", args=[w.A1.pk])
    body = api_as(w.recorder).get(url, {"year": w.year, "page_size": 2}).json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]
    assert api_as(w.member).get(url).status_code == 403
    assert api_as(w.recorder).get(reverse("api_branch_ledger", args=[w.A2.pk])).status_code == 403


def test_totals_as_on_the_board(a_year, api_as):
    w = a_year
    _record(w, w.m[3], points="3")
    url = reverse("api_branch_totals", args=[w.A1.pk])
    body = api_as(w.secretary).get(url, {"year": w.year}).json()
    by_member = {row["member"]: row for row in body["totals"]}
    assert by_member[w.m[3].pk]["rank"] == 1
    assert api_as(w.member).get(url).status_code == 403  # the board is not shown to members here
    assert api_as(w.secretary).get(reverse("api_branch_totals", args=[w.A.pk])).status_code == 404


def test_secretary_records_a_ledger_entry(a_year, api_as):
    w = a_year
    item = w.scheme.items.get(code="A-C02")
    data = {"member": w.m[3].pk, "item": item.pk, "period": w.s1.pk, "points": "2", "reason": "志愿服务"}
    response = api_as(w.secretary).post(reverse("api_branch_ledger", args=[w.A1.pk]), data)
    assert response.status_code == 201, response.json()
    entry = LedgerEntry.objects.get(pk=response.json()["id"])
    assert (entry.member, entry.points, entry.recorded_by) == (w.m[3], 200, w.secretary)
    assert AuditEvent.objects.filter(action="ledger.record", target_id=str(entry.pk)).exists()


def test_ledger_entry_refusals(a_year, api_as):
    w = a_year
    item = w.scheme.items.get(code="A-C02")
    data = {"member": w.m[3].pk, "item": item.pk, "period": w.s1.pk, "points": "2", "reason": "志愿服务"}
    assert api_as(w.member).post(reverse("api_branch_ledger", args=[w.A1.pk]), data).status_code == 403
    # A member of another branch is not found in this one.
    other = {**data, "member": w.a2_members[0].pk}
    assert api_as(w.secretary).post(reverse("api_branch_ledger", args=[w.A1.pk]), other).status_code == 404
    blank = api_as(w.secretary).post(reverse("api_branch_ledger", args=[w.A1.pk]), {**data, "reason": " "})
    assert blank.status_code == 400
    assert blank.json() == {"detail": "请填写记分事由"}
    too_much = api_as(w.secretary).post(reverse("api_branch_ledger", args=[w.A1.pk]), {**data, "points": "999"})
    assert too_much.status_code == 400
    assert "分值应在" in too_much.json()["detail"]
    assert not LedgerEntry.objects.filter(member=w.m[3]).exists()


def _claim(world):
    item = world.scheme.items.filter(kind="bonus").first()
    return {"item": item.pk, "points": "1", "note": "参加志愿服务"}


def test_self_assessment_draft_then_submission(a_year, api_as, clock):
    w = a_year
    clock(6, 20)
    api = api_as(w.member)
    url = reverse("api_self_assessment", args=[w.s1.pk])
    draft = api.post(url, {"claims": [_claim(w)], "note": "草稿"})
    assert draft.status_code == 200, draft.json()
    assert draft.json()["status"] == "draft"
    submitted = api.post(url, {"claims": [_claim(w)], "submit": True})
    assert submitted.json()["status"] == "submitted"
    assessment = SelfAssessment.objects.get(member=w.m[4], period=w.s1)
    assert assessment.status == "submitted"
    again = api.post(url, {"claims": []})
    assert again.status_code == 400
    assert again.json() == {"detail": "本期自查自评已提交"}


def test_self_assessment_names_each_item_once(a_year, api_as):
    w = a_year
    response = api_as(w.member).post(reverse("api_self_assessment", args=[w.s1.pk]), {"claims": [_claim(w), _claim(w)]})
    assert response.status_code == 400
    assert response.json()["errors"] == {"claims": ["每个项目只能填写一次"]}
    assert not SelfAssessment.objects.exists()


def test_self_assessment_only_by_a_member(a_year, api_as):
    w = a_year
    response = api_as(w.mass_rep).post(reverse("api_self_assessment", args=[w.s1.pk]), {"claims": []})
    assert response.status_code == 403
    assert api_as(w.member).post(reverse("api_self_assessment", args=[999999]), {"claims": []}).status_code == 404


def test_objection_to_my_own_entry(a_year, api_as):
    w = a_year
    entry = _record(w, w.m[4])
    data = {"member": w.m[4].pk, "entry": entry.pk, "reason": "分值有误"}
    response = api_as(w.member).post(reverse("api_objections"), data)
    assert response.status_code == 201, response.json()
    assert Objection.objects.get(pk=response.json()["id"]).entry == entry
    # Another member's entry: refused, and someone else's entry is not found under my name.
    other = _record(w, w.m[3])
    assert (
        api_as(w.member).post(reverse("api_objections"), {**data, "member": w.m[3].pk, "entry": other.pk}).status_code
        == 403
    )
    assert api_as(w.member).post(reverse("api_objections"), {**data, "entry": other.pk}).status_code == 404


def test_meeting_sign_in(a_year, api_as, clock):
    w = a_year
    clock(3, 5, 14)
    meeting = meetings.meeting_schedule(
        actor=w.secretary,
        branch=w.A1,
        kind="general",
        date=datetime.date(w.year, 3, 5),
        starts_at=datetime.time(14, 0),
        ends_at=datetime.time(16, 0),
        topic="党员大会",
    )
    token = meetings.sign_in_token(meeting.pk, meetings.sign_in_slot())
    url = reverse("api_meeting_sign_in", args=[meeting.pk])
    forged = api_as(w.member).post(url, {"token": "forged"})
    assert forged.status_code == 400
    assert "二维码" in forged.json()["detail"]
    assert api_as(w.member).post(url, {"token": token}).json()["status"] == "present"
    assert MeetingAttendee.objects.get(meeting=meeting, member=w.m[4]).signed_in_at is not None
    outsider = api_as(w.a2_members[0].user).post(url, {"token": token})
    assert outsider.status_code == 400
    assert outsider.json() == {"detail": "您不在本次会议的应到名单中，不能签到"}


def test_anonymous_gets_401(a_year, client):
    response = client.get(reverse("api_my_card"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_markup_in_names_travels_escaped(a_year, api_as):
    w = a_year
    w.m[3].name = "<b>张三</b> & 李四"
    w.m[3].save(update_fields=["name"])
    response = api_as(w.secretary).get(reverse("api_branch_members", args=[w.A1.pk]))
    assert b"<b>" not in response.content
    assert "\\u003cb\\u003e" in response.content.decode()
    assert "<b>张三</b> & 李四" in {row["name"] for row in response.json()["results"]}
