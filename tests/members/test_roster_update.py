"""The roster import's update mode: rows matched by 学号/工号 are new, changed (old → new per column)
or unchanged; changes go through the member page's edit service, leavings through the status
service, each audited with the import's reason; all or nothing; the export re-imports unchanged."""

import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from members.models import Member, MemberStatusEvent, User
from members.roster import read_spreadsheet, roster_update
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent

REASON = "2026 年秋季名册核对"


def exported(client, branch):
    """The branch's roster export as (headers, rows of cell values)."""
    response = client.get(reverse("member_export", args=[branch.pk]))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    return rows[0], rows[1:]


def xlsx(headers, rows):
    book = openpyxl.Workbook()
    book.active.append(headers)
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("roster.xlsx", buffer.getvalue())


def update(actor, headers, rows, confirm=True, reason=REASON):
    return roster_update(actor=actor, dataset=read_spreadsheet(xlsx(headers, rows)), confirm=confirm, reason=reason)


def cell(headers, row, column, value):
    row[headers.index(column)] = value


def with_leaving(headers, rows):
    return [*headers, "离开原因", "离开日期"], [[*row, "", ""] for row in rows]


@pytest.fixture
def sheet(world, login):
    return exported(login(world.secretary), world.A1)


def test_the_export_re_imports_in_update_mode_all_unchanged(world, sheet):
    headers, rows = sheet
    before = AuditEvent.objects.count()
    result = update(world.secretary, headers, rows)
    assert result.ok, result.errors
    assert (len(result.new), len(result.changed), len(result.unchanged)) == (0, 0, len(world.a1_members))
    assert not AuditEvent.objects.filter(action="member.edit").exists()
    assert AuditEvent.objects.count() == before + 1  # the import's own summary only


def test_a_good_file_shows_new_changed_and_unchanged_then_writes_each_change_audited(world, sheet):
    headers, rows = sheet
    plain, cadre = world.a1_members[3], world.a1_members[2]
    by_number = {row[0]: row for row in rows}
    cell(headers, by_number[plain.number], "手机", "13900000003")
    cell(headers, by_number[plain.number], "党小组", "第二党小组")
    cell(headers, by_number[cadre.number], "是否党员干部", "是")
    cell(headers, by_number[cadre.number], "干部职务", "学院办公室主任")
    new = ["N900", "新党员", "A1", "学生", "正式党员", "", "否", "2024-06-01", "", "", "", "", ""]
    checked = update(world.secretary, headers, [*rows, new], confirm=False)
    assert checked.ok, checked.errors
    assert [row for row, _raw in checked.new] == [len(rows) + 2]
    differences = {c.member.number: c.differences for c in checked.changed}
    assert differences == {
        plain.number: [("手机", "", "13900000003"), ("党小组", "", "第二党小组")],
        cadre.number: [("是否党员干部", "否", "是"), ("干部职务", "", "学院办公室主任")],
    }
    assert len(checked.unchanged) == len(rows) - 2
    assert not Member.objects.filter(number="N900").exists()  # the check writes nothing
    plain.refresh_from_db()
    assert plain.phone == "" and not AuditEvent.objects.filter(action="member.edit").exists()

    done = update(world.secretary, headers, [*rows, new])
    assert done.ok and (done.created, done.updated, done.left) == (1, 2, 0)
    plain.refresh_from_db()
    assert (plain.phone, plain.party_group) == ("13900000003", "第二党小组")
    edit = AuditEvent.objects.get(action="member.edit", target_id=str(plain.pk))
    assert edit.before == {"phone": "", "party_group": ""}
    assert edit.after == {"phone": "13900000003", "party_group": "第二党小组"}
    assert edit.reason == REASON and edit.actor == world.secretary
    assert AuditEvent.objects.get(action="member.edit", target_id=str(cadre.pk)).after == {
        "is_cadre": True,
        "cadre_post": "学院办公室主任",
    }
    assert Member.objects.get(number="N900").branch == world.A1
    summary = AuditEvent.objects.get(action="roster.update")
    assert summary.after == {"created": 1, "updated": 2, "left": 0, "unchanged": len(rows) - 2}


