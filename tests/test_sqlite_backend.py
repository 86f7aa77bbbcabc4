"""The embedded SQLite backend batches bulk writes to the limit the running SQLite reports."""

import sqlite3

import pytest
from django.db import connection

from members.models import Organization

pytestmark = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="the embedded SQLite backend")


def test_the_parameter_limit_is_read_from_sqlite(db):
    reported = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    assert connection.features.max_query_params == min(reported, 32766) > 999


def test_five_hundred_rows_of_eight_columns_are_one_insert(world, django_assert_num_queries):
    rows = [
        Organization(
            name=f"支部{i}",
            code=f"X{i:04d}",
            kind=Organization.Kind.BRANCH,
            parent=world.A,
            path=f"{world.A.path}{i:06d}/",
            depth=2,
        )
        for i in range(500)
    ]
    with django_assert_num_queries(1):
        Organization.objects.bulk_create(rows)
