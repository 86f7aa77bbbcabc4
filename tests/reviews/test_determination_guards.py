"""What blocks the year-end determination (定绩), and how a decided one is reopened.

Policy A's share cap: members at S ≥ 95 may be at most floor(5% × scored members of the branch)
— 1 of 20, 0 of 19 (POLICIES.md, Boundaries). Open or escalated objections block it too. Only the
organization department reopens a decided determination, with a reason, and that is audited.
"""

import pytest
from django.urls import reverse

from partyscore.core.models import AuditEvent
from reviews import services
from reviews.models import Determination, FollowUp, Objection
from scoring import services as scoring
from scoring.models import MemberYearTotal
from tests.builders import add_members

from .pages import determination_url, html, item, proposed_grades


def meeting(determination, expected):
    return {
        "meeting_date": "2030-12-20",
        "members_expected": str(expected),
        "members_present": str(expected),
        "decision": "党员大会评定",
        "lock_version": str(determination.lock_version),
        **proposed_grades(determination.branch, determination.year),
    }


def contribute(w, member, period, total):
    """The confirmed contribution of a semester (setup: the panel's pages have their own tests)."""
    for code, cap in (("A-C01", 15), ("A-C03", 10), ("A-C02", 5), ("A-C04", 5), ("A-C05", 5)):
        value, total = min(cap, total), total - min(cap, total)
        if value:
            scoring.entry_adjust_to(
                actor=w.secretary,
                member=member,
                item=item(w, code),
                period=period,
                magnitude=value * 100,
                reason="考评小组评分",
                source="panel",
            )


@pytest.mark.parametrize(
    ("size", "at_95", "allowed"),
    [
        (20, 1, True),  # floor(5% × 20) = 1: one member at 95 is fine
        (20, 2, False),  # two are not
        (19, 1, False),  # floor(5% × 19) = 0
    ],
)
def test_the_five_percent_share_at_95_blocks_the_determination(a_year, clock, login, size, at_95, allowed):
    w = a_year
    add_members(w.A1, size - 5, start=100)
    clock(12, 15)
    for member in w.m[:at_95]:
        contribute(w, member, w.s1, 35)  # 60 + 35 = 95 in each semester → 95
        contribute(w, member, w.s2, 35)
    contribute(w, w.m[4], w.s1, 35)  # (95 + 94) / 2 = 94.5: below 95, not counted
    contribute(w, w.m[4], w.s2, 34)
    totals = dict(
        MemberYearTotal.objects.filter(branch=w.A1, year=w.year, scored=True).values_list("member_id", "total")
    )
    assert len(totals) == size and sorted(totals.values())[-at_95 - 1 :] == [9450] + [9500] * at_95

    secretary = login(w.secretary)
    secretary.post(determination_url(w), {"action": "prepare"})
    determination = Determination.objects.get()
    page = html(secretary.get(determination_url(w)))
    limit = size // 20
    problem = f"95分以上人数不得超过本支部5%：现有 {at_95} 人，上限 {limit} 人"
    assert (problem in page) is not allowed
    response = html(secretary.post(determination_url(w), meeting(determination, size), follow=True))
    determination.refresh_from_db()
    if allowed:
        assert determination.status == "decided" and "已记录党员大会评定" in response
    else:
        assert f"不符合比例要求，不能作出评定：{problem}" in response
        assert determination.status == "draft" and not determination.lines.exists()
        assert not FollowUp.objects.exists()


@pytest.mark.parametrize("state", ["open", "escalated"])
def test_objections_still_pending_block_the_determination(a_year, clock, login, state):
    w, member = a_year, a_year.m[4]
    clock(12, 1)
    entry = scoring.entry_record(
        actor=w.recorder, member=member, item=item(w, "A-B03"), period=w.s2, points=2, reason="缺席理论学习"
    )
    objection = services.objection_raise(actor=member.user, member=member, reason="有病假条", entry=entry)
    if state == "escalated":
        services.objection_answer(actor=w.secretary, objection=objection, uphold=False, answer="未请假")
        services.objection_escalate(actor=member.user, objection=objection, reason="仍有异议")
    clock(12, 20)
    secretary = login(w.secretary)
    secretary.post(determination_url(w), {"action": "prepare"})
    determination = Determination.objects.get()
    assert "还有 1 项异议未办结。" in html(secretary.get(determination_url(w)))
    page = html(secretary.post(determination_url(w), meeting(determination, 5), follow=True))
    assert "还有 1 项异议未办结，不能作出评定" in page
    determination.refresh_from_db()
    assert determination.status == "draft"

    if state == "open":
        services.objection_answer(actor=w.secretary, objection=objection, uphold=True, answer="病假属实")
    else:
        services.objection_resolve(actor=w.org_department, objection=objection, uphold=False, decision="维持")
    assert not Objection.objects.filter(status__in=Objection.PENDING).exists()
    page = html(login(w.secretary).post(determination_url(w), meeting(determination, 5), follow=True))
    determination.refresh_from_db()
    assert determination.status == "decided" and "已记录党员大会评定" in page
    expected = 6000 if state == "open" else (6000 + 5800) // 2  # upheld: reversed; else S2 = 60 − 2
    assert determination.lines.get(member=member).total == expected


