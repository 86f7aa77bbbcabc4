"""The exported workbooks, opened with openpyxl: structure, totals against the ledger, scope,
formula neutralisation, print setup, and a constant number of queries."""

import io
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.urls import reverse

from members.models import Member
from partyscore.core.models import AuditEvent
from scoring import exports, io_services
from scoring import services as scoring_services
from scoring.ledger_chain import ledger_append_many
from scoring.models import LedgerEntry, MemberOutcome, MemberYearTotal, Period
from scoring.recalculation import recalculate_branch
from tests.builders import add_members

from .conftest import HOSTILE_REASONS, open_xlsx


def build(kind, organization, year, **extra):
    buffer = io.BytesIO()
    exports.WRITERS[kind](buffer, organization=organization, year=year, **extra)
    return open_xlsx(buffer.getvalue())


def rows(sheet):
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def header_row(sheet, first):
    """The 1-based row whose first cell is `first` (the table's header)."""
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if row and row[0] == first:
            return number
    raise AssertionError(f"no header starting {first!r}")


def labelled(sheet, label):
    return [row for row in rows(sheet) if row and row[0] == label]


@pytest.mark.parametrize("constant_memory", [False, True])
def test_the_branch_workbook_has_a_summary_and_a_ledger_per_member(io_world, constant_memory):
    w = io_world
    book = build("branch_workbook", w.A1, w.year, constant_memory=constant_memory)
    members = list(Member.objects.filter(branch=w.A1).order_by("number"))
    # The year's meetings follow the members' ledgers (reviews adds the sheet; tests/reviews/test_meetings.py).
    assert book.sheetnames == ["汇总", *[f"{m.number} {m.name}" for m in members], "年度评定", "会议记录"]
    summary = book["汇总"]
    head = header_row(summary, "序号")
    headers = rows(summary)[head - 1]
    assert headers[:11] == [c.header for c in exports.SUMMARY_HEAD]
    assert headers[-5:] == [c.header for c in exports.SUMMARY_TAIL]
    assert headers[11:-5] == list(
        Period.objects.filter(cycle__year=w.year, kind="semester").order_by("index").values_list("name", flat=True)
    )
    body = [r for r in rows(summary)[head:] if isinstance(r[0], int)]
    assert [r[2] for r in body] == [m.number for m in members]
    for row in body:
        total = MemberYearTotal.objects.get(member__number=row[2], year=w.year)
        assert row[headers.index("年度总分")] == total.total / 100
        assert row[headers.index("支部排名")] == total.rank
        assert row[headers.index("基础扣分")] == total.base / 100
        assert row[headers.index("加分/贡献")] == total.bonus / 100
    # Each name links to its member's sheet.
    link = summary.cell(row=head + 1, column=4).hyperlink
    assert link is not None and members[0].number in link.location


def test_a_member_sheet_is_the_ledger_with_subtotals_total_outcomes_and_signatures(io_world):
    w = io_world
    member = w.a1_members[0]
    sheet = build("branch_workbook", w.A1, w.year)[f"{member.number} {member.name}"]
    cells = rows(sheet)
    assert cells[0][0] == f"{w.year}年度党员积分台账"
    assert "A1:K1" in {str(r) for r in sheet.merged_cells.ranges}
    assert cells[1][:2] == ["姓名", member.name] and member.number in cells[1] and "甲一支部" in cells[1]
    assert "评分标准" in cells[3]
    head = header_row(sheet, "日期")
    assert cells[head - 1] == [c.header for c in exports.LEDGER_COLUMNS]
    entries = LedgerEntry.objects.filter(member=member, year=w.year)
    lines = cells[head : head + entries.count()]
    assert [r[5] for r in lines] == [e.points / 100 for e in entries.order_by("occurred_on", "id")]
    assert {r[10] for r in lines} == {None, "已冲销", "冲销记录"}
    for row in labelled(sheet, "分类小计"):
        kind = {"基础": "base", "加分/贡献": "bonus", "减分": "penalty"}[row[1]]
        assert row[5] == (entries.filter(kind=kind).aggregate(s=Sum("points"))["s"] or 0) / 100
    total = MemberYearTotal.objects.get(member=member, year=w.year)
    periods = labelled(sheet, "分期小计")
    assert [r[7] for r in periods] == [total.period_scores[k] / 100 for k in sorted(total.period_scores)]
    assert labelled(sheet, "年度总分")[0][5] == total.total / 100
    assert labelled(sheet, "年度总分")[0][7] == total.rank
    outcomes = labelled(sheet, "积分结果")
    assert len(outcomes) == MemberOutcome.objects.filter(member=member, year=w.year).count() > 0
    text = "".join(str(v) for row in cells for v in row if v)
    assert "记分员（签字）" in text and "党支部书记（签字）" in text and "拟定结果" in text
    # A4, landscape, fitted to the page width, the header row repeated and frozen.
    assert sheet.page_setup.paperSize == 9 and sheet.page_setup.orientation == "landscape"
    # fitToWidth defaults to 1 in the file format (XlsxWriter leaves the default out)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and (sheet.page_setup.fitToWidth or 1) == 1
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == f"${head}:${head}"
    assert sheet.freeze_panes == f"A{head + 1}"
    assert sheet.column_dimensions["G"].width > 20  # the reason column is wide enough for Chinese text


