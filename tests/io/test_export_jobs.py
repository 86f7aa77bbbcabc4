"""Large exports run as background jobs: created, progress reported, downloadable only by their owner,
kept for a set time."""

import datetime
import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from partyscore.core.models import AuditEvent
from scoring import exports, io_services
from scoring.models import ExportJob

from .conftest import open_xlsx


@pytest.fixture
def big(settings, tmp_path, eager_celery):
    """Every export counts as large, files go to a temporary media directory."""
    settings.EXPORT_ASYNC_THRESHOLD = 1
    settings.MEDIA_ROOT = tmp_path


def request_export(client, world, org, kind="branch_workbook", capture=None):
    with capture(execute=True):
        return client.post(reverse("export_org", args=[org.pk]), {"kind": kind, "year": world.year})


def test_a_large_export_becomes_a_job_that_its_owner_downloads(
    io_world, login, big, django_capture_on_commit_callbacks
):
    w = io_world
    client = login(w.gb_secretary)
    response = request_export(client, w, w.A, capture=django_capture_on_commit_callbacks)
    job = ExportJob.objects.get(owner=w.gb_secretary)
    assert response.status_code == 302 and response["Location"] == reverse("export_job", args=[job.pk])
    assert job.status == "done" and job.progress == 100 and job.kind == "branch_workbook"
    assert abs(job.expires_at - job.created_at - datetime.timedelta(hours=24)) < datetime.timedelta(seconds=5)
    page = client.get(response["Location"]).content.decode()
    assert "下载" in page and reverse("export_job_download", args=[job.pk]) in page and "hx-trigger" not in page
    download = client.get(reverse("export_job_download", args=[job.pk]))
    assert download.status_code == 200
    # The college's: a workbook for each of A1 and A2, four members each, then the year's
    # determinations and meetings (tests/io/test_branch_zip.py has the rest).
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    for name in archive.namelist():
        book = open_xlsx(archive.read(name))
        assert book.sheetnames[0] == "汇总" and len(book.sheetnames) == 1 + 4 + 2
        assert book.sheetnames[-2:] == ["年度评定", "会议记录"]
    assert AuditEvent.objects.filter(action="ledger.export", actor=w.gb_secretary, after__job=job.pk).exists()
    assert AuditEvent.objects.filter(action="ledger.export_download", target_id=str(job.pk)).exists()


def test_nobody_else_sees_or_downloads_the_job_not_even_someone_with_the_same_scope(
    io_world, login, big, django_capture_on_commit_callbacks
):
    w = io_world
    request_export(login(w.gb_secretary), w, w.A, capture=django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    for other in (w.org_department, w.secretary, w.member):
        client = login(other)
        assert client.get(reverse("export_job", args=[job.pk])).status_code == 403
        assert client.get(reverse("export_job_download", args=[job.pk])).status_code == 403
    assert not ExportJob.objects.filter(owner=w.org_department).exists()
    assert job.pk not in [j.pk for j in io_services.export_jobs_of(actor=w.org_department)]


def test_progress_is_reported_while_the_job_runs_and_polled_by_htmx(io_world, login, settings, tmp_path, monkeypatch):
    w = io_world
    settings.MEDIA_ROOT = tmp_path
    settings.EXPORT_ASYNC_THRESHOLD = 1
    job = io_services.export_start(actor=w.secretary, kind="branch_workbook", organization=w.A1, year=w.year)
    assert isinstance(job, ExportJob) and job.status == "pending" and job.rows_total > 4
    client = login(w.secretary)
    partial = client.get(reverse("export_job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in partial and "排队中" in partial and "<html" not in partial

    seen = []
    writer = exports.WRITERS["branch_workbook"]

    def watching(output, *, progress, **kwargs):
        def report(done, total=None):
            progress(done, total)
            seen.append(ExportJob.objects.values_list("status", "progress").get(pk=job.pk))

        return writer(output, progress=report, **kwargs)

    monkeypatch.setattr(io_services, "PROGRESS_EVERY_SECONDS", 0)
    monkeypatch.setitem(exports.WRITERS, "branch_workbook", watching)
    io_services.export_job_run(job_id=job.pk)
    assert seen and all(status == "running" for status, _p in seen)
    progress = [p for _s, p in seen]
    # one member sheet of four done → 25 %, …; the last write before the file is kept is at most 99 %
    assert progress == [25, 50, 75, 99]
    job.refresh_from_db()
    assert job.status == "done" and job.progress == 100 and job.file
    done = client.get(reverse("export_job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done and reverse("export_job_download", args=[job.pk]) in done


def test_an_expired_file_is_refused_then_purged(io_world, login, big, django_capture_on_commit_callbacks):
    w = io_world
    request_export(login(w.secretary), w, w.A1, capture=django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    path = job.file.path
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    response = login(w.secretary).get(reverse("export_job_download", args=[job.pk]))
    assert response.status_code == 410 and "超过保留期限" in response.content.decode()
    assert io_services.export_jobs_purge() == 1
    assert not ExportJob.objects.exists()
    import os

    assert not os.path.exists(path)


def test_a_job_whose_owner_lost_the_scope_fails_and_a_crash_is_reported(io_world, big, monkeypatch):
    w = io_world
    job = io_services.export_start(actor=w.secretary, kind="board", organization=w.A1, year=w.year)
    monkeypatch.setattr("members.permissions.has_org_perm", lambda user, perm, org: False)
    io_services.export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "无权" in job.error
    monkeypatch.undo()
    second = io_services.export_start(actor=w.secretary, kind="board", organization=w.A1, year=w.year)

    def broken(output, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setitem(exports.WRITERS, "board", broken)
    io_services.export_job_run(job_id=second.pk)
    second.refresh_from_db()
    assert second.status == "failed" and "导出失败" in second.error


def test_a_job_not_yet_done_cannot_be_downloaded(io_world, login, settings):
    w = io_world
    settings.EXPORT_ASYNC_THRESHOLD = 1
    job = io_services.export_start(actor=w.secretary, kind="board", organization=w.A1, year=w.year)
    response = login(w.secretary).get(reverse("export_job_download", args=[job.pk]))
    assert response.status_code == 409 and "尚未生成" in response.content.decode()


def test_the_export_page_lists_the_scope_and_the_users_jobs(io_world, login, big, django_capture_on_commit_callbacks):
    w = io_world
    client = login(w.secretary)
    request_export(client, w, w.A1, kind="board", capture=django_capture_on_commit_callbacks)
    page = client.get(reverse("export_center")).content.decode()
    assert reverse("export_org", args=[w.A1.pk]) in page and reverse("export_org", args=[w.A2.pk]) not in page
    assert "积分榜" in page and reverse("export_job", args=[ExportJob.objects.get().pk]) in page
    assert login(w.member).get(reverse("export_center")).status_code == 403
