import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from members import tree
from members.models import Member, User
from members.roster import read_spreadsheet, roster_import
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent

HEADERS = [
    "学号/工号",
    "姓名",
    "所属党支部",
    "类别",
    "党员身份",
    "预备期开始日期",
    "是否党员干部",
    "入党日期",
    "转入本支部日期",
    "手机",
    "邮箱",
    "党小组",
    "干部职务",
]
GOOD = [
    ["N001", "李明", "A1", "教职工", "正式党员", "", "是", "2010-07-01", "", "13800000001", "lm@x.edu.cn"],
    ["N002", "王芳", "甲一支部", "学生", "预备党员", "2024/6/1", "否", "2024-06-01", "", "", ""],
    ["0203", "赵强", "A1", "学生", "正式党员", "", "", "2022年7月1日", "", "", ""],
]


def xlsx(rows, headers=HEADERS):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("roster.xlsx", buffer.getvalue())


def run(actor, rows, confirm=True, headers=HEADERS, password=None):
    return roster_import(
        actor=actor, dataset=read_spreadsheet(xlsx(rows, headers)), confirm=confirm, account_password=password
    )


def test_a_good_file_is_checked_without_writing_then_imported(world):
    before = Member.objects.count()
    checked = run(world.secretary, GOOD, confirm=False)
    assert checked.ok and checked.created == 0 and Member.objects.count() == before
    done = run(world.secretary, GOOD, password="Initial#2026x")
    assert done.ok and done.created == 3
    wang = Member.objects.get(number="N002")
    assert wang.branch == world.A1 and wang.status == "probationary" and str(wang.probation_start) == "2024-06-01"
    assert Member.objects.get(number="0203").joined_party_on.isoformat() == "2022-07-01"
    assert Member.objects.get(number="N001").is_cadre
    account = User.objects.get(username="N001")
    assert account.must_change_password and account.check_password("Initial#2026x")
    assert AuditEvent.objects.filter(action="member.create", actor=world.secretary).count() == 3
    assert AuditEvent.objects.filter(action="roster.import", actor=world.secretary).exists()


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (["N009", "", "A1", "教职工", "正式党员"], "姓名", "不能为空"),
        (["N009", "某人", "Z9", "教职工", "正式党员"], "所属党支部", "找不到党支部“Z9”"),
        (["N009", "某人", "B1", "教职工", "正式党员"], "所属党支部", "不在您的管理范围内"),
        (["N009", "某人", "A", "教职工", "正式党员"], "所属党支部", "找不到党支部“A”"),
        (["A1-00001", "某人", "A1", "教职工", "正式党员"], "学号/工号", "该学号/工号已存在"),
        (["N009", "某人", "A1", "干部", "正式党员"], "类别", "不是有效选项"),
        (["N009", "某人", "A1", "教职工", "正式党员", "", "", "2024-13-45"], "入党日期", "无法识别"),
        (["N009", "某人", "A1", "教职工", "预备党员"], "预备期开始日期", "预备党员须填写预备期开始日期"),
        (["", "某人", "A1", "教职工", "正式党员"], "学号/工号", "不能为空"),
        (["N009", "某人", "A1", "教职工", "正式党员", "", "也许"], "是否党员干部", "应填“是”或“否”"),
        (
            ["N009", "某人", "A1", "教职工", "正式党员", "", "", "", "", "", "not-an-email"],
            "邮箱",
            "请输入合法的邮件地址",
        ),
    ],
)
def test_each_bad_row_is_named_by_row_column_and_reason(world, row, column, message):
    row = row + [""] * (len(HEADERS) - len(row))
    result = run(world.secretary, [*GOOD, row])
    assert not result.ok and result.created == 0
    assert [(e.row, e.column) for e in result.errors] == [(5, column)]
    assert message in result.errors[0].message
    assert not Member.objects.filter(number__in=["N001", "N002", "0203", "N009"]).exists()


def test_a_number_twice_in_one_file_is_an_error(world):
    result = run(world.secretary, [GOOD[0], GOOD[0]])
    assert [(e.row, e.column) for e in result.errors] == [(3, "学号/工号")]
    assert not Member.objects.filter(number="N001").exists()


