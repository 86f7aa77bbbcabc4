"""The organization tree and its role appointments from one workbook (docs/formats.md).

Sheet 组织架构 adds nodes (a general branch below the committee, a branch below a general branch);
sheet 角色任命 appoints people at nodes, as the roles page does (an account without one is opened
with a one-time password). Either sheet may be left out. Every row goes through the same services as
the pages, inside one transaction: the check runs them all and rolls back, the confirmation runs
them again and keeps them only if every row is good. Errors name the sheet, the row and the column.
"""

import io
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partyscore.core.audit import audit_record
from partyscore.core.exceptions import ApplicationError

from . import permissions as perms
from . import services
from .models import CHILD_KIND, Organization, Role, User
from .roster import ChineseDateWidget, LabelWidget, RowError, TextWidget

TREE_SHEET, ROLES_SHEET = "组织架构", "角色任命"
TREE_COLUMNS = ("组织代码", "组织名称", "层级", "上级组织代码", "党员类别")
TREE_REQUIRED = ("组织代码", "组织名称", "层级", "上级组织代码")
ROLE_COLUMNS = ("学号/工号", "姓名", "组织代码", "角色", "任期开始", "任期结束")
ROLE_REQUIRED = ("学号/工号", "组织代码", "角色", "任期开始")
IMPORTED_KINDS = [(k, label) for k, label in Organization.Kind.choices if k != Organization.Kind.COMMITTEE]
# The reasons written into the audit record, in Chinese whoever imports (shown by `stored_text`).
TREE_REASON, ROLES_REASON = gettext_lazy("导入组织架构"), gettext_lazy("导入角色任命")
NO_DATA = gettext_lazy("文件中没有“组织架构”或“角色任命”工作表")
PARENT_MISSING = gettext_lazy("找不到组织代码“%(code)s”（须已在系统中或写在本表上方）")
CODE_TAKEN = gettext_lazy("组织代码“%(code)s”已被使用；更名或调整隶属请在组织架构页面办理")
NO_ACCOUNT = gettext_lazy("没有学号/工号为“%(number)s”的账号；如需为其开立账号，请填写姓名")


@dataclass
class SheetError(RowError):
    sheet: str = ""


@dataclass
class TreeImportResult:
    errors: list = field(default_factory=list)
    organizations: list = field(default_factory=list)  # (code, name, kind label, parent code) to add
    unchanged: int = 0  # rows that name a node already on file exactly as it is
    appointments: list = field(default_factory=list)  # (username, name, organization, role label)
    passwords: list = field(default_factory=list)  # (account, one-time password) of accounts opened

    @property
    def ok(self):
        return not self.errors


def read_tree_workbook(data):
    """{sheet name: tablib-like (headers, rows)} of the sheets present; ApplicationError otherwise."""
    from partyscore.core.xlsx_safety import read_sheet, sheet_names

    present = [name for name in (TREE_SHEET, ROLES_SHEET) if name in sheet_names(data)]
    if not present:
        raise ApplicationError(NO_DATA)
    tables = {}
    for name in present:
        table = read_sheet(data, max_rows=settings.IMPORT_MAX_ROWS, sheet_name=name)
        rows = [
            dict(zip(table.headers, row, strict=True))
            for row in table.rows
            if not all(cell in (None, "") for cell in row)
        ]
        tables[name] = (table.headers, rows)
    return tables


def _stored(text):
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)


class _Row:
    """One row's cells, read column by column; each problem is kept under its column."""

    def __init__(self, sheet, number, cells, errors):
        self.sheet, self.number, self.cells, self.errors = sheet, number, cells, errors
        self.failed = False

    def error(self, column, message):
        self.errors.append(SheetError(self.number, column, str(message), sheet=self.sheet))
        self.failed = True

    def read(self, column, widget, required=False):
        try:
            value = widget.clean(self.cells.get(column))
        except ValueError as error:
            self.error(column, error)
            return None
        if required and value in (None, ""):
            self.error(column, _("不能为空"))
        return value


def _missing(headers, required, sheet, errors):
    missing = [c for c in required if c not in headers]
    if missing:
        errors.append(SheetError(1, "、".join(missing), _("缺少必填列"), sheet=sheet))
    return bool(missing)


def _tree_rows(actor, rows, result):
    kinds = LabelWidget(IMPORTED_KINDS)
    categories = LabelWidget(Organization.Category.choices, required=False)
    text = TextWidget()
    seen = {}
    for number, cells in enumerate(rows, start=2):
        row = _Row(TREE_SHEET, number, cells, result.errors)
        code = row.read("组织代码", text, required=True)
        name = row.read("组织名称", text, required=True)
        kind = row.read("层级", kinds)
        parent_code = row.read("上级组织代码", text, required=True)
        category = row.read("党员类别", categories) or Organization.Category.MIXED
        if code and code in seen:
            row.error("组织代码", _("与第 %(row)s 行的组织代码重复") % {"row": seen[code]})
        elif code:
            seen[code] = number
        parent = Organization.objects.filter(code=parent_code).first() if parent_code else None
        if parent_code and parent is None:
            row.error("上级组织代码", PARENT_MISSING % {"code": parent_code})
        if row.failed:
            continue
        existing = Organization.objects.filter(code=code).first()
        if existing is not None:
            if (existing.name, existing.kind, existing.parent_id) == (name, kind, parent.pk):
                result.unchanged += 1
            else:
                row.error("组织代码", CODE_TAKEN % {"code": code})
            continue
        if not perms.has_org_perm(actor, perms.TREE_MANAGE, parent):
            row.error("上级组织代码", _("“%(org)s”不在您的管理范围内") % {"org": parent})
            continue
        if CHILD_KIND.get(parent.kind) != kind:
            row.error(
                "层级", _("“%(parent)s”下不能设立%(kind)s") % {"parent": parent, "kind": Organization.Kind(kind).label}
            )
            continue
        try:
            services.refuse_closed(parent)
        except ApplicationError as error:
            row.error("上级组织代码", error.message)
            continue
        try:
            services.refuse_name_taken(parent=parent, name=name)
        except ApplicationError as error:
            row.error("组织名称", error.message)
            continue
        try:
            services.organization_create(
                actor=actor,
                parent=parent,
                name=name,
                code=code,
                kind=kind,
                category=category,
                reason=_stored(TREE_REASON),
            )
        except (ApplicationError, PermissionDenied) as error:
            row.error("—", getattr(error, "message", error))
            continue
        result.organizations.append((code, name, Organization.Kind(kind).label, parent_code))


