import logging
import time
from contextlib import contextmanager

from django.core.management.base import BaseCommand

from partyscore.demo.university import DEFAULT_MEMBERS, DEMO_PASSWORD, demo_university_seed

# Loggers that narrate the background jobs the seeding runs in-process (each rollover branch, each
# recalculation) and kombu's notice that the in-memory broker has no host: routine, not alarming.
QUIET = ("celery.app.trace", "celery.worker", "kombu.connection")


@contextmanager
def quiet_background_jobs():
    loggers = [logging.getLogger(name) for name in QUIET]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class Command(BaseCommand):
    help = "Load the demo university (idempotent: does nothing when it is already there)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--members",
            type=int,
            default=DEFAULT_MEMBERS,
            help=f"size of the university (default {DEFAULT_MEMBERS}; more branches, not bigger ones)",
        )

    def handle(self, *args, **options):
        started = time.monotonic()
        with quiet_background_jobs():
            loaded = demo_university_seed(member_count=options["members"])
        if loaded:
            self.stdout.write(
                self.style.SUCCESS(
                    f"demo university loaded in {time.monotonic() - started:.0f} s; every password is {DEMO_PASSWORD}"
                )
            )
        else:
            self.stdout.write("demo university already present; nothing to do")
