import pytest

from partyscore.core.db import append_only_guard, append_only_lift

from .builders import PASSWORD, build_university

APPEND_ONLY_TABLES = ["scoring_ledgerentry", "partyscore_auditevent", "partyscore_chainanchor"]


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Every test starts with an empty cache (login counters per address live there): the in-process
    cache is cleared; on a shared Redis, which the other test worker uses at the same time, each test
    gets keys of its own (a prefix) instead."""
    if "locmem" in settings.CACHES["default"]["BACKEND"]:
        from django.core.cache import cache

        cache.clear()
    else:
        import uuid

        settings.CACHES = {
            **settings.CACHES,
            "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"},
        }


@pytest.fixture(autouse=True)
def _source_language():
    """Every test starts in Chinese, as a worker or a scheduled job does: a page asked in English
    leaves English active in the thread (the locale middleware sets it per request and keeps it)."""
    from django.utils import translation

    with translation.override("zh-hans"):
        yield


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

    The flush deletes every row (SQLite) or truncates every table (PostgreSQL), which the
    append-only triggers refuse while a table holds rows; here the whole database is flushed once
    with the triggers briefly lifted (and put back), so rows elsewhere that point at ledger lines
    (an objection to an entry) go in the same statement; the test case's own flush then finds the
    guarded tables empty.
    """
    yield
    from django.core.management import call_command
    from django.db import connection

    for table in APPEND_ONLY_TABLES:
        append_only_lift(connection, table)
    try:
        call_command("flush", interactive=False, inhibit_post_migrate=True, allow_cascade=True, verbosity=0)
    finally:
        for table in APPEND_ONLY_TABLES:
            append_only_guard(connection, table)


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