def _role_rows(actor, rows, result):
    roles = LabelWidget(Role.choices)
    dates, text = ChineseDateWidget(), TextWidget()
    for number, cells in enumerate(rows, start=2):
        row = _Row(ROLES_SHEET, number, cells, result.errors)
        username = row.read("学号/工号", text, required=True)
        full_name = row.read("姓名", text)
        code = row.read("组织代码", text, required=True)
        role = row.read("角色", roles)
        starts_on = row.read("任期开始", dates, required=True)
        ends_on = row.read("任期结束", dates)
        organization = Organization.objects.filter(code=code).first() if code else None
        if code and organization is None:
            row.error("组织代码", _("找不到组织代码“%(code)s”") % {"code": code})
        if starts_on and ends_on and ends_on < starts_on:
            row.error("任期结束", _("任期结束不能早于任期开始"))
        user = User.objects.filter(username=username, is_active=True).first() if username else None
        if username and user is None and not full_name:
            row.error("姓名", NO_ACCOUNT % {"number": username})
        if user is not None and full_name and user.full_name and full_name != user.full_name:
            row.error(
                "姓名", _("与账号“%(number)s”的姓名“%(name)s”不一致") % {"number": username, "name": user.full_name}
            )
        if row.failed:
            continue
        role = Role(role)
        if organization.kind != perms.ROLE_ORG_KIND[role]:
            kind = Organization.Kind(perms.ROLE_ORG_KIND[role]).label
            row.error("角色", _("“%(role)s”只能在%(kind)s任命") % {"role": role.label, "kind": kind})
            continue
        if not perms.may_appoint(actor, organization, role):
            row.error("角色", _("您无权在“%(org)s”任命“%(role)s”") % {"org": organization, "role": role.label})
            continue
        term = {
            "organization": organization,
            "role": role,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "reason": _stored(ROLES_REASON),
        }
        try:
            with transaction.atomic():
                if user is not None:
                    services.role_assign(actor=actor, user=user, **term)
                else:
                    assignment, password = services.role_assign_new_account(
                        actor=actor, username=username, full_name=full_name, **term
                    )
                    result.passwords.append((assignment.user, password))
        except (ApplicationError, PermissionDenied) as error:
            row.error("—", getattr(error, "message", error))
            continue
        result.appointments.append((username, full_name or user.full_name, organization.name, role.label))


def tree_import(*, actor, tables, confirm):
    """Check (and with `confirm`, write) every row of both sheets; all or nothing. The rows run through
    the services inside a transaction that is rolled back unless `confirm` and every row is good; the
    one-time passwords of accounts opened are in the result only when written."""
    if not perms.holds_anywhere(actor, perms.TREE_MANAGE):
        raise PermissionDenied(_("您无权导入组织架构"))
    result = TreeImportResult()
    with transaction.atomic():
        if TREE_SHEET in tables:
            headers, rows = tables[TREE_SHEET]
            if not _missing(headers, TREE_REQUIRED, TREE_SHEET, result.errors):
                _tree_rows(actor, rows, result)
        if ROLES_SHEET in tables:
            headers, rows = tables[ROLES_SHEET]
            if not _missing(headers, ROLE_REQUIRED, ROLES_SHEET, result.errors):
                _role_rows(actor, rows, result)
        if not (result.errors or result.organizations or result.appointments or result.unchanged):
            result.errors.append(SheetError(2, "—", _("文件中没有组织或任命数据"), sheet=TREE_SHEET))
        if result.errors or not confirm:
            transaction.set_rollback(True)
            result.passwords = []
            perms.forget_cached_perms(actor)
        else:
            audit_record(
                actor=actor,
                action="organization.tree_import",
                target=None,
                after={
                    "organizations": len(result.organizations),
                    "appointments": len(result.appointments),
                    "accounts_opened": len(result.passwords),
                },
            )
    result.errors.sort(key=lambda e: (e.sheet != TREE_SHEET, e.row, e.column))
    return result


def tree_template_workbook():
    """The two sheets with their headers and example rows, as .xlsx bytes."""
    import openpyxl

    book = openpyxl.Workbook()
    tree_sheet = book.active
    tree_sheet.title = TREE_SHEET
    tree_sheet.append(list(TREE_COLUMNS))
    tree_sheet.append(["C", "丙学院党委", "党总支/二级党委", "U", "混合"])
    tree_sheet.append(["C01", "丙学院教工第一党支部", "党支部", "C", "教职工"])
    roles_sheet = book.create_sheet(ROLES_SHEET)
    roles_sheet.append(list(ROLE_COLUMNS))
    roles_sheet.append(["T2001", "李四", "C", "党总支书记", "2026-01-01", ""])
    roles_sheet.append(["T2002", "王五", "C01", "党支部书记", "2026-01-01", "2028-12-31"])
    content = io.BytesIO()
    book.save(content)
    return content.getvalue()
