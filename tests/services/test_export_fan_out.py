"""A university's ledger workbooks built in parts by two real Celery workers on the real Redis: the
parts are shared between them, and the assembled zip is the one a single worker builds."""

import io
import zipfile

import pytest

from scoring.io_services import export_start
from scoring.models import ExportJob
from tests.io.test_branch_zip import workbook_cells

from .conftest import wait_until
from .test_worker_faults import a_large_university

pytestmark = pytest.mark.services


def zip_cells(job):
    """Every entry of the job's zip with every sheet's cell values, in order."""
    with job.file.open("rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    return [(entry.filename, workbook_cells(archive.read(entry))) for entry in archive.infolist()]


def built_by(world, year):
    job = export_start(actor=world.org_department, kind=ExportJob.Kind.BRANCH_WORKBOOK, organization=world.U, year=year)
    wait_until(lambda: ExportJob.objects.get(pk=job.pk).status == ExportJob.Status.DONE, timeout=180, what="the job")
    job.refresh_from_db()
    return job


def test_two_workers_share_the_parts_and_build_the_zip_one_worker_builds(broker, settings, tmp_path, monkeypatch):
    world, year = a_large_university(branches=12, members=25)
    # Parts of about 25 members: A1, A2 and B1 (4 members each) in one, then each branch of 25 alone.
    monkeypatch.setenv("EXPORT_ZIP_PART_MEMBERS", "25")
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path))
    settings.MEDIA_ROOT = tmp_path
    settings.EXPORT_ASYNC_THRESHOLD = 1

    alone = broker()
    single = built_by(world, year)
    assert len(single.parts) == 13
    assert {part["worker"] for part in single.parts} == {alone.name}
    expected = zip_cells(single)
    single.file.delete(save=False)
    single.delete()  # so that asking again builds anew

    broker()  # a second worker beside the first
    shared = built_by(world, year)
    workers = [part["worker"] for part in shared.parts]
    assert len(set(workers)) == 2, workers  # the work was split
    assert zip_cells(shared) == expected  # the same entries, in the same order, with the same cells
    assert [name for name, _cells in expected][:4] == [
        f"甲学院党委/甲一支部-{year}年度积分台账.xlsx",
        f"甲学院党委/甲二支部-{year}年度积分台账.xlsx",
        f"乙学院党委/乙一支部-{year}年度积分台账.xlsx",
        f"乙学院党委/测试支部0-{year}年度积分台账.xlsx",
    ]
    # Only the assembled zip is kept: every part's file is deleted.
    assert [path.name for path in tmp_path.rglob("*") if path.is_file()] == [shared.filename]
