"""Exports as services: permission-checked, audited; large ones become background jobs.

`export_start` answers a request: an export small enough (`EXPORT_ASYNC_THRESHOLD` rows) is built
at once and handed back as bytes; a larger one becomes an `ExportJob` that a Celery task builds
(`export_job_run`), reporting its progress, into a file only its owner may download until it
expires (`EXPORT_KEEP_HOURS`). Every export is recorded in the audit log: who took what out. The
ledger workbook of a scope above a branch is a zip of one workbook per branch
(`exports.write_branch_zip`); as a job it is built in parts, one task per chunk of branches, which
several workers share (`export_job_part`), and assembled when all are written.
"""

from __future__ import annotations

import datetime
import io
import logging
import shutil
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from members import permissions as perms
from partyscore.core.audit import audit_record
from partyscore.core.exceptions import ApplicationError
from partyscore.core.queue import enqueue
from partyscore.core.transitions import transition

from . import exports
from . import io_selectors as reads
from .models import ExportJob, export_file_path

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from members.models import Member, Organization, User

logger = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 1.0
NOT_OWNER = gettext_noop("只有导出人本人可以查看和下载该导出文件")
EXPIRED = gettext_noop("该导出文件已超过保留期限并已删除，请重新导出")
NOT_READY = gettext_noop("导出文件尚未生成完毕")
FAILED = gettext_noop("导出失败，请重试；如多次失败请联系管理员")
STOPPED = gettext_noop("导出已中断（%(minutes)s 分钟无进展，后台任务可能已停止），请重新导出")


@dataclass
class ExportFile:
    content: bytes
    filename: str


def _audit(actor: User, kind: str, organization: Organization, year: int, **extra: object) -> None:
    audit_record(
        actor=actor,
        action="ledger.export",
        target=organization,
        organization=organization,
        after={"kind": kind, "year": year, **extra},
    )


@transaction.atomic
def export_start(
    *, actor: User, kind: str, organization: Organization, year: int, force_background: bool = False
) -> ExportFile | ExportJob:
    """Build a small export now (an ExportFile), or queue a large one (an ExportJob)."""
    if kind not in exports.WRITERS:
        raise ApplicationError(_("未知的导出内容"))
    reads.require_ledger_view(actor=actor, organization=organization)
    rows = reads.export_size(kind=kind, organization=organization, year=year)
    if kind == "branch_workbook" and not rows:
        raise exports.no_members(organization, year)
    if rows > settings.EXPORT_ASYNC_THRESHOLD or force_background:
        # The same request again (a double click, a second tab) while that export is still being
        # built gets the job already queued; the requester's row lock makes simultaneous ones wait.
        get_user_model().objects.select_for_update(no_key=True).filter(pk=actor.pk).values_list("pk").get()
        queued = ExportJob.objects.filter(
            owner=actor,
            kind=kind,
            organization=organization,
            year=year,
            status__in=(ExportJob.Status.PENDING, ExportJob.Status.RUNNING),
        ).first()
        if queued is not None and not export_job_fail_if_stopped(job=queued):
            return queued
        job = ExportJob.objects.create(
            owner=actor,
            kind=kind,
            organization=organization,
            year=year,
            rows_total=rows,
            filename=exports.export_filename(kind, organization, year),
            expires_at=timezone.now() + datetime.timedelta(hours=settings.EXPORT_KEEP_HOURS),
        )
        _audit(actor, kind, organization, year, rows=rows, job=job.pk)
        enqueue("scoring.tasks.export_job_task", job.pk)
        return job
    buffer = io.BytesIO()
    exports.WRITERS[kind](buffer, organization=organization, year=year)
    _audit(actor, kind, organization, year, rows=rows)
    return ExportFile(buffer.getvalue(), exports.export_filename(kind, organization, year))