def test_text_that_looks_like_a_formula_stays_text_and_numbers_stay_numbers(io_world):
    w = io_world
    flat = build("flat_ledger", w.A1, w.year)
    for book in (build("branch_workbook", w.A1, w.year), flat):
        reasons = {}
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
                    if isinstance(cell.value, str) and cell.value in [*HOSTILE_REASONS, "=1"]:
                        reasons[cell.value] = cell
        assert {"+1+1", "-2+3", "@SUM(A1)", "=1"} <= set(reasons)
        assert all(cell.data_type == "s" and cell.quotePrefix for cell in reasons.values())
    sheet = flat.worksheets[0]
    points = sheet.cell(row=header_row(sheet, "党支部") + 1, column=9)
    assert points.data_type == "n" and points.number_format == "+0.00;-0.00;0.00"


def test_every_dangerous_first_character_is_quoted_including_tab_and_carriage_return():
    buffer = io.BytesIO()
    book = exports.Book(buffer)
    sheet = book.sheet("=x", tuple(exports.Column(f"列{n}") for n in range(8)))
    sheet.fields([("姓名", "=cmd|' /C calc'!A0")])
    values = ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1", "普通文字"]
    sheet.line([None, *values])
    book.close()
    loaded = open_xlsx(buffer.getvalue()).worksheets[0]
    assert loaded.title == "=x"
    assert loaded["B1"].value.startswith("=cmd") and loaded["B1"].quotePrefix and loaded["B1"].data_type == "s"
    cells = [loaded.cell(row=2, column=c) for c in range(2, 9)]
    # Excel writes a carriage return as the escape _x000D_, which openpyxl reads back literally.
    assert [c.value.replace("_x000D_", "\r") for c in cells] == values
    assert [c.quotePrefix for c in cells] == [True] * 6 + [False]
    assert all(c.data_type == "s" for c in cells)


def test_the_flat_ledger_lists_every_line_of_the_scope_once(io_world):
    w = io_world
    sheet = build("flat_ledger", w.A, w.year).worksheets[0]
    head = header_row(sheet, "党支部")
    assert rows(sheet)[head - 1] == [c.header for c in exports.FLAT_COLUMNS]
    body = rows(sheet)[head:]
    entries = LedgerEntry.objects.filter(year=w.year, member__branch__in=[w.A1, w.A2])
    assert len(body) == entries.count()
    assert {r[0] for r in body} == {"甲一支部", "甲二支部"}
    assert sum(r[8] for r in body) == pytest.approx(entries.aggregate(s=Sum("points"))["s"] / 100)
    assert sheet.auto_filter.ref


