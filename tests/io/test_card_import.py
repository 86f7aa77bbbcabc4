"""The score-card import: template, dry run, confirm; every bad-row kind by row, column and reason."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from partyscore.core.models import AuditEvent
from partyscore.core.xlsx_safety import read_sheet
from scoring import card_import as cards
from scoring import services as scoring
from scoring.models import LedgerEntry, MemberYearTotal

from .conftest import open_xlsx, xlsx_upload

HEADERS = list(cards.COLUMNS)


def card(
    world,
    member,
    item="A-C02 参加志愿服务、奉献社会",
    points=2,
    reason="社区志愿服务",
    *,
    period=None,
    kind="",
    name=None,
    date=None,
):
    year = world.year
    return [
        member.number,
        member.name if name is None else name,
        period or f"{year}年第一学期",
        kind,
        item,
        points,
        reason,
        date or f"{year}-03-01",
    ]


def run(actor, rows, *, confirm=True, headers=HEADERS):
    return cards.card_import(
        actor=actor, sheet=read_sheet(xlsx_upload(rows, headers).read(), max_rows=100), confirm=confirm
    )


def test_a_good_card_file_is_checked_without_writing_then_recorded(io_world):
    w = io_world
    first, second = w.a1_members[2], w.a1_members[3]
    rows = [
        card(w, first, points=3),
        card(w, first, "A-B01", 2, "缺席组织生活", kind="基础"),
        card(w, second, "A-C05", "1", "宣讲"),
        card(w, second, "A-B02 按时足额交纳党费", -2, "未按时交纳党费"),
    ]
    before = LedgerEntry.objects.count()
    checked = run(w.recorder, rows, confirm=False)
    assert checked.ok and checked.created == 0 and len(checked.rows) == 4
    assert LedgerEntry.objects.count() == before
    done = run(w.recorder, rows)
    assert done.ok and done.created == 4
    imported = LedgerEntry.objects.filter(source="import").order_by("id")
    assert [(e.member, e.item.code, e.points) for e in imported] == [
        (first, "A-C02", 300),
        (first, "A-B01", -200),
        (second, "A-C05", 100),
        (second, "A-B02", -200),
    ]
    assert all(e.recorded_by == w.recorder and str(e.occurred_on).endswith("03-01") for e in imported)
    assert AuditEvent.objects.filter(action="ledger.record", actor=w.recorder, after__source="import").count() == 4
    assert AuditEvent.objects.filter(action="ledger.import", actor=w.recorder, after__created=4).exists()
    total = MemberYearTotal.objects.get(member=first, year=w.year)
    assert total.period_scores["1"] == 6000 - 200 + 300


def bad_cases(w):
    """(row, column, reason) for each kind of bad row; the row is put last after two good ones."""
    a1, b1 = w.a1_members[2], w.b1_members[1]
    return {
        "unknown member": (
            [["NOPE-1", "", f"{w.year}年第一学期", "", "A-C02", 2, "x", ""]],
            "学号/工号",
            "找不到学号/工号为“NOPE-1”的党员",
        ),
        "out of scope": ([card(w, b1)], "学号/工号", "不在您的记分范围内"),
        "name mismatch": ([card(w, a1, name="张冠李戴")], "姓名", "与学号/工号不符"),
        "unknown period": ([card(w, a1, period="2099年第九学期")], "周期", "找不到周期"),
        "wrong period kind": ([card(w, a1, period=f"{w.year}年第一季度")], "周期", "本细则按学期记分"),
        "item not in scheme": (
            [card(w, a1, "B-ADD-01 宣传落实党的路线方针政策")],
            "项目",
            "不在本支部已批准的评分细则中",
        ),
        "category mismatch": ([card(w, a1, kind="减分")], "类别", "与项目不符"),
        "evidence required": ([card(w, a1, "A-C01")], "项目", "须上传佐证材料"),
        "points out of bounds": ([card(w, a1, points=9)], "分值", "每次分值应在 1—5 分之间"),
        "points not a number": ([card(w, a1, points="两分")], "分值", "分值须为数字"),
        "negative bonus": ([card(w, a1, points=-2)], "分值", "请填写正数"),
        "cap exceeded by rows above": ([card(w, a1, "A-B01", 5, "缺席")] * 5, "分值", "本期累计不能超过 20 分"),
        "times exceeded by a row above": ([card(w, a1, "A-B02", 2, "欠缴")] * 2, "项目", "每期最多记 1 次"),
        "no reason": ([card(w, a1, reason="")], "事由", "请填写记分事由"),
        "bad date": ([card(w, a1, date="明天")], "发生日期", "无法识别"),
        "date outside the period": ([card(w, a1, date=f"{w.year}-10-01")], "发生日期", "应在"),
    }


CASES = [
    "unknown member",
    "out of scope",
    "name mismatch",
    "unknown period",
    "wrong period kind",
    "item not in scheme",
    "category mismatch",
    "evidence required",
    "points out of bounds",
    "points not a number",
    "negative bonus",
    "cap exceeded by rows above",
    "times exceeded by a row above",
    "no reason",
    "bad date",
    "date outside the period",
]


@pytest.mark.parametrize("case", CASES)
def test_each_bad_row_is_named_by_row_column_and_reason_and_nothing_is_written(io_world, case):
    w = io_world
    bad_rows, column, message = bad_cases(w)[case]
    good = [card(w, w.a1_members[0]), card(w, w.a1_members[1], "A-C04", 1, "结对帮扶")]
    before = LedgerEntry.objects.count()
    result = run(w.secretary, [*good, *bad_rows])
    last = 1 + len(good) + len(bad_rows)
    assert not result.ok and result.created == 0
    assert [(e.row, e.column) for e in result.errors] == [(last, column)], result.errors
    assert message in result.errors[0].message
    assert LedgerEntry.objects.count() == before


def test_a_closed_period_and_a_closed_member_are_refused(io_world):
    w = io_world
    scoring.period_lock(actor=w.org_department, period=w.period, committee=w.U)
    result = run(w.secretary, [card(w, w.a1_members[0])])
    assert [(e.column, "已锁定" in e.message) for e in result.errors] == [("周期", True)]
    scoring.period_reopen(actor=w.org_department, period=w.period, committee=w.U, reason="补录")
    from tests.scoring.helpers import exempt

    exempt(w, w.a1_members[1])
    result = run(w.secretary, [card(w, w.a1_members[1])])
    assert [(e.column, e.message) for e in result.errors] == [("学号/工号", "该党员已免于记分")]


def test_every_bad_row_is_reported_not_only_the_first(io_world):
    w = io_world
    a1 = w.a1_members[0]
    result = run(w.secretary, [card(w, a1, points=9), card(w, a1), card(w, a1, reason="", points="x")])
    assert [(e.row, e.column) for e in result.errors] == [(2, "分值"), (4, "分值"), (4, "事由")]


def test_when_the_authoritative_check_disagrees_the_whole_file_is_rolled_back(io_world, monkeypatch):
    w = io_world
    monkeypatch.setattr(cards, "_check_bounds", lambda *args: [])  # a dry run that misses a bound
    before = LedgerEntry.objects.count()
    result = run(w.secretary, [card(w, w.a1_members[0]), card(w, w.a1_members[1], points=9)])
    assert not result.ok and result.created == 0
    assert [(e.row, e.column) for e in result.errors] == [(3, "—")] and "1—5" in result.errors[0].message
    assert LedgerEntry.objects.count() == before
    assert not AuditEvent.objects.filter(action="ledger.import").exists()


def test_each_affected_branch_is_recalculated_once(io_world, monkeypatch):
    w = io_world
    calls = []
    real = cards.recalculate_branch
    monkeypatch.setattr(cards, "recalculate_branch", lambda **kw: calls.append(kw["branch"].code) or real(**kw))
    rows = [card(w, m) for m in (*w.a1_members[:3], w.b1_members[0], w.b1_members[1])]
    assert run(w.org_department, rows).created == 5
    assert sorted(calls) == ["A1", "B1"]


def test_missing_columns_and_empty_files_are_reported(io_world):
    w = io_world
    result = run(w.secretary, [["A1-00001", "x"]], headers=["学号/工号", "姓名"])
    assert [(e.row, e.column) for e in result.errors] == [(1, "周期、项目、分值、事由")]
    assert run(w.secretary, [], confirm=False).errors[0].message == "文件中没有记分数据"
    with pytest.raises(PermissionDenied):
        run(w.panel, [card(w, w.a1_members[0])])


def test_the_template_has_chinese_headers_drop_downs_and_the_branchs_items(io_world, login):
    w = io_world
    response = login(w.recorder).get(reverse("card_template", args=[w.A1.pk]))
    assert response.status_code == 200
    book = open_xlsx(response.content)
    assert book.sheetnames == ["积分卡", "项目", "周期", "党员", "说明"]
    sheet = book["积分卡"]
    assert [c.value for c in sheet[1]] == HEADERS
    validations = {str(v.sqref).split(":")[0]: v for v in sheet.data_validations.dataValidation}
    assert set(validations) >= {"C2", "D2", "E2"}
    assert validations["D2"].formula1 == '"基础,加分/贡献,减分,一票否决"'
    assert validations["E2"].formula1.startswith("'项目'!$A$2")
    options = [r[0] for r in book["项目"].iter_rows(min_row=2, values_only=True)]
    assert options == [cards.item_option(i) for i in w.schemes["A1"].items.all()]
    assert [r[0] for r in book["党员"].iter_rows(min_row=2, values_only=True)] == [m.number for m in w.a1_members]
    assert f"{w.year}年第一学期" in [r[0] for r in book["周期"].iter_rows(min_row=2, values_only=True)]


def test_a_filled_in_template_imports(io_world, login):
    """The template round-trips: its own drop-down values are what the import accepts."""
    import io

    w = io_world
    content = login(w.recorder).get(reverse("card_template", args=[w.A1.pk])).content
    book = open_xlsx(content)
    sheet = book["积分卡"]
    option = [r[0] for r in book["项目"].iter_rows(min_row=2, values_only=True)][6]  # A-C02
    sheet.append(
        [w.a1_members[0].number, w.a1_members[0].name, f"{w.year}年第一学期", "加分/贡献", option, 1, "模板导入", None]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    result = cards.card_import(actor=w.recorder, sheet=read_sheet(buffer.getvalue(), max_rows=6000), confirm=True)
    assert result.ok and result.created == 1


def test_the_pages_check_then_confirm(io_world, login):
    w = io_world
    client = login(w.secretary)
    response = client.post(reverse("card_import"), {"file": xlsx_upload([card(w, w.a1_members[0])], HEADERS)})
    assert response.status_code == 200 and "检查通过" in response.content.decode()
    assert not LedgerEntry.objects.filter(source="import").exists()
    response = client.post(reverse("card_import_confirm"), {"token": response.context["token"]})
    assert response.status_code == 302
    assert LedgerEntry.objects.filter(source="import", recorded_by=w.secretary).count() == 1
    again = client.post(reverse("card_import_confirm"), {"token": "stale"})
    assert again.status_code == 302 and LedgerEntry.objects.filter(source="import").count() == 1


def test_the_page_lists_every_error_and_offers_no_confirmation(io_world, login):
    w = io_world
    client = login(w.secretary)
    rows = [card(w, w.a1_members[0]), card(w, w.b1_members[0], points=9)]
    response = client.post(reverse("card_import"), {"file": xlsx_upload(rows, HEADERS)})
    page = response.content.decode()
    assert response.status_code == 400 and "第 3 行" in page and "不在您的记分范围内" in page
    assert 'name="token"' not in page and "token" not in response.context


def test_the_upload_still_requires_the_csrf_token(io_world):
    """The upload view takes CSRF off its outer layer only to install the size limiter first."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(io_world.secretary)
    upload = xlsx_upload([card(io_world, io_world.a1_members[0])], HEADERS)
    assert client.post(reverse("card_import"), {"file": upload}).status_code == 403
    page = client.get(reverse("card_import"))
    token = page.cookies["csrftoken"].value
    upload = xlsx_upload([card(io_world, io_world.a1_members[0])], HEADERS)
    response = client.post(reverse("card_import"), {"file": upload, "csrfmiddlewaretoken": token})
    assert response.status_code == 200 and "检查通过" in response.content.decode()


