"""The ledger workbook of a college or the committee: a zip of one workbook per branch, each exactly
the branch's own export, read in chunks of branches at a fixed number of queries per chunk."""

import datetime
import io
import unicodedata
import zipfile

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from members.models import Member
from members.services import organization_create
from partyscore.core.exceptions import ApplicationError
from partyscore.core.filenames import UNSAFE
from partyscore.core.models import AuditEvent
from reviews.models import Meeting, MeetingAttendee
from scoring import exports, io_services
from scoring.models import ExportJob
from tests.builders import add_members

from .test_exports import _grow


def workbook_cells(content):
    """Every sheet's name and cell values, in order."""
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [(sheet.title, [list(row) for row in sheet.iter_rows(values_only=True)]) for sheet in book.worksheets]


def branch_export(branch, year):
    output = io.BytesIO()
    exports.WRITERS["branch_workbook"](output, organization=branch, year=year)
    return output.getvalue()


def zip_export(organization, year, **options):
    output = io.BytesIO()
    exports.WRITERS["branch_workbook"](output, organization=organization, year=year, **options)
    return zipfile.ZipFile(io.BytesIO(output.getvalue()))


def meeting(world, branch, members, topic):
    """A held meeting with its attendance (test data, not under test)."""
    held = Meeting.objects.create(
        branch=branch,
        kind="general",
        date=datetime.date(world.year, 3, 5),
        starts_at=datetime.time(14),
        ends_at=datetime.time(16),
        topic=topic,
        scheduled_by=world.admin,
    )
    MeetingAttendee.objects.bulk_create(
        [MeetingAttendee(meeting=held, member=m, status="present" if n else "absent") for n, m in enumerate(members)]
    )


@pytest.fixture
def zip_world(io_world):
    w = io_world
    meeting(w, w.A1, w.a1_members, "甲一支部学习")
    meeting(w, w.A2, w.a2_members, "甲二支部学习")
    return w


def test_the_committees_zip_holds_each_branchs_own_workbook_under_its_college(zip_world):
    w = zip_world
    archive = zip_export(w.U, w.year)
    entries = archive.infolist()
    assert [e.filename for e in entries] == [
        f"甲学院党委/甲一支部-{w.year}年度积分台账.xlsx",
        f"甲学院党委/甲二支部-{w.year}年度积分台账.xlsx",
        f"乙学院党委/乙一支部-{w.year}年度积分台账.xlsx",
    ]
    for entry, branch in zip(entries, (w.A1, w.A2, w.B1), strict=True):
        # Flagged UTF-8, so that Windows' unzip (a Chinese system's included) reads the name as written.
        assert entry.flag_bits & 0x800 and entry.compress_type == zipfile.ZIP_STORED
        assert all(not UNSAFE.search(part) for part in entry.filename.split("/"))
        assert workbook_cells(archive.read(entry)) == workbook_cells(branch_export(branch, w.year))
    meetings = dict(workbook_cells(archive.read(entries[1])))["会议记录"]
    assert [row[4] for row in meetings[2:]] == ["甲二支部学习"]  # each branch's own rows only


def test_a_colleges_zip_has_no_folders_and_leaves_out_a_branch_without_members(zip_world):
    w = zip_world
    organization_create(actor=w.admin, name="甲三支部", code="A3", kind="branch", parent=w.A)
    archive = zip_export(w.A, w.year)
    assert archive.namelist() == [f"甲一支部-{w.year}年度积分台账.xlsx", f"甲二支部-{w.year}年度积分台账.xlsx"]


def test_branch_names_are_made_safe_and_unique_in_the_zip(zip_world):
    w = zip_world
    odd = organization_create(actor=w.admin, name='甲/"三"支部', code="A3", kind="branch", parent=w.A)
    twin = organization_create(actor=w.admin, name='甲?"三"支部', code="A4", kind="branch", parent=w.A)
    add_members(odd, 1, start=1)
    add_members(twin, 1, start=1)
    names = zip_export(w.A, w.year).namelist()
    assert names == [
        f"甲一支部-{w.year}年度积分台账.xlsx",
        f"甲二支部-{w.year}年度积分台账.xlsx",
        f"甲_三_支部-{w.year}年度积分台账.xlsx",
        f"甲_三_支部（A4）-{w.year}年度积分台账.xlsx",
    ]
    assert all(unicodedata.is_normalized("NFC", name) for name in names)


