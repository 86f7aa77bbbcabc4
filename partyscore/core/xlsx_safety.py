"""Reading uploaded workbooks without trusting them (the roster and the score-card imports).

Every check that can be made on the zip directory is made before any XML is parsed: the file
must be a zip (not an encrypted or legacy OLE file, not truncated), hold no macros, and promise
no more than `IMPORT_MAX_UNCOMPRESSED_BYTES` at no more than `IMPORT_MAX_COMPRESSION_RATIO` (zip
bombs). Every part is then streamed once through the zip reader (which also enforces the
sizes the directory declared and each part's CRC) and refused if it declares a DTD or entities
(XML bombs, external entities). openpyxl itself parses with defusedxml (`openpyxl.DEFUSEDXML`;
where lxml is installed — the benchmark extra — openpyxl parses some parts with lxml and
`resolve_entities=False` instead, and the DTD scan above is what refuses a bomb before either),
the sheet's declared dimension and its rows are bounded, and a cell holding a formula is refused.

Every refusal is an ApplicationError with a Chinese message: the views answer it with a 4xx.
"""

import io
import re
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from openpyxl.utils import range_boundaries

from partyscore.core.exceptions import ApplicationError

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .xlsx and legacy .xls are OLE files
OLE_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")
MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam", ".xlsb")
MAX_ZIP_ENTRIES = 2000
RATIO_CHECK_FROM_BYTES = 1024 * 1024  # tiny parts compress well legitimately; judge the ratio above this
_CHUNK = 64 * 1024
# A DTD or an entity declaration in UTF-8 or UTF-16 (either byte order). Excel never writes one.
_DTD_PATTERNS = [
    re.compile(re.escape(text.encode(enc)))
    for text in ("<!DOCTYPE", "<!ENTITY")
    for enc in ("utf-8", "utf-16-le", "utf-16-be")
]
_DTD_OVERLAP = 32

NOT_XLSX = gettext_noop("无法读取文件：不是有效的 Excel (.xlsx) 文件")
WRONG_TYPE = gettext_noop("请上传 Excel 文件（.xlsx）")
TOO_LARGE = gettext_noop("文件过大（上限 %(mb)s MB）")
TRUNCATED = gettext_noop("文件不完整或已损坏（可能上传中断），请重新保存后再上传")
ENCRYPTED = gettext_noop("文件已加密（设有打开密码），请在 Excel 中取消密码后再上传")
LEGACY_XLS = gettext_noop("这是旧版 Excel 97-2003 (.xls) 文件，请另存为 .xlsx 后再上传")
MACRO = gettext_noop("不接受含宏的工作簿（.xlsm 或含 VBA 宏），请另存为不含宏的 .xlsx 后再上传")
ZIP_BOMB = gettext_noop("文件解压后过大或压缩比异常（疑似压缩炸弹），已拒绝")
XML_BOMB = gettext_noop("文件包含不允许的 XML 声明（DTD/实体），可能是恶意文件，已拒绝")
DIMENSIONS = gettext_noop(
    "表格范围过大（%(ref)s），上限为 %(rows)s 行、%(cols)s 列；请删除多余的行列或把数据复制到新表格后再上传"
)
TOO_MANY_ROWS = gettext_noop("行数过多（上限 %(n)s 行）")
TOO_WIDE = gettext_noop("第 %(row)s 行超出 %(cols)s 列（工作表“%(part)s”），请删除多余的列或把数据复制到新表格后再上传")
FORMULAS = gettext_noop("表格中有公式（%(cells)s），请复制后“选择性粘贴为数值”再上传")


@dataclass
class Sheet:
    headers: list  # the first row, stripped, up to its last non-empty cell
    rows: list  # every later row as a list as wide as the headers, trailing empty rows dropped


def formulas_as_text(sheet):
    """openpyxl stores any string that starts with "=" as a formula. Values taken from the database
    (a name, a title) are text whatever they start with: such cells are written back as text,
    quote-prefixed as Excel marks typed text, so opening the file never runs them."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
                cell.quotePrefix = True


def writable(values):
    """`values` for an openpyxl row: a control character (the worksheet XML cannot hold one, and
    openpyxl refuses the whole workbook) is shown as "\ufffd"."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return [ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) if isinstance(v, str) else v for v in values]


