import datetime

from celery import shared_task
from django.db import OperationalError

from members.models import Organization
from partyscore.core.models import AUDIT_PARTITIONS
from partyscore.core.partitions import YEAR_ZONE, ensure_year_partitions
from partyscore.core.queue import enqueue

from .models import LEDGER_PARTITIONS
from .recalculation import recalculate_branch, recalculate_branches, year_chunks


@shared_task(acks_late=True)
def recalculate_branch_task(branch_id, year):
    """Idempotent: the branch's stored totals are replaced from the ledger each time."""
    recalculate_branch(branch=Organization.objects.get(pk=branch_id), year=year)


@shared_task(acks_late=True)
def recalculate_branches_task(branch_ids, year):
    """One chunk of a year's recalculation; idempotent like `recalculate_branch_task`. Returns who
    did it and what, for the logs (and the fan-out test)."""
    done = recalculate_branches(branch_ids=branch_ids, year=year)
    return {"hostname": recalculate_branches_task.request.hostname, "branches": branch_ids, "members": done}


@shared_task(acks_late=True)
def recalculate_year_task(year, organization_id=None):
    """Fan out one task per chunk of branches (recalculation.year_chunks), so that the work is
    shared by the workers and each part can be retried alone."""
    root = None if organization_id is None else Organization.objects.get(pk=organization_id)
    for chunk in year_chunks(root):
        enqueue("scoring.tasks.recalculate_branches_task", [branch.pk for branch in chunk], year)


@shared_task(acks_late=True)
def export_job_task(job_id):
    """Build a queued ledger export (see scoring.io_services)."""
    from .io_services import export_job_run

    export_job_run(job_id=job_id)


@shared_task(acks_late=True, bind=True)
def export_job_part_task(self, job_id, index):
    """Write one part of a zip of branch workbooks; several workers share a job's parts."""
    from .io_services import export_job_part

    export_job_part(job_id=job_id, index=index, worker=self.request.hostname or "")


@shared_task(acks_late=True)
def export_job_assemble_task(job_id):
    """Put a job's parts together once all are written (queued by the last part)."""
    from .io_services import export_job_assemble

    export_job_assemble(job_id=job_id)


@shared_task(acks_late=True)
def export_jobs_purge():
    """Hourly: delete expired export files, and send again jobs the broker may have lost."""
    from .io_services import export_jobs_purge as purge
    from .io_services import export_jobs_resume

    purge()
    export_jobs_resume()


@shared_task(acks_late=True)
def verify_chains_task():
    """Nightly: recompute the ledger's and the audit log's hash chains against the anchor, and the
    stored figures from the ledger; a break or a differing figure is reported to the organization
    department (see scoring.chain_verify.verify_and_report)."""
    from django.conf import settings

    from .chain_verify import verify_and_report

    verify_and_report(anchor_path=settings.CHAIN_ANCHOR_FILE or None)


@shared_task(acks_late=True)
def anchor_chains_task():
    """Every five minutes: anchor the heads of the chains that moved, and move the anchor file on
    (scoring.chain_verify.anchor_advance), so that a cut or a rewrite is caught against heads at most
    five minutes old."""
    from django.conf import settings

    from .chain_verify import anchor_advance

    anchor_advance(settings.CHAIN_ANCHOR_FILE or None)


# A partition waits at most partitions.LOCK_TIMEOUT for the table's lock, then the task is tried again.
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=60, max_retries=10)
def year_partitions_task(*years):
    """On PostgreSQL, the ledger's and the audit log's partitions of `years` (by default this year
    and the next), each created if missing in a short transaction of its own: queued when a scoring
    year is opened, and daily, which also catches a queueing lost while the broker was down."""
    if not years:
        this_year = datetime.datetime.now(YEAR_ZONE).year
        years = (this_year, this_year + 1)
    for spec in (LEDGER_PARTITIONS, AUDIT_PARTITIONS):
        ensure_year_partitions(spec, years)
