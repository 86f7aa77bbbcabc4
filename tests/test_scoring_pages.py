"""The scoring pages, driven through the test client as a secretary, a member and the committee."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from scoring import services as scoring
from scoring.ledger_chain import ledger_append_many
from scoring.models import EntryEvidence, LedgerEntry, MemberYearTotal, Period, Scheme
from tests.builders import add_members
from tests.test_authorization_matrix import add_scoring


@pytest.fixture
def scored(world):
    world.reference, world.schemes, world.entries, world.period = add_scoring(world)
    world.year = world.period.cycle.year
    return world


def post_entry(client, world, member, code="A-C02", points="3", reason="社区志愿服务", **extra):
    item = world.schemes["A1"].items.get(code=code)
    data = {
        "member": member.pk,
        "item": item.pk,
        "period": world.period.pk,
        "points": points,
        "occurred_on": "2026-03-01",
        "reason": reason,
        **extra,
    }
    return client.post(reverse("entry_record", args=[world.A1.pk]), data)


def test_a_recorder_records_an_entry_and_the_total_follows(scored, login):
    member = scored.a1_members[2]
    client = login(scored.recorder)
    page = client.get(reverse("entry_record", args=[scored.A1.pk])).content.decode()
    assert "A-C02" in page and "1—5" in page
    response = post_entry(client, scored, member)
    assert response.status_code == 302
    entry = LedgerEntry.objects.get(member=member)
    assert entry.points == 300 and entry.recorded_by == scored.recorder and entry.source == "recorder"
    total = MemberYearTotal.objects.get(member=member, year=scored.year)
    assert total.period_scores["1"] == 6300


@pytest.mark.parametrize(("points", "message"), [("9", "每次分值应在 1—5 分之间"), ("abc", "输入一个数字")])
def test_a_bad_entry_is_refused_in_chinese_and_nothing_is_written(scored, login, points, message):
    client = login(scored.secretary)
    before = LedgerEntry.objects.count()
    response = post_entry(client, scored, scored.a1_members[2], points=points)
    assert response.status_code == 400 and message in response.content.decode()
    assert LedgerEntry.objects.count() == before


def test_evidence_is_required_where_the_item_says_and_type_checked(scored, login):
    client = login(scored.secretary)
    response = post_entry(client, scored, scored.a1_members[2], code="A-C01", points="2")
    assert "须上传佐证材料" in response.content.decode()
    bad = SimpleUploadedFile("x.exe", b"MZ", content_type="application/x-msdownload")
    response = post_entry(client, scored, scored.a1_members[2], code="A-C01", points="2", evidence=[bad])
    assert "类型不支持" in response.content.decode()
    good = SimpleUploadedFile("证书.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    assert (
        post_entry(client, scored, scored.a1_members[2], code="A-C01", points="2", evidence=[good]).status_code == 302
    )
    assert LedgerEntry.objects.get(member=scored.a1_members[2], item__code="A-C01").evidence.count() == 1


def test_reversing_through_the_page_appends_a_correction(scored, login):
    entry = scored.entries["A1"]
    client = login(scored.secretary)
    assert "确认冲销" in client.get(reverse("entry_reverse", args=[entry.pk])).content.decode()
    assert client.post(reverse("entry_reverse", args=[entry.pk]), {"reason": ""}).status_code == 400
    assert client.post(reverse("entry_reverse", args=[entry.pk]), {"reason": "重复记录"}).status_code == 302
    reversal = LedgerEntry.objects.get(reverses=entry)
    assert reversal.points == -entry.points and reversal.reason == "重复记录"
    again = client.post(reverse("entry_reverse", args=[entry.pk]), {"reason": "再次"})
    assert "该记录已被冲销" in again.content.decode()
    ledger = client.get(reverse("ledger", args=[scored.A1.pk])).content.decode()
    assert "已冲销" in ledger and "重复记录" in ledger


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_each_ledger_line_shows_the_entry_as_the_ledger_holds_it(scored, login, language):
    """The ledger page reads its lines as values (scoring.selectors.ledger_rows): a line and its
    reversal still show the period, member, item, kind, points, reason, files, source and recorder,
    the labels in the reader's language."""
    entry = scored.entries["A1"]
    EntryEvidence.objects.create(entry=entry, file="evidence/a.pdf", name="证明.pdf", uploaded_by=scored.admin)
    reversal = scoring.entry_reverse(actor=scored.secretary, entry=entry, reason="重复记录")
    client = login(scored.secretary)
    client.cookies["django_language"] = language
    page = client.get(reverse("ledger", args=[scored.A1.pk])).content.decode()
    with translation.override(language):
        for line in (entry, reversal):
            line.refresh_from_db()
            shown = [
                f'{line.occurred_on.isoformat()}<div class="small text-muted">{line.period.label}</div>',
                f'<a href="{reverse("points_card", args=[line.member_id])}?year={scored.year}">{line.member.name}</a>',
                f"{line.item.code} {line.item.title} "
                f'<span class="badge text-bg-light">{line.get_kind_display()}</span>',
                f'<td class="d-none d-md-table-cell">{line.get_source_display()}</td>',
                f'<td class="d-none d-md-table-cell">{line.recorded_by.get_full_name()}</td>',
            ]
            for text in shown:
                assert text in page, text
        assert f"{_('冲销')} #{entry.pk}</span>" in page and _("已冲销") in page
        assert f'href="{reverse("evidence_entry", args=[entry.evidence.get().pk])}"' in page and "证明.pdf" in page
    # Neither line offers to be reversed again.
    assert reverse("entry_reverse", args=[entry.pk]) not in page
    assert reverse("entry_reverse", args=[reversal.pk]) not in page


