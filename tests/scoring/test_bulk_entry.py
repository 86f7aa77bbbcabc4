"""The bulk entry page (批量记分): one item, period, points and reason for every ticked member,
through scoring.services.entries_record_bulk; all or nothing, each refused member's reason beside
their name, everything typed kept; only for whoever may record points in the branch."""

import re

import pytest
from django.db import connection
from django.urls import reverse

from members.models import Member
from partyscore.core.models import AuditEvent
from scoring import services
from scoring.models import LedgerEntry

from ..builders import add_members
from .helpers import exempt, item_in_force, period, set_member


def url(w, branch=None):
    return reverse("entry_bulk", args=[(branch or w.A1).pk])


def data(w, members, code="A-C02", points="2", reason="参加社区志愿服务", **extra):
    return {
        "item": item_in_force(w.a1_members[0], code).pk,
        "period": period(1).pk,
        "points": points,
        "occurred_on": "2025-03-08",
        "reason": reason,
        "members": [m.pk for m in members],
        **extra,
    }


def member_row(page, member):
    """The page's line of `member`, from its check box to the end of its list item."""
    start = page.index(f'id="member-{member.pk}"')
    return page[start : page.index("</li>", start)]


def test_the_page_offers_every_member_who_may_be_scored_and_the_items_without_evidence(scoring_world, login):
    w = scoring_world
    left_alone = exempt(w, w.a1_members[1])
    set_member(w, w.a1_members[2], is_cadre=True)
    student = add_members(w.A1, 1, start=50, category=Member.Category.STUDENT)[0]
    page = login(w.recorder).get(url(w)).content.decode()
    offered = set(re.findall(r'name="members" value="(\d+)"', page))
    assert offered == {str(m.pk) for m in (w.a1_members[0], *w.a1_members[2:], student)}
    assert str(left_alone.pk) not in offered
    assert 'data-groups="staff cadre"' in member_row(page, w.a1_members[2])
    assert 'data-groups="student"' in member_row(page, student)
    for group in ("all", "staff", "student", "cadre", "none"):
        assert f'data-pick-group="{group}"' in page
    items = re.search(r'<select name="item".*?</select>', page, re.S).group(0)
    assert "A-C02" in items and "A-B01" in items
    assert "A-C01" not in items  # needs evidence: recorded one by one, with the files
    # Reached from the ledger and from the single entry form.
    for start in (reverse("ledger", args=[w.A1.pk]), reverse("entry_record", args=[w.A1.pk])):
        assert f'href="{url(w)}"' in login(w.recorder).get(start).content.decode()


def test_one_item_is_recorded_for_every_ticked_member(scoring_world, login):
    w = scoring_world
    members = w.a1_members[1:4]
    response = login(w.recorder).post(url(w), data(w, members), follow=True)
    assert response.redirect_chain[-1][0] == reverse("ledger", args=[w.A1.pk])
    assert "已为 3 名党员记分：参加志愿服务、奉献社会" in response.content.decode()
    entries = LedgerEntry.objects.order_by("id")
    assert [(e.member, e.points, e.reason, str(e.occurred_on), e.recorded_by, e.period) for e in entries] == [
        (m, 200, "参加社区志愿服务", "2025-03-08", w.recorder, period(1)) for m in members
    ]
    assert list(
        AuditEvent.objects.filter(action="ledger.record").values_list("target_id", flat=True).order_by("id")
    ) == [str(e.pk) for e in entries]


