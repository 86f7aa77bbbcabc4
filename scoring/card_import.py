"""Score entries from the paper points cards (积分卡): a template, a dry run, then confirm.

Every row is checked before anything is written, against the same bounds as `entry_check`
(member in the importer's scope and still scored, an open period of the scheme's kind, an item of
the branch's approved scheme, points within the item's bounds, times and caps per period and year
— counting the rows above it in the same file), and each bad row is reported by row, column and
reason. Nothing is written unless every row is good; on confirmation every row goes through
`entry_record` (which checks again) inside one transaction, with the importer as recorder and
source "import", each line audited; then each affected branch is recalculated once.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N

from members import permissions as perms
from members.models import Member
from members.roster import DATE_FORMATS
from partyscore.core.audit import audit_record
from partyscore.core.exceptions import ApplicationError
from partyscore.core.xlsx_safety import formulas_as_text, writable

from .models import Cycle, LedgerEntry, Period, RuleItem
from .points import format_points, to_centi
from .recalculation import NET, recalculate_branch
from .selectors import current_cycle, schemes_in_force
from .services import entry_record

NUMBER, NAME, PERIOD, KIND, ITEM, POINTS, REASON, DATE = (
    N("学号/工号"),
    N("姓名"),
    N("周期"),
    N("类别"),
    N("项目"),
    N("分值"),
    N("事由"),
    N("发生日期"),
)
COLUMNS = (NUMBER, NAME, PERIOD, KIND, ITEM, POINTS, REASON, DATE)
REQUIRED = (NUMBER, PERIOD, ITEM, POINTS, REASON)
SHEET = N("积分卡")
KIND_LABELS = {str(label): kind for kind, label in RuleItem.Kind.choices}


@dataclass
class RowError:
    row: int  # the spreadsheet row, counting the header as row 1
    column: str
    message: str


@dataclass
class CardRow:
    row: int
    member: Member
    item: RuleItem
    period: Period
    magnitude: int  # centipoints, as entered (the item's kind gives the sign)
    reason: str
    occurred_on: datetime.date


@dataclass
class CardImportResult:
    errors: list = field(default_factory=list)
    preview: list = field(default_factory=list)  # dicts by column, as the importer will see them
    rows: list = field(default_factory=list)  # CardRow, when every row is good
    created: int = 0

    @property
    def ok(self):
        return not self.errors


def item_option(item, categories=None):
    """How an item is offered in the template's drop-down: its code and title, and — when the same
    code names different items in the branch's schemes (A-B04 for staff and for students) — whom
    this one is for: `A-B04 遵守党的纪律和校规校纪（学生）`."""
    option = f"{item.code} {item.title}"
    return f"{option}（{'、'.join(categories)}）" if categories else option


def _without_suffix(text):
    """`A-B04 遵守…（学生）` → `A-B04 遵守…`: the template's labelled option back to its plain form."""
    if text.endswith("）") and "（" in text:
        return text[: text.rindex("（")].rstrip()
    return None


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value):
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _text(value)
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(_("日期“%(value)s”无法识别，请写成 2024-05-01") % {"value": text})


class _Context:
    """Everything the rows refer to, loaded once for the whole file (a few queries, not per row)."""

    def __init__(self, actor, numbers):
        self.actor = actor
        self.members = {m.number: m for m in Member.objects.filter(number__in=numbers).select_related("branch")}
        self.periods = defaultdict(list)
        for period in Period.objects.select_related("cycle"):
            self.periods[period.name].append(period)
        self._schemes = {}
        self._items = {}
        self.used = defaultdict(int)  # (member, item, period) → |net points| already on the ledger or above
        self.used_year = defaultdict(int)  # (member, item, year)
        self.times = defaultdict(int)  # (member, item, period) → net entries
        member_ids = [m.pk for m in self.members.values()]
        for row in (
            LedgerEntry.objects.filter(member_id__in=member_ids)
            .values("member_id", "item_id", "period_id", "year")
            .annotate(points=Sum("points"), times=Sum(NET))
        ):
            key = (row["member_id"], row["item_id"], row["period_id"])
            self.used[key] += row["points"]
            self.used_year[(row["member_id"], row["item_id"], row["year"])] += row["points"]
            self.times[key] += row["times"]

    def scheme(self, member, year):
        key = (member.branch_id, year)
        if key not in self._schemes:
            self._schemes[key] = schemes_in_force(branch=member.branch, year=year)
        return self._schemes[key].get(member.category)

    def items(self, scheme):
        if scheme.pk not in self._items:
            lookup = {}
            for item in scheme.items.all():
                for key in (item_option(item), item.code, item.title):
                    lookup.setdefault(key, item)
            self._items[scheme.pk] = lookup
        return self._items[scheme.pk]