def test_reopening_needs_the_organization_department_and_a_reason_and_is_audited(a_year, clock, login):
    w = a_year
    clock(12, 20)
    secretary = login(w.secretary)
    secretary.post(determination_url(w), {"action": "prepare"})
    first = Determination.objects.get()
    secretary.post(determination_url(w), meeting(first, 5))
    first.refresh_from_db()
    assert first.status == "decided"
    assert first.follow_ups.count() == 10  # everyone at 60: yellow warning and a talk with the secretary
    talk = first.follow_ups.get(member=w.m[4], kind="talk_secretary")
    services.follow_up_record(actor=w.secretary, follow_up=talk, record="已约谈", done_on=first.meeting_date)
    reopen = reverse("determination_reopen", args=[first.pk])
    assert "重新开启" not in html(secretary.get(determination_url(w)))  # no button for the branch

    for who in (w.secretary, w.gb_secretary):
        assert login(who).post(reopen, {"reason": "我想改"}).status_code == 403
    with pytest.raises(Exception, match="只有组织部可以重新开启年度评定"):
        services.determination_reopen(actor=w.secretary, determination=first, reason="我想改")
    org = login(w.org_department)
    assert "重新开启" in html(org.get(determination_url(w)))
    assert "请写明重新开启的理由" in html(org.post(reopen, {"reason": "  "}, follow=True))
    first.refresh_from_db()
    assert first.status == "decided" and not AuditEvent.objects.filter(action="determination.reopen").exists()

    clock(12, 22)
    org = login(w.org_department)
    org.post(reopen, {"reason": "群众反映个别党员积分有误，需复核"})
    first.refresh_from_db()
    assert (first.status, first.reopened_by, first.reopen_reason) == (
        "reopened",
        w.org_department,
        "群众反映个别党员积分有误，需复核",
    )
    event = AuditEvent.objects.get(action="determination.reopen")
    assert (event.actor, event.reason, event.organization) == (
        w.org_department,
        "群众反映个别党员积分有误，需复核",
        w.A1,
    )
    assert (event.before, event.after) == ({"status": "decided"}, {"status": "reopened", "follow_ups_withdrawn": 9})
    assert list(first.follow_ups.values_list("pk", flat=True)) == [talk.pk]  # what was done stays on record
    assert "只有已评定的结果可以重新开启" in html(org.post(reopen, {"reason": "再开"}, follow=True))

    # The branch prepares and decides a second version; the first stays in the history.
    secretary = login(w.secretary)
    secretary.post(determination_url(w), {"action": "prepare"})
    second = Determination.objects.get(status="draft")
    assert second.version == 2
    secretary.post(determination_url(w), meeting(second, 5))
    second.refresh_from_db()
    assert second.status == "decided"
    # The same outcomes again: nine follow-ups to do, the talk already held is not repeated.
    assert FollowUp.objects.filter(status="open").count() == 9 == second.follow_ups.count()
    assert not second.follow_ups.filter(member=w.m[4], kind="talk_secretary").exists()
    history = html(secretary.get(determination_url(w)))
    assert "v2 已评定" in history and "v1 已重新开启（群众反映个别党员积分有误，需复核）" in history


def test_a_branch_with_a_staff_and_a_student_scheme_names_a_broken_share_cap_once(a_year, clock, login):
    w = a_year
    scoring.scheme_preset_load(actor=w.org_department, preset="A-student", year=w.year, owner=w.U)
    clock(12, 15)
    for member in w.m[:2]:
        contribute(w, member, w.s1, 35)
        contribute(w, member, w.s2, 35)
    [problem] = services.share_cap_problems(w.A1, w.year)
    # Who is in the way, highest first, and what the branch may do.
    first, second = sorted(w.m[:2], key=lambda m: m.number)
    assert problem.startswith(
        f"95分以上人数不得超过本支部5%：现有 2 人，上限 0 人（{first.name}（95 分）、"
        f"{second.name}（95 分））。请支委会逐条核实这些党员的加分记录"
    )
    assert "在台账中冲销更正" in problem
    secretary = login(w.secretary)
    secretary.post(determination_url(w), {"action": "prepare"})
    determination = Determination.objects.get()
    response = html(secretary.post(determination_url(w), meeting(determination, 5), follow=True))
    assert f"不符合比例要求，不能作出评定：{problem}" in response and f"{problem}；{problem}" not in response