def test_one_refused_member_writes_nothing_and_keeps_everything_typed(scoring_world, login):
    w = scoring_world
    full, student = w.a1_members[2], add_members(w.A1, 1, start=50, category=Member.Category.STUDENT)[0]
    for _ in range(4):  # A-B01 caps at 20 a period: this member has it all
        services.entry_record(
            actor=w.recorder,
            member=full,
            item=item_in_force(full, "A-B01"),
            period=period(1),
            points="5",
            reason="缺席",
            recalculate=False,
        )
    before = LedgerEntry.objects.count(), AuditEvent.objects.count()
    ticked = [w.a1_members[1], full, w.a1_members[3], student]
    response = login(w.secretary).post(url(w), data(w, ticked, code="A-B01", points="1.5", reason="无故缺席党员大会"))
    assert response.status_code == 400
    assert (LedgerEntry.objects.count(), AuditEvent.objects.count()) == before
    page = response.content.decode()
    assert "有 2 条记分未通过检查，全部未记入" in page
    assert "本期累计不能超过 20 分（已记 20 分）" in member_row(page, full)
    assert "不在本支部已批准的评分细则中" in member_row(page, student)  # a staff item for a student
    for fine in (w.a1_members[1], w.a1_members[3]):
        assert "member-error" not in member_row(page, fine)
    for member in ticked:
        assert f'value="{member.pk}" id="member-{member.pk}"' in page and "checked" in member_row(page, member)
    assert "checked" not in member_row(page, w.a1_members[0])
    item = item_in_force(full, "A-B01")
    assert f'<option value="{item.pk}" selected data-category="staff">' in page
    assert 'value="1.5"' in page and "无故缺席党员大会</textarea>" in page and 'value="2025-03-08"' in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"members": []}, "请至少选择一名党员"),
        ({"points": "abc"}, "输入一个数字"),
        ({"reason": ""}, "这个字段是必填项"),
        ({"period": ""}, "这个字段是必填项"),
    ],
)
def test_an_incomplete_form_is_refused_in_chinese(scoring_world, login, change, message):
    w = scoring_world
    response = login(w.recorder).post(url(w), {**data(w, w.a1_members[1:3]), **change})
    assert response.status_code == 400 and message in response.content.decode()
    assert not LedgerEntry.objects.exists()


def test_forged_members_and_items_are_refused_and_nothing_is_written(scoring_world, login):
    w = scoring_world
    left_alone = exempt(w, w.a1_members[1])
    client = login(w.recorder)
    for forged in (w.a2_members[0], left_alone):  # another branch's member; an exempted one
        response = client.post(url(w), data(w, [w.a1_members[2], forged]))
        assert response.status_code == 400 and "不在可用的选项中" in response.content.decode()
    response = client.post(url(w), data(w, [w.a1_members[2]], code="A-C01"))  # needs evidence
    assert response.status_code == 400 and "选择一个有效的选项" in response.content.decode()
    assert not LedgerEntry.objects.exists()


def test_only_who_may_record_in_the_branch_reaches_the_page(scoring_world, login):
    w = scoring_world
    assert login(w.member).get(url(w)).status_code == 403
    assert login(w.panel).post(url(w), data(w, [w.a1_members[3]])).status_code == 403
    assert login(w.recorder).get(url(w, branch=w.A2)).status_code == 403
    assert login(w.org_department).get(url(w, branch=w.A)).status_code == 403  # a college records nothing
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("size", [10, 40])
def test_a_bulk_save_takes_the_same_queries_for_10_and_40_members(
    scoring_world, login, django_assert_num_queries, size
):
    w = scoring_world
    members = add_members(w.A1, size, start=100)
    client = login(w.recorder)
    client.get(url(w))  # warm the session
    # PostgreSQL adds the chains' advisory locks (ledger, audit log).
    with django_assert_num_queries(42 if connection.vendor == "sqlite" else 44):
        response = client.post(url(w), data(w, members))
    assert response.status_code == 302 and LedgerEntry.objects.filter(member__in=members).count() == size


def test_a_party_group_is_one_quick_pick(scoring_world, login):
    w = scoring_world
    Member.objects.filter(pk__in=[w.a1_members[1].pk, w.a1_members[3].pk]).update(party_group="第一 党小组")
    page = login(w.recorder).get(url(w)).content.decode()
    token = re.search(r'data-pick-group="(group-\d+)">第一 党小组</button>', page).group(1)
    for member in w.a1_members:
        groups = re.search(r'data-groups="([^"]*)"', member_row(page, member)).group(1).split()
        assert (token in groups) is (
            member.party_group == "第一 党小组" or member.pk in (w.a1_members[1].pk, w.a1_members[3].pk)
        )
