"""The tree and appointments workbook (members/tree_import.py): a good file checked then written, each
bad row named by sheet, row and column, nothing written on any error, and the pages' two steps."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from members import permissions as perms
from members.models import Organization, Role, RoleAssignment, User
from members.tree_import import ROLE_COLUMNS, TREE_COLUMNS, read_tree_workbook, tree_import
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent
from tests.io.test_hostile_files import hostile_files, prefix

TREE = [
    ["C", "丙学院党委", "党总支/二级党委", "U", "混合"],
    ["C01", "丙学院教工第一党支部", "党支部", "C", "教职工"],
    ["A3", "甲三支部", "党支部", "A", "学生"],
]
ROLES = [
    ["T2001", "李四", "C", "党总支书记", "2026-01-01", ""],
    ["recorder", "", "C01", "记分员", "2026-01-01", "2028-12-31"],
]


def workbook(tree=None, roles=None, tree_headers=TREE_COLUMNS, role_headers=ROLE_COLUMNS):
    book = openpyxl.Workbook()
    book.active.title = "说明"
    for title, headers, rows in (("组织架构", tree_headers, tree), ("角色任命", role_headers, roles)):
        if rows is None:
            continue
        sheet = book.create_sheet(title)
        sheet.append(list(headers))
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def run(actor, confirm=True, **sheets):
    return tree_import(actor=actor, tables=read_tree_workbook(workbook(**sheets)), confirm=confirm)


def test_a_good_file_is_checked_without_writing_then_written(world):
    before = Organization.objects.count(), RoleAssignment.objects.count(), User.objects.count()
    checked = run(world.org_department, confirm=False, tree=TREE, roles=ROLES)
    assert checked.ok and len(checked.organizations) == 3 and len(checked.appointments) == 2
    assert (Organization.objects.count(), RoleAssignment.objects.count(), User.objects.count()) == before
    assert checked.passwords == []
    done = run(world.org_department, tree=TREE, roles=ROLES)
    assert done.ok
    college = Organization.objects.get(code="C")
    branch = Organization.objects.get(code="C01")
    assert college.parent == world.U and branch.parent == college and branch.category == "staff"
    assert branch.path == f"{college.path}{branch.pk:06d}/" and branch.depth == 2
    secretary = User.objects.get(username="T2001")
    assert secretary.full_name == "李四" and secretary.must_change_password
    assert [(account.username, len(password)) for account, password in done.passwords] == [("T2001", 10)]
    assert perms.has_org_perm(secretary, perms.TREE_MANAGE, branch)
    term = RoleAssignment.objects.get(user=world.recorder, organization=branch)
    assert term.role == Role.RECORDER and str(term.ends_on) == "2028-12-31"
    assert AuditEvent.objects.filter(action="organization.create", actor=world.org_department).count() == 3
    assert AuditEvent.objects.filter(action="role.assign", actor=world.org_department).count() == 2
    assert AuditEvent.objects.get(action="organization.tree_import").after["organizations"] == 3


def test_a_node_already_on_file_as_written_is_left_alone(world):
    result = run(world.org_department, tree=[["A1", "甲一支部", "党支部", "A", ""], *TREE[:1]])
    assert result.ok and result.unchanged == 1 and len(result.organizations) == 1


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (["", "某支部", "党支部", "A", ""], "组织代码", "不能为空"),
        (["A9", "", "党支部", "A", ""], "组织名称", "不能为空"),
        (["A9", "某支部", "支部", "A", ""], "层级", "不是有效选项"),
        (["A9", "某支部", "党委", "A", ""], "层级", "不是有效选项"),
        (["A9", "某支部", "党支部", "Z", ""], "上级组织代码", "找不到组织代码“Z”"),
        (["A9", "某支部", "党支部", "U", ""], "层级", "下不能设立党支部"),
        (["A9", "甲二支部", "党支部", "A", ""], "组织名称", "已有名为“甲二支部”的组织"),
        (["A2", "别的名字", "党支部", "A", ""], "组织代码", "已被使用"),
        (["A9", "某支部", "党支部", "A", "工人"], "党员类别", "不是有效选项"),
    ],
)
def test_a_bad_tree_row_is_named_by_row_and_column_and_nothing_is_written(world, row, column, message):
    before = Organization.objects.count()
    result = run(world.org_department, tree=[TREE[0], row], roles=ROLES[:1])
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [("组织架构", 3, column)]
    assert message in result.errors[0].message
    assert Organization.objects.count() == before and not User.objects.filter(username="T2001").exists()


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (["nobody", "", "A1", "记分员", "2026-01-01", ""], "姓名", "没有学号/工号为“nobody”的账号"),
        (["recorder", "", "Z9", "记分员", "2026-01-01", ""], "组织代码", "找不到组织代码“Z9”"),
        (["recorder", "", "A1", "书记", "2026-01-01", ""], "角色", "不是有效选项"),
        (["recorder", "", "A", "记分员", "2026-01-01", ""], "角色", "只能在党支部任命"),
        (["recorder", "", "A1", "记分员", "明天", ""], "任期开始", "无法识别"),
        (["recorder", "", "A1", "记分员", "2026-01-01", "2025-01-01"], "任期结束", "不能早于任期开始"),
        (["recorder", "张三", "A1", "支委委员", "2026-01-01", ""], "姓名", "不一致"),
        (["recorder", "", "A1", "记分员", "2026-01-01", ""], "—", "已是“甲一支部”的记分员"),
    ],
)
def test_a_bad_role_row_is_named_by_row_and_column_and_nothing_is_written(world, row, column, message):
    before = Organization.objects.count(), RoleAssignment.objects.count()
    result = run(world.org_department, tree=TREE, roles=[ROLES[0], row])
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [("角色任命", 3, column)]
    assert message in result.errors[0].message
    assert (Organization.objects.count(), RoleAssignment.objects.count()) == before


def test_a_general_branch_secretary_imports_inside_its_own_college_only(world):
    result = run(
        world.gb_secretary,
        tree=TREE,
        roles=[["recorder", "", "A3", "记分员", "2026-01-01", ""], ["recorder", "", "B1", "记分员", "2026-01-01", ""]],
    )
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [
        ("组织架构", 2, "上级组织代码"),
        ("组织架构", 3, "上级组织代码"),
        ("角色任命", 3, "角色"),
    ]
    assert "找不到组织代码“C”" in result.errors[1].message


def test_missing_columns_and_an_empty_workbook_are_refused(world):
    result = run(world.org_department, tree=[], tree_headers=["组织代码", "组织名称"])
    assert [(e.row, e.column, e.message) for e in result.errors] == [(1, "层级、上级组织代码", "缺少必填列")]
    with pytest.raises(ApplicationError, match="没有“组织架构”或“角色任命”工作表"):
        read_tree_workbook(workbook())


def upload(data):
    return SimpleUploadedFile("tree.xlsx", data)


def test_the_pages_check_then_confirm_and_show_the_one_time_passwords_once(world, login):
    client = login(world.org_department)
    checked = client.post(reverse("tree_import"), {"file": upload(workbook(tree=TREE, roles=ROLES))})
    assert checked.status_code == 200 and "检查通过" in checked.content.decode()
    assert not Organization.objects.filter(code="C").exists()
    token = checked.context["token"]
    done = client.post(reverse("tree_import_confirm"), {"token": token})
    page = done.content.decode()
    assert done.status_code == 200 and "已导入" in page and "T2001" in page
    assert Organization.objects.filter(code="C").exists()
    again = client.post(reverse("tree_import_confirm"), {"token": token})
    assert again.status_code == 302  # the checked file is taken once


def test_the_page_lists_every_error_with_its_row_and_column(world, login):
    client = login(world.org_department)
    bad = workbook(tree=[["A9", "", "党支部", "Z", ""]])
    response = client.post(reverse("tree_import"), {"file": upload(bad)})
    page = response.content.decode()
    assert response.status_code == 400
    assert "第 2 行" in page and "组织名称" in page and "上级组织代码" in page and 'name="token"' not in page


def test_the_template_is_a_workbook_the_import_accepts(world, login):
    response = login(world.org_department).get(reverse("tree_template"))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    tables = read_tree_workbook(response.content)
    assert tables["组织架构"][0] == list(TREE_COLUMNS) and tables["角色任命"][0] == list(ROLE_COLUMNS)
    result = tree_import(actor=world.org_department, tables=tables, confirm=False)
    assert result.ok, result.errors


@pytest.mark.parametrize("case", ["XML bomb", "zip bomb (ratio)", "encrypted (OLE)", "macro inside an .xlsx"])
def test_the_tree_import_is_hardened_as_the_other_imports(world, login, case):
    name, content, message = hostile_files()[case]
    response = login(world.org_department).post(reverse("tree_import"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400 and prefix(message) in response.content.decode()


def test_an_oversized_file_is_refused_while_it_arrives(world, login, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024 * 1024
    big = SimpleUploadedFile("big.xlsx", b"PK" + b"\0" * (3 * 1024 * 1024))
    response = login(world.org_department).post(reverse("tree_import"), {"file": big})
    assert response.status_code == 413 and "文件过大（上限 1 MB）" in response.content.decode()


def test_a_formula_in_a_sheet_is_refused(world, login):
    data = workbook(tree=[["C", '=HYPERLINK("http://x")', "党总支/二级党委", "U", ""]])
    response = login(world.org_department).post(reverse("tree_import"), {"file": upload(data)})
    assert response.status_code == 400 and "表格中有公式（B2）" in response.content.decode()
    assert not Organization.objects.filter(code="C").exists()
