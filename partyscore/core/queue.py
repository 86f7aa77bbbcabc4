"""Enqueueing work: after the transaction commits, and never at the cost of the request.

When Redis is unreachable the request still succeeds and the failure is logged; the work itself
is recorded in the database (a job row, a stale total, a due reminder) and a scheduled sweep or
the next daily run picks it up.
"""

import functools
import logging

from celery import current_app
from django.db import transaction

log = logging.getLogger(__name__)


def enqueue(task_name, *args):
    """Send the task registered as `task_name` with `args` once the current transaction commits;
    swallow and log broker failures. By name, so that a service never imports the tasks module that
    calls it back, and a lower app may start work that an app above it defines."""
    task = _task(task_name)  # an unknown name fails here, at once, rather than in the log

    def send():
        try:
            task.apply_async(args=args)
        except Exception:  # kombu/redis raise many kinds; none may reach the user
            log.exception("could not enqueue %s%r; it will be picked up from the database later", task.name, args)

    transaction.on_commit(send)


@functools.cache
def _task(name):
    if name not in current_app.tasks:  # a worker has every task; another process imports them at first use
        # Every app's tasks module, as a worker imports them; not by import_default_modules, which also
        # runs django.setup() again (Celery's Django fixup) and so configures logging anew.
        current_app.autodiscover_tasks(force=True)
    return current_app.tasks[name]
