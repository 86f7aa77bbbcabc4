"""PostgreSQL stopped and started again under load, with the site running under gunicorn.

The machine's PostgreSQL serves other suites, so this starts a private cluster of its own in a
temporary directory, loads the migrated test database into it, runs gunicorn (2 workers) against
it, and keeps two clients busy (the login page; a signed-in member's home page) while the cluster
is stopped and started. While it is down every answer is the 503 page, promptly; once it is up
again pages are served without restarting anything.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.builders import make_user

from .conftest import ROOT, wait_until

pytestmark = [pytest.mark.services, pytest.mark.usefixtures("append_only_flush")]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SLOW = 3.0  # seconds: no answer, 503 or not, may take longer


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    """A throwaway cluster; run as the postgres account when the tests run as root (initdb refuses root)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="partyscore-pg-"))
        self.port = free_port()
        self.as_postgres = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self.as_postgres = ["runuser", "-u", "postgres", "--"]

    def run(self, *command):
        subprocess.run([*self.as_postgres, *command], check=True, capture_output=True, timeout=60)  # noqa: S603

    def ctl(self, action):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            str(PG_BIN / "pg_ctl"),
            action,
            "-D",
            str(self.dir / "data"),
            "-l",
            str(self.dir / "log"),
            "-o",
            options,
            "-m",
            "fast",
            "-w",
        )

    def create(self, source_database):
        self.run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.dir / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.ctl("start")
        self.run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "partyscore")
        dump = subprocess.run(  # noqa: S603
            [
                PG_BIN / "pg_dump",
                "-h",
                "127.0.0.1",
                "-p",
                "5432",
                "-U",
                "postgres",
                "--no-owner",
                source_database,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        subprocess.run(  # noqa: S603
            [
                PG_BIN / "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                "partyscore",
            ],
            input=dump,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def destroy(self):
        if (self.dir / "data" / "postmaster.pid").exists():
            subprocess.run(  # noqa: S603
                [
                    *self.as_postgres,
                    PG_BIN / "pg_ctl",
                    "stop",
                    "-D",
                    self.dir / "data",
                    "-m",
                    "immediate",
                    "-w",
                ],
                capture_output=True,
                timeout=30,
            )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def site(transactional_db):
    """gunicorn on a private PostgreSQL holding a copy of the test database (with a signed-in session)."""
    user = make_user("loadtest", "压测用户")
    browser = Client()
    browser.force_login(user)
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value
    postgres = PrivatePostgres()
    server = None
    try:
        postgres.create(connection.settings_dict["NAME"])
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "partyscore.settings.test",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{postgres.port}/partyscore?connect_timeout=2",
        }
        server = subprocess.Popen(  # noqa: S603 — our own server, fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{port}",
                "--timeout",
                "20",
                "--graceful-timeout",
                "2",
                "--log-level",
                "warning",
                "partyscore.wsgi:application",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"

        def answers():
            try:
                return requests.get(f"{base}/accounts/login/", timeout=10).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, timeout=30, what="gunicorn")
        yield base, session, postgres
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        postgres.destroy()


class Load:
    """Two clients requesting in a loop; every answer noted with the phase it was sent and answered in."""

    def __init__(self, base, session):
        signed_in = requests.Session()
        signed_in.cookies.set(settings.SESSION_COOKIE_NAME, session)
        self.targets = [(requests.Session(), f"{base}/accounts/login/"), (signed_in, f"{base}/")]
        self.phase, self.results, self.stopped = "up", [], threading.Event()
        self.threads = [threading.Thread(target=self.loop, args=target) for target in self.targets]

    def loop(self, client, url):
        while not self.stopped.is_set():
            phase, started = self.phase, time.monotonic()
            try:
                response = client.get(url, timeout=10, allow_redirects=False)
                outcome = (
                    response.status_code,
                    response.headers.get("Retry-After"),
                    "数据库暂时不可用" in response.text,
                )
            except requests.RequestException as error:
                outcome = (repr(error), None, False)
            if self.phase != phase:  # sent in one phase, answered in the next
                phase = "between"
            self.results.append((phase, url, outcome, time.monotonic() - started, time.monotonic()))
            time.sleep(0.05)

    def during(self, phase, seconds):
        self.phase = phase
        time.sleep(seconds)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def statuses(self, phase):
        return [outcome[0] for p, _url, outcome, _took, _at in self.results if p == phase]


def test_the_site_answers_503_while_postgresql_is_down_and_recovers_by_itself(site):
    base, session, postgres = site
    with Load(base, session) as load:
        load.during("up", 1.5)
        load.phase = "stopping"
        postgres.ctl("stop")
        load.during("down", 3)
        load.phase = "starting"
        postgres.ctl("start")
        back_at = time.monotonic()
        load.during("back", 4)

    assert set(load.statuses("up")) == {200}, load.statuses("up")
    for phase in ("between", "stopping", "starting"):  # in flight while it stopped or started: no 500
        assert set(load.statuses(phase)) <= {200, 503}, load.statuses(phase)
    down = [(url, outcome) for phase, url, outcome, _took, _at in load.results if phase == "down"]
    assert len(down) >= 10 and {outcome for _url, outcome in down} == {(503, "30", True)}, down
    assert {url for url, _outcome in down} == {url for _client, url in load.targets}  # both pages
    slowest = max(took for *_rest, took, _at in load.results)
    assert slowest < SLOW, f"an answer took {slowest:.1f} s"
    # Back by itself: each page served again within seconds, and every answer after that a 200.
    for _client, url in load.targets:
        served = [(at, outcome[0]) for phase, u, outcome, _took, at in load.results if phase == "back" and u == url]
        first = next(at for at, status in served if status == 200)
        assert first - back_at < 3, f"{url} served again only after {first - back_at:.1f} s"
        assert {status for at, status in served if at > first} == {200}
