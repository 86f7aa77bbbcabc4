"""The roster as a living record: the member page's edit (audited before/after, no duplicate
numbers) and dated status changes (转正, 延长预备期, 出党, 转出, 毕业…) shown as the member's history;
a probation or 不合格 follow-up completed with the status change it calls for, in one step."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from members import services
from members.models import Member, MemberStatusEvent
from partyscore.core.models import AuditEvent
from reviews import services as review_services
from reviews.models import Determination, FollowUp


def html(response):
    return response.content.decode()


def probationary(world, member, start=datetime.date(2025, 6, 1)):
    return services.member_update(
        actor=world.org_department,
        member=member,
        data={"status": Member.Status.PROBATIONARY, "probation_start": start},
        reason="入党",
    )


def edit_data(member, **changes):
    data = {
        "name": member.name,
        "number": member.number,
        "phone": member.phone,
        "email": member.email,
        "category": member.category,
        "reason": "更正笔误",
    }
    if member.is_cadre:
        data["is_cadre"] = "on"
    return {**data, **changes}


def test_the_secretary_corrects_a_member_and_each_change_is_audited_before_and_after(world, login):
    member = world.a1_members[3]
    old_number, old_name = member.number, member.name
    client = login(world.secretary)
    assert "修改党员信息" in html(client.get(reverse("member_edit", args=[member.pk])))
    response = client.post(
        reverse("member_edit", args=[member.pk]),
        edit_data(
            member, name="张三丰", number="T9990001", phone="13900000000", is_cadre="on", cadre_post="学院办公室主任"
        ),
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.name, member.number, member.phone, member.is_cadre, member.cadre_post) == (
        "张三丰",
        "T9990001",
        "13900000000",
        True,
        "学院办公室主任",
    )
    assert member.user.username == "T9990001" and member.user.full_name == "张三丰"  # the login follows
    event = AuditEvent.objects.get(action="member.edit", target_id=str(member.pk))
    assert event.actor == world.secretary and event.reason == "更正笔误"
    assert event.before == {"name": old_name, "number": old_number, "phone": "", "is_cadre": False, "cadre_post": ""}
    assert event.after == {
        "name": "张三丰",
        "number": "T9990001",
        "phone": "13900000000",
        "is_cadre": True,
        "cadre_post": "学院办公室主任",
    }
    page = html(client.get(reverse("member_detail", args=[member.pk])))
    assert "学院办公室主任" in page and reverse("member_edit", args=[member.pk]) in page


def test_a_duplicate_number_is_refused_in_chinese_and_nothing_changes(world, login):
    member, colleague, other = world.a1_members[3], world.a1_members[2], world.b1_members[0]
    client = login(world.secretary)
    same_branch = client.post(
        reverse("member_edit", args=[member.pk]), edit_data(member, name="新名字", number=colleague.number)
    )
    assert same_branch.status_code == 400
    assert f"学号/工号“{colleague.number}”已被{colleague.name}（甲一支部）使用，不能重复" in html(same_branch)
    # Another college's member is not named to a branch secretary.
    far = client.post(reverse("member_edit", args=[member.pk]), edit_data(member, name="新名字", number=other.number))
    assert f"学号/工号“{other.number}”已被其他党员使用，不能重复" in html(far) and other.name not in html(far)
    member.refresh_from_db()
    assert member.name != "新名字" and not AuditEvent.objects.filter(action="member.edit").exists()


def test_an_edit_needs_a_reason_and_a_change(world, login):
    member = world.a1_members[3]
    client = login(world.secretary)
    no_reason = client.post(reverse("member_edit", args=[member.pk]), edit_data(member, name="新名字", reason=""))
    assert no_reason.status_code == 400
    unchanged = client.post(reverse("member_edit", args=[member.pk]), edit_data(member))
    assert unchanged.status_code == 400 and "没有需要保存的修改" in html(unchanged)
    with pytest.raises(Exception, match="不能在此修改"):
        services.member_edit(
            actor=world.secretary, member=member, data={"left_on": datetime.date(2025, 1, 1)}, reason="x"
        )


def test_another_branchs_secretary_cannot_edit_or_record_a_status(world, login):
    member = world.a2_members[0]
    client = login(world.secretary)
    assert client.get(reverse("member_edit", args=[member.pk])).status_code == 403
    assert (
        client.post(
            reverse("member_status", args=[member.pk]),
            {"kind": "graduated", "occurred_on": "2025-07-01", "reason": "毕业"},
        ).status_code
        == 403
    )
    assert not MemberStatusEvent.objects.exists()


def test_full_membership_is_a_dated_event_shown_as_history(world, login):
    member = probationary(world, world.a1_members[3])
    client = login(world.secretary)
    page = html(client.get(reverse("member_status", args=[member.pk])))
    assert "按期转为正式党员（转正）" in page and "延长预备期" in page
    response = client.post(
        reverse("member_status", args=[member.pk]),
        {"kind": "full_membership", "occurred_on": "2026-06-01", "reason": "支部大会讨论通过，党委审批"},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == Member.Status.FULL and member.full_member_on == datetime.date(2026, 6, 1)
    audit = AuditEvent.objects.get(action="member.status.full_membership")
    assert audit.before["status"] == "probationary" and audit.after["status"] == "full"
    detail = html(client.get(reverse("member_detail", args=[member.pk])))
    assert "2026-06-01 按期转为正式党员（转正）" in detail and "支部大会讨论通过，党委审批" in detail
    # A full member has no probation kinds to choose from.
    assert 'value="probation_extended"' not in html(client.get(reverse("member_status", args=[member.pk])))
    again = client.post(
        reverse("member_status", args=[member.pk]),
        {"kind": "probation_extended", "occurred_on": "2026-06-02", "until": "2027-06-01", "reason": "x"},
    )
    assert again.status_code == 400


def test_status_bad_paths_are_refused_with_chinese_messages(world, login):
    member = probationary(world, world.a1_members[3])
    client = login(world.secretary)
    url = reverse("member_status", args=[member.pk])
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    future = client.post(url, {"kind": "graduated", "occurred_on": tomorrow, "reason": "毕业"})
    assert future.status_code == 400 and "日期不能晚于今天" in html(future)
    early = client.post(url, {"kind": "full_membership", "occurred_on": "2025-01-01", "reason": "转正"})
    assert "日期不能早于预备期开始日期" in html(early)
    no_until = client.post(url, {"kind": "probation_extended", "occurred_on": "2026-06-01", "reason": "表现"})
    assert "延长预备期须填写延长至的日期" in html(no_until)
    assert not MemberStatusEvent.objects.exists()
    member.refresh_from_db()
    assert member.status == Member.Status.PROBATIONARY


def test_leaving_sets_the_leave_date_and_closes_the_record(world, login):
    member = world.a1_members[3]
    client = login(world.secretary)
    assert (
        client.post(
            reverse("member_status", args=[member.pk]),
            {"kind": "graduated", "occurred_on": "2026-07-01", "reason": "2026 届本科毕业"},
        ).status_code
        == 302
    )
    member.refresh_from_db()
    assert member.left_on == datetime.date(2026, 7, 1)
    detail = html(client.get(reverse("member_detail", args=[member.pk])))
    assert "毕业离校" in detail and reverse("member_status", args=[member.pk]) not in detail
    again = client.post(
        reverse("member_status", args=[member.pk]),
        {"kind": "transferred_out", "occurred_on": "2026-07-02", "reason": "x"},
    )
    assert again.status_code == 400 and "离开党组织" in html(again)
    assert MemberStatusEvent.objects.count() == 1


def test_a_status_change_recalculates_the_branch_after_the_commit(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    from scoring import tasks

    calls = []
    monkeypatch.setattr(tasks.recalculate_branch_task, "run", lambda branch_id, year: calls.append((branch_id, year)))
    member = world.a1_members[3]
    with django_capture_on_commit_callbacks(execute=True):
        services.member_status_record(
            actor=world.secretary,
            member=member,
            kind="transferred_out",
            occurred_on=datetime.date(timezone.localdate().year - 1, 9, 1),
            reason="调离",
        )
    year = timezone.localdate().year
    assert calls == [(world.A1.pk, year - 1), (world.A1.pk, year)]


def follow_up(world, member, kind):
    determination = Determination.objects.create(branch=world.A1, year=2025, status="decided")
    return FollowUp.objects.create(
        member=member,
        determination=determination,
        kind=kind,
        rule_code="A-YELLOW-PROBATION",
        reason="黄色预警的预备党员，可延长预备期",
        responsible=world.A1,
        due_on=datetime.date(2026, 12, 31),
    )


def test_a_probation_follow_up_is_completed_with_the_extension_in_one_step(world, login):
    member = probationary(world, world.a1_members[3])
    item = follow_up(world, member, FollowUp.Kind.PROBATION)
    client = login(world.secretary)
    url = reverse("follow_up_record", args=[item.pk])
    page = html(client.get(url))
    assert "同时记录党员身份变化" in page and "取消预备党员资格" in page and "毕业离校" not in page
    response = client.post(
        url,
        {
            "done_on": "2026-05-20",
            "record": "支部大会决定延长预备期一年",
            "status_kind": "probation_extended",
            "until": "2027-06-01",
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    event = member.status_events.get()
    assert item.status == "done" and event.kind == "probation_extended" and event.until == datetime.date(2027, 6, 1)
    assert event.occurred_on == datetime.date(2026, 5, 20) and "支部大会决定延长预备期一年" in event.reason
    member.refresh_from_db()
    assert member.status == Member.Status.PROBATIONARY and member.left_on is None


def test_an_unqualified_disposal_records_the_leaving_or_nothing_at_all(world, login):
    member = world.a1_members[3]
    item = follow_up(world, member, FollowUp.Kind.UNQUALIFIED)
    client = login(world.secretary)
    url = reverse("follow_up_record", args=[item.pk])
    wrong = client.post(url, {"done_on": "2026-05-20", "record": "x", "status_kind": "graduated"})
    assert wrong.status_code == 400
    with pytest.raises(Exception, match="该事项不能记录这项身份变化"):
        review_services.follow_up_complete(
            actor=world.secretary,
            follow_up=item,
            record="x",
            done_on=datetime.date(2026, 5, 20),
            status_kind="graduated",
        )
    # A refused status change loses nothing: the follow-up stays open.
    refused = client.post(url, {"done_on": "2026-05-20", "record": "劝退", "status_kind": "probation_cancelled"})
    assert refused.status_code == 400
    item.refresh_from_db()
    assert item.status == "open" and not MemberStatusEvent.objects.exists()
    assert (
        client.post(
            url, {"done_on": "2026-05-20", "record": "支部大会决定劝其退党", "status_kind": "persuaded_to_leave"}
        ).status_code
        == 302
    )
    member.refresh_from_db()
    item.refresh_from_db()
    assert member.left_on == datetime.date(2026, 5, 20) and item.status == "done"
