"""Tests against the machine's real PostgreSQL and Redis with a real Celery worker.

They run in `.ci/run`'s second pass (PARTYSCORE_SERVICE_TESTS=1 with DATABASE_URL and REDIS_URL);
the worker is started here, on the test database, so a test can also kill and restart it.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PARTYSCORE_SERVICE_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL, Redis and a worker: run by .ci/run's second pass")
    for item in items:
        if "tests/services/" in str(item.fspath):
            item.add_marker(skip)


class Worker:
    """A Celery worker on the test database, with the test process's environment. With `log`, it
    logs at INFO into that file (each task it ran, with its result)."""

    def __init__(self, database_name, log=None):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "partyscore.settings.test",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database_name}",
        }
        self.name = f"test-{time.time_ns()}@{socket.gethostname()}"  # the node name tasks see as their hostname
        self.log = log
        self.process = None

    def start(self):
        output = open(self.log, "w") if self.log else None  # noqa: SIM115 — the worker writes it until stopped
        self.process = subprocess.Popen(  # noqa: S603 — our own worker, fixed arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "partyscore",
                "worker",
                "--concurrency=1",
                f"--loglevel={'info' if self.log else 'warning'}",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-n",
                self.name,
            ],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )
        if output:
            output.close()  # the worker has its own copy
        return self

    def kill(self):
        """SIGKILL: no warm shutdown, unacknowledged tasks stay with the broker."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def broker(transactional_db, append_only_flush, monkeypatch):
    """The Celery app switched to the real Redis, its queue emptied; returns a worker factory."""
    from django.db import connection

    from partyscore.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    app.control.purge()
    workers = []

    def start(log=None):
        workers.append(Worker(connection.settings_dict["NAME"], log).start())
        return workers[-1]

    yield start
    for worker in workers:
        worker.stop()
    app.control.purge()


def wait_until(condition, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