def test_exports_hold_only_the_requesters_scope(io_world, login):
    w = io_world
    client = login(w.secretary)
    own = client.post(reverse("export_org", args=[w.A1.pk]), {"kind": "flat_ledger", "year": w.year})
    assert own.status_code == 200
    branches = {r[0] for r in rows(open_xlsx(own.content).worksheets[0])[2:]}
    assert branches == {"甲一支部"}
    assert (
        client.post(reverse("export_org", args=[w.A2.pk]), {"kind": "flat_ledger", "year": w.year}).status_code == 403
    )
    with pytest.raises(PermissionDenied):
        io_services.export_start(actor=w.secretary, kind="committee", organization=w.U, year=w.year)
    college = login(w.gb_secretary).post(reverse("export_org", args=[w.A.pk]), {"kind": "committee", "year": w.year})
    names = [str(r[0]).strip("\u3000") for r in rows(open_xlsx(college.content)["统计汇总"])[3:] if r[0]]
    assert names == ["甲学院党委", "甲一支部", "甲二支部"]


def test_an_export_is_a_download_with_a_chinese_file_name_and_is_audited(io_world, login):
    w = io_world
    response = login(w.secretary).post(reverse("export_org", args=[w.A1.pk]), {"kind": "board", "year": w.year})
    assert response["Content-Type"] == exports.XLSX_TYPE
    assert response["Content-Disposition"].lower().startswith("attachment; filename*=utf-8''")
    event = AuditEvent.objects.filter(action="ledger.export", actor=w.secretary).latest("id")
    assert event.after == {"kind": "board", "year": w.year, "rows": 4} and event.target_id == str(w.A1.pk)
    assert (
        login(w.secretary).post(reverse("export_org", args=[w.A1.pk]), {"kind": "nope", "year": w.year}).status_code
        == 400
    )


def test_a_member_exports_their_own_ledger_and_nobody_elses(io_world, login):
    w = io_world
    me = w.a1_members[-1]
    client = login(me.user)
    response = client.post(reverse("export_member", args=[me.pk]), {"year": w.year})
    assert response.status_code == 200
    book = open_xlsx(response.content)
    assert book.sheetnames == [f"{me.number} {me.name}"]
    assert client.post(reverse("export_member", args=[w.a1_members[0].pk]), {"year": w.year}).status_code == 403
    assert AuditEvent.objects.filter(action="ledger.export", actor=me.user, target_id=str(me.pk)).exists()


def test_the_committee_workbook_counts_bands_shares_and_pipeline(io_world):
    w = io_world
    book = build("committee", w.U, w.year)
    assert book.sheetnames == ["统计汇总", "说明"]
    sheet = book["统计汇总"]
    head = header_row(sheet, "单位")
    headers = rows(sheet)[head - 1]
    assert headers[:8] == [c.header for c in exports.COMMITTEE_HEAD]
    assert headers[-8:] == [c.header for c in exports.COMMITTEE_TAIL]
    assert "黄色预警" in headers  # a band of the schemes' own outcome rules
    table = {str(r[0]).strip("\u3000"): dict(zip(headers, r, strict=True)) for r in rows(sheet)[head:] if r[0]}
    assert list(table) == ["测试大学党委", "甲学院党委", "甲一支部", "甲二支部", "乙学院党委", "乙一支部"]
    a1 = table["甲一支部"]
    assert a1["党员数"] == Member.objects.filter(branch=w.A1).count() and a1["参与记分"] == a1["党员数"]
    assert a1["黄色预警"] == MemberOutcome.objects.filter(branch=w.A1, year=w.year, consequence="yellow").count()
    assert a1["台账条数"] == LedgerEntry.objects.filter(member__branch=w.A1, year=w.year).count()
    assert "95分以上人数不得超过本支部5%" in a1["比例上限检查"] and a1["评分细则"] == "本支部细则已批准"
    assert table["测试大学党委"]["党员数"] == Member.objects.count()
    assert table["测试大学党委"]["台账条数"] == LedgerEntry.objects.filter(year=w.year).count()
    notes = " ".join(str(r[0]) for r in rows(book["说明"]) if r[0])
    assert "待评议流程上线后" in notes


