"""The ledger (台账) and its companions as Excel workbooks.

Written with XlsxWriter, chosen by measurement (benchmarks/export.py, docs/performance.md): in
constant-memory mode it writes a 400,000-line ledger in about half the time openpyxl's write-only
mode needs, with less memory; openpyxl stays for reading uploads and for the import template.
Large exports use constant-memory mode (rows are flushed to a temporary file per sheet as they
are written); small ones are built in memory.

No export writes more than one branch's member sheets into one workbook: the ledger workbook of a
college or the university is a zip of one workbook per branch (`write_branch_zip`). A workbook of a
sheet per member costs about 18 KB of memory per sheet until it is closed, and XlsxWriter checks each
new sheet's name against every sheet already added (quadratic in the sheets, with no supported way
to skip it); at a branch's few hundred sheets neither matters, at a university's 30,000 both did.

Every cell is written by its type, never guessed: text with `write_string` (the workbook also
turns off XlsxWriter's string-to-formula/number/URL conversions), points as numbers with a number
format, dates as dates. Text that begins with = + - @ a tab or a carriage return additionally
carries Excel's quote prefix, so that even editing the cell in Excel keeps it text.

Column headers are the files' format (documented in docs/formats.md and checked by a test), so
they are Chinese whatever the interface language, like the roster's.
"""

import gc
import re
import zipfile
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass

import xlsxwriter
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N

from members.models import Member
from partyscore.core.exceptions import ApplicationError
from partyscore.core.filenames import safe_filename

from . import io_selectors as reads
from .models import LedgerEntry, OutcomeRule, RuleItem, consequence_label

TEXT, WRAP, POINTS, SIGNED, INT, DATE, PERCENT, COUNT = "text", "wrap", "points", "signed", "int", "date", "pct", "n"
NUMBER_FORMATS = {
    POINTS: "0.00",
    SIGNED: "+0.00;-0.00;0.00",
    INT: "0",
    DATE: "yyyy-mm-dd",
    PERCENT: "0.0%",
    COUNT: '0"条"',
}
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
FONT = "宋体"
MAX_SHEET_ROWS = 1_048_576
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_TYPE = "application/zip"
# A closed XlsxWriter workbook is a reference cycle (each sheet points back at it), freed only by a
# full garbage collection, which Python runs seldom: the zip collects once this many members' sheets
# are written, so that its memory stays about one branch's whatever the scope (a full collection
# costs some 50 ms of CPU in a worker; measured in benchmarks/export.py).
COLLECT_EVERY_MEMBERS = 200


def no_members(organization, year):
    """The refusal of a ledger export whose scope has no members in the year."""
    message = _("%(org)s %(year)s年度没有党员，没有可导出的台账")
    return ApplicationError(message % {"org": organization.name, "year": year})


_WRITE_TEXT, _WRITE_DATE, _WRITE_NUMBER = "text", "date", "number"


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    width: float = 10


LEDGER_COLUMNS = (
    Column(N("日期"), DATE, 11),
    Column(N("周期"), TEXT, 16),
    Column(N("类别"), TEXT, 10),
    Column(N("项目编号"), TEXT, 9),
    Column(N("项目"), WRAP, 28),
    Column(N("分值"), SIGNED, 8),
    Column(N("事由"), WRAP, 32),
    Column(N("来源"), TEXT, 12),
    Column(N("记录人"), TEXT, 10),
    Column(N("审核人"), TEXT, 10),
    Column(N("备注"), TEXT, 9),
)
FLAT_COLUMNS = (
    Column(N("党支部"), TEXT, 18),
    Column(N("学号/工号"), TEXT, 12),
    Column(N("姓名"), TEXT, 9),
    *LEDGER_COLUMNS,
)
SUMMARY_HEAD = (
    Column(N("序号"), INT, 6),
    Column(N("党支部"), TEXT, 18),
    Column(N("学号/工号"), TEXT, 12),
    Column(N("姓名"), TEXT, 9),
    Column(N("类别"), TEXT, 7),
    Column(N("党员身份"), TEXT, 9),
    Column(N("党员干部"), TEXT, 8),
    Column(N("基础扣分"), SIGNED, 9),
    Column(N("加分/贡献"), SIGNED, 9),
    Column(N("减分"), SIGNED, 8),
    Column(N("一票否决"), TEXT, 8),
)
SUMMARY_TAIL = (
    Column(N("年度总分"), POINTS, 9),
    Column(N("支部排名"), INT, 8),
    Column(N("分数段"), WRAP, 24),
    Column(N("积分结果"), WRAP, 30),
    Column(N("备注"), TEXT, 12),
)
COMMITTEE_HEAD = (
    Column(N("单位"), TEXT, 24),
    Column(N("层级"), TEXT, 12),
    Column(N("党员数"), INT, 8),
    Column(N("参与记分"), INT, 8),
    Column(N("免于记分"), INT, 8),
    Column(N("平均分"), POINTS, 8),
    Column(N("最高分"), POINTS, 8),
    Column(N("最低分"), POINTS, 8),
)
COMMITTEE_TAIL = (
    Column(N("可评优秀"), INT, 8),
    Column(N("预警"), INT, 7),
    Column(N("不合格（候选）"), INT, 9),
    Column(N("比例上限检查"), WRAP, 30),
    Column(N("评分细则"), TEXT, 16),
    Column(N("已记分党员"), INT, 9),
    Column(N("记分覆盖率"), PERCENT, 9),
    Column(N("台账条数"), INT, 9),
)
PUBLICITY_COLUMNS = (
    Column(N("序号"), INT, 6),
    Column(N("党支部"), TEXT, 20),
    Column(N("学号/工号"), TEXT, 12),
    Column(N("姓名"), TEXT, 10),
    Column(N("类别"), TEXT, 8),
    Column(N("年度总分"), POINTS, 10),
    Column(N("支部排名"), INT, 9),
    Column(N("备注"), TEXT, 14),
)
EVALUATION_COLUMNS = (
    Column(N("序号"), INT, 6),
    Column(N("党支部"), TEXT, 18),
    Column(N("学号/工号"), TEXT, 12),
    Column(N("姓名"), TEXT, 9),
    Column(N("类别"), TEXT, 7),
    Column(N("党员身份"), TEXT, 9),
    Column(N("年度总分"), POINTS, 9),
    Column(N("支部排名"), INT, 8),
    Column(N("积分提示"), TEXT, 14),
    Column(N("积分结果及依据"), WRAP, 40),
    Column(N("民主评议意见"), WRAP, 18),
    Column(N("备注"), TEXT, 10),
)
BOARD_HEAD = (
    Column(N("排名"), INT, 6),
    Column(N("姓名"), TEXT, 10),
    Column(N("学号/工号"), TEXT, 12),
    Column(N("党支部"), TEXT, 18),
    Column(N("年度总分"), POINTS, 10),
)
BOARD_TAIL = (Column(N("积分结果"), WRAP, 30),)