def test_a_changed_branch_or_status_is_refused_and_nothing_is_written(world, sheet):
    headers, rows = sheet
    cell(headers, rows[0], "所属党支部", "A2")
    cell(headers, rows[1], "党员身份", "预备党员")
    cell(headers, rows[2], "入党日期", "2020-07-01")
    cell(headers, rows[3], "姓名", "改名")
    result = update(world.org_department, headers, rows)
    assert not result.ok
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert "组织关系转接" in messages[(2, "所属党支部")]
    assert "记录身份变化" in messages[(3, "党员身份")]
    assert "不能在更新中修改" in messages[(4, "入党日期")]
    assert (5, "姓名") not in messages
    assert Member.objects.filter(name="改名").count() == 0
    assert not AuditEvent.objects.filter(action__in=["member.edit", "roster.update"]).exists()


def test_bad_rows_are_named_by_row_and_column(world, sheet):
    headers, rows = sheet
    cell(headers, rows[0], "邮箱", "not-an-address")
    cell(headers, rows[1], "类别", "干部")
    cell(headers, rows[2], "姓名", "")
    outsider = world.b1_members[0]
    stranger = list(rows[3])
    stranger[0] = outsider.number
    result = update(world.secretary, headers, [*rows, stranger, ["N901", "", "A1", "学生", "正式党员"]])
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert messages[(2, "邮箱")] == "请输入合法的邮件地址"
    assert "不是有效选项" in messages[(3, "类别")]
    assert messages[(4, "姓名")] == "不能为空"
    assert messages[(len(rows) + 2, "学号/工号")] == f"学号/工号“{outsider.number}”的党员不在您的管理范围内"
    assert outsider.name not in str(result.errors)  # nothing about a member out of scope
    assert messages[(len(rows) + 3, "姓名")] == "不能为空"  # a new row is checked as in the add mode


def test_a_reason_is_required(world, sheet):
    with pytest.raises(ApplicationError, match="请写明修改原因"):
        update(world.secretary, *sheet, reason=" ")


def test_a_graduating_class_is_marked_as_left_from_one_file(world, sheet):
    headers, rows = with_leaving(*sheet)
    graduates = world.a1_members[2:4]
    for row in rows:
        if row[0] in {m.number for m in graduates}:
            cell(headers, row, "离开原因", "毕业离校")
            cell(headers, row, "离开日期", "2026-07-01")
    checked = update(world.secretary, headers, rows, confirm=False)
    assert checked.ok, checked.errors
    assert {c.member.number: c.differences for c in checked.changed} == {
        m.number: [("离开原因", "", "毕业离校"), ("离开日期", "", "2026-07-01")] for m in graduates
    }
    assert not MemberStatusEvent.objects.exists()
    done = update(world.secretary, headers, rows)
    assert done.ok and (done.updated, done.left) == (0, 2)
    for member in graduates:
        member.refresh_from_db()
        assert member.left_on == datetime.date(2026, 7, 1)
        event = MemberStatusEvent.objects.get(member=member)
        assert (event.kind, event.reason, event.recorded_by) == ("graduated", REASON, world.secretary)
        audit = AuditEvent.objects.get(action="member.status.graduated", target_id=str(member.pk))
        assert audit.before["left_on"] is None and audit.after["left_on"] == "2026-07-01"
    again = update(world.secretary, headers, rows)  # the same file twice: they have left already
    assert {(e.row, e.column) for e in again.errors} == {(r, "离开原因") for r in (4, 5)}
    assert "离开党组织" in again.errors[0].message and MemberStatusEvent.objects.count() == 2


