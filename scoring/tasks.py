import datetime

from celery import shared_task
from django.db import OperationalError

from members.models import Organization
from partyscore.core.models import AUDIT_PARTITIONS
from partyscore.core.partitions import YEAR_ZONE, ensure_year_partitions

from .models import LEDGER_PARTITIONS
from .recalculation import recalculate_branch


@shared_task(acks_late=True)
def recalculate_branch_task(branch_id, year):
    """Idempotent: the branch's stored totals are replaced from the ledger each time."""
    recalculate_branch(branch=Organization.objects.get(pk=branch_id), year=year)


@shared_task(acks_late=True)
def recalculate_year_task(year, organization_id=None):
    """Fan out one task per branch, so long work is split and each part can be retried alone."""
    branches = Organization.objects.filter(kind=Organization.Kind.BRANCH)
    if organization_id is not None:
        root = Organization.objects.get(pk=organization_id)
        branches = branches.filter(path__startswith=root.path)
    for branch_id in branches.values_list("pk", flat=True):
        recalculate_branch_task.delay(branch_id, year)


@shared_task(acks_late=True)
def export_job_task(job_id):
    """Build a queued ledger export (see scoring.io_services)."""
    from .io_services import export_job_run

    export_job_run(job_id=job_id)


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
    """Hourly: move the chains' anchor on over the rows appended since (scoring.chain_verify.anchor_advance),
    so that a cut or a rewrite is caught against heads at most an hour old."""
    from django.conf import settings

    from .chain_verify import anchor_advance

    if settings.CHAIN_ANCHOR_FILE:
        anchor_advance(settings.CHAIN_ANCHOR_FILE)


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