# Sheets that apps above scoring add at the end of the branch workbook (reviews: 会议记录), each a
# callable(book, organization=, year=) writing one sheet in a constant number of queries.
BRANCH_WORKBOOK_SHEETS = []

CATEGORY = dict(Member.Category.choices)
STATUS = dict(Member.Status.choices)
KINDS = [k for k, _label in RuleItem.Kind.choices]


def _labels():
    """Display labels, resolved once per export (gettext per line would cost at 400,000 lines)."""
    return {
        "kind": {k: str(v) for k, v in RuleItem.Kind.choices},
        "source": {k: str(v) for k, v in LedgerEntry.Source.choices},
        "consequence": {k: str(v) for k, v in OutcomeRule.Consequence.choices},
        "talk": {kind: str(consequence_label(OutcomeRule.Consequence.TALK, kind)) for kind in OutcomeRule.Kind.values},
        "category": {k: str(v) for k, v in CATEGORY.items()},
        "status": {k: str(v) for k, v in STATUS.items()},
        "reversal": _("冲销记录"),
        "reversed": _("已冲销"),
    }


PROPOSED_NOTE = N("注：年度总分、排名与积分结果为系统依据评分细则计算的拟定结果，以党员大会（民主评议）评定为准。")


# ── streams ──────────────────────────────────────────────────────────────────────────────────


@contextmanager
def _streams():
    """Closes every stream opened through it, however the writer stops.

    A stream is a database cursor part way through its rows. On SQLite an unfinished read keeps
    the whole database locked for writers; a writer that fails leaves its streams in its frames,
    which live on in the exception's traceback (and in any reference cycle through it until the
    garbage collector runs, minutes later on a quiet server): every login answered 503. Closing
    them in a `finally` releases the database the moment the writer stops."""
    with ExitStack() as stack:
        yield lambda stream: stack.enter_context(closing(stream))


# ── worksheet names ─────────────────────────────────────────────────────────────────────────

SHEET_NAME_UNITS = 31  # Excel's limit, counted in UTF-16 code units (an emoji takes two)
SHEET_NAME_UNSAFE = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f\ud800-\udfff]")  # Excel's, XML's and lone surrogates
SHEET_NAME_RESERVED = {"history"}  # Excel keeps it for change tracking


def _utf16_cut(text, units):
    """The longest prefix of `text` that fits in `units` UTF-16 code units."""
    used = 0
    for position, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:position]
    return text


def _trimmed(text):
    """No apostrophe or space at either end (Excel refuses a name that starts or ends with one)."""
    return text.strip().strip("'").strip()


def sheet_name_for(wanted, *, taken=()):
    """Excel's rules for any text: at most 31 UTF-16 units, none of []:*?/\\ or control characters,
    not starting or ending with an apostrophe, not "History", and unique regardless of case among
    `taken` (casefolded names) by a "(2)", "(3)"… suffix."""
    base = _trimmed(_utf16_cut(_trimmed(SHEET_NAME_UNSAFE.sub("_", str(wanted))), SHEET_NAME_UNITS)) or "Sheet"
    if base.casefold() in SHEET_NAME_RESERVED:
        base = f"{base}_"
    name, n = base, 1
    while name.casefold() in taken:
        n += 1
        suffix = f"({n})"
        name = _trimmed(_utf16_cut(base, SHEET_NAME_UNITS - len(suffix))) + suffix
    return name


# ── the writer ───────────────────────────────────────────────────────────────────────────────