def test_a_member_sees_their_own_card_with_lines_and_outcomes(scored, login):
    member = scored.a1_members[3]
    page = login(member.user).get(reverse("points_card", args=[member.pk])).content.decode()
    assert "积分卡" in page and "志愿服务" in page and "61" in page  # (62 + 60) / 2
    assert "不得确定为优秀" in page


def test_the_board_is_the_secretarys_and_opens_to_members_only_when_the_branch_says_so(scored, login):
    url = reverse("board", args=[scored.A1.pk])
    member_client = login(scored.member)
    assert member_client.get(url).status_code == 403
    secretary = login(scored.secretary)
    page = secretary.get(url).content.decode()
    assert "95分以上人数不得超过本支部5%" in page and scored.a1_members[3].name in page
    secretary.post(reverse("board_visibility", args=[scored.A1.pk]), {"visible": "1"})
    member_client = login(scored.member)
    board = member_client.get(url)
    assert board.status_code == 200 and "不得确定为优秀" not in board.content.decode()  # outcomes stay private
    assert member_client.get(reverse("board", args=[scored.A2.pk])).status_code == 403


def test_a_branch_derives_edits_submits_and_its_college_approves(scored, login):
    secretary = login(scored.secretary)
    response = secretary.post(
        reverse("scheme_transition", args=[scored.reference.pk]), {"action": "derive", "owner": scored.A1.pk}
    )
    draft = Scheme.objects.filter(owner=scored.A1, status="draft").get()
    assert response["Location"] == reverse("scheme_detail", args=[draft.pk])
    bad = secretary.post(
        reverse("item_new", args=[draft.pk]),
        {"kind": "bonus", "code": "X1", "title": "指导学生竞赛", "points_min": "5", "points_max": "2", "order": 0},
    )
    assert bad.status_code == 400 and "最少分值不能大于最多分值" in bad.content.decode()
    secretary.post(
        reverse("item_new", args=[draft.pk]),
        {"kind": "bonus", "code": "X1", "title": "指导学生竞赛", "points_min": "1", "points_max": "3", "order": 0},
    )
    assert draft.items.filter(code="X1").exists()
    bad_rule = secretary.post(
        reverse("rule_new", args=[draft.pk]),
        {
            "code": "R1",
            "kind": "streak",
            "consequence": "talk",
            "label": "x",
            "applies_to": "all",
            "of": "A-RED",
            "order": 0,
        },
    )
    assert bad_rule.status_code == 400 and "缺少参数：连续年数" in bad_rule.content.decode()
    assert 'value="A-RED"' in bad_rule.content.decode()  # what was typed is kept
    secretary.post(
        reverse("rule_new", args=[draft.pk]),
        {
            "code": "R1",
            "kind": "band",
            "consequence": "yellow",
            "label": "黄色预警",
            "applies_to": "all",
            "lower": "60",
            "lower_inclusive": "on",
            "upper": "70",
            "upper_inclusive": "on",
            "order": 0,
        },
    )
    assert draft.outcome_rules.get(code="R1").params == {
        "lower": 60,
        "lower_inclusive": True,
        "upper": 70,
        "upper_inclusive": True,
    }
    secretary.post(
        reverse("rule_new", args=[draft.pk]),
        {
            "code": "R2",
            "kind": "share_cap",
            "consequence": "share_cap",
            "label": "高分比例",
            "applies_to": "all",
            "at_or_above": "95",
            "share": "5",
            "order": 0,
        },
    )
    assert draft.outcome_rules.get(code="R2").params == {"at_or_above": 95, "share": "0.05"}
    edit_page = secretary.get(reverse("rule_edit", args=[draft.pk, draft.outcome_rules.get(code="R2").pk]))
    assert 'name="share" value="5"' in edit_page.content.decode().replace('class="form-control" ', "")
    secretary.post(reverse("scheme_transition", args=[draft.pk]), {"action": "submit"})
    assert secretary.post(reverse("scheme_transition", args=[draft.pk]), {"action": "approve"}).status_code == 403
    college = login(scored.gb_secretary)
    returned = college.post(
        reverse("scheme_transition", args=[draft.pk]), {"action": "return", "reason": ""}, follow=True
    )
    assert "退回时请写明理由" in returned.content.decode()
    college.post(reverse("scheme_transition", args=[draft.pk]), {"action": "approve"})
    draft.refresh_from_db()
    assert draft.status == "approved" and draft.decided_by == scored.gb_secretary
    frozen = login(scored.secretary).post(
        reverse("item_edit", args=[draft.pk, draft.items.first().pk]),
        {"kind": "bonus", "code": "X9", "title": "改", "points_min": "1", "points_max": "2", "order": 0},
    )
    assert "如需修改请新建版本" in frozen.content.decode()


