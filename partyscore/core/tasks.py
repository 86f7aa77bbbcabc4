"""Enqueueing work: after the transaction commits, and never at the cost of the request.

When Redis is unreachable the request still succeeds and the failure is logged; the work itself
is recorded in the database (a job row, a stale total, a due reminder) and a scheduled sweep or
the next daily run picks it up.
"""

import logging

from celery import shared_task
from django.db import transaction

log = logging.getLogger(__name__)


def enqueue(task, *args):
    """Send `task(*args)` once the current transaction commits; swallow and log broker failures."""

    def send():
        try:
            task.apply_async(args=args)
        except Exception:  # kombu/redis raise many kinds; none may reach the user
            log.exception("could not enqueue %s%r; it will be picked up from the database later", task.name, args)

    transaction.on_commit(send)


@shared_task(acks_late=True)
def access_log_purge():
    """Daily: delete security log rows older than SECURITY_LOG_RETENTION_DAYS."""
    from .access_log import access_log_purge as purge

    return purge()


@shared_task(acks_late=True)
def pending_uploads_purge():
    """Hourly: delete import files checked but never confirmed (partyscore.core.pending_upload)."""
    from .pending_upload import pending_uploads_purge as purge

    return purge()