class Book:
    """An XlsxWriter workbook with the ledger's formats; sheets are added with `sheet()`."""

    def __init__(self, output, *, constant_memory=False, title=""):
        self.workbook = xlsxwriter.Workbook(
            output,
            {
                "constant_memory": constant_memory,
                "in_memory": not constant_memory,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self.constant_memory = constant_memory
        self.workbook.set_properties({"title": title, "author": _("党员积分管理"), "company": ""})
        self._names = set()
        self.title = self._add(bold=True, font_size=16, align="center", font_name="黑体")
        self.note = self._pair(font_size=9)
        self.label = self._add(bold=True, border=1, align="center", bg_color="#F2F2F2")
        self.value = self._pair(bottom=1, align="left")
        self.header = self._add(bold=True, border=1, align="center", bg_color="#D9D9D9", text_wrap=True)
        self.sub_label = self._add(bold=True, border=1, align="center", bg_color="#F2F2F2")
        self.sub_text = self._pair(border=1)
        self.sign = self._pair(font_size=11)
        self.link = self._add(border=1, font_color="#1F4E79", underline=1)
        self.kinds = {
            kind: self._pair(border=1, **self._kind_props(kind))
            for kind in (TEXT, WRAP, POINTS, SIGNED, INT, DATE, PERCENT, COUNT)
        }
        self.bold_kinds = {
            kind: self._pair(border=1, bold=True, **self._kind_props(kind)) for kind in (TEXT, POINTS, INT)
        }

    @staticmethod
    def _kind_props(kind):
        if kind == WRAP:
            return {"text_wrap": True}
        if kind in NUMBER_FORMATS:
            return {"num_format": NUMBER_FORMATS[kind], "align": "center" if kind == DATE else "right"}
        return {}

    def _add(self, **props):
        return self.workbook.add_format({"font_name": FONT, "font_size": 10, "valign": "vcenter", **props})

    def _pair(self, **props):
        """A format and its quote-prefixed twin for text that must never turn into a formula."""
        return self._add(**props), self._add(quote_prefix=True, **props)

    def sheet_name(self, wanted):
        """A valid, unique worksheet name for any text (see `sheet_name_for`)."""
        name = sheet_name_for(wanted, taken=self._names)
        self._names.add(name.casefold())
        return name

    def sheet(self, name, columns, *, landscape=True, reserved=False):
        return Sheet(self, name if reserved else self.sheet_name(name), columns, landscape=landscape)

    def close(self):
        self.workbook.close()


class Sheet:
    """One worksheet laid out as a ledger page: A4, fitted to the page width, header rows repeated."""

    def __init__(self, book, name, columns, *, landscape=True):
        self.book, self.columns, self.name = book, columns, name
        self.ws = ws = book.workbook.add_worksheet(name)
        self.row, self.width = 0, len(columns)
        ws.set_paper(9)  # A4
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.center_horizontally()
        ws.set_footer("&C" + _("第 &P 页，共 &N 页"))
        for index, column in enumerate(columns):
            ws.set_column(index, index, column.width)
        self._formats = [book.kinds[column.kind] for column in columns]
        self._writes = [
            _WRITE_TEXT if column.kind in (TEXT, WRAP) else _WRITE_DATE if column.kind == DATE else _WRITE_NUMBER
            for column in columns
        ]

    # cells
    def text(self, row, col, value, formats):
        value = "" if value is None else str(value)
        if not value:
            self.ws.write_blank(row, col, None, formats[0])
        else:
            self.ws.write_string(row, col, value, formats[1] if value.startswith(DANGEROUS_START) else formats[0])

    def number(self, row, col, value, formats):
        if value is None:
            self.ws.write_blank(row, col, None, formats[0])
        else:
            self.ws.write_number(row, col, value, formats[0])

    def merged_text(self, row, first, last, value, formats):
        if last > first:
            self.ws.merge_range(row, first, row, last, "", formats[0])
        self.text(row, first, value, formats)

    # rows
    def title(self, text):
        self.ws.set_row(self.row, 30)
        self.merged_text(self.row, 0, self.width - 1, text, (self.book.title, self.book.title))
        self.row += 1

    def note(self, text):
        """A line of text across the sheet (not merged: it overflows into the empty cells beside it)."""
        self.text(self.row, 0, text, self.book.note)
        self.row += 1

    def fields(self, pairs, per_row=3):
        """A header block of label/value pairs laid across the sheet's width, as on a paper form
        (姓名：＿＿): a shaded label, then the value on an underline, running on over the empty cells
        beside it — not merged, since merged cells cost memory on every one of 10,000 member sheets."""
        span = self.width // per_row
        for start in range(0, len(pairs), per_row):
            for i, (label, value) in enumerate(pairs[start : start + per_row]):
                first = i * span
                self.ws.write_string(self.row, first, label, self.book.label)
                self.text(self.row, first + 1, value, self.book.value)
            self.row += 1

    def header(self):
        for index, column in enumerate(self.columns):
            self.ws.write_string(self.row, index, column.header, self.book.header)
        self.ws.repeat_rows(self.row)
        self.ws.freeze_panes(self.row + 1, 0)
        self.header_row = self.row
        self.row += 1

    def line(self, values):
        """One row of the table, each value by its column's kind. The hot path (millions of cells):
        it calls XlsxWriter's undecorated cell writers, skipping the A1-notation check of the public
        ones (write_string is `_write_string` behind that decorator); tests cover the pinned version."""
        ws, row, formats, writes = self.ws, self.row, self._formats, self._writes
        for col, value in enumerate(values):
            fmt = formats[col]
            if value is None or value == "":
                ws._write_blank(row, col, None, fmt[0])
            elif writes[col] is _WRITE_TEXT:
                ws._write_string(row, col, value, fmt[1] if value.startswith(DANGEROUS_START) else fmt[0])
            elif writes[col] is _WRITE_DATE:
                ws._write_datetime(row, col, value, fmt[0])
            else:
                ws._write_number(row, col, value, fmt[0])
        self.row += 1

    def skip(self, rows=1):
        self.row += rows

    def signatures(self, labels):
        """Signature lines (签字) spread across one row."""
        self.skip()
        span = self.width // len(labels)
        for i, label in enumerate(labels):
            self.text(self.row, i * span, label + "：" + "＿" * 8, self.book.sign)
        self.row += 1
        self.text(self.row, 0, _("日期：　　　　年　　月　　日"), self.book.sign)
        self.row += 1

    def autofilter(self):
        if self.row > self.header_row + 1:
            self.ws.autofilter(self.header_row, 0, self.row - 1, self.width - 1)

    def done(self):
        """In constant-memory mode each sheet holds a temporary file open until the workbook is
        closed; close it now (XlsxWriter reopens it when assembling), so 10,000 member sheets do not
        hold 10,000 file descriptors."""
        if self.book.constant_memory:
            self.ws._opt_close()


# ── the member ledger ────────────────────────────────────────────────────────────────────────


def ledger_title(total, year):
    if total and total.get("scheme__composition") == "additive":
        return _("%(year)s年度党员亮化记分管理台账") % {"year": year}
    return _("%(year)s年度党员积分台账") % {"year": year}


def member_remark(member, total):
    if member["exempt"]:
        return _("免于记分")
    if member["left_on"] is not None:
        return _("已离开党组织")
    if total is None or total["scheme_id"] is None:
        return _("无评分标准")
    if not total["scored"]:
        return _("不排名")
    return ""


def write_member_sheet(book, *, member, total, outcomes, lines, reversed_ids, periods, year, labels, name=None):
    """One member's ledger: header block, every line, subtotals by category and by period, the
    annual total and rank, the outcomes, and the signature lines."""
    sheet = book.sheet(name or f"{member['number']} {member['name']}", LEDGER_COLUMNS, reserved=name is not None)
    sheet.title(ledger_title(total, year))
    sheet.fields(
        [
            (_("姓名"), member["name"]),
            (_("学号/工号"), member["number"]),
            (_("所属党支部"), member["branch__name"]),
            (_("类别"), labels["category"].get(member["category"], "")),
            (_("党员身份"), labels["status"].get(member["status"], "")),
            (_("年度"), str(year)),
            (_("评分标准"), total["scheme__name"] if total and total["scheme__name"] else _("无已批准的评分标准")),
        ]
    )
    sheet.skip()
    sheet.header()
    kind_label, source_label = labels["kind"], labels["source"]
    reversal, reversed_text = labels["reversal"], labels["reversed"]
    by_kind = {kind: [0, 0] for kind in KINDS}  # lines (net of reversals for vetoes), points
    by_period = {}  # (kind, index) → [name, lines, points]
    for (
        entry_id,
        _member_id,
        occurred_on,
        period_kind,
        period_index,
        period_name,
        kind,
        code,
        title,
        points,
        reason,
        source,
        recorder,
        recorder_login,
        verifier,
        verifier_login,
        reverses_id,
        *_rest,
    ) in lines:
        if reverses_id:
            remark = reversal
        elif entry_id in reversed_ids:
            remark = reversed_text
        else:
            remark = ""
        sheet.line(
            (
                occurred_on,
                period_name,
                kind_label.get(kind, kind),
                code,
                title,
                points / 100,
                reason,
                source_label.get(source, source),
                recorder or recorder_login,
                verifier or verifier_login or "",
                remark,
            )
        )
        counts = by_kind[kind]
        counts[0] += -1 if (kind == RuleItem.Kind.VETO and reverses_id) else 1
        counts[1] += points
        period = by_period.setdefault((period_kind, period_index), [period_name, 0, 0])
        period[1] += 1
        period[2] += points
    if sheet.row == sheet.header_row + 1:
        sheet.text(sheet.row, 0, _("本年度暂无记分记录"), book.note)
        sheet.skip()
    sheet.skip()
    _write_subtotals(book, sheet, total, by_kind, by_period, periods, labels)
    _write_total(book, sheet, member, total)
    for outcome in outcomes:
        sheet.ws.write_string(sheet.row, 0, _("积分结果"), book.sub_label)
        # Unmerged: the text runs on over the empty cells to its right (merges cost memory per sheet).
        sheet.text(sheet.row, 1, f"{_consequence(outcome, labels)}：{outcome['reason']}", book.note)
        sheet.skip()
    sheet.note(_(PROPOSED_NOTE))
    sheet.signatures([_("记分员（签字）"), _("党支部书记（签字）")])
    sheet.done()
    return sheet


def _write_subtotals(book, sheet, total, by_kind, by_period, periods, labels):
    ws, kinds = sheet.ws, book.kinds
    for kind in KINDS:
        count, points = by_kind[kind]
        if kind == RuleItem.Kind.VETO and not count:
            continue
        ws.write_string(sheet.row, 0, _("分类小计"), book.sub_label)
        sheet.text(sheet.row, 1, labels["kind"][kind], book.sub_text)
        sheet.number(sheet.row, 3, max(count, 0) if kind == RuleItem.Kind.VETO else count, kinds[COUNT])
        if kind == RuleItem.Kind.VETO and count > 0:
            sheet.text(sheet.row, 4, _("一票否决，年度记分为零"), book.sub_text)
        sheet.number(sheet.row, 5, points / 100, kinds[SIGNED])
        sheet.skip()
    scores = (total or {}).get("period_scores") or {}
    scheme_kind = (total or {}).get("scheme__period_kind")
    keys = list(by_period)
    for index, name in periods.get(scheme_kind, []):
        if str(index) in scores and (scheme_kind, index) not in by_period:
            by_period[(scheme_kind, index)] = [name, 0, 0]
            keys.append((scheme_kind, index))
    for key in sorted(keys, key=lambda k: (k[0] != scheme_kind, k[0], k[1])):
        name, count, points = by_period[key]
        ws.write_string(sheet.row, 0, _("分期小计"), book.sub_label)
        sheet.text(sheet.row, 1, name, book.sub_text)
        sheet.number(sheet.row, 3, count, kinds[COUNT])
        sheet.number(sheet.row, 5, points / 100, kinds[SIGNED])
        if key[0] == scheme_kind and str(key[1]) in scores:
            ws.write_string(sheet.row, 6, _("本期得分"), book.sub_label)
            sheet.number(sheet.row, 7, scores[str(key[1])] / 100, kinds[POINTS])
        sheet.skip()


def _write_total(book, sheet, member, total):
    ws = sheet.ws
    ws.write_string(sheet.row, 0, _("年度总分"), book.sub_label)
    explanation = _("按评分细则计算（拟定）")
    if total and total["vetoed"]:
        explanation = _("一票否决，年度记分为零（拟定）")
    sheet.text(sheet.row, 1, explanation, book.note)
    sheet.number(
        sheet.row, 5, None if not total or total["total"] is None else total["total"] / 100, book.bold_kinds[POINTS]
    )
    ws.write_string(sheet.row, 6, _("支部排名"), book.sub_label)
    if total and total["rank"]:
        sheet.number(sheet.row, 7, total["rank"], book.bold_kinds[INT])
    else:
        sheet.text(sheet.row, 7, member_remark(member, total) or "—", book.sub_text)
    sheet.skip()


# ── workbooks ────────────────────────────────────────────────────────────────────────────────


def _grouped(lines):
    """Yield (member_id, [lines]) from the ordered line stream, one member at a time."""
    current, bucket = None, []
    for line in lines:
        if line[1] != current:
            if bucket:
                yield current, bucket
            current, bucket = line[1], []
        bucket.append(line)
    if bucket:
        yield current, bucket


def _summary_columns(period_columns):
    return (*SUMMARY_HEAD, *(Column(name, POINTS, 11) for _kind, _index, name in period_columns), *SUMMARY_TAIL)


def _consequence(outcome, labels):
    """The consequence's label; a talk says which (提醒谈话 / 诫勉谈话) by its rule's kind."""
    if outcome["consequence"] == OutcomeRule.Consequence.TALK:
        return labels["talk"].get(outcome.get("rule__kind"), labels["talk"][OutcomeRule.Kind.BAND])
    return labels["consequence"].get(outcome["consequence"], "")


def _outcome_texts(outcomes, labels):
    bands = "；".join(_consequence(o, labels) for o in outcomes if o["rule__kind"] == OutcomeRule.Kind.BAND)
    others = "；".join(_consequence(o, labels) for o in outcomes if o["rule__kind"] != OutcomeRule.Kind.BAND)
    return bands, others


def _points(value):
    return None if value is None else value / 100


def summary_values(number, member, total, outcomes, period_columns, labels):
    """One row of the summary sheet."""
    bands, others = _outcome_texts(outcomes, labels)
    scores = (total or {}).get("period_scores") or {}
    scheme_kind = (total or {}).get("scheme__period_kind")
    return [
        number,
        member["branch__name"],
        member["number"],
        member["name"],
        labels["category"].get(member["category"], ""),
        labels["status"].get(member["status"], ""),
        _("是") if member["is_cadre"] else _("否"),
        _points(total["base"]) if total else None,
        _points(total["bonus"]) if total else None,
        _points(total["penalty"]) if total else None,
        (_("是") if total["vetoed"] else _("否")) if total else "",
        *(_points(scores.get(str(index))) if kind == scheme_kind else None for kind, index, _name in period_columns),
        _points(total["total"]) if total else None,
        (total or {}).get("rank"),
        bands,
        others,
        member_remark(member, total),
    ]


def _share_checks(totals, scheme_ids, rules):
    """The share caps of the schemes in force for a branch (among `rules`, in their order: a code
    met twice counts once, the later rule), over its stored totals."""
    from .policy import share_cap_check

    by_code = {r.code: r for r in rules if r.scheme_id in scheme_ids}
    for rule in by_code.values():
        check = share_cap_check(rule, totals)
        yield rule.label, check.count, check.limit


def _with_outcomes(members, outcomes):
    """Attach each member's outcomes (both streams come in the members' order, from the same scope)."""
    pending = next(outcomes, None)
    for member, total in members:
        mine = []
        while pending is not None and pending[0] == member["id"]:
            mine.append({"consequence": pending[1], "reason": pending[2], "rule__kind": pending[3]})
            pending = next(outcomes, None)
        yield member, total, mine


class _Ahead:
    """A stream read one row ahead."""

    def __init__(self, stream):
        self.stream = stream
        self.head = next(stream, _Ahead)

    def pop(self):
        row, self.head = self.head, next(self.stream, _Ahead)
        return row


class BranchChunk:
    """Branches whose workbooks are written one after another from the same reads.

    Each read is one query over every branch of the chunk, in branch order: a stream (`rows`) is
    taken one branch at a time as its workbook is written, a value (`once`) is read on first use.
    So a chunk costs a fixed number of queries whatever its branches, and holds one branch's rows
    at a time. Streams are opened through `opened` (`_streams`), which closes them."""

    def __init__(self, branches, opened):
        self._opened = opened
        self.ids = [branch.pk for branch in branches]
        self._position = {pk: i for i, pk in enumerate(self.ids)}
        self._values, self._streams = {}, {}
        self.current = 0  # the position of the branch being written

    def at(self, branch):
        self.current = self._position[branch.pk]

    def once(self, key, read):
        """`read(branch ids)`, read once for the chunk."""
        if key not in self._values:
            self._values[key] = read(self.ids)
        return self._values[key]

    def rows(self, key, read, branch_of):
        """The current branch's rows of the stream `read(branch ids)`, where `branch_of(row)` is a
        row's branch id. Rows of branches already passed are skipped."""
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Ahead(self._opened(read(self.ids)))
        position = self._position
        while stream.head is not _Ahead and position[branch_of(stream.head)] < self.current:
            stream.pop()
        while stream.head is not _Ahead and position[branch_of(stream.head)] == self.current:
            yield stream.pop()


def _member_branch(row):
    return row[0]["branch_id"]


def _row_branch(row):
    return row[-1]


def write_branch_workbook(output, *, organization, year, constant_memory=False, progress=None, chunk=None):
    """A branch's ledger: a summary sheet and one ledger sheet per member, then the sheets apps above
    add (BRANCH_WORKBOOK_SHEETS).

    Read as one branch of `chunk` (a `BranchChunk`; a chunk of this branch alone when none is given),
    so a zip of many branches (write_branch_zip) costs a fixed number of queries per chunk. The
    branch's members are held with their totals and outcomes (a few hundred at most); its ledger
    lines stream past while the member sheets are written in the same order."""
    if chunk is None:
        with _streams() as opened:
            return write_branch_workbook(
                output,
                organization=organization,
                year=year,
                constant_memory=constant_memory,
                progress=progress,
                chunk=BranchChunk([organization], opened),
            )
    chunk.at(organization)
    labels = _labels()
    periods = chunk.once("periods", lambda ids: reads.periods_by_kind(year))
    reversed_ids = chunk.once("reversed", lambda ids: reads.reversed_ids(branches=ids, year=year))
    share_rules = chunk.once("share_rules", lambda ids: reads.share_cap_rules(branches=ids, year=year))
    members = list(
        _with_outcomes(
            chunk.rows("members", lambda ids: reads.member_stream(branches=ids, year=year), _member_branch),
            chunk.rows("outcomes", lambda ids: reads.outcome_stream(branches=ids, year=year), _row_branch),
        )
    )
    kinds = {total["scheme__period_kind"] for _m, total, _o in members if total and total["scheme_id"]}
    period_columns = [(kind, index, name) for kind in sorted(kinds) for index, name in periods.get(kind, [])]
    book = Book(
        output,
        constant_memory=constant_memory,
        title=_("%(org)s %(year)s年度积分台账") % {"org": organization.name, "year": year},
    )

    sheet = book.sheet(_("汇总"), _summary_columns(period_columns))
    sheet.title(_("%(org)s %(year)s年度党员积分汇总表") % {"org": organization.name, "year": year})
    sheet.note(_(PROPOSED_NOTE))
    sheet.header()
    names, scored, scheme_ids = {}, [], set()
    for number, (member, total, outcomes) in enumerate(members, start=1):
        name = names[member["id"]] = book.sheet_name(f"{member['number']} {member['name']}")
        row = sheet.row
        sheet.line(summary_values(number, member, total, outcomes, period_columns, labels))
        sheet.ws.write_url(row, 3, "internal:'{}'!A1".format(name.replace("'", "''")), book.link, string=member["name"])
        if total and total["scored"] and total["total"] is not None:
            scored.append(total["total"])
        if total and total["scheme_id"]:
            scheme_ids.add(total["scheme_id"])
    sheet.skip()
    for label, count, limit in _share_checks(scored, scheme_ids, share_rules):
        state = _("符合") if count <= limit else _("超出上限")
        sheet.note(
            _("%(label)s：现有 %(count)s 人，上限 %(limit)s 人（%(state)s）")
            % {"label": label, "count": count, "limit": limit, "state": state}
        )
    sheet.signatures([_("记分员（签字）"), _("党支部书记（签字）")])
    sheet.done()
    del scored

    position = {member_id: i for i, member_id in enumerate(names)}
    lines = _grouped(chunk.rows("lines", lambda ids: reads.ledger_lines(branches=ids, year=year), _row_branch))
    pending = next(lines, None)
    for done, (member, total, outcomes) in enumerate(members, start=1):
        member_lines = ()
        # Lines come in the members' order; a group for a member not listed is skipped, never misfiled.
        while pending is not None and position.get(pending[0], -1) < done - 1:
            pending = next(lines, None)
        if pending is not None and pending[0] == member["id"]:
            member_lines = pending[1]
            pending = next(lines, None)
        write_member_sheet(
            book,
            member=member,
            total=total,
            outcomes=outcomes,
            lines=member_lines,
            reversed_ids=reversed_ids,
            periods=periods,
            year=year,
            labels=labels,
            name=names[member["id"]],
        )
        if progress:
            progress(done, len(names))
    for write_sheet in BRANCH_WORKBOOK_SHEETS:
        write_sheet(book, organization=organization, year=year, chunk=chunk)
    book.close()
    return len(names)


def write_member_workbook(output, *, member, year):
    labels = _labels()
    data = reads.year_data(member=member, year=year)
    book = Book(output, title=_("%(name)s %(year)s年度积分台账") % {"name": member.name, "year": year})
    row = data.members[0]
    with _streams() as opened:
        write_member_sheet(
            book,
            member=row,
            total=data.totals.get(member.pk),
            outcomes=data.outcomes.get(member.pk, ()),
            lines=opened(reads.ledger_lines(member=member, year=year)),
            reversed_ids=reads.reversed_ids(member=member, year=year),
            periods=data.periods,
            year=year,
            labels=labels,
        )
    book.close()
    return 1


def write_flat_ledger(output, *, organization, year, constant_memory=False, progress=None):
    """Every line of the scope on one sheet (continued on a new sheet past Excel's row limit)."""
    labels = _labels()
    kind_label, source_label = labels["kind"], labels["source"]
    reversal, reversed_text = labels["reversal"], labels["reversed"]
    reversed_ids = reads.reversed_ids(organization=organization, year=year)
    several_colleges = organization.kind == "committee"  # branches are then named with their college
    book = Book(
        output,
        constant_memory=constant_memory,
        title=_("%(org)s %(year)s年度积分台账明细") % {"org": organization.name, "year": year},
    )

    def new_sheet(part):
        name = _("台账明细") if part == 1 else _("台账明细（%(n)s）") % {"n": part}
        sheet = book.sheet(name, FLAT_COLUMNS)
        sheet.title(_("%(org)s %(year)s年度党员积分台账明细") % {"org": organization.name, "year": year})
        sheet.header()
        return sheet

    with _streams() as opened:
        part, sheet, written = 1, new_sheet(1), 0
        for (
            entry_id,
            _member_id,
            occurred_on,
            _pk,
            _pi,
            period_name,
            kind,
            code,
            title,
            points,
            reason,
            source,
            recorder,
            recorder_login,
            verifier,
            verifier_login,
            reverses_id,
            _branch_id,
            number,
            name,
            branch_name,
            college,
        ) in opened(reads.ledger_lines(organization=organization, year=year, with_member=True)):
            if sheet.row >= MAX_SHEET_ROWS:
                sheet.autofilter()
                sheet.done()
                part += 1
                sheet = new_sheet(part)
            sheet.line(
                (
                    f"{college}·{branch_name}" if several_colleges else branch_name,
                    number,
                    name,
                    occurred_on,
                    period_name,
                    kind_label.get(kind, kind),
                    code,
                    title,
                    points / 100,
                    reason,
                    source_label.get(source, source),
                    recorder or recorder_login,
                    verifier or verifier_login or "",
                    reversal if reverses_id else (reversed_text if entry_id in reversed_ids else ""),
                )
            )
            written += 1
            if progress and written % 5000 == 0:
                progress(written)
    sheet.autofilter()
    sheet.done()
    book.close()
    return written


def write_committee_workbook(output, *, organization, year, constant_memory=False, progress=None):
    """Per general branch and branch: members scored, distribution by band, excellent / warned /
    unqualified counts, the share-cap check, and the pipeline completion computable today."""
    labels = _labels()
    orgs, figures = reads.committee_figures(organization=organization, year=year)
    bands = reads.band_consequences(figures)
    columns = (*COMMITTEE_HEAD, *(Column(labels["consequence"][c], INT, 10) for c in bands), *COMMITTEE_TAIL)
    book = Book(
        output,
        constant_memory=constant_memory,
        title=_("%(org)s %(year)s年度积分统计") % {"org": organization.name, "year": year},
    )
    sheet = book.sheet(_("统计汇总"), columns)
    sheet.title(_("%(org)s %(year)s年度党员积分统计汇总表") % {"org": organization.name, "year": year})
    sheet.note(_(PROPOSED_NOTE))
    sheet.header()
    # Sum branches into every node above them (general branches and the scope's root).
    rolled = {o.pk: reads.OrgFigures(org=o) for o in orgs if o.kind != "branch"}
    for org in orgs:
        if org.kind == "branch":
            for ancestor in orgs:
                if ancestor.pk in rolled and org.path.startswith(ancestor.path):
                    rolled[ancestor.pk].add(figures[org.pk])
    kind_label = {"committee": _("党委"), "general_branch": _("党总支/二级党委"), "branch": _("党支部")}
    for done, org in enumerate(orgs, start=1):
        f = rolled.get(org.pk) or figures[org.pk]
        indent = "　" * max(org.depth - organization.depth, 0)
        if org.kind == "branch":
            share = (
                "；".join(
                    _("%(label)s：%(count)s/%(limit)s 人%(state)s")
                    % {"label": label, "count": count, "limit": limit, "state": "" if count <= limit else _("（超出）")}
                    for label, count, limit in f.share
                )
                or "—"
            )
            scheme = f.scheme_state
        else:
            share = _("%(n)s 个支部超出") % {
                "n": sum(
                    1
                    for o in orgs
                    if o.kind == "branch"
                    and o.path.startswith(org.path)
                    and any(c > lim for _l, c, lim in figures[o.pk].share)
                )
            }
            scheme = ""
        average = round(sum(f.totals) / len(f.totals) / 100, 2) if f.totals else None
        sheet.line(
            [
                indent + org.name,
                kind_label.get(org.kind, ""),
                f.members,
                f.scored,
                f.exempt,
                average,
                max(f.totals) / 100 if f.totals else None,
                min(f.totals) / 100 if f.totals else None,
                *(f.bands.get(c, 0) for c in bands),
                f.excellent,
                f.warned,
                f.unqualified,
                share,
                scheme,
                f.members_with_entries,
                (f.members_with_entries / (f.members - f.exempt)) if f.members - f.exempt > 0 else None,
                f.lines,
            ]
        )
        if progress:
            progress(done, len(orgs))
    sheet.autofilter()
    sheet.done()
    notes = book.sheet(_("说明"), (Column(N("说明"), WRAP, 110),), landscape=False)
    notes.title(_("统计口径说明"))
    for text in (
        _(
            "党员数：年度内属于本组织的党员（年内离开党组织的党员计入离开前所在支部）；参与记分：有年度总分且参与排名的党员。"
        ),
        _(
            "分数段：各评分细则中“分数段”类结果规则命中的人数；可评优秀、预警、不合格（候选）按结果类别统计，每人只计一次。"
        ),
        _("比例上限检查：各支部按其评分细则的比例上限规则（如95分以上不超过5%）检查，“现有/上限”。"),
        _("评分细则：本支部细则已批准、沿用上级评分标准，或无已批准的评分标准。已记分党员：本年度台账中有记录的党员。"),
        _(PROPOSED_NOTE),
        _("党员自评、考评小组评分、群众评议、异议处理、公示与党员大会定绩等环节的完成情况，待评议流程上线后列入本表。"),
    ):
        notes.note(text)
    notes.done()
    book.close()
    return len(orgs)


def _ranked(data):
    """Members in rank order within each branch (unranked last), as the board and publicity show them."""

    def key(member):
        total = data.totals.get(member["id"]) or {}
        rank = total.get("rank")
        return member["branch__path"], rank is None, rank or 0, member["number"]

    return sorted(data.members, key=key)


def write_publicity_list(output, *, organization, year, constant_memory=False, progress=None):
    labels = _labels()
    data = reads.year_data(organization=organization, year=year)
    book = Book(
        output,
        constant_memory=constant_memory,
        title=_("%(org)s %(year)s年度党员积分公示名单") % {"org": organization.name, "year": year},
    )
    sheet = book.sheet(_("公示名单"), PUBLICITY_COLUMNS, landscape=False)
    sheet.title(_("%(org)s %(year)s年度党员积分公示名单") % {"org": organization.name, "year": year})
    sheet.note(
        _("公示时间：　　　　年　　月　　日至　　　　年　　月　　日。公示期间如有异议，请向党支部或上级党组织反映。")
    )
    sheet.header()
    for number, member in enumerate(_ranked(data), start=1):
        total = data.totals.get(member["id"]) or {}
        sheet.line(
            [
                number,
                member["branch__name"],
                member["number"],
                member["name"],
                labels["category"].get(member["category"], ""),
                _points(total.get("total")),
                total.get("rank"),
                member_remark(member, total or None),
            ]
        )
    sheet.note(_(PROPOSED_NOTE))
    sheet.signatures([_("党支部（盖章）"), _("党支部书记（签字）")])
    sheet.done()
    book.close()
    return len(data.members)


def evaluation_hint(outcomes):
    consequences = {o["consequence"] for o in outcomes}
    if consequences & reads.UNQUALIFIED:
        return _("不合格（候选）")
    if consequences & reads.WARNED:
        return _("预警")
    if consequences & reads.EXCELLENT:
        return _("可评优秀")
    return ""


def write_evaluation_results(output, *, organization, year, constant_memory=False, progress=None):
    """The annual results put before democratic evaluation (民主评议), with room for its opinion."""
    labels = _labels()
    data = reads.year_data(organization=organization, year=year)
    book = Book(
        output,
        constant_memory=constant_memory,
        title=_("%(org)s %(year)s年度民主评议党员积分结果") % {"org": organization.name, "year": year},
    )
    sheet = book.sheet(_("民主评议"), EVALUATION_COLUMNS)
    sheet.title(_("%(org)s %(year)s年度民主评议党员积分结果") % {"org": organization.name, "year": year})
    sheet.note(_(PROPOSED_NOTE))
    sheet.header()
    for number, member in enumerate(_ranked(data), start=1):
        total = data.totals.get(member["id"]) or {}
        outcomes = data.outcomes.get(member["id"], ())
        detail = "；".join(f"{_consequence(o, labels)}：{o['reason']}" for o in outcomes)
        sheet.line(
            [
                number,
                member["branch__name"],
                member["number"],
                member["name"],
                labels["category"].get(member["category"], ""),
                labels["status"].get(member["status"], ""),
                _points(total.get("total")),
                total.get("rank"),
                evaluation_hint(outcomes),
                detail,
                "",
                member_remark(member, total or None),
            ]
        )
    sheet.signatures([_("记录人（签字）"), _("党支部书记（签字）")])
    sheet.done()
    book.close()
    return len(data.members)


def write_board(output, *, organization, year, constant_memory=False, progress=None):
    """The points board (积分榜): scored members by rank, with each period's score."""
    labels = _labels()
    data = reads.year_data(organization=organization, year=year)
    periods = data.period_columns()
    columns = (*BOARD_HEAD, *(Column(name, POINTS, 11) for _kind, _index, name in periods), *BOARD_TAIL)
    book = Book(
        output,
        constant_memory=constant_memory,
        title=_("%(org)s %(year)s年度积分榜") % {"org": organization.name, "year": year},
    )
    sheet = book.sheet(_("积分榜"), columns)
    sheet.title(_("%(org)s %(year)s年度党员积分榜") % {"org": organization.name, "year": year})
    sheet.note(_(PROPOSED_NOTE))
    sheet.header()
    for member in _ranked(data):
        total = data.totals.get(member["id"]) or {}
        if not total.get("scored") or total.get("total") is None:
            continue
        scores = total.get("period_scores") or {}
        outcomes = "；".join(_consequence(o, labels) for o in data.outcomes.get(member["id"], ()))
        sheet.line(
            [
                total.get("rank"),
                member["name"],
                member["number"],
                member["branch__name"],
                _points(total["total"]),
                *(
                    _points(scores.get(str(index))) if kind == total.get("scheme__period_kind") else None
                    for kind, index, _name in periods
                ),
                outcomes,
            ]
        )
    sheet.done()
    book.close()
    return len(data.members)


def zip_entry_names(organization, orgs, branches, year):
    """branch id → the name of its workbook in the zip of `organization`'s branches: the branch's
    own download name (`export_filename`), in a folder per organization between the scope and the
    branch (a college's, for a committee's zip). Each part is made safe (`safe_filename`); a name met
    twice in one folder carries the branch's code."""
    by_path = {org.path: org for org in orgs}
    names, taken = {}, set()
    for branch in branches:
        folders = [
            safe_filename(by_path[path].name)
            for path in branch.ancestor_paths()
            if path in by_path and len(path) > len(organization.path) and path != branch.path
        ]
        name = "/".join([*folders, export_filename("branch_workbook", branch, year)])
        if name.casefold() in taken:
            label = _("%(name)s（%(code)s）") % {"name": branch.name, "code": branch.code}
            name = "/".join([*folders, safe_filename(_(FILE_TITLES["branch_workbook"]) % {"org": label, "year": year})])
            name += ".xlsx"
        taken.add(name.casefold())
        names[branch.pk] = name
    return names


@dataclass(frozen=True)
class ZipPart:
    """A chunk of branches of a zip of branch workbooks, with their entry names."""

    branches: list  # Organization, in tree order
    names: list  # the entry name of each branch's workbook
    members: int


def branch_zip_parts(*, organization, year):
    """The zip of `organization`'s branch workbooks cut into chunks of about EXPORT_ZIP_PART_MEMBERS
    members (`ZipPart`s, in order): a chunk is one read of a fixed number of queries (which bounds how
    long a read stays open, not the memory: the rows stream) and, in a background job, one task. A
    branch without members in the year has none. Two queries. Refused, in Chinese, for a scope
    without members."""
    orgs, chunks = reads.branch_chunks(
        organization=organization, year=year, members_per_chunk=settings.EXPORT_ZIP_PART_MEMBERS
    )
    if not chunks:
        raise no_members(organization, year)
    names = zip_entry_names(organization, orgs, [branch for run in chunks for branch, _n in run], year)
    return [ZipPart([b for b, _n in run], [names[b.pk] for b, _n in run], sum(n for _b, n in run)) for run in chunks]


def write_zip_part(archive, part, *, year, constant_memory=False, progress=None):
    """Write the workbooks of `part` (a ZipPart) into the open zip `archive`, one at a time, each closed
    before the next is begun: memory holds about one branch's workbook. Its branches are read as one
    `BranchChunk`: a fixed number of queries. Entries are stored (an .xlsx is compressed already)
    under UTF-8 names, which zipfile flags as such for Windows' unzip. `progress(members written)`."""
    done, uncollected = 0, 0
    with _streams() as opened:
        chunk = BranchChunk(part.branches, opened)
        for branch, name in zip(part.branches, part.names, strict=True):
            with archive.open(name, "w") as entry:
                members = write_branch_workbook(
                    entry, organization=branch, year=year, constant_memory=constant_memory, chunk=chunk
                )
            done, uncollected = done + members, uncollected + members
            if uncollected >= COLLECT_EVERY_MEMBERS:
                gc.collect()
                uncollected = 0
            if progress:
                progress(done)
    return done


def write_branch_zip(output, *, organization, year, constant_memory=False, progress=None):
    """The ledger workbooks of every branch of a wider scope (a college, the committee) in one zip
    (`branch_zip_parts`, each written by `write_zip_part`): memory per export does not depend on the
    scope's size, queries are fixed per chunk of branches."""
    parts = branch_zip_parts(organization=organization, year=year)
    total, written = sum(part.members for part in parts), 0

    def report(done):
        progress(written + done, total)

    with zipfile.ZipFile(output, "w", zipfile.ZIP_STORED) as archive:
        for part in parts:
            written += write_zip_part(
                archive, part, year=year, constant_memory=constant_memory, progress=report if progress else None
            )
    return written


def write_branch_ledgers(output, *, organization, year, constant_memory=False, progress=None):
    """The ledger workbook (台账工作簿): one .xlsx for a branch, a zip of one per branch above it."""
    writer = write_branch_workbook if organization.is_branch else write_branch_zip
    return writer(output, organization=organization, year=year, constant_memory=constant_memory, progress=progress)


WRITERS = {
    "branch_workbook": write_branch_ledgers,
    "flat_ledger": write_flat_ledger,
    "committee": write_committee_workbook,
    "publicity": write_publicity_list,
    "evaluation": write_evaluation_results,
    "board": write_board,
}

FILE_TITLES = {
    "branch_workbook": N("%(org)s-%(year)s年度积分台账"),
    "flat_ledger": N("%(org)s-%(year)s年度台账明细"),
    "committee": N("%(org)s-%(year)s年度积分统计"),
    "publicity": N("%(org)s-%(year)s年度积分公示名单"),
    "evaluation": N("%(org)s-%(year)s年度民主评议积分结果"),
    "board": N("%(org)s-%(year)s年度积分榜"),
}


def export_filename(kind, organization, year):
    """The download's name: the ledger workbook of a scope above a branch is a zip."""
    extension = ".zip" if kind == "branch_workbook" and not organization.is_branch else ".xlsx"
    return safe_filename(_(FILE_TITLES[kind]) % {"org": organization.name, "year": year}) + extension


def content_type(filename):
    return ZIP_TYPE if filename.endswith(".zip") else XLSX_TYPE


def member_filename(member, year):
    return (
        safe_filename(
            _("%(name)s%(number)s-%(year)s年度积分台账") % {"name": member.name, "number": member.number, "year": year}
        )
        + ".xlsx"
    )