def test_an_item_code_in_both_schemes_is_named_per_scheme_and_the_code_alone_is_enough(io_world, login):
    w = io_world
    scoring.scheme_preset_load(actor=w.org_department, preset="A-student", year=w.year, owner=w.U)
    book = open_xlsx(login(w.recorder).get(reverse("card_template", args=[w.A1.pk])).content)
    options = [r[0] for r in book["项目"].iter_rows(min_row=2, values_only=True)]
    assert len(options) == len(set(options))
    b04 = [o for o in options if o.startswith("A-B04 ")]
    assert sorted(b04) == ["A-B04 遵守党的纪律和校规校纪（学生）", "A-B04 遵守党的纪律和规矩（教职工）"]
    assert [o for o in options if o.startswith("A-B01 ")] == ["A-B01 按时参加组织生活和“三会一课”"]  # same item
    staff = w.a1_members[2]
    ok = run(
        w.recorder,
        [card(w, staff, "A-B04 遵守党的纪律和规矩（教职工）", 5, "违纪"), card(w, staff, "A-B04", 5, "违纪")],
        confirm=False,
    )
    assert ok.ok and [r.item.title for r in ok.rows] == ["遵守党的纪律和规矩"] * 2
    wrong = run(w.recorder, [card(w, staff, "A-B04 遵守党的纪律和校规校纪（学生）", 5, "违纪")], confirm=False)
    assert [(e.row, e.column) for e in wrong.errors] == [(2, "项目")]
    message = wrong.errors[0].message
    assert "不适用于该党员（教职工）" in message and "A-B04 为“遵守党的纪律和规矩”" in message


def test_the_template_offers_every_open_years_periods_and_lets_a_typed_value_stand(io_world, login):
    w = io_world
    earlier = w.year - 1
    scoring.cycle_open(actor=w.org_department, year=earlier, committee=w.U)
    scoring.scheme_preset_load(actor=w.org_department, preset="A-staff", year=earlier, owner=w.U)
    book = open_xlsx(login(w.recorder).get(reverse("card_template", args=[w.A1.pk])).content)
    periods = [r[0] for r in book["周期"].iter_rows(min_row=2, values_only=True)]
    assert periods[:2] == [f"{w.year}年第一学期", f"{w.year}年第二学期"]
    assert f"{earlier}年第一学期" in periods and f"{earlier}年第二学期" in periods
    validations = {str(v.sqref).split(":")[0]: v for v in book["积分卡"].data_validations.dataValidation}
    assert validations["C2"].formula1.endswith(f"${len(periods) + 1}")
    assert {validations[c].errorStyle for c in ("C2", "D2", "E2")} == {"warning"}
    result = run(
        w.recorder,
        [card(w, w.a1_members[2], "A-C02", 2, "志愿服务", period=f"{earlier}年第一学期", date=f"{earlier}-03-01")],
    )
    assert result.ok and result.created == 1