def test_a_number_twice_is_flagged_even_when_its_first_row_is_invalid(world):
    bad_first = ["N001", "", *GOOD[0][2:]]  # no name
    result = run(world.secretary, [bad_first, GOOD[0]])
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (2, "姓名", "不能为空"),
        (3, "学号/工号", "该学号/工号已存在"),
    ]
    assert not Member.objects.filter(number="N001").exists()


def test_the_organization_department_imports_into_any_branch(world):
    result = run(world.org_department, [["N100", "某人", "B1", "学生", "正式党员"] + [""] * 6])
    assert result.ok and Member.objects.get(number="N100").branch == world.B1


def test_missing_columns_are_named(world):
    result = run(world.secretary, [["N1", "某人"]], headers=["学号/工号", "姓名"])
    assert result.errors[0].column == "所属党支部、类别、党员身份"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("roster.csv", b"a,b", "请上传 Excel 文件"),
        ("roster.xlsx", b"not a zip at all", "不是有效的 Excel"),
    ],
)
def test_a_file_that_is_not_a_workbook_gets_a_clear_error(name, content, message):
    with pytest.raises(ApplicationError, match=message):
        read_spreadsheet(SimpleUploadedFile(name, content))


def test_an_oversized_upload_is_refused(settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 10
    with pytest.raises(ApplicationError, match="文件过大"):
        read_spreadsheet(SimpleUploadedFile("roster.xlsx", b"x" * 11))


def test_the_pages_check_then_confirm(world, login):
    client = login(world.secretary)
    response = client.post(reverse("roster_import"), {"file": xlsx(GOOD)})
    assert response.status_code == 200 and "检查通过" in response.content.decode()
    assert not Member.objects.filter(number="N001").exists()
    response = client.post(reverse("roster_import_confirm"), {"token": response.context["token"]})
    assert response.status_code == 302
    assert Member.objects.filter(number__in=["N001", "N002", "0203"]).count() == 3


def test_the_page_lists_every_error_and_offers_no_confirmation(world, login):
    client = login(world.secretary)
    bad = ["N009", "", "B1", "教职工", "正式党员"] + [""] * 6
    response = client.post(reverse("roster_import"), {"file": xlsx([*GOOD, bad])})
    page = response.content.decode()
    assert response.status_code == 400
    assert "第 5 行" in page and "姓名" in page and "不在您的管理范围内" in page
    assert reverse("roster_import_confirm") not in page


def test_a_confirmation_without_a_checked_file_writes_nothing(world, login):
    client = login(world.secretary)
    response = client.post(reverse("roster_import_confirm"), {"token": "forged"})
    assert response.status_code == 302 and Member.objects.count() == 12


def test_the_template_downloads_with_chinese_headers(world, login):
    response = login(world.secretary).get(reverse("roster_template"))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[1]] == HEADERS


def test_the_party_group_column_is_read_and_exported(world, login):
    rows = [[*GOOD[0], "第一党小组"], [*GOOD[1], ""], GOOD[2]]  # a short row leaves the column empty
    assert run(world.secretary, rows).ok
    assert dict(Member.objects.filter(number__in=["N001", "N002"]).values_list("number", "party_group")) == {
        "N001": "第一党小组",
        "N002": "",
    }
    response = login(world.secretary).get(reverse("member_export", args=[world.A1.pk]))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    column = [c.value for c in sheet[1]].index("党小组")
    assert "第一党小组" in [row[column].value for row in sheet.iter_rows(min_row=2)]


def test_a_closed_branch_takes_no_imported_members(world):
    tree.organization_merge(
        actor=world.org_department, source=world.A2, target=world.A1, merged_on=datetime.date.today(), reason="合并"
    )
    result = run(world.org_department, [GOOD[0], ["N009", "某人", "A2", "教职工", "正式党员"]])
    assert [(e.row, e.column) for e in result.errors] == [(3, "所属党支部")]
    assert "已于" in result.errors[0].message and "撤销" in result.errors[0].message
    assert not Member.objects.filter(number__in=["N001", "N009"]).exists()
