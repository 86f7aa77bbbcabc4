"""Hostile uploads get a clear Chinese error and a 4xx, never a 500 — on both imports."""

import io
import re
import struct
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from members.roster import read_spreadsheet
from partyscore.core import xlsx_safety as safety
from partyscore.core.exceptions import ApplicationError
from scoring.card_import import COLUMNS
from scoring.models import LedgerEntry


def workbook(rows=(("A1-00001", "党员A11"),), headers=COLUMNS, formula=None, far_cell=None):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    if formula:
        sheet["F2"] = formula
    if far_cell:
        sheet[far_cell] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rezip(data, *, replace=None, add=None, content_types=None):
    """The same package with parts replaced or added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if replace and info.filename in replace:
                body = replace[info.filename]
            if content_types and info.filename == "[Content_Types].xml":
                body = content_types(body)
            target.writestr(info.filename, body)
        for name, body in (add or {}).items():
            target.writestr(name, body)
    return out.getvalue()


def patch_directory(data, *, flags=None, sizes=None):
    """Rewrite fields of the zip's central directory in place (what a forged file would do)."""
    data = bytearray(data)
    offset = data.find(b"PK\x01\x02")
    while offset != -1:
        name_length = struct.unpack_from("<H", data, offset + 28)[0]
        name = bytes(data[offset + 46 : offset + 46 + name_length]).decode()
        if flags is not None:
            struct.pack_into("<H", data, offset + 8, struct.unpack_from("<H", data, offset + 8)[0] | flags)
        if sizes and name in sizes:
            struct.pack_into("<I", data, offset + 24, sizes[name])
        offset = data.find(b"PK\x01\x02", offset + 46)
    return bytes(data)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&lol3;</workbook>'
)
OLE = safety.OLE_SIGNATURE + b"\x00" * 504


def prefix(message):
    """The fixed start of a message, before any placeholder."""
    return message.split("%")[0][:8]


