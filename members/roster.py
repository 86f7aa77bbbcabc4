"""The roster spreadsheet (党员名册): import and export with Chinese column headers.

The add mode only adds members: a number already on file is an error (a move between branches
is a transfer, with its history). The update mode (roster_update) matches rows by number: new
numbers are added as in the add mode, known ones are corrected through the member page's edit
service and may record a leaving (毕业离校, 组织关系转出学校) through the status service.
The whole file is checked first (dry run), every bad row is reported by row, column and reason,
and nothing is written unless every row is good.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from partyscore.core.audit import audit_record
from partyscore.core.exceptions import ApplicationError

from . import permissions as perms
from .models import Member, MemberStatusEvent, Organization
from .services import (
    MEMBER_EDITABLE,
    STATUS_EVENT_REFUSALS,
    member_create,
    member_edit,
    member_status_record,
    refuse_closed,
)

if TYPE_CHECKING:
    import tablib
    from django.core.files.uploadedfile import UploadedFile
    from django.db.models import QuerySet

    from .models import User

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
    cadre_post = fields.Field("cadre_post", "干部职务", widget=TextWidget())

    class Meta:
        model = Member
        fields = (
            "number",
            "name",
            "branch",
            "category",
            "status",
            "probation_start",
            "is_cadre",
            "joined_party_on",
            "joined_branch_on",
            "phone",
            "email",
            "party_group",
            "cadre_post",
        )
        import_id_fields = ("number",)
        skip_diff = True
        use_transactions = True

    def __init__(self, actor, account_password_hash=None):
        super().__init__()
        self.actor = actor
        self.account_password_hash = account_password_hash
        self.fields["branch"].widget = (
            BranchWidget(actor) if actor is not None else widgets.ForeignKeyWidget(Organization, "name")
        )

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
    def ok(self) -> bool:
        return not self.errors


def roster_template_dataset() -> tablib.Dataset:
    """An empty roster with the headers and one example row, for download."""
    dataset = MemberResource(actor=None).export(queryset=Member.objects.none())
    dataset.append(
        [
            "20240001",
            "张三",
            "BR-EXAMPLE",
            "学生",
            "预备党员",
            "2024-06-01",
            "否",
            "2024-06-01",
            "2024-09-01",
            "13800000000",
            "zhangsan@example.edu.cn",
            "第一党小组",
            "",
        ]
    )
    return dataset


def roster_export_dataset(queryset: QuerySet[Member]) -> tablib.Dataset:
    """The roster as a Dataset. A control character in a value (the worksheet XML cannot hold one)
    is shown as "\ufffd" instead of failing the whole export."""
    import tablib

    from partyscore.core.xlsx_safety import writable

    exported = MemberResource(actor=None).export(queryset=queryset.select_related("branch"))
    cleaned = tablib.Dataset(headers=exported.headers)
    for row in exported:
        cleaned.append(writable(row))
    return cleaned


def read_spreadsheet(uploaded_file: UploadedFile) -> tablib.Dataset:
    """Read an uploaded .xlsx into a tablib Dataset, or raise ApplicationError in Chinese.

    The file is checked as untrusted first (partyscore.core.xlsx_safety): size, type, encryption, macros,
    zip and XML bombs, dimensions and formulas are refused before or while the sheet is read.
    """
    import tablib

    from partyscore.core.xlsx_safety import read_sheet, read_upload

    table = read_sheet(read_upload(uploaded_file), max_rows=settings.IMPORT_MAX_ROWS)
    dataset = tablib.Dataset(headers=table.headers) if table.headers else tablib.Dataset()
    # Excel leaves wholly empty rows behind after deletions; they are not members.
    for row in table.rows:
        if table.headers and not all(cell in (None, "") for cell in row):
            dataset.append(row)
    return dataset


PROBATION_MISSING = Member._meta.constraints[0].violation_error_message


def _documented(attribute: str, message: str, columns: dict[str, str]) -> tuple[str, str]:
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


def _repeated_numbers(dataset: tablib.Dataset) -> list[RowError]:
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


def roster_import(
    *,
    actor: User,
    dataset: tablib.Dataset,
    confirm: bool,
    account_password: str | None = None,
    account_password_hash: str | None = None,
) -> RosterImportResult:
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
        outcome = resource.import_data(dataset, dry_run=True, use_transactions=True, rollback_on_validation_errors=True)
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
            written = resource.import_data(
                dataset, dry_run=False, use_transactions=True, rollback_on_validation_errors=True, raise_errors=True
            )
            result.created = written.totals["new"]
            audit_record(
                actor=actor,
                action="roster.import",
                target=None,
                after={"created": result.created, "with_accounts": bool(account_password_hash)},
            )
    return result


# An update may change what the member page's edit form changes, except the number (it matches
# the row to its member). The branch, the status and the dates change by dated events instead.
UPDATE_EDITABLE = tuple(f for f in MEMBER_EDITABLE if f != "number")
LEAVE_KIND_COLUMN, LEAVE_DATE_COLUMN = "离开原因", "离开日期"
# The leavings a graduating class or a moving-out list brings; the disciplinary ones are recorded
# one by one on the member page, with their decision.
IMPORT_LEAVING = (MemberStatusEvent.Kind.GRADUATED, MemberStatusEvent.Kind.TRANSFERRED_OUT)


@dataclass
class RowChange:
    """A row matched to a member on file: what it changes (column, old, new) and any leaving."""

    row: int
    member: Member
    data: dict = field(default_factory=dict)  # as member_edit takes it: every editable column given
    differences: list = field(default_factory=list)
    leaving: tuple | None = None  # (kind, date)


@dataclass
class RosterUpdateResult(RosterImportResult):
    new: list = field(default_factory=list)  # (row, the row as given)
    changed: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    updated: int = 0
    left: int = 0


class _RowRefused(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


def _leaving(
    raw: dict[str, Any], member: Member | None, row: int, errors: list[RowError]
) -> tuple[MemberStatusEvent.Kind, datetime.date] | None:
    """The (kind, date) a row's 离开原因 and 离开日期 record, or None; a bad cell is an error."""
    kind_text = str(raw.get(LEAVE_KIND_COLUMN) or "").strip()
    date_value = raw.get(LEAVE_DATE_COLUMN)
    if not kind_text and date_value in (None, ""):
        return None
    kind = next((k for k in IMPORT_LEAVING if kind_text in (str(k.label), k.value)), None)
    if not kind_text:
        errors.append(RowError(row, LEAVE_KIND_COLUMN, _("不能为空")))
    elif kind is None:
        allowed = "、".join(str(k.label) for k in IMPORT_LEAVING)
        errors.append(
            RowError(
                row,
                LEAVE_KIND_COLUMN,
                _("“%(value)s”不是有效选项，应为：%(allowed)s") % {"value": kind_text, "allowed": allowed},
            )
        )
    try:
        occurred_on = ChineseDateWidget().clean(date_value)
    except ValueError as error:
        errors.append(RowError(row, LEAVE_DATE_COLUMN, str(error)))
        return None
    if occurred_on is None:
        errors.append(RowError(row, LEAVE_DATE_COLUMN, _("不能为空")))
    elif occurred_on > timezone.localdate():
        errors.append(RowError(row, LEAVE_DATE_COLUMN, _("日期不能晚于今天")))
    if member is None:
        errors.append(RowError(row, LEAVE_KIND_COLUMN, _("名册中没有该党员，不能记录离开")))
    elif member.left_on is not None:
        errors.append(RowError(row, LEAVE_KIND_COLUMN, STATUS_EVENT_REFUSALS["left"] % {"date": member.left_on}))
    if kind is None or occurred_on is None:
        return None
    return kind, occurred_on