def test_the_zip_reads_a_fixed_number_of_queries_per_chunk_of_branches(io_world, django_assert_num_queries, settings):
    w = io_world
    # 2 to cut the scope into chunks, then per chunk: periods, reversals, share caps, members,
    # outcomes, lines, and reviews' determinations, meetings and attendees.
    per_chunk = 9
    with django_assert_num_queries(2 + per_chunk):
        zip_export(w.U, w.year)
    for n in range(3):
        branch = organization_create(actor=w.admin, name=f"乙{n + 2}支部", code=f"B{n + 2}", kind="branch", parent=w.B)
        add_members(branch, 3, start=1)
    _grow(w, w.A1, 12)
    with django_assert_num_queries(2 + per_chunk):
        assert len(zip_export(w.U, w.year).namelist()) == 6
    settings.EXPORT_ZIP_PART_MEMBERS = 1  # every branch a chunk of its own
    with django_assert_num_queries(2 + 6 * per_chunk):
        zip_export(w.U, w.year)


def test_chunks_cut_between_branches_give_the_same_workbooks(zip_world, settings):
    w = zip_world
    whole = zip_export(w.U, w.year)
    settings.EXPORT_ZIP_PART_MEMBERS = 5  # four members a branch: one branch a chunk
    cut = zip_export(w.U, w.year)
    assert cut.namelist() == whole.namelist()
    for name in whole.namelist():
        assert workbook_cells(cut.read(name)) == workbook_cells(whole.read(name))


def test_a_scope_or_branch_without_members_gets_a_clear_message(io_world, login):
    w = io_world
    empty_college = organization_create(actor=w.admin, name="丙学院党委", code="C", kind="general_branch", parent=w.U)
    empty_branch = organization_create(actor=w.admin, name="丙一支部", code="C1", kind="branch", parent=empty_college)
    for scope in (empty_college, empty_branch):
        with pytest.raises(ApplicationError, match=f"{scope.name} {w.year}年度没有党员，没有可导出的台账"):
            io_services.export_start(actor=w.org_department, kind="branch_workbook", organization=scope, year=w.year)
    response = login(w.org_department).post(
        reverse("export_org", args=[empty_college.pk]), {"kind": "branch_workbook", "year": w.year}
    )
    assert response.status_code == 400 and "没有可导出的台账" in response.content.decode()
    assert not AuditEvent.objects.filter(action="ledger.export", target_id=str(empty_college.pk)).exists()
    with pytest.raises(ApplicationError, match="没有党员"):
        exports.write_branch_zip(io.BytesIO(), organization=empty_college, year=w.year)


def test_a_small_colleges_ledger_downloads_at_once_as_a_zip_with_a_chinese_name(zip_world, login):
    w = zip_world
    response = login(w.gb_secretary).post(
        reverse("export_org", args=[w.A.pk]), {"kind": "branch_workbook", "year": w.year}
    )
    assert response.status_code == 200 and response["Content-Type"] == exports.ZIP_TYPE
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''") and disposition.endswith(".zip")
    assert exports.export_filename("branch_workbook", w.A, w.year) == f"甲学院党委-{w.year}年度积分台账.zip"
    assert len(zipfile.ZipFile(io.BytesIO(response.content)).namelist()) == 2
    event = AuditEvent.objects.filter(action="ledger.export", actor=w.gb_secretary).latest("id")
    assert event.after["kind"] == "branch_workbook" and event.target_id == str(w.A.pk)
    # A branch's stays one workbook.
    single = login(w.secretary).post(reverse("export_org", args=[w.A1.pk]), {"kind": "branch_workbook", "year": w.year})
    assert single["Content-Type"] == exports.XLSX_TYPE
    assert openpyxl.load_workbook(io.BytesIO(single.content)).sheetnames[0] == "汇总"