def read_upload(uploaded_file, *, max_bytes=None):
    """The uploaded file's bytes, after the size and name checks; raises ApplicationError."""
    max_bytes = max_bytes or settings.IMPORT_MAX_UPLOAD_BYTES
    if uploaded_file.size > max_bytes:
        raise ApplicationError(_(TOO_LARGE) % {"mb": max_bytes // 1024 // 1024})
    name = (uploaded_file.name or "").lower()
    if name.endswith(MACRO_SUFFIXES):
        raise ApplicationError(_(MACRO))
    if not name.endswith(".xlsx"):
        raise ApplicationError(_(WRONG_TYPE))
    data = uploaded_file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ApplicationError(_(TOO_LARGE) % {"mb": max_bytes // 1024 // 1024})
    return data


def check_package(data):
    """Refuse anything but a plain, honest .xlsx package; reads the zip directory, then each part."""
    if data.startswith(OLE_SIGNATURE):
        raise ApplicationError(_(ENCRYPTED) if OLE_ENCRYPTION_STREAM in data else _(LEGACY_XLS))
    if not data.startswith(b"PK"):
        raise ApplicationError(_(NOT_XLSX))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as error:
        raise ApplicationError(_(TRUNCATED)) from error
    with archive:
        _check_directory(infos)
        for info in infos:  # every part, whatever its name: a rels file may point at any of them as XML
            _check_part(archive, info)


def _check_directory(infos):
    if len(infos) > MAX_ZIP_ENTRIES:
        raise ApplicationError(_(ZIP_BOMB))
    names = {info.filename for info in infos}
    lowered = {name.lower() for name in names}
    if any(info.flag_bits & 0x1 for info in infos):
        raise ApplicationError(_(ENCRYPTED))
    if "[Content_Types].xml" not in names or "_rels/.rels" not in names:
        raise ApplicationError(_(NOT_XLSX))
    if any(name.endswith("vbaproject.bin") for name in lowered):
        raise ApplicationError(_(MACRO))
    total = sum(info.file_size for info in infos)
    if total > settings.IMPORT_MAX_UNCOMPRESSED_BYTES:
        raise ApplicationError(_(ZIP_BOMB))
    for info in infos:
        if info.file_size > RATIO_CHECK_FROM_BYTES and info.file_size > settings.IMPORT_MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            raise ApplicationError(_(ZIP_BOMB))


def _check_part(archive, info):
    """Stream one part (the zip reader stops at the declared size and checks the CRC)."""
    tail = b""
    try:
        with archive.open(info) as part:
            if info.filename == "[Content_Types].xml":
                head = part.read(_CHUNK)
                if b"macroEnabled" in head:
                    raise ApplicationError(_(MACRO))
                tail = _scan(tail, head)
            while chunk := part.read(_CHUNK):
                tail = _scan(tail, chunk)
    except ApplicationError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as error:
        # A bad CRC, a truncated part, an unknown compression method.
        raise ApplicationError(_(TRUNCATED)) from error


def _scan(tail, chunk):
    window = tail + chunk
    if any(pattern.search(window) for pattern in _DTD_PATTERNS):
        raise ApplicationError(_(XML_BOMB))
    return window[-_DTD_OVERLAP:]


_WORKSHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$")
_COLUMN_LETTERS = re.compile(r"[A-Za-z]+")


def _column_number(ref):
    """'AB12' → 28 (0 when the reference has no letters)."""
    match = _COLUMN_LETTERS.match(ref or "")
    number = 0
    for letter in match.group(0).upper() if match else "":
        number = number * 26 + ord(letter) - 64
    return number


class _WidthGuard:
    """Counts the cells of each row as the worksheet XML streams past (expat, no tree) and stops at
    the first cell beyond `max_cols`: before openpyxl builds a single row. openpyxl's read-only
    reader parses a whole row before `max_col` cuts it, and a sheet need not declare its range,
    so a one-row sheet of 2.8 million cells (4 MB) cost 25 s of CPU and 180 MB there."""

    def __init__(self, part, max_cols, max_rows):
        self.part, self.max_cols, self.max_rows, self.row, self.cells = part, max_cols, max_rows, 0, 0

    def start(self, name, attrs):
        local = name.rpartition(" ")[2]
        if local == "dimension":  # the declared range, met before any row: refused as the reader would
            try:
                _min_col, _min_row, last_col, last_row = range_boundaries(attrs.get("ref", ""))
            except (TypeError, ValueError):
                return
            if (last_row or 0) > self.max_rows + 1 or (last_col or 0) > self.max_cols:
                raise ApplicationError(
                    _(DIMENSIONS) % {"ref": attrs["ref"], "rows": self.max_rows, "cols": self.max_cols}
                )
        elif local == "row":
            self.row, self.cells = self.row + 1, 0
            number = attrs.get("r")
            if number and number.isdigit():
                self.row = int(number)
        elif local == "c":
            self.cells += 1
            if self.cells > self.max_cols or _column_number(attrs.get("r")) > self.max_cols:
                raise ApplicationError(
                    _(TOO_WIDE) % {"row": self.row, "cols": self.max_cols, "part": self.part.rpartition("/")[2]}
                )


def check_sheet_widths(data, *, max_cols, max_rows):
    """Refuse a worksheet with a cell beyond `max_cols` in any row, streaming each worksheet part."""
    from xml.parsers import expat

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not _WORKSHEET_PART.match(info.filename):
                continue
            guard = _WidthGuard(info.filename, max_cols, max_rows)
            parser = expat.ParserCreate(namespace_separator=" ")
            parser.StartElementHandler = guard.start
            try:
                with archive.open(info) as part:
                    while chunk := part.read(_CHUNK):
                        parser.Parse(chunk, False)
                    parser.Parse(b"", True)
            except expat.ExpatError as error:
                raise ApplicationError(_(NOT_XLSX)) from error


def _open_workbook(data):
    from openpyxl import load_workbook

    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False, keep_vba=False)
    except ApplicationError:
        raise
    except Exception as error:  # openpyxl raises many kinds on a broken package
        raise ApplicationError(_(NOT_XLSX)) from error


def _check_dimension(sheet, max_rows, max_cols):
    """A worksheet declares its used range; refuse one far beyond what an import may hold."""
    try:
        ref = sheet.calculate_dimension()
    except Exception:  # no <dimension>: rows are still bounded while reading
        return
    try:
        _min_col, _min_row, last_col, last_row = range_boundaries(ref)
    except (TypeError, ValueError):
        return
    if (last_row or 0) > max_rows + 1 or (last_col or 0) > max_cols:
        raise ApplicationError(_(DIMENSIONS) % {"ref": ref, "rows": max_rows, "cols": max_cols})


def sheet_names(data):
    """The worksheet names of a checked package, in order."""
    check_package(data)
    book = _open_workbook(data)
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def read_sheet(data, *, max_rows, max_cols=None, sheet_name=None):
    """The first (or named) worksheet of a checked package as headers and rows of plain values."""
    from openpyxl.utils import get_column_letter

    max_cols = max_cols or settings.IMPORT_MAX_COLUMNS
    check_package(data)
    check_sheet_widths(data, max_cols=max_cols, max_rows=max_rows)  # the declared range may be missing or lie
    book = _open_workbook(data)
    try:
        try:
            sheet = book[sheet_name] if sheet_name and sheet_name in book.sheetnames else book.worksheets[0]
        except IndexError as error:
            raise ApplicationError(_(NOT_XLSX)) from error
        _check_dimension(sheet, max_rows, max_cols)
        formulas, rows = [], []
        try:
            for number, cells in enumerate(sheet.iter_rows(max_col=max_cols, max_row=max_rows + 2), start=1):
                if number > max_rows + 1:
                    raise ApplicationError(_(TOO_MANY_ROWS) % {"n": max_rows})
                values = []
                for index, cell in enumerate(cells, start=1):
                    if getattr(cell, "data_type", None) == "f":
                        formulas.append(f"{get_column_letter(index)}{number}")
                    values.append(getattr(cell, "value", None))
                rows.append(values)
        except ApplicationError:
            raise
        except Exception as error:  # a malformed sheet part
            raise ApplicationError(_(NOT_XLSX)) from error
    finally:
        book.close()
    if formulas:
        shown = "、".join(formulas[:5]) + ("……" if len(formulas) > 5 else "")
        raise ApplicationError(_(FORMULAS) % {"cells": shown})
    return _as_table(rows)


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _as_table(rows):
    if not rows:
        return Sheet(headers=[], rows=[])
    header_cells = rows[0]
    width = max((i + 1 for i, v in enumerate(header_cells) if not _blank(v)), default=0)
    headers = [str(v).strip() if v is not None else "" for v in header_cells[:width]]
    body = []
    for row in rows[1:]:
        row = list(row[:width]) + [None] * (width - len(row))
        body.append(row)
    while body and all(_blank(v) for v in body[-1]):
        body.pop()
    return Sheet(headers=headers, rows=body)
