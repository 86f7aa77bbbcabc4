"""The 503 page while the database is unreachable (simulated here; tests/services/test_database_restart.py
stops a real PostgreSQL under a running gunicorn)."""

import pytest
from django.db import OperationalError, connections
from django.http import HttpResponse
from django.urls import path

from partyscore.core import unavailable

NOTICE = "数据库暂时不可用"


def _query_view(request):
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok")


urlpatterns = [path("query/", _query_view)]


@pytest.fixture
def database_down(monkeypatch):
    """Every attempt to use the database fails as when PostgreSQL refuses connections;
    returns a function that brings it back."""

    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    return monkeypatch.undo


@pytest.mark.django_db
def test_pages_answer_503_in_chinese_while_the_database_is_down_and_recover_by_themselves(client, world, database_down):
    for url in ("/accounts/login/", "/"):
        response = client.get(url)
        assert response.status_code == 503
        assert response["Retry-After"] == str(unavailable.RETRY_AFTER_SECONDS)
        assert "no-cache" in response["Cache-Control"]
        page = response.content.decode()
        assert "系统维护中" in page and NOTICE in page
    client.cookies["django_language"] = "en"
    assert "The database is temporarily unavailable" in client.get("/accounts/login/").content.decode()
    del client.cookies["django_language"]
    database_down()  # back: the next request is served, nothing was restarted
    assert client.get("/accounts/login/").status_code == 200
    client.force_login(world.secretary)
    assert client.get("/").status_code == 200


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_connection_lost_inside_a_view_is_a_503_too(client, monkeypatch):
    assert client.get("/query/").status_code == 200
    calls = []
    real_cursor = connections["default"].cursor

    def fail_after_the_check(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:  # the middleware's check passes, the view's query finds the server gone
            raise OperationalError("server closed the connection unexpectedly")
        return real_cursor(*args, **kwargs)

    monkeypatch.setattr(connections["default"], "cursor", fail_after_the_check)
    response = client.get("/query/")
    assert response.status_code == 503 and NOTICE in response.content.decode()


def test_the_500_handler_answers_503_only_for_a_lost_database(rf):
    request = rf.get("/")
    try:
        raise OperationalError("terminating connection due to administrator command")
    except OperationalError:
        assert unavailable.server_error(request).status_code == 503
    try:
        raise ValueError("a bug")
    except ValueError:
        assert unavailable.server_error(request).status_code == 500
