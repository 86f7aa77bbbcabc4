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
