"""Celery tasks of the review pipeline: each takes ids (or nothing), calls services, is idempotent."""

import logging

from celery import shared_task

from scoring.models import Cycle

from . import rhythm, services
from .rollover import rollover_resume

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def daily_rhythm_task():
    """Reminders and escalations, then the scheduled state changes. Safe to run twice a day."""
    sent, escalated = rhythm.run_reminders()
    objections = rhythm.escalate_overdue_objections()
    closed = services.publicity_close_due()
    locked = rhythm.lock_ended_periods()
    resumed = rollover_resume()
    log.info(
        "rhythm: %s reminders, %s escalations, %s objections escalated, %s windows closed, %s periods "
        "locked, %s rollover branches resent",
        sent,
        escalated,
        objections,
        closed,
        locked,
        resumed,
    )


@shared_task(acks_late=True)
def publicity_close_task():
    services.publicity_close_due()


@shared_task(acks_late=True)
def nightly_recalculation_task():
    """Totals and outcomes of every open year, one task per branch."""
    from scoring.tasks import recalculate_year_task

    for year in Cycle.objects.filter(is_open=True).values_list("year", flat=True):
        recalculate_year_task.delay(year)


@shared_task(acks_late=True)
def rollover_branch_task(rollover_id, branch_id):
    from .rollover import rollover_branch

    rollover_branch(rollover_id=rollover_id, branch_id=branch_id)
