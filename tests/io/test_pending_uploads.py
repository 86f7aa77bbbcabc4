"""Checked imports that are never confirmed: their files are purged after PENDING_UPLOAD_KEEP_HOURS."""

import logging
import os
import time

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory

from partyscore.core import tasks
from partyscore.core.pending_upload import pending_upload_keep, pending_upload_take, pending_uploads_purge


class Session(dict):
    modified = False


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PENDING_UPLOAD_KEEP_HOURS = 6
    return tmp_path


def kept(key="roster_import"):
    request = RequestFactory().post("/")
    request.session = Session()
    token = pending_upload_keep(request, key, b"PK-bytes")
    return request, token, media_path(key, token)


def media_path(key, token):
    return os.path.join(django_settings.MEDIA_ROOT, "imports", f"{key}-{token}.xlsx")


def age(path, hours):
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_an_unconfirmed_upload_older_than_the_setting_is_purged_and_logged(media, caplog):
    _request, _token, old = kept()
    _request2, _token2, fresh = kept("card_import")
    age(old, 7)
    age(fresh, 5)
    with caplog.at_level(logging.INFO, logger="partyscore.core.pending_upload"):
        assert pending_uploads_purge() == 1
    assert not os.path.exists(old) and os.path.exists(fresh)
    assert os.path.basename(old) in caplog.text and "not confirmed within 6 hours" in caplog.text


def test_a_purged_upload_can_no_longer_be_confirmed(media):
    request, token, path = kept()
    age(path, 30)
    pending_uploads_purge()
    request.POST = {"token": token}
    assert pending_upload_take(request, "roster_import") is None


def test_the_setting_decides_the_age(media, settings):
    _request, _token, path = kept()
    age(path, 7)
    settings.PENDING_UPLOAD_KEEP_HOURS = 8
    assert pending_uploads_purge() == 0 and os.path.exists(path)


def test_nothing_to_purge_without_the_folder(media):
    assert pending_uploads_purge() == 0


def test_the_purge_runs_hourly_from_celery_beat(media):
    entry = django_settings.CELERY_BEAT_SCHEDULE["pending-uploads-purge"]
    assert entry["task"] == "partyscore.core.tasks.pending_uploads_purge" and entry["schedule"] == 3600
    _request, _token, path = kept()
    age(path, 25)
    assert tasks.pending_uploads_purge.apply().get() == 1
