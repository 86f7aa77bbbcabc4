"""The roster spreadsheet (党员名册): import and export with Chinese column headers.

An import only adds members: a number already on file is an error (a move between branches
is a transfer, with its history). The whole file is checked first (dry run), every bad row is
reported by row, column and reason, and nothing is written unless every row is good.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from partyscore.audit import audit_record
from partyscore.exceptions import ApplicationError

from . import permissions as perms
from .models import Member, Organization
from .services import member_create, refuse_closed

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
REQUIRED_COLUMNS = ("学号/工号", "姓名", "所属党支部", "类别", "党员身份")


class ChineseDateWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        text = str(value).strip()
        for fmt in DATE_FORMATS:
            try:
                return datetime.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise ValueError(_("日期“%(value)s”无法识别，请写成 2024-05-01") % {"value": text})

    def render(self, value, obj=None, **kwargs):
        return value.isoformat() if value else ""


class LabelWidget(widgets.Widget):
    """A choice written as its Chinese label (教职工/学生, 正式党员/预备党员)."""

    def __init__(self, choices, required=True):
        super().__init__()
        self.choices = choices
        self.required = required

    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        if not text:
            if self.required:
                raise ValueError(_("不能为空"))
            return None
        for key, label in self.choices:
            if text in (str(label), key):
                return key
        allowed = "、".join(str(label) for _key, label in self.choices)
        raise ValueError(_("“%(value)s”不是有效选项，应为：%(allowed)s") % {"value": text, "allowed": allowed})

    def render(self, value, obj=None, **kwargs):
        return str(dict(self.choices).get(value, value or ""))


class YesNoWidget(widgets.Widget):
    YES, NO = ("是", "y", "yes", "true", "1"), ("否", "", "n", "no", "false", "0")

    def clean(self, value, row=None, **kwargs):
        text = str(value if value is not None else "").strip().lower()
        if text in self.YES:
            return True
        if text in self.NO:
            return False
        raise ValueError(_("应填“是”或“否”"))

    def render(self, value, obj=None, **kwargs):
        return "是" if value else "否"


class TextWidget(widgets.CharWidget):
    """Numbers stay text: a student number like 0201 must not lose its leading zero."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return "" if value is None else str(value).strip()


class BranchWidget(widgets.Widget):
    """A branch named by its code or its exact name; it must lie within the importer's scope."""

    def __init__(self, actor):
        super().__init__()
        self.actor = actor
        self.branches = list(Organization.objects.filter(kind=Organization.Kind.BRANCH))

    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        if not text:
            raise ValueError(_("不能为空"))
        matches = [b for b in self.branches if b.code == text] or [b for b in self.branches if b.name == text]
        if not matches:
            raise ValueError(_("找不到党支部“%(value)s”") % {"value": text})
        if len(matches) > 1:
            raise ValueError(_("有多个党支部名为“%(value)s”，请填写支部代码") % {"value": text})
        branch = matches[0]
        if not perms.has_org_perm(self.actor, perms.ROSTER_MANAGE, branch):
            raise ValueError(_("党支部“%(value)s”不在您的管理范围内") % {"value": text})
        try:
            refuse_closed(branch)
        except ApplicationError as error:
            raise ValueError(error.message) from None
        return branch

    def render(self, value, obj=None, **kwargs):
        return value.name if value else ""


class MemberResource(resources.ModelResource):
    number = fields.Field("number", "学号/工号", widget=TextWidget())
    name = fields.Field("name", "姓名", widget=TextWidget())
    branch = fields.Field("branch", "所属党支部")
    category = fields.Field("category", "类别", widget=LabelWidget(Member.Category.choices))
    status = fields.Field("status", "党员身份", widget=LabelWidget(Member.Status.choices))
    probation_start = fields.Field("probation_start", "预备期开始日期", widget=ChineseDateWidget())
    is_cadre = fields.Field("is_cadre", "是否党员干部", widget=YesNoWidget())
    joined_party_on = fields.Field("joined_party_on", "入党日期", widget=ChineseDateWidget())
    joined_branch_on = fields.Field("joined_branch_on", "转入本支部日期", widget=ChineseDateWidget())
    phone = fields.Field("phone", "手机", widget=TextWidget())
    email = fields.Field("email", "邮箱", widget=TextWidget())
    party_group = fields.Field("party_group", "党小组", widget=TextWidget())

    class Meta:
        model = Member
        fields = ("number", "name", "branch", "category", "status", "probation_start", "is_cadre",
                  "joined_party_on", "joined_branch_on", "phone", "email", "party_group")
        import_id_fields = ("number",)
        skip_diff = True
        use_transactions = True

    def __init__(self, actor, account_password_hash=None):
        super().__init__()
        self.actor = actor
        self.account_password_hash = account_password_hash
        self.fields["branch"].widget = BranchWidget(actor) if actor is not None else widgets.ForeignKeyWidget(
            Organization, "name")

    def get_instance(self, instance_loader, row):
        return None  # create-only: an existing number is reported by the unique check

    def save_instance(self, instance, is_create, row, **kwargs):
        try:
            member_create(actor=self.actor, member=instance, account_password_hash=self.account_password_hash)
        except (ApplicationError, PermissionDenied) as error:
            raise ValidationError(str(getattr(error, "message", error))) from error


@dataclass
class RowError:
    row: int  # the spreadsheet row, counting the header as row 1
    column: str
    message: str