@pytest.mark.parametrize(
    ("kind", "date", "column", "message"),
    [
        ("开除党籍", "2026-07-01", "离开原因", "“开除党籍”不是有效选项，应为：毕业离校、组织关系转出学校"),
        ("毕业", "2026-07-01", "离开原因", "不是有效选项"),
        ("毕业离校", "", "离开日期", "不能为空"),
        ("", "2026-07-01", "离开原因", "不能为空"),
        ("组织关系转出学校", "明年", "离开日期", "无法识别"),
        ("毕业离校", "future", "离开日期", "日期不能晚于今天"),
    ],
)
def test_bad_leaving_cells_are_named(world, sheet, kind, date, column, message):
    headers, rows = with_leaving(*sheet)
    if date == "future":
        date = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    cell(headers, rows[3], "离开原因", kind)
    cell(headers, rows[3], "离开日期", date)
    result = update(world.secretary, headers, rows)
    assert [(e.row, e.column) for e in result.errors] == [(5, column)] and message in result.errors[0].message
    assert not MemberStatusEvent.objects.exists()


def test_a_new_member_cannot_leave_in_the_same_file(world, sheet):
    headers, rows = with_leaving(*sheet)
    new = ["N902", "新党员", "A1", "学生", "正式党员", "", "否", "", "", "", "", "", "", "毕业离校", "2026-07-01"]
    result = update(world.secretary, headers, [*rows, new])
    assert [(e.row, e.column) for e in result.errors] == [(len(rows) + 2, "离开原因")]
    assert not Member.objects.filter(number="N902").exists()


def test_a_refusal_while_writing_undoes_every_row(world, sheet, monkeypatch):
    from members import roster

    headers, rows = with_leaving(*sheet)
    cell(headers, rows[2], "手机", "13900000001")
    cell(headers, rows[3], "离开原因", "毕业离校")
    cell(headers, rows[3], "离开日期", "2026-07-01")

    def refuse(**kwargs):
        raise ApplicationError("该党员已于 2026-06-30 离开党组织，不能再记录身份变化")

    monkeypatch.setattr(roster, "member_status_record", refuse)
    result = update(world.secretary, headers, rows)
    assert [(e.row, e.column) for e in result.errors] == [(5, "—")] and result.updated == 0
    assert Member.objects.get(pk=world.a1_members[2].pk).phone == ""
    assert not AuditEvent.objects.filter(action__in=["member.edit", "roster.update"]).exists()


def test_the_check_step_query_count_does_not_grow_with_the_file(world, sheet, django_assert_num_queries):
    from tests.builders import add_members

    headers, rows = sheet
    small = read_spreadsheet(xlsx(headers, rows))
    extra = add_members(world.A1, 40, start=100)
    large_rows = rows + [
        [m.number, m.name, "甲一支部", "教职工", "正式党员", "", "否", "", "", "", "", "", ""] for m in extra
    ]
    large = read_spreadsheet(xlsx(headers, large_rows))
    for dataset in (small, large):
        actor = User.objects.get(pk=world.secretary.pk)  # its permissions not yet read
        with django_assert_num_queries(3):  # the actor's permissions, the branches, the members named
            result = roster_update(actor=actor, dataset=dataset, confirm=False, reason=REASON)
        assert result.ok, result.errors


def test_the_pages_check_in_update_mode_then_confirm(world, login, sheet):
    client = login(world.secretary)
    headers, rows = sheet
    cell(headers, rows[3], "手机", "13900000009")
    page = client.post(reverse("roster_import"), {"mode": "update", "reason": REASON, "file": xlsx(headers, rows)})
    assert page.status_code == 200
    text = page.content.decode()
    assert "新增 0 名，修改 1 名，未变 3 名" in text and "13900000009" in text
    assert Member.objects.get(pk=world.a1_members[3].pk).phone == ""
    done = client.post(reverse("roster_import_confirm"), {"token": page.context["token"]})
    assert done.status_code == 302
    assert Member.objects.get(pk=world.a1_members[3].pk).phone == "13900000009"
    assert AuditEvent.objects.get(action="member.edit").reason == REASON


def test_the_update_mode_needs_a_reason_on_the_page(world, login, sheet):
    page = login(world.secretary).post(reverse("roster_import"), {"mode": "update", "file": xlsx(*sheet)})
    assert page.status_code == 400 and "请写明修改原因" in page.content.decode()