@transaction.atomic
def member_ledger_export(*, actor: User, member: Member, year: int) -> ExportFile:
    """One member's ledger (always small): the member themself or whoever may view their branch."""
    reads.require_member_ledger(actor=actor, member=member)
    buffer = io.BytesIO()
    exports.write_member_workbook(buffer, member=member, year=year)
    audit_record(
        actor=actor,
        action="ledger.export",
        target=member,
        organization=member.branch,
        after={"kind": "member_ledger", "year": year},
    )
    return ExportFile(buffer.getvalue(), exports.member_filename(member, year))


def export_jobs_resume(*, older_than_minutes: int = 10) -> int:
    """Scheduled: send again the jobs still queued after a while (the broker may have lost them)."""
    cutoff = timezone.now() - datetime.timedelta(minutes=older_than_minutes)
    pending = list(
        ExportJob.objects.filter(status=ExportJob.Status.PENDING, created_at__lt=cutoff).values_list("pk", flat=True)
    )
    for job_id in pending:
        enqueue("scoring.tasks.export_job_task", job_id)
    return len(pending)


def _stopped(jobs: QuerySet[ExportJob], now: datetime.datetime | None = None) -> QuerySet[ExportJob]:
    """Those of `jobs` that have stopped: queued with no worker, or running with no heartbeat, for too long."""
    cutoff = (now or timezone.now()) - datetime.timedelta(minutes=settings.EXPORT_STALE_MINUTES)
    return jobs.alias(last_sign=Coalesce("heartbeat_at", "started_at", "created_at")).filter(
        status__in=(ExportJob.Status.PENDING, ExportJob.Status.RUNNING), last_sign__lt=cutoff
    )


def _job_move(job: ExportJob, action: str, **fields: object) -> None:
    """Move `job` along its table with `fields`, in a short transaction of its own: the export itself
    runs outside any (for minutes), so that its progress is seen meanwhile."""
    with transaction.atomic():
        transition(job, action)
        for name, value in fields.items():
            setattr(job, name, value)
        job.save(update_fields=["status", *fields])


@transaction.atomic
def export_job_fail_if_stopped(*, job: ExportJob, now: datetime.datetime | None = None) -> bool:
    """Mark `job` failed, with a Chinese reason its owner sees, if it has stopped; True if it had."""
    if not _stopped(ExportJob.objects.select_for_update(no_key=True).filter(pk=job.pk), now).exists():
        return False
    logger.warning(
        "export job %s had stopped (no progress for %s minutes): failed", job.pk, settings.EXPORT_STALE_MINUTES
    )
    message = _(STOPPED) % {"minutes": settings.EXPORT_STALE_MINUTES}
    _job_move(job, "fail", error=message[:300], finished_at=timezone.now())
    return True


class _Progress:
    """Writes the job's percentage at most once a second: a constant number of queries at any size."""

    def __init__(self, job: ExportJob) -> None:
        self.job, self.last, self.total = job, time.monotonic(), max(job.rows_total, 1)

    def _due(self) -> bool:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS:
            return False
        self.last = now
        return True

    def __call__(self, done: int, total: int | None = None) -> None:
        """`done` of `total` units (members, branches), or of the rows estimated at the request."""
        if self._due():
            percent = min(99, int(done * 100 / max(total or self.total, 1)))
            ExportJob.objects.filter(pk=self.job.pk).update(progress=percent, heartbeat_at=timezone.now())