def test_the_committee_publishes_presets_and_opens_years(world, login):
    client = login(world.org_department)
    response = client.post(reverse("cycle_list"), {"year": 2030, "deadline_sets": ["A"]})
    assert response.status_code == 302
    assert Period.objects.filter(cycle__year=2030, kind="semester").count() == 2
    assert "支部评分细则报学院党委审核" in client.get(reverse("cycle_list")).content.decode()
    again = client.post(reverse("cycle_list"), {"year": 2030, "deadline_sets": ["A"]})
    assert "2030年度已经开启" in again.content.decode()
    client.post(reverse("scheme_preset_load"), {"preset": "B", "year": 2030})
    scheme = Scheme.objects.get(year=2030, owner=world.U)
    assert scheme.is_sample and scheme.status == "approved" and scheme.items.filter(kind="veto").exists()


def test_locking_a_period_stops_recording_until_reopened_with_a_reason(scored, login):
    client = login(scored.org_department)
    client.post(reverse("period_lock", args=[scored.period.pk]), {"action": "lock"})
    response = post_entry(login(scored.secretary), scored, scored.a1_members[2])
    assert response.status_code == 400
    client = login(scored.org_department)
    page = client.post(
        reverse("period_lock", args=[scored.period.pk]), {"action": "reopen", "reason": ""}, follow=True
    ).content.decode()
    assert "重新开放周期须写明理由" in page
    client.post(reverse("period_lock", args=[scored.period.pk]), {"action": "reopen", "reason": "补录"})
    assert post_entry(login(scored.secretary), scored, scored.a1_members[2]).status_code == 302


def _grow(world, size):
    """Add `size` members to A1, each with two ledger lines."""
    members = add_members(world.A1, size, start=200, with_accounts=False)
    item = world.schemes["A1"].items.get(code="A-C02")
    ledger_append_many(
        [
            LedgerEntry(
                member=m,
                item=item,
                period=world.period,
                year=world.year,
                kind="bonus",
                points=100 * k,
                reason="批量",
                source="recorder",
                recorded_by=world.admin,
                occurred_on=datetime.date(2026, 3, 1),
            )
            for m in members
            for k in (1, 2)
        ],
        actor=world.admin,
        reason="测试数据",
    )
    scoring.recalculate(year=world.year, organization=world.A1)


@pytest.mark.parametrize("size", [3, 30])
def test_ledger_board_and_card_query_counts_do_not_grow_with_rows(scored, login, django_assert_num_queries, size):
    _grow(scored, size)
    # Every line carries a file (previewed on the ledger and the card): one query for all of them.
    EntryEvidence.objects.bulk_create(
        EntryEvidence(entry=entry, file=f"evidence/{entry.pk}.png", name=f"{entry.pk}.png", uploaded_by=scored.admin)
        for entry in LedgerEntry.objects.filter(member__branch=scored.A1)
    )
    client = login(scored.secretary)
    member = scored.a1_members[3]
    pages = [
        (reverse("ledger", args=[scored.A1.pk]), 14),
        (reverse("board", args=[scored.A1.pk]), 11),
        (reverse("points_card", args=[member.pk]), 15),
    ]  # one each for the determination and the meetings
    for url, queries in pages:
        client.get(url)
        with django_assert_num_queries(queries):
            assert client.get(url).status_code == 200


def test_a_secretary_reopens_a_locked_period_for_their_branch_only(scored, login):
    scoring.period_lock(actor=scored.org_department, period=scored.period, committee=scored.U)
    assert post_entry(login(scored.secretary), scored, scored.a1_members[2]).status_code == 400
    url = reverse("branch_action", args=[scored.A1.pk, "period-reopen"])
    page = login(scored.secretary).post(url, {"period": scored.period.pk, "reason": ""}, follow=True)
    assert "重新开放周期须写明理由" in page.content.decode()
    assert login(scored.recorder).post(url, {"period": scored.period.pk, "reason": "补录"}).status_code == 403
    login(scored.secretary).post(url, {"period": scored.period.pk, "reason": "补录志愿服务"})
    assert post_entry(login(scored.secretary), scored, scored.a1_members[2]).status_code == 302
    a2_member = scored.a2_members[1]
    item = scored.schemes["A2"].items.get(code="A-C02")
    with pytest.raises(Exception, match="已锁定"):
        scoring.entry_record(
            actor=scored.org_department, member=a2_member, item=item, period=scored.period, points=1, reason="x"
        )
