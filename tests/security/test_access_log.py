"""The security log: sign-ins, failures, sign-outs, refusals, imports and exports are recorded with
who, from where and what; only the organization department reads them; they are kept
SECURITY_LOG_RETENTION_DAYS days, no fewer than 180."""

import datetime

import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from partyscore.core import checks
from partyscore.core.access_log import access_log_purge
from partyscore.core.models import AccessLog
from partyscore.core.tasks import access_log_purge as access_log_purge_task
from tests.builders import PASSWORD
from tests.members.test_roster_import import GOOD, xlsx

Kind = AccessLog.Kind
AGENT = "Mozilla/5.0 (pytest)"


def last(kind):
    return AccessLog.objects.filter(kind=kind).latest("id")


def test_sign_in_failure_and_sign_out_are_logged_with_address_and_browser(world, client):
    user = world.secretary
    client.post(
        reverse("login"),
        {"username": user.username, "password": "not-it"},
        REMOTE_ADDR="10.2.3.4",
        HTTP_USER_AGENT=AGENT,
    )
    failed = last(Kind.LOGIN_FAILED)
    assert (failed.user, failed.username, failed.ip_address, failed.user_agent) == (
        None,
        user.username,
        "10.2.3.4",
        AGENT,
    )
    assert failed.path == reverse("login") and failed.detail == {"locked_out": False}

    client.post(
        reverse("login"),
        {"username": user.username, "password": PASSWORD},
        REMOTE_ADDR="10.2.3.4",
        HTTP_USER_AGENT=AGENT,
    )
    success = last(Kind.LOGIN)
    assert (success.user, success.username, success.ip_address) == (user, user.username, "10.2.3.4")

    client.post(reverse("logout"), REMOTE_ADDR="10.2.3.4")
    assert last(Kind.LOGOUT).user == user


def test_a_refusal_is_logged_with_the_path_and_the_user(world, login):
    client = login(world.secretary)
    url = reverse("member_list", args=[world.B1.pk])
    assert client.get(url, REMOTE_ADDR="10.9.9.9").status_code == 403
    denied = last(Kind.DENIED)
    assert (denied.user, denied.path, denied.ip_address, denied.detail) == (
        world.secretary,
        url,
        "10.9.9.9",
        {"method": "GET"},
    )
    assert not AccessLog.objects.filter(kind=Kind.DENIED, path=reverse("member_list", args=[world.A1.pk])).exists()
    client.get(reverse("member_list", args=[world.A1.pk]))
    assert AccessLog.objects.filter(kind=Kind.DENIED).count() == 1


def test_imports_and_exports_are_logged_with_what_and_how_many(world, login):
    client = login(world.secretary)
    client.get(reverse("member_export", args=[world.A1.pk]))
    exported = last(Kind.EXPORT)
    assert exported.user == world.secretary and exported.detail == {"export": "roster", "organization": "A1"}

    checked = client.post(reverse("roster_import"), {"file": xlsx(GOOD)})
    client.post(reverse("roster_import_confirm"), {"token": checked.context["token"]})
    imported = last(Kind.IMPORT)
    assert imported.user == world.secretary
    assert imported.detail == {"import": "roster", "mode": "add", "rows": 3, "created": 3, "errors": 0}


def test_only_the_organization_department_reads_the_log_with_filters_and_pages(world, client):
    AccessLog.objects.bulk_create([AccessLog(kind=Kind.LOGIN_FAILED, username=f"guess{i}") for i in range(60)])
    AccessLog.objects.create(
        kind=Kind.EXPORT,
        username="zzb",
        detail={"export": "roster"},
        created_at=timezone.now() - datetime.timedelta(days=10),
    )
    for user in (world.secretary, world.gb_secretary):
        client.force_login(user)
        assert client.get(reverse("access_log")).status_code == 403
    client.force_login(world.org_department)
    page = client.get(reverse("access_log")).content.decode()
    assert "guess59" in page and "guess0<" not in page and "1 / 2" in page  # newest first, 50 a page
    second = client.get(reverse("access_log"), {"kind": "login_failed", "page": 2}).content.decode()
    assert "guess0<" in second and "export=roster" not in second
    by_user = client.get(reverse("access_log"), {"username": "zzb"}).content.decode()
    assert "export=roster" in by_user and "guess1" not in by_user
    day = (timezone.localdate() - datetime.timedelta(days=10)).isoformat()
    by_date = client.get(reverse("access_log"), {"day_from": day, "day_to": day}).content.decode()
    assert "export=roster" in by_date and "guess1" not in by_date
    malformed = client.get(reverse("access_log"), {"day_from": "2026-13-45"})
    assert malformed.status_code == 400 and "输入一个有效的日期" in malformed.content.decode()
    # The two refusals above were logged, with who was refused.
    assert set(AccessLog.objects.filter(kind=Kind.DENIED).values_list("user", flat=True)) == {
        world.secretary.pk,
        world.gb_secretary.pk,
    }


def test_rows_older_than_the_retention_are_purged_daily(db, settings):
    settings.SECURITY_LOG_RETENTION_DAYS = 200
    with time_machine.travel(datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC), tick=False):
        AccessLog.objects.create(kind=Kind.LOGIN, username="old")
    with time_machine.travel(datetime.datetime(2026, 7, 1, 12, tzinfo=datetime.UTC), tick=False):
        AccessLog.objects.create(kind=Kind.LOGIN, username="recent")
    with time_machine.travel(datetime.datetime(2026, 7, 19, 13, tzinfo=datetime.UTC), tick=False):  # day 199
        assert access_log_purge() == 0
    with time_machine.travel(datetime.datetime(2026, 7, 20, 13, tzinfo=datetime.UTC), tick=False):  # day 200
        assert access_log_purge_task.delay().get() == 1
    assert list(AccessLog.objects.values_list("username", flat=True)) == ["recent"]
    schedule = settings.CELERY_BEAT_SCHEDULE["access-log-purge"]
    assert schedule["task"] == "partyscore.core.tasks.access_log_purge"


def test_the_system_check_refuses_a_retention_below_180_days(settings):
    assert settings.SECURITY_LOG_RETENTION_DAYS >= 180
    settings.SECURITY_LOG_RETENTION_DAYS = 179
    errors = checks.security_log_retention(None)
    assert [error.id for error in errors] == ["partyscore.E001"]
    settings.SECURITY_LOG_RETENTION_DAYS = 180
    assert checks.security_log_retention(None) == []


def test_the_default_retention_is_a_year():
    assert settings.SECURITY_LOG_RETENTION_DAYS == 365
