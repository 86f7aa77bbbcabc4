"""docs/formats.md and the code agree: the column tables, the example files, the refusal messages."""

import re
from pathlib import Path

import openpyxl
import pytest

from partyscore.core import xlsx_safety as safety
from reviews.grades import GRADE_COLUMNS
from reviews.meetings import MEETING_COLUMNS
from scoring import card_import, exports

DOCS = Path(__file__).resolve().parents[2] / "docs"
FORMATS = (DOCS / "formats.md").read_text()
PERIODS, BANDS = "〈各期得分〉", "〈分数段〉"


def headers(columns):
    return [c.header for c in columns]


SPECS = {
    "card_import": list(card_import.COLUMNS),
    "member_ledger": headers(exports.LEDGER_COLUMNS),
    "branch_summary": [*headers(exports.SUMMARY_HEAD), PERIODS, *headers(exports.SUMMARY_TAIL)],
    "flat_ledger": headers(exports.FLAT_COLUMNS),
    "committee": [*headers(exports.COMMITTEE_HEAD), BANDS, *headers(exports.COMMITTEE_TAIL)],
    "publicity": headers(exports.PUBLICITY_COLUMNS),
    "evaluation": headers(exports.EVALUATION_COLUMNS),
    "board": [*headers(exports.BOARD_HEAD), PERIODS, *headers(exports.BOARD_TAIL)],
    "meetings": headers(MEETING_COLUMNS),
    "grades": headers(GRADE_COLUMNS),
}
EXAMPLES = {  # file → (table, sheet, the header's first cell)
    "card-import-template.xlsx": ("card_import", "积分卡", "学号/工号"),
    "member-ledger.xlsx": ("member_ledger", 0, "日期"),
    "branch-workbook.xlsx": ("branch_summary", "汇总", "序号"),
    "flat-ledger.xlsx": ("flat_ledger", 0, "党支部"),
    "committee.xlsx": ("committee", "统计汇总", "单位"),
    "publicity-list.xlsx": ("publicity", 0, "序号"),
    "evaluation-results.xlsx": ("evaluation", 0, "序号"),
    "points-board.xlsx": ("board", 0, "排名"),
}


def documented(name):
    block = re.search(rf"<!-- columns:{name} -->(.*?)<!-- /columns:{name} -->", FORMATS, re.S)
    assert block, f"docs/formats.md has no column table {name!r}"
    rows = [line for line in block.group(1).strip().splitlines() if line.startswith("|")][2:]
    return [row.split("|")[1].strip() for row in rows]


def matches(actual, expected):
    """`expected` may hold one placeholder standing for any number of columns."""
    for placeholder in (PERIODS, BANDS):
        if placeholder in expected:
            at = expected.index(placeholder)
            head, tail = expected[:at], expected[at + 1 :]
            return actual[: len(head)] == head and actual[len(actual) - len(tail) :] == tail
    return actual == expected


@pytest.mark.parametrize("name", list(SPECS))
def test_every_column_table_in_the_doc_is_the_codes(name):
    assert documented(name) == SPECS[name]


@pytest.mark.parametrize("filename", list(EXAMPLES))
def test_every_example_file_is_linked_and_has_the_documented_headers(filename):
    table, sheet, first = EXAMPLES[filename]
    assert f"(examples/{filename})" in FORMATS
    book = openpyxl.load_workbook(DOCS / "examples" / filename, read_only=True)
    ws = book[sheet] if isinstance(sheet, str) else book.worksheets[sheet]
    row = next(r for r in ws.iter_rows(values_only=True, max_row=12) if r and r[0] == first)
    actual = [v for v in row if v is not None]
    assert matches(actual, documented(table)), actual
    book.close()


def test_the_generated_headers_match_the_doc(io_world):
    """The code's own output today (not only the committed examples) fits the doc's tables."""
    import io

    from .conftest import open_xlsx

    w = io_world
    for kind, table, first in (
        ("branch_workbook", "branch_summary", "序号"),
        ("committee", "committee", "单位"),
        ("board", "board", "排名"),
    ):
        buffer = io.BytesIO()
        exports.WRITERS[kind](buffer, organization=w.U if kind == "committee" else w.A1, year=w.year)
        sheet = open_xlsx(buffer.getvalue()).worksheets[0]
        row = next(r for r in sheet.iter_rows(values_only=True) if r and r[0] == first)
        assert matches([v for v in row if v is not None], documented(table)), kind


@pytest.mark.parametrize(
    "message",
    [
        safety.WRONG_TYPE,
        safety.MACRO,
        safety.NOT_XLSX,
        safety.TRUNCATED,
        safety.ENCRYPTED,
        safety.LEGACY_XLS,
        safety.ZIP_BOMB,
        safety.XML_BOMB,
        safety.DIMENSIONS,
        safety.TOO_MANY_ROWS,
        safety.FORMULAS,
    ],
)
def test_every_refusal_message_is_documented(message):
    start = message.split("%")[0].split("（")[0][:10]
    assert start in FORMATS, start


def test_the_roster_import_says_what_the_doc_says_under_the_column_it_names(world):
    """Each bad roster row gets the documented reason, under the column the doc gives in brackets."""
    from tests.members.test_roster_import import GOOD, HEADERS, run

    reasons = re.search(r"Reasons \(column in brackets\):(.*?)missing columns", FORMATS, re.S).group(1)
    reasons = " ".join(reasons.split())
    cases = [
        (["", "某人", "A1", "教职工", "正式党员"], "学号/工号", "不能为空"),
        (["N009", "某人", "A1", "教职工", "预备党员"], "预备期开始日期", "预备党员须填写预备期开始日期"),
        (["N009", "某人", "A1", "教职工", "正式党员", "", "", "", "", "", "x@"], "邮箱", "请输入合法的邮件地址"),
        (["N009", "某人", "A1", "教职工", "正式党员", "", "也许"], "是否党员干部", "应填“是”或“否”"),
    ]
    for row, column, message in cases:
        row = row + [""] * (len(HEADERS) - len(row))
        (error,) = run(world.secretary, [*GOOD, row], confirm=False).errors
        assert (error.column, error.message) == (column, message)
        assert f"{message} ({column}" in reasons, message
    repeated = run(world.secretary, [["N001", "", *GOOD[0][2:]], GOOD[0]], confirm=False).errors
    assert [(e.row, e.column, e.message) for e in repeated][-1] == (3, "学号/工号", "该学号/工号已存在")
    assert "whether or not its first row is valid" in reasons