@dataclass
class RosterImportResult:
    errors: list = field(default_factory=list)
    preview: list = field(default_factory=list)  # rows as the importer will see them
    created: int = 0

    @property
    def ok(self):
        return not self.errors


def roster_template_dataset():
    """An empty roster with the headers and one example row, for download."""
    dataset = MemberResource(actor=None).export(queryset=Member.objects.none())
    dataset.append(["20240001", "张三", "BR-EXAMPLE", "学生", "预备党员", "2024-06-01", "否",
                    "2024-06-01", "2024-09-01", "13800000000", "zhangsan@example.edu.cn", "第一党小组"])
    return dataset


def roster_export_dataset(queryset):
    """The roster as a Dataset. A control character in a value (the worksheet XML cannot hold one)
    is shown as "\ufffd" instead of failing the whole export."""
    import tablib

    from scoring.xlsx_safety import writable

    exported = MemberResource(actor=None).export(queryset=queryset.select_related("branch"))
    cleaned = tablib.Dataset(headers=exported.headers)
    for row in exported:
        cleaned.append(writable(row))
    return cleaned


def read_spreadsheet(uploaded_file):
    """Read an uploaded .xlsx into a tablib Dataset, or raise ApplicationError in Chinese.

    The file is checked as untrusted first (scoring.xlsx_safety): size, type, encryption, macros,
    zip and XML bombs, dimensions and formulas are refused before or while the sheet is read.
    """
    import tablib

    from scoring.xlsx_safety import read_sheet, read_upload

    table = read_sheet(read_upload(uploaded_file), max_rows=settings.IMPORT_MAX_ROWS)
    dataset = tablib.Dataset(headers=table.headers) if table.headers else tablib.Dataset()
    # Excel leaves wholly empty rows behind after deletions; they are not members.
    for row in table.rows:
        if table.headers and not all(cell in (None, "") for cell in row):
            dataset.append(row)
    return dataset


PROBATION_MISSING = Member._meta.constraints[0].violation_error_message


def _documented(attribute, message, columns):
    """A model's check as docs/formats.md words it, under the column it is about: an empty
    required cell is 不能为空, a bad address 请输入合法的邮件地址, and a probationary member's missing
    start date is named under its date column."""
    if attribute == NON_FIELD_ERRORS:
        if str(message) == str(PROBATION_MISSING):
            return columns["probation_start"], message
        return "—", message
    model_field = next((f for f in Member._meta.fields if f.name == attribute), None)
    if model_field is not None and str(message) in {str(model_field.error_messages[k]) for k in ("blank", "null")}:
        return columns.get(attribute, attribute), _("不能为空")
    if attribute == "email":
        return columns["email"], _("请输入合法的邮件地址")
    return columns.get(attribute, attribute), message


def _repeated_numbers(dataset):
    """A number given again further down the file is an error on that row, whether or not the row
    it first appears on is otherwise valid (that row is not written, so the unique check alone
    would not see it)."""
    first_row, errors = {}, []
    if "学号/工号" not in dataset.headers:
        return errors
    for row, value in enumerate(dataset["学号/工号"], start=2):
        number = str(value if value is not None else "").strip()
        if not number:
            continue
        if number in first_row:
            errors.append(RowError(row, "学号/工号", _("该学号/工号已存在")))
        else:
            first_row[number] = row
    return errors


def roster_import(*, actor, dataset, confirm, account_password=None, account_password_hash=None):
    """Check (and with `confirm`, write) every row of a roster; all or nothing. The accounts' initial
    password comes as typed or as its hash (make_password): either way it is hashed once."""
    if account_password:
        account_password_hash = make_password(account_password)
    result = RosterImportResult()
    missing = [c for c in REQUIRED_COLUMNS if c not in dataset.headers]
    if missing:
        result.errors.append(RowError(1, "、".join(missing), _("缺少必填列")))
        return result
    if len(dataset) == 0:
        result.errors.append(RowError(2, "—", _("文件中没有党员数据")))
        return result
    resource = MemberResource(actor=actor, account_password_hash=account_password_hash)
    columns = {f.attribute: f.column_name for f in resource.get_import_fields()}
    with transaction.atomic():
        outcome = resource.import_data(dataset, dry_run=True, use_transactions=True,
                                       rollback_on_validation_errors=True)
    found = {}  # (row, column, message) → RowError, in order: a message said once per cell
    for error in _repeated_numbers(dataset):
        found[(error.row, error.column, error.message)] = error
    for invalid in outcome.invalid_rows:
        for attribute, messages in invalid.error_dict.items():
            for message in messages:
                column, message = _documented(attribute, message, columns)
                error = RowError(invalid.number + 1, column, message)
                found.setdefault((error.row, error.column, error.message), error)
    for number, errors in outcome.row_errors():
        for error in errors:
            found.setdefault((number + 1, "—", str(error.error)), RowError(number + 1, "—", str(error.error)))
    result.errors = sorted(found.values(), key=lambda e: (e.row, e.column))
    result.preview = [dict(zip(dataset.headers, row, strict=True)) for row in dataset[:200]]
    if result.ok and confirm:
        with transaction.atomic():
            written = resource.import_data(dataset, dry_run=False, use_transactions=True,
                                           rollback_on_validation_errors=True, raise_errors=True)
            result.created = written.totals["new"]
            audit_record(actor=actor, action="roster.import", target=None,
                         after={"created": result.created, "with_accounts": bool(account_password_hash)})
    return result