def _check_row(ctx, number, values):
    """The errors of one row as (column, message), and the row when it is good."""
    errors = []
    text = {column: _text(values.get(column)) for column in COLUMNS}
    member = period = item = scheme = None

    if not text[NUMBER]:
        errors.append((NUMBER, _("不能为空")))
    else:
        member = ctx.members.get(text[NUMBER])
        if member is None:
            errors.append((NUMBER, _("找不到学号/工号为“%(value)s”的党员") % {"value": text[NUMBER]}))
        elif not perms.has_org_perm(ctx.actor, perms.ENTRY_RECORD, member.branch):
            errors.append((NUMBER, _("该党员不在您的记分范围内（%(branch)s）") % {"branch": member.branch.name}))
            member = None
        elif text[NAME] and text[NAME] != member.name:
            errors.append(
                (
                    NAME,
                    _("姓名“%(value)s”与学号/工号不符（系统中为“%(name)s”）")
                    % {"value": text[NAME], "name": member.name},
                )
            )

    if not text[PERIOD]:
        errors.append((PERIOD, _("不能为空")))
    else:
        candidates = ctx.periods.get(text[PERIOD], [])
        if not candidates:
            errors.append((PERIOD, _("找不到周期“%(value)s”，请从下拉列表中选择") % {"value": text[PERIOD]}))
        elif len(candidates) > 1:
            errors.append((PERIOD, _("有多个周期名为“%(value)s”") % {"value": text[PERIOD]}))
        else:
            period = candidates[0]
            if period.is_locked or not period.cycle.is_open:
                errors.append((PERIOD, _("“%(period)s”已锁定，不能再记分") % {"period": period.name}))
                period = None

    if member is not None and (member.left_on is not None and period is not None and member.left_on < period.starts_on):
        errors.append((NUMBER, _("该党员已离开党组织，不能记分")))
        member = None
    elif member is not None and member.exempt:
        errors.append((NUMBER, _("该党员已免于记分")))
        member = None

    if member is not None and period is not None:
        scheme = ctx.scheme(member, period.cycle.year)
        if scheme is None:
            errors.append((ITEM, _("本支部%(year)s年度没有已批准的评分细则") % {"year": period.cycle.year}))
        elif period.kind != scheme.period_kind:
            errors.append(
                (PERIOD, _("本细则按%(kind)s记分，请选择对应的周期") % {"kind": scheme.get_period_kind_display()})
            )
            scheme = None
    if not text[ITEM]:
        errors.append((ITEM, _("不能为空")))
    elif scheme is not None:
        lookup = ctx.items(scheme)
        item = lookup.get(text[ITEM]) or lookup.get(_without_suffix(text[ITEM]) or "")
        same_code = lookup.get(text[ITEM].split(" ", 1)[0])
        if item is None and same_code is not None:
            errors.append(
                (
                    ITEM,
                    _(
                        "“%(item)s”不适用于该党员（%(category)s）；其评分细则中 %(code)s 为“%(title)s”，"
                        "可选择该项或只填编号"
                    )
                    % {
                        "item": text[ITEM],
                        "category": member.get_category_display(),
                        "code": same_code.code,
                        "title": same_code.title,
                    },
                )
            )
        elif item is None:
            errors.append((ITEM, _("“%(item)s”不在本支部已批准的评分细则中") % {"item": text[ITEM]}))
        elif text[KIND] and KIND_LABELS.get(text[KIND], text[KIND]) != item.kind:
            errors.append(
                (
                    KIND,
                    _("类别“%(value)s”与项目不符（应为“%(kind)s”）")
                    % {"value": text[KIND], "kind": item.get_kind_display()},
                )
            )
        elif item.evidence_required:
            errors.append(
                (ITEM, _("“%(item)s”须上传佐证材料，不能通过导入记分，请在记分页面逐条录入") % {"item": item.title})
            )
            item = None

    magnitude = None
    if not text[POINTS]:
        errors.append((POINTS, _("不能为空")))
    else:
        try:
            magnitude = to_centi(text[POINTS])
        except ValueError:
            errors.append((POINTS, _("分值须为数字，最多两位小数")))
        else:
            if magnitude < 0 and item is not None and item.sign < 0:
                magnitude = -magnitude  # a deduction written as −2 means 2 points off
            elif magnitude < 0:
                errors.append((POINTS, _("分值请填写正数，加减由项目类别决定")))
                magnitude = None

    if not text[REASON]:
        errors.append((REASON, _("请填写记分事由")))

    occurred_on = None
    try:
        occurred_on = _date(values.get(DATE))
    except ValueError as error:
        errors.append((DATE, str(error)))
    if period is not None:
        if occurred_on is None:
            occurred_on = min(timezone.localdate(), period.ends_on)
        elif not period.starts_on <= occurred_on <= period.ends_on:
            errors.append(
                (
                    DATE,
                    _("发生日期应在“%(period)s”内（%(start)s 至 %(end)s）")
                    % {"period": period.name, "start": period.starts_on, "end": period.ends_on},
                )
            )

    if member is not None and item is not None and period is not None and magnitude is not None:
        errors += _check_bounds(ctx, member, item, period, magnitude)
    if errors:
        return errors, None
    return [], CardRow(
        row=number,
        member=member,
        item=item,
        period=period,
        magnitude=magnitude,
        reason=text[REASON],
        occurred_on=occurred_on,
    )