class _Heartbeat(_Progress):
    """For one part of a job built in parts: only the heartbeat (the percentage moves as parts finish)."""

    def __call__(self, done: int, total: int | None = None) -> None:
        if self._due():
            ExportJob.objects.filter(pk=self.job.pk).update(heartbeat_at=timezone.now())


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Build a queued export (called by the Celery task). Safe to run again: a finished job is left."""
    job = ExportJob.objects.select_related("owner", "organization").filter(pk=job_id).first()
    if job is None or job.status == ExportJob.Status.DONE:
        return job
    # The owner's scope is checked again: a role may have ended since the request.
    if not perms.has_org_perm(job.owner, perms.LEDGER_VIEW, job.organization):
        _job_move(job, "fail", error=_("您已无权导出该范围"), finished_at=timezone.now())
        return job
    _job_move(job, "start", started_at=timezone.now(), heartbeat_at=timezone.now(), progress=0)
    if job.is_zip:
        return _export_job_fan_out(job)
    try:
        with tempfile.TemporaryFile() as handle:
            exports.WRITERS[job.kind](
                handle, organization=job.organization, year=job.year, constant_memory=True, progress=_Progress(job)
            )
            handle.seek(0)
            job.file.save(job.filename, File(handle), save=False)
    except ApplicationError as error:  # the scope changed since the request (its members all left)
        _job_move(job, "fail", error=error.message[:300], finished_at=timezone.now())
        return job
    except Exception:
        logger.exception("export job %s failed", job.pk)
        _job_move(job, "fail", error=_(FAILED)[:300], finished_at=timezone.now())
        return job
    _job_move(job, "finish", progress=100, file=job.file.name, finished_at=timezone.now())
    job.refresh_from_db()
    return job


# ── a zip of branch workbooks, built in parts ────────────────────────────────────────────────
#
# The job's first task cuts the scope into chunks of branches (exports.branch_zip_parts) and queues
# one task per chunk; each writes its branches' workbooks into a zip of its own in the job's storage
# (shared by every worker, as the download already needs) and records it; the task that records
# the last part queues the assembly, which copies the parts' entries in order into the job's file.
# Every step may run again (a task is delivered again when its worker dies): a part written twice
# replaces the first, a part of an earlier start of the job (its `round`) is dropped, and the
# assembly of a finished job does nothing.


def _part_files_delete(job: ExportJob) -> None:
    for part in job.parts:
        if part.get("file"):
            job.file.storage.delete(part["file"])


def _export_job_fan_out(job: ExportJob) -> ExportJob:
    try:
        parts = exports.branch_zip_parts(organization=job.organization, year=job.year)
    except ApplicationError as error:  # the scope changed since the request (its members all left)
        _job_move(job, "fail", error=error.message[:300], finished_at=timezone.now())
        return job
    _part_files_delete(job)  # of an earlier start of this job
    started = uuid.uuid4().hex
    job.parts = [
        {
            "branches": [branch.pk for branch in part.branches],
            "names": part.names,
            "members": part.members,
            "round": started,
            "file": "",
            "worker": "",
        }
        for part in parts
    ]
    ExportJob.objects.filter(pk=job.pk).update(parts=job.parts)
    for index in range(len(job.parts)):
        enqueue("scoring.tasks.export_job_part_task", job.pk, index)
    return job


def export_job_part(*, job_id: int, index: int, worker: str = "") -> None:
    """Write part `index` of a job built in parts (called by its Celery task, `worker` its name)."""
    job = ExportJob.objects.select_related("organization").filter(pk=job_id).first()
    if job is None or job.status != ExportJob.Status.RUNNING or index >= len(job.parts):
        return
    plan = job.parts[index]
    part = exports.ZipPart(reads.branches_in_order(plan["branches"]), plan["names"], plan["members"])
    storage = job.file.storage
    try:
        with tempfile.TemporaryFile() as handle:
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
                exports.write_zip_part(archive, part, year=job.year, constant_memory=True, progress=_Heartbeat(job))
            handle.seek(0)
            name = storage.save(export_file_path(job, f"part-{index + 1}.zip"), File(handle))
    except Exception:
        logger.exception("export job %s part %s failed", job.pk, index)
        _part_failed(job_id)
        return
    with transaction.atomic():
        job = ExportJob.objects.select_for_update(no_key=True).get(pk=job_id)
        current = job.parts[index] if index < len(job.parts) else {}
        if job.status != ExportJob.Status.RUNNING or current.get("round") != plan["round"]:
            transaction.on_commit(lambda: storage.delete(name))
            return
        if current["file"]:  # written before by the same task, delivered again
            transaction.on_commit(lambda old=current["file"]: storage.delete(old))
        current.update(file=name, worker=worker)
        done = [p for p in job.parts if p["file"]]
        job.progress = min(99, sum(p["members"] for p in done) * 100 // max(sum(p["members"] for p in job.parts), 1))
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["parts", "progress", "heartbeat_at"])
        if len(done) == len(job.parts):
            enqueue("scoring.tasks.export_job_assemble_task", job.pk)


def _part_failed(job_id: int) -> None:
    with transaction.atomic():
        job = ExportJob.objects.select_for_update(no_key=True).get(pk=job_id)
        if job.status == ExportJob.Status.RUNNING:
            _job_move(job, "fail", error=_(FAILED)[:300], finished_at=timezone.now())
            _part_files_delete(job)


def export_job_assemble(*, job_id: int) -> ExportJob | None:
    """Copy the parts' workbooks, in order, into the job's zip (called by the Celery task queued by the
    last part): the entries' bytes are copied, nothing is written again."""
    job = ExportJob.objects.select_related("organization").filter(pk=job_id).first()
    if job is None or job.status != ExportJob.Status.RUNNING or not all(p["file"] for p in job.parts):
        return job
    storage = job.file.storage
    try:
        with tempfile.TemporaryFile() as handle:
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
                for part in job.parts:
                    with storage.open(part["file"], "rb") as stored, zipfile.ZipFile(stored) as piece:
                        for entry in piece.infolist():
                            with (
                                piece.open(entry) as source,
                                archive.open(zipfile.ZipInfo(entry.filename, entry.date_time), "w") as target,
                            ):
                                shutil.copyfileobj(source, target)
            handle.seek(0)
            job.file.save(job.filename, File(handle), save=False)
    except Exception:
        logger.exception("export job %s: assembling its parts failed", job.pk)
        _job_move(job, "fail", error=_(FAILED)[:300], finished_at=timezone.now())
        return job
    _job_move(job, "finish", progress=100, file=job.file.name, finished_at=timezone.now())
    _part_files_delete(job)
    for part in job.parts:
        part["file"] = ""
    ExportJob.objects.filter(pk=job.pk).update(parts=job.parts)
    job.refresh_from_db()
    return job


