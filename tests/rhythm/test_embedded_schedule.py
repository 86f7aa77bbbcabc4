"""`make run` runs the year's schedule with no broker: Celery beat, in eager mode, runs each due job
in its own process (Makefile `run`)."""

from pathlib import Path

from celery.beat import ScheduleEntry, Scheduler
from celery.result import EagerResult
from django.conf import settings

from partyscore.celery import app

ROOT = Path(__file__).resolve().parents[2]


def test_beat_runs_a_due_job_in_process_when_tasks_are_eager(db):
    assert app.conf.task_always_eager  # the embedded default: no broker
    app.loader.import_default_modules()  # as beat does when it starts: every app's tasks registered
    # A job not registered would be sent to the (in-memory) broker and lost instead of run.
    assert {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()} <= set(app.tasks)
    entry = ScheduleEntry(
        name="pending-uploads-purge", app=app, **settings.CELERY_BEAT_SCHEDULE["pending-uploads-purge"]
    )
    result = Scheduler(app, lazy=True).apply_async(entry)
    assert isinstance(result, EagerResult) and result.successful()


def test_make_run_starts_the_schedule_beside_the_server():
    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "celery -A partyscore beat" in recipe and "runserver" in recipe and "trap" in recipe