def _check_bounds(ctx, member, item, period, magnitude):
    """Bounds, times and caps as `entry_check` applies them, counting the rows above in the file."""
    low, high = to_centi(item.points_min), to_centi(item.points_max)
    if not low <= magnitude <= high:
        return [
            (
                POINTS,
                _("“%(item)s”每次分值应在 %(low)s—%(high)s 分之间")
                % {"item": item.title, "low": format_points(low), "high": format_points(high)},
            )
        ]
    key = (member.pk, item.pk, period.pk)
    year_key = (member.pk, item.pk, period.cycle.year)
    if item.times_per_period is not None and ctx.times[key] >= item.times_per_period:
        return [
            (
                ITEM,
                _("“%(item)s”每期最多记 %(n)s 次（含本文件中前面的行）")
                % {"item": item.title, "n": item.times_per_period},
            )
        ]
    for cap, used, label in (
        (item.cap_per_period, abs(ctx.used[key]), _("本期")),
        (item.cap_per_year, abs(ctx.used_year[year_key]), _("本年")),
    ):
        if cap is not None and used + magnitude > to_centi(cap):
            return [
                (
                    POINTS,
                    _("“%(item)s”%(scope)s累计不能超过 %(cap)s 分（已记 %(used)s 分，含本文件中前面的行）")
                    % {
                        "item": item.title,
                        "scope": label,
                        "cap": format_points(to_centi(cap)),
                        "used": format_points(used),
                    },
                )
            ]
    # This row counts for the rows below it.
    signed = (item.sign or 1) * magnitude
    ctx.used[key] += signed
    ctx.used_year[year_key] += signed
    ctx.times[key] += 1
    return []


def card_check(*, actor, sheet):
    """Check every row of an uploaded card sheet (xlsx_safety.Sheet); writes nothing."""
    result = CardImportResult()
    missing = [c for c in REQUIRED if c not in sheet.headers]
    if missing:
        result.errors.append(RowError(1, "、".join(missing), _("缺少必填列")))
        return result
    rows = [
        (number, dict(zip(sheet.headers, values, strict=False)))
        for number, values in enumerate(sheet.rows, start=2)
        if any(v not in (None, "") and str(v).strip() for v in values)
    ]
    if not rows:
        result.errors.append(RowError(2, "—", _("文件中没有记分数据")))
        return result
    ctx = _Context(actor, {_text(values.get(NUMBER)) for _n, values in rows})
    for number, values in rows:
        errors, good = _check_row(ctx, number, values)
        result.errors += [RowError(number, column, message) for column, message in errors]
        if good is not None:
            result.rows.append(good)
        if len(result.preview) < 200:
            result.preview.append({"row": number, **{c: _text(values.get(c)) for c in COLUMNS}})
    result.errors.sort(key=lambda e: (e.row, COLUMNS.index(e.column) if e.column in COLUMNS else -1))
    if result.errors:
        result.rows = []
    return result