def test_publicity_evaluation_and_board_lists_follow_the_ranks(io_world):
    w = io_world
    totals = list(MemberYearTotal.objects.filter(branch=w.A1, year=w.year).order_by("rank", "member__number"))
    for kind, columns, first in (
        ("publicity", exports.PUBLICITY_COLUMNS, "序号"),
        ("evaluation", exports.EVALUATION_COLUMNS, "序号"),
        ("board", exports.BOARD_HEAD, "排名"),
    ):
        sheet = build(kind, w.A1, w.year).worksheets[0]
        head = header_row(sheet, first)
        headers = rows(sheet)[head - 1]
        assert headers[: len(columns)] == [c.header for c in columns]
        body = [r for r in rows(sheet)[head:] if isinstance(r[0], int)]
        numbers = [r[headers.index("学号/工号")] for r in body]
        assert numbers == [t.member.number for t in totals], kind
        assert [r[headers.index("年度总分")] for r in body] == [t.total / 100 for t in totals]
    evaluation = build("evaluation", w.A1, w.year).worksheets[0]
    assert "预警" in [r[8] for r in rows(evaluation)]


def test_a_member_without_entries_or_scheme_still_gets_a_sheet(io_world):
    w = io_world
    [extra] = add_members(w.B1, 1, start=90)
    recalculate_branch(branch=w.B1, year=w.year)
    sheet = build("branch_workbook", w.B1, w.year)[f"{extra.number} {extra.name}"]
    text = [v for row in rows(sheet) for v in row if v]
    assert "本年度暂无记分记录" in text


def _grow(world, branch, count):
    """More members with a ledger line each, added without per-row services (test data)."""
    members = add_members(branch, count, start=500)
    item = world.schemes[branch.code].items.get(code="A-C02")
    ledger_append_many(
        [
            LedgerEntry(
                member=m,
                item=item,
                period=world.period,
                year=world.year,
                kind=item.kind,
                points=200,
                reason="批量",
                source="recorder",
                recorded_by=world.recorder,
                occurred_on=world.period.starts_on,
            )
            for m in members
        ],
        actor=world.admin,
        reason="测试数据",
    )
    recalculate_branch(branch=branch, year=world.year)


@pytest.mark.parametrize(
    ("kind", "queries"),
    [("branch_workbook", 9), ("flat_ledger", 2), ("committee", 7), ("publicity", 4), ("evaluation", 4), ("board", 4)],
)
def test_an_export_takes_the_same_queries_at_any_size(io_world, django_assert_num_queries, kind, queries):
    w = io_world
    org = w.U if kind == "committee" else w.A1
    with django_assert_num_queries(queries):
        build(kind, org, w.year)
    _grow(w, w.A1, 12)
    with django_assert_num_queries(queries):
        build(kind, org, w.year)


def test_the_summary_and_the_board_name_the_organization_departments_reminder_talk(io_world, login):
    from members import services as member_services

    w = io_world
    cadre = w.a1_members[2]
    member_services.member_update(actor=w.org_department, member=cadre, data={"is_cadre": True}, reason="任职")
    scoring_services.entry_record(
        actor=w.recorder, member=cadre, item=w.items["A-B04"], period=w.period, points=20, reason="违反纪律"
    )
    assert MemberOutcome.objects.filter(member=cadre, rule_code="A-CADRE-TALK").exists()
    summary = build("branch_workbook", w.A1, w.year)["汇总"]
    line = "｜".join(str(c) for c in next(r for r in rows(summary) if cadre.number in r))
    assert "提醒谈话" in line and not re.search("(?<!提醒)(?<!诫勉)谈话", line)
    member_sheet = rows(build("branch_workbook", w.A1, w.year)[f"{cadre.number} {cadre.name}"])
    assert any(str(r[1]).startswith("提醒谈话：") for r in labelled_rows(member_sheet, "积分结果"))
    board = login(w.secretary).get(reverse("board", args=[w.A1.pk]) + f"?year={w.year}").content.decode()
    assert "提醒谈话</span>" in board and ">谈话</span>" not in board


def labelled_rows(sheet_rows, label):
    return [row for row in sheet_rows if row and row[0] == label]