def export_job_get(*, actor: User, job_id: int) -> ExportJob:
    """A job, for its owner only."""
    job = ExportJob.objects.select_related("organization").filter(pk=job_id).first()
    if job is None or job.owner_id != actor.pk:
        raise PermissionDenied(_(NOT_OWNER))
    if job.status in (ExportJob.Status.PENDING, ExportJob.Status.RUNNING):
        export_job_fail_if_stopped(job=job)
    return job


def export_jobs_of(*, actor: User) -> QuerySet[ExportJob]:
    return ExportJob.objects.filter(owner=actor, expires_at__gt=timezone.now()).select_related("organization")


@transaction.atomic
def export_job_download(*, actor: User, job_id: int) -> ExportJob:
    """The job's file for its owner, while it is kept and while they may still view the scope."""
    job = export_job_get(actor=actor, job_id=job_id)
    reads.require_ledger_view(actor=actor, organization=job.organization)
    if job.expires_at <= timezone.now():
        raise ApplicationError(_(EXPIRED), extra={"status": 410})
    if job.status != ExportJob.Status.DONE or not job.file:
        raise ApplicationError(_(NOT_READY), extra={"status": 409})
    audit_record(
        actor=actor,
        action="ledger.export_download",
        target=job,
        organization=job.organization,
        after={"kind": job.kind, "year": job.year},
    )
    return job


def export_jobs_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete expired jobs and their files (run hourly by Celery beat). Returns how many."""
    now = now or timezone.now()
    expired = list(ExportJob.objects.filter(expires_at__lte=now))
    for job in expired:
        _part_files_delete(job)
        if job.file:
            job.file.delete(save=False)
    ExportJob.objects.filter(pk__in=[job.pk for job in expired]).delete()
    return len(expired)