def _refusal(resource: MemberResource, attribute: str, current: object) -> str:
    if attribute == "branch":
        return _("所属党支部不能在更新中修改；转到其他支部请在党员页面办理“组织关系转接”")
    if attribute == "status":
        return _("党员身份不能在更新中修改；转正请在党员页面“记录身份变化”中办理（须有日期和依据）")
    shown = resource.fields[attribute].widget.render(current)
    return _("该列不能在更新中修改（名册中为“%(value)s”）") % {"value": shown}


def _row_change(
    resource: MemberResource,
    columns: dict[str, str],
    raw: dict[str, Any],
    member: Member,
    row: int,
    errors: list[RowError],
) -> RowChange:
    """Compare one row with its member: the editable columns that differ go to member_edit; a
    different branch or status is refused (those are a transfer and a status event)."""
    change = RowChange(row=row, member=member)
    values = {}
    for fld in resource.get_import_fields():
        if fld.column_name not in raw or fld.attribute == "number":
            continue
        try:
            values[fld.attribute] = fld.widget.clean(raw[fld.column_name], row=raw)
        except ValueError as error:
            errors.append(RowError(row, fld.column_name, str(error)))
    for attribute, value in values.items():
        current = member.branch if attribute == "branch" else getattr(member, attribute)
        if attribute in UPDATE_EDITABLE:
            change.data[attribute] = value
        elif value != current:
            errors.append(RowError(row, columns[attribute], _refusal(resource, attribute, current)))
    if "is_cadre" in change.data and not change.data["is_cadre"]:
        change.data["cadre_post"] = ""  # as member_edit does: not a cadre, no post
    changed = {k: v for k, v in change.data.items() if getattr(member, k) != v}
    for attribute, value in changed.items():
        widget = resource.fields[attribute].widget
        change.differences.append((columns[attribute], widget.render(getattr(member, attribute)), widget.render(value)))
    if changed:
        candidate = copy.copy(member)
        for attribute, value in changed.items():
            setattr(candidate, attribute, value)
        try:
            candidate.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as invalid:
            for attribute, messages in invalid.message_dict.items():
                for message in messages:
                    column, message = _documented(attribute, message, columns)
                    errors.append(RowError(row, column, message))
    change.leaving = _leaving(raw, member, row, errors)
    if change.leaving is not None:
        kind, occurred_on = change.leaving
        change.differences.append((LEAVE_KIND_COLUMN, "", str(kind.label)))
        change.differences.append((LEAVE_DATE_COLUMN, "", occurred_on.isoformat()))
    return change