def test_a_zip_job_is_scope_checked_audited_and_downloaded_as_a_zip(
    zip_world, login, settings, tmp_path, eager_celery, django_capture_on_commit_callbacks
):
    w = zip_world
    settings.EXPORT_ASYNC_THRESHOLD, settings.MEDIA_ROOT = 1, tmp_path
    with pytest.raises(PermissionDenied):
        io_services.export_start(actor=w.secretary, kind="branch_workbook", organization=w.A, year=w.year)
    client = login(w.gb_secretary)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("export_org", args=[w.A.pk]), {"kind": "branch_workbook", "year": w.year})
    job = ExportJob.objects.get(owner=w.gb_secretary)
    assert response["Location"] == reverse("export_job", args=[job.pk])
    assert job.status == "done" and job.filename.endswith(".zip") and job.file.name.endswith(".zip")
    page = client.get(reverse("export_job", args=[job.pk])).content.decode()
    assert "ZIP 压缩包" in page
    download = client.get(reverse("export_job_download", args=[job.pk]))
    assert download["Content-Type"] == exports.ZIP_TYPE
    assert download["Content-Disposition"].endswith(".zip")
    archive = zipfile.ZipFile(
        io.BytesIO(b"".join(download.streaming_content) if download.streaming else download.content)
    )
    assert workbook_cells(archive.read(archive.namelist()[0])) == workbook_cells(branch_export(w.A1, w.year))
    assert AuditEvent.objects.filter(action="ledger.export", actor=w.gb_secretary, after__job=job.pk).exists()
    assert AuditEvent.objects.filter(action="ledger.export_download", target_id=str(job.pk)).exists()
    assert login(w.secretary).get(reverse("export_job_download", args=[job.pk])).status_code == 403


def test_a_job_whose_scope_emptied_since_the_request_fails_with_the_reason(io_world, settings, tmp_path):
    w = io_world
    settings.EXPORT_ASYNC_THRESHOLD, settings.MEDIA_ROOT = 1, tmp_path
    job = io_services.export_start(actor=w.gb_secretary, kind="branch_workbook", organization=w.A, year=w.year)
    Member.objects.filter(branch__parent=w.A).update(left_on=datetime.date(w.year - 1, 12, 31))
    io_services.export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "没有党员" in job.error


def stored_files(root):
    return sorted(str(path.relative_to(root)).split("/")[-1] for path in root.rglob("*") if path.is_file())


def test_a_zip_job_is_built_in_parts_then_assembled_into_the_same_zip(
    zip_world, settings, tmp_path, eager_celery, django_capture_on_commit_callbacks
):
    w = zip_world
    settings.EXPORT_ASYNC_THRESHOLD, settings.MEDIA_ROOT = 1, tmp_path
    settings.EXPORT_ZIP_PART_MEMBERS = 5  # four members a branch: a part per branch
    whole = zip_export(w.U, w.year)
    with django_capture_on_commit_callbacks(execute=True):
        job = io_services.export_start(actor=w.org_department, kind="branch_workbook", organization=w.U, year=w.year)
    job.refresh_from_db()
    assert job.status == "done" and job.progress == 100
    assert [part["branches"] for part in job.parts] == [[w.A1.pk], [w.A2.pk], [w.B1.pk]]
    assert all(part["file"] == "" for part in job.parts)  # the parts' files are deleted once assembled
    assert stored_files(tmp_path) == [job.filename]
    with job.file.open("rb") as handle:
        built = zipfile.ZipFile(io.BytesIO(handle.read()))
    assert built.namelist() == whole.namelist()
    for entry in built.infolist():
        assert entry.flag_bits & 0x800
        assert workbook_cells(built.read(entry)) == workbook_cells(whole.read(entry.filename))
    assert io_services.export_job_assemble(job_id=job.pk).status == "done"  # delivered again: nothing more


def test_a_part_written_twice_replaces_the_first_and_a_failed_part_fails_the_job(
    zip_world, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    w = zip_world
    settings.EXPORT_ASYNC_THRESHOLD, settings.MEDIA_ROOT = 1, tmp_path
    settings.EXPORT_ZIP_PART_MEMBERS = 5
    job = io_services.export_start(actor=w.org_department, kind="branch_workbook", organization=w.U, year=w.year)
    io_services.export_job_run(job_id=job.pk)  # the parts' tasks are queued (on commit), not run
    io_services.export_job_part(job_id=job.pk, index=0, worker="w1")
    first = ExportJob.objects.get(pk=job.pk).parts[0]["file"]
    with django_capture_on_commit_callbacks(execute=True):  # the first file is deleted once the second is kept
        io_services.export_job_part(job_id=job.pk, index=0, worker="w2")
    job.refresh_from_db()
    assert job.parts[0]["worker"] == "w2" and job.parts[0]["file"] != first
    assert job.status == "running" and job.progress == 33
    assert stored_files(tmp_path) == ["part-1.zip"]

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(exports, "write_zip_part", broken)
    io_services.export_job_part(job_id=job.pk, index=1, worker="w1")
    job.refresh_from_db()
    assert job.status == "failed" and "导出失败" in job.error
    assert stored_files(tmp_path) == []
    monkeypatch.undo()
    io_services.export_job_part(job_id=job.pk, index=2, worker="w1")  # still queued: finds the job failed
    assert stored_files(tmp_path) == []
