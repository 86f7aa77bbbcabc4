"""Uploads: refused at the limit while they arrive, and no initial password kept in the session."""

import pytest
from django.contrib.auth.hashers import check_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.urls import reverse

from members.models import User
from tests.members.test_roster_import import GOOD, xlsx

INITIAL = "Start!Pass-2026"


@pytest.fixture
def stored(monkeypatch):
    """Bytes Django's own handlers stored (memory or /tmp) during the request."""
    seen = []
    for handler in (TemporaryFileUploadHandler, MemoryFileUploadHandler):
        original = handler.receive_data_chunk

        def counting(self, raw_data, start, original=original):
            seen.append(len(raw_data))
            return original(self, raw_data, start)

        monkeypatch.setattr(handler, "receive_data_chunk", counting)
    return seen


@pytest.mark.parametrize("url_name", ["roster_import", "card_import"])
def test_both_imports_refuse_an_oversized_file_while_it_arrives(world, login, settings, stored, url_name):
    """The roster upload had no limit while receiving: 150 MB went to /tmp before the refusal."""
    from tests.test_authorization_matrix import add_scoring

    add_scoring(world)
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024 * 1024
    big = SimpleUploadedFile("big.xlsx", b"PK" + b"\0" * (3 * 1024 * 1024))
    response = login(world.secretary).post(reverse(url_name), {"file": big})
    assert response.status_code == 413
    assert "文件过大（上限 1 MB）" in response.content.decode()
    assert sum(stored) <= settings.IMPORT_MAX_UPLOAD_BYTES


def test_the_roster_check_keeps_only_a_hash_of_the_initial_password(world, login):
    """The session is signed, not encrypted: the initial password could be decoded from the cookie
    store or the session table between the check and the confirmation."""
    client = login(world.secretary)
    response = client.post(
        reverse("roster_import"), {"file": xlsx(GOOD), "create_accounts": "on", "initial_password": INITIAL}
    )
    assert response.status_code == 200 and response.context["token"]
    session = client.session
    raw = repr(dict(session.items())) + session.session_key
    from django.contrib.sessions.models import Session

    stored_rows = "".join(Session.objects.values_list("session_data", flat=True))
    decoded = repr([s.get_decoded() for s in Session.objects.all()])
    for text in (raw, stored_rows, decoded):
        assert INITIAL not in text
    response = client.post(reverse("roster_import_confirm"), {"token": response.context["token"]})
    assert response.status_code == 302
    account = User.objects.get(username="N001")
    assert check_password(INITIAL, account.password) and account.must_change_password
    assert check_password(INITIAL, User.objects.get(username="N002").password)


def one_wide_row(cells):
    """A workbook whose only row has `cells` cells, with no declared range and no cell references
    (both optional in the format): what the dimension check cannot see."""
    import io
    import random
    import zipfile

    from tests.io.test_hostile_files import rezip, workbook

    content = workbook()
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData><row>'
        + b"".join(b"<c><v>%d</v></c>" % n for n in random.Random(0).choices(range(10**9), k=cells))
        + b"</row></sheetData></worksheet>"
    )
    assert zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    return rezip(content, replace={"xl/worksheets/sheet1.xml": sheet})


@pytest.mark.parametrize("cells", [61, 300_000])
def test_a_row_wider_than_the_column_limit_is_refused_while_streaming(settings, cells):
    """A one-row sheet of 2.8 million cells in 4 MB passed every check and cost 25 s of CPU."""
    import time

    from partyscore.core import xlsx_safety as safety
    from partyscore.core.exceptions import ApplicationError

    data = one_wide_row(cells)
    started = time.process_time()
    with pytest.raises(ApplicationError, match=r"第 1 行超出 60 列（工作表“sheet1.xml”）"):
        safety.read_sheet(data, max_rows=10, max_cols=60)
    assert time.process_time() - started < 1.0


def test_a_cell_referenced_beyond_the_column_limit_is_refused():
    from openpyxl.utils import get_column_letter

    from partyscore.core import xlsx_safety as safety
    from partyscore.core.exceptions import ApplicationError
    from tests.io.test_hostile_files import workbook

    far = workbook(far_cell=f"{get_column_letter(61)}2")
    with pytest.raises(ApplicationError, match=r"表格范围过大|超出 60 列"):
        safety.read_sheet(far, max_rows=10, max_cols=60)
    assert safety.read_sheet(workbook(far_cell=f"{get_column_letter(60)}2"), max_rows=10, max_cols=60).headers