def card_import(*, actor, sheet, confirm):
    """Check every row and, with `confirm` and no errors, record them all (all or nothing)."""
    if not perms.orgs_with_perm(actor, perms.ENTRY_RECORD).exists():
        raise PermissionDenied(_("您无权导入积分"))
    result = card_check(actor=actor, sheet=sheet)
    if not result.ok or not confirm:
        return result
    try:
        result.created = _card_write(actor=actor, rows=result.rows)
    except _RowFailed as failure:
        result.errors.append(RowError(failure.row, "—", failure.message))
        result.created = 0
    return result


class _RowFailed(Exception):
    def __init__(self, row, message):
        super().__init__(message)
        self.row, self.message = row, message


@transaction.atomic
def _card_write(*, actor, rows):
    branches = {}
    for row in rows:
        try:
            entry_record(
                actor=actor,
                member=row.member,
                item=row.item,
                period=row.period,
                points=format_points(row.magnitude),
                reason=row.reason,
                source=LedgerEntry.Source.IMPORT,
                occurred_on=row.occurred_on,
                recalculate=False,
            )
        except (ApplicationError, PermissionDenied) as error:
            # The authoritative check disagreed with the dry run: nothing of the file is kept.
            raise _RowFailed(row.row, str(getattr(error, "message", error))) from error
        branches[(row.member.branch_id, row.period.cycle.year)] = row.member.branch
    for (_branch_id, year), branch in branches.items():
        recalculate_branch(branch=branch, year=year)
    audit_record(
        actor=actor,
        action="ledger.import",
        target=None,
        after={"created": len(rows), "branches": sorted({b.pk for b in branches.values()})},
    )
    return len(rows)


# ── the template ─────────────────────────────────────────────────────────────────────────────


