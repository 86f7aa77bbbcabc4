import pytest

from partyscore.db import append_only_create_sql, append_only_drop_sql

from .builders import PASSWORD, build_university

APPEND_ONLY_TABLES = ["scoring_ledgerentry", "partyscore_auditevent"]


@pytest.fixture
def world(db):
    return build_university()


@pytest.fixture
def login(client):
    """Log `client` in as a user (by force: the login form has its own tests)."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def append_only_flush(transactional_db):
    """Let a transactional test's flush empty the append-only tables.

    The flush deletes every row, which the append-only triggers refuse; here the guarded
    tables are emptied with the triggers briefly lifted, before the flush runs.
    """
    yield
    from django.db import connection

    # Rows elsewhere may still point at ledger lines (an objection to an entry): the flush that
    # follows empties those; SQLite would refuse the ledger's rows first without this.
    with connection.constraint_checks_disabled(), connection.cursor() as cursor:
        for table in APPEND_ONLY_TABLES:
            for sql in append_only_drop_sql(connection.vendor, table):
                cursor.execute(sql)
            cursor.execute(f'DELETE FROM "{table}"')  # noqa: S608 — a constant table name
            for sql in append_only_create_sql(connection.vendor, table):
                cursor.execute(sql)


@pytest.fixture
def broker_down(monkeypatch):
    """Celery sends for real, to a Redis that is not there. Yields a function that brings the
    broker 'back' (eager again), as after an outage."""
    from partyscore.celery import app

    def reset_pool():
        """Forget the pools made for the previous broker URL (kombu keeps them per URL)."""
        app._pool = None
        app.amqp._producer_pool = None

    reset_pool()
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setitem(app.conf, "broker_url", "redis://127.0.0.1:1/0")  # nothing listens there

    def back():
        reset_pool()
        monkeypatch.undo()

    yield back
    back()