def roster_update(
    *, actor: User, dataset: tablib.Dataset, confirm: bool, reason: str, account_password_hash: str | None = None
) -> RosterUpdateResult:
    """The update mode: every row matched by 学号/工号 is new, changed or unchanged; all or nothing.

    A new number is added as in the add mode; a changed member is corrected by member_edit and a
    leaving recorded by member_status_record, each with `reason`, so the audit and the scoring
    follow as for the same change made on the member page."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请写明修改原因"))
    result = RosterUpdateResult()
    missing = [c for c in REQUIRED_COLUMNS if c not in dataset.headers]
    if missing:
        result.errors.append(RowError(1, "、".join(missing), _("缺少必填列")))
        return result
    if len(dataset) == 0:
        result.errors.append(RowError(2, "—", _("文件中没有党员数据")))
        return result
    resource = MemberResource(actor=actor)
    columns = {f.attribute: f.column_name for f in resource.get_import_fields()}
    numbers = [TextWidget().clean(value) for value in dataset["学号/工号"]]
    known = {m.number: m for m in Member.objects.filter(number__in=[n for n in numbers if n]).select_related("branch")}
    errors = _repeated_numbers(dataset)
    new_rows = []
    for row, (number, values) in enumerate(zip(numbers, dataset, strict=True), start=2):
        raw = dict(zip(dataset.headers, values, strict=True))
        member = known.get(number)
        if member is None:
            _leaving(raw, None, row, errors)
            new_rows.append((row, raw))
        elif not perms.has_org_perm(actor, perms.ROSTER_MANAGE, member.branch):
            errors.append(
                RowError(row, "学号/工号", _("学号/工号“%(number)s”的党员不在您的管理范围内") % {"number": number})
            )
        else:
            change = _row_change(resource, columns, raw, member, row, errors)
            (result.changed if change.differences else result.unchanged).append(change)
    result.new = new_rows
    added = _new_rows_dataset(dataset, new_rows)
    if added is not None:
        checked = roster_import(actor=actor, dataset=added, confirm=False, account_password_hash=account_password_hash)
        errors += [RowError(new_rows[e.row - 2][0], e.column, e.message) for e in checked.errors]
    found = {}
    for error in errors:
        found.setdefault((error.row, error.column, error.message), error)
    result.errors = sorted(found.values(), key=lambda e: (e.row, e.column))
    if result.ok and confirm:
        try:
            _update_write(actor, result, added, reason, account_password_hash)
        except _RowRefused as refused:
            result.errors, result.created, result.updated, result.left = [refused.error], 0, 0, 0
    return result


def _new_rows_dataset(dataset: tablib.Dataset, new_rows: list[tuple[int, dict[str, Any]]]) -> tablib.Dataset | None:
    import tablib

    if not new_rows:
        return None
    added = tablib.Dataset(headers=dataset.headers)
    for _row, raw in new_rows:
        added.append([raw[h] for h in dataset.headers])
    return added


@transaction.atomic
def _update_write(
    actor: User,
    result: RosterUpdateResult,
    added: tablib.Dataset | None,
    reason: str,
    account_password_hash: str | None,
) -> None:
    """Write a checked update: a refusal now (a concurrent change) undoes every row."""
    if added is not None:
        written = roster_import(actor=actor, dataset=added, confirm=True, account_password_hash=account_password_hash)
        if not written.ok:
            first = written.errors[0]
            raise _RowRefused(RowError(result.new[first.row - 2][0], first.column, first.message))
        result.created = written.created
    for change in result.changed:
        try:
            if any(getattr(change.member, k) != v for k, v in change.data.items()):
                member_edit(actor=actor, member=change.member, data=change.data, reason=reason)
                result.updated += 1
            if change.leaving is not None:
                kind, occurred_on = change.leaving
                member_status_record(
                    actor=actor, member=change.member, kind=kind, occurred_on=occurred_on, reason=reason
                )
                result.left += 1
        except (ApplicationError, PermissionDenied, ValidationError) as error:
            message = getattr(error, "message", None) or "；".join(getattr(error, "messages", [str(error)]))
            raise _RowRefused(RowError(change.row, "—", str(message))) from error
    audit_record(
        actor=actor,
        action="roster.update",
        target=None,
        reason=reason,
        after={
            "created": result.created,
            "updated": result.updated,
            "left": result.left,
            "unchanged": len(result.unchanged),
        },
    )