def card_template(*, actor, branch):
    """An .xlsx to fill in from the paper cards: the card sheet with drop-downs for period, category
    and item, and reference sheets listing the branch's items, periods and members."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    if not perms.has_org_perm(actor, perms.ENTRY_RECORD, branch) or not branch.is_branch:
        raise PermissionDenied(_("您无权为该党支部导入积分"))
    cycle = current_cycle()
    if cycle is None:
        raise ApplicationError(_("尚未开启计分年度，请联系组织部"))
    # Every open year (an earlier one may still take entries), the current one first.
    in_force = {
        year: schemes_in_force(branch=branch, year=year)
        for year in Cycle.objects.filter(is_open=True).order_by("-year").values_list("year", flat=True)
    }
    by_code_title, applies, titles = {}, defaultdict(set), defaultdict(set)
    for schemes in in_force.values():
        for category, scheme in schemes.items():
            for item in scheme.items.all():
                by_code_title.setdefault((item.code, item.title), item)
                applies[(item.code, item.title)].add(str(Member.Category(category).label))
                titles[item.code].add(item.title)
    items = {}
    for key, item in by_code_title.items():
        ambiguous = len(titles[item.code]) > 1
        items[item_option(item, sorted(applies[key]) if ambiguous else None)] = (item, applies[key])
    periods = [
        p
        for year, schemes in in_force.items()
        for p in Period.objects.filter(cycle__year=year, kind__in={s.period_kind for s in schemes.values()}).order_by(
            "kind", "index"
        )
    ]
    members = list(branch.members.filter(left_on__isnull=True, exempt=False).order_by("number"))
    rows_limit = settings.CARD_IMPORT_MAX_ROWS + 1

    book = Workbook()
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="D9D9D9")
    sheet = book.active
    sheet.title = _(SHEET)
    sheet.append([_(c) for c in COLUMNS])
    for cell in sheet[1]:
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(horizontal="center")
    for letter, width in zip("ABCDEFGH", (14, 10, 18, 12, 40, 8, 40, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in range(2, rows_limit + 1):
        sheet.cell(row=row, column=1).number_format = "@"  # numbers like 0201 keep their zeros
    sheet.freeze_panes = "A2"

    def reference(title, headers, rows):
        ref = book.create_sheet(title)
        ref.append(headers)
        for cell in ref[1]:
            cell.font, cell.fill = bold, fill
        for values in rows:
            ref.append(writable(values))
        formulas_as_text(ref)
        for index in range(len(headers)):
            ref.column_dimensions[chr(ord("A") + index)].width = 14 if index else 40
        return ref

    kind_labels = dict(RuleItem.Kind.choices)
    reference(
        _("项目"),
        [
            _("项目（下拉选项）"),
            _("编号"),
            _("项目名称"),
            _("类别"),
            _("每次最少"),
            _("每次最多"),
            _("每期上限"),
            _("每年上限"),
            _("每期最多次数"),
            _("须佐证材料"),
            _("适用党员"),
        ],
        [
            [
                option,
                item.code,
                item.title,
                str(kind_labels[item.kind]),
                float(item.points_min),
                float(item.points_max),
                None if item.cap_per_period is None else float(item.cap_per_period),
                None if item.cap_per_year is None else float(item.cap_per_year),
                item.times_per_period,
                _("是（不能导入）") if item.evidence_required else _("否"),
                "、".join(sorted(categories)),
            ]
            for option, (item, categories) in items.items()
        ],
    )
    reference(
        _("周期"),
        [_("周期"), _("开始"), _("结束"), _("状态")],
        [[p.name, p.starts_on, p.ends_on, _("已锁定") if p.is_locked else _("可记分")] for p in periods],
    )
    reference(
        _("党员"),
        [_("学号/工号"), _("姓名"), _("类别")],
        [[m.number, m.name, str(m.get_category_display())] for m in members],
    )
    notes = book.create_sheet(_("说明"))
    notes.column_dimensions["A"].width = 110
    for line in (
        _(
            "在“积分卡”表中每行填写一条记分，表头不要修改；“周期”“类别”“项目”可从下拉列表选择，也可直接填写"
            "（周期名称；项目编号在该党员的评分细则中唯一时，只填编号即可）。"
        ),
        _(
            "必填：学号/工号、周期、项目、分值、事由；姓名和类别用于核对，可不填；发生日期不填时按周期内的当天（或周期最后一天）。"
        ),
        _("分值填写每次的分值大小（正数）；基础、减分项目为扣分，加分项目为加分，由项目类别决定。"),
        _("须提供佐证材料的项目不能通过导入记分，请在记分页面逐条录入并上传佐证。"),
        _(
            "上传后先检查（不写入任何数据），每处错误会标明行号、列和原因；全部无误后确认导入，任何一行有误整份文件都不会导入。"
        ),
        _("示例：A1-00001｜张三｜%(period)s｜加分/贡献｜A-C02 参加志愿服务、奉献社会｜3｜社区志愿服务｜%(date)s")
        % {"period": periods[0].name if periods else "", "date": periods[0].starts_on if periods else ""},
    ):
        notes.append([line])

    last = rows_limit
    validations = [
        (
            DataValidation(type="list", formula1=f"'{_('周期')}'!$A$2:$A${max(len(periods), 1) + 1}", allow_blank=True),
            f"C2:C{last}",
            _("请从下拉列表选择周期"),
        ),
        (
            DataValidation(
                type="list", formula1='"{}"'.format(",".join(str(v) for v in kind_labels.values())), allow_blank=True
            ),
            f"D2:D{last}",
            _("请从下拉列表选择类别"),
        ),
        (
            DataValidation(type="list", formula1=f"'{_('项目')}'!$A$2:$A${max(len(items), 1) + 1}", allow_blank=True),
            f"E2:E{last}",
            _("请从下拉列表选择项目"),
        ),
        (
            DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True),
            f"F2:F{last}",
            _("分值填写正数"),
        ),
    ]
    for validation, cells, message in validations:
        validation.error, validation.errorTitle = message, _("输入有误")
        validation.prompt, validation.showErrorMessage, validation.showInputMessage = message, True, True
        if validation.type == "list":
            # A warning, not a stop: a typed period name or item code is kept (the import checks it).
            validation.errorStyle = "warning"
            validation.error = _("不在下拉列表中；可以保留，导入时按周期名称或项目编号核对")
        sheet.add_data_validation(validation)
        validation.add(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), _("%(branch)s-%(year)s年度积分卡导入模板.xlsx") % {
        "branch": branch.name,
        "year": cycle.year,
    }