def hostile_files():
    good = workbook()
    sheet_part = "xl/worksheets/sheet1.xml"
    real_size = zipfile.ZipFile(io.BytesIO(good)).getinfo(sheet_part).file_size
    return {
        "not a zip": ("cards.xlsx", b"just some text, not a workbook", safety.NOT_XLSX),
        "an image renamed": ("cards.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, safety.NOT_XLSX),
        "a zip that is no workbook": ("cards.xlsx", _plain_zip(), safety.NOT_XLSX),
        "truncated": ("cards.xlsx", good[: len(good) // 2], safety.TRUNCATED),
        "encrypted (OLE)": ("cards.xlsx", OLE + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 64, safety.ENCRYPTED),
        "encrypted zip entries": ("cards.xlsx", patch_directory(good, flags=0x1), safety.ENCRYPTED),
        "legacy .xls": ("cards.xlsx", OLE, safety.LEGACY_XLS),
        "macro workbook by name": ("cards.xlsm", good, safety.MACRO),
        "macro inside an .xlsx": ("cards.xlsx", rezip(good, add={"xl/vbaProject.bin": b"\x00VBA"}), safety.MACRO),
        "macro content type": (
            "cards.xlsx",
            rezip(good, content_types=lambda b: b.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml")),
            safety.MACRO,
        ),
        "formula": ("cards.xlsx", workbook(formula="=1+1"), safety.FORMULAS),
        "huge dimensions": ("cards.xlsx", workbook(far_cell="A1048576"), safety.DIMENSIONS),
        "huge width": ("cards.xlsx", workbook(far_cell="XFD2"), safety.DIMENSIONS),
        "XML bomb": ("cards.xlsx", rezip(good, replace={"xl/workbook.xml": BILLION_LAUGHS}), safety.XML_BOMB),
        "XML bomb in UTF-16": (
            "cards.xlsx",
            rezip(
                good,
                replace={
                    "xl/workbook.xml": BILLION_LAUGHS.replace(b'version="1.0"', b'version="1.0" encoding="UTF-16"')
                    .decode()
                    .encode("utf-16")
                },
            ),
            safety.XML_BOMB,
        ),
        "zip bomb (ratio)": (
            "cards.xlsx",
            rezip(good, add={"xl/media/pad.xml": b"<a/>" + b" " * 8_000_000}),
            safety.ZIP_BOMB,
        ),
        "zip directory lying about a size": (
            "cards.xlsx",
            patch_directory(good, sizes={sheet_part: real_size // 2}),
            safety.TRUNCATED,
        ),
    }


def _plain_zip():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "hello")
    return out.getvalue()


CASES = list(hostile_files())


@pytest.mark.parametrize("case", CASES)
def test_each_hostile_file_is_refused_with_a_clear_message(case):
    name, content, message = hostile_files()[case]
    with pytest.raises(ApplicationError) as refused:
        safety.read_sheet(safety.read_upload(SimpleUploadedFile(name, content)), max_rows=100)
    assert refused.value.message.startswith(prefix(message)), refused.value.message


@pytest.mark.parametrize("case", CASES)
def test_the_card_import_page_answers_each_hostile_file_with_a_4xx(world, login, case):
    name, content, message = hostile_files()[case]
    response = login(world.secretary).post(reverse("card_import"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400
    assert prefix(message) in response.content.decode()
    assert not LedgerEntry.objects.filter(source="import").exists()


@pytest.mark.parametrize(
    "case", ["XML bomb", "formula", "zip bomb (ratio)", "encrypted (OLE)", "macro inside an .xlsx"]
)
def test_the_roster_import_is_hardened_the_same_way(world, login, case):
    name, content, message = hostile_files()[case]
    with pytest.raises(ApplicationError, match=prefix(message)):
        read_spreadsheet(SimpleUploadedFile(name, content))
    response = login(world.secretary).post(reverse("roster_import"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400 and prefix(message) in response.content.decode()


def test_the_total_uncompressed_size_is_checked_before_parsing(settings):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 200_000
    padded = rezip(workbook(), add={"xl/media/pad.bin": bytes(range(256)) * 1000})  # 256 kB, compresses poorly
    with pytest.raises(ApplicationError, match=prefix(safety.ZIP_BOMB)):
        safety.check_package(padded)


def test_too_many_rows_are_refused_by_the_declared_range_or_while_reading():
    content = workbook(rows=[("A1-00001", "x")] * 12)
    with pytest.raises(ApplicationError, match="表格范围过大（A1:H13），上限为 10 行"):
        safety.read_sheet(content, max_rows=10)
    # Without the declared range the limit is enforced while reading. (openpyxl writes the element
    # as <dimension ref="…"/> with lxml and <dimension ref="…" /> without it.)
    sheet_xml = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    undeclared = rezip(content, replace={"xl/worksheets/sheet1.xml": re.sub(rb"<dimension [^>]*/>", b"", sheet_xml)})
    with pytest.raises(ApplicationError, match="行数过多（上限 10 行）"):
        safety.read_sheet(undeclared, max_rows=10)


def test_an_oversized_upload_is_refused_before_it_is_stored(io_world, login, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024
    with pytest.raises(ApplicationError, match="文件过大"):
        safety.read_upload(SimpleUploadedFile("cards.xlsx", b"x" * 2048))
    response = login(io_world.secretary).post(
        reverse("card_import"), {"file": SimpleUploadedFile("cards.xlsx", workbook() * 2)}
    )
    assert response.status_code == 413 and "文件过大" in response.content.decode()
    # A body far past the limit is refused from its Content-Length, before any of it is stored.
    response = login(io_world.secretary).post(
        reverse("card_import"), {"file": SimpleUploadedFile("cards.xlsx", b"x" * 200_000)}
    )
    assert response.status_code == 413


def test_openpyxl_parses_with_defusedxml():
    assert openpyxl.DEFUSEDXML is True
