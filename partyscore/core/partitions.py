"""Year partitions of the append-only tables (the ledger and the audit log) on PostgreSQL.

A province keeps years of history in both tables, and almost every read asks for one year, so on
PostgreSQL each is a partitioned table with one partition per year and a DEFAULT partition that
takes any row whose year has none yet, so that an insert never fails (SQLite keeps one table each).
The migrations (`partyscore 0009`, `scoring 0015`) convert the tables; a scoring year's opening and
a daily job create the coming years' partitions (`scoring.tasks.year_partitions_task`).

Creating a partition locks the whole table (PostgreSQL takes an ACCESS EXCLUSIVE lock on the parent
and on the DEFAULT partition), so it is never done inside a service's transaction: each partition
in a short transaction of its own, which gives up after `LOCK_TIMEOUT` rather than queue every
reader of the table behind a long one (the task is tried again later).
"""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from . import db

# The year of an audit event is that of its time in Beijing (the calendar the committee works by).
YEAR_ZONE = ZoneInfo("Asia/Shanghai")
LOCK_TIMEOUT = "5s"
# Partitions are created one at a time: two workers creating the same year would otherwise race.
_PARTITION_LOCK_KEY = 0x5053_5054  # "PSPT"


@dataclass(frozen=True)
class YearPartitions:
    """How `table` is partitioned: by `column`, a year (LIST), or a timestamp whose calendar year in
    YEAR_ZONE picks the partition (RANGE)."""

    table: str
    column: str
    timestamp: bool = False

    def name(self, year: int) -> str:
        return f"{self.table}_{year}"

    @property
    def default(self) -> str:
        return f"{self.table}_default"

    def bounds(self, year: int) -> str:
        if not self.timestamp:
            return f"FOR VALUES IN ({int(year)})"
        return f"FOR VALUES FROM ('{_year_start(year)}') TO ('{_year_start(year + 1)}')"

    def in_year(self, year: int) -> str:
        """A WHERE condition: the row belongs to `year`'s partition."""
        if not self.timestamp:
            return f'"{self.column}" = {int(year)}'
        return f"\"{self.column}\" >= '{_year_start(year)}' AND \"{self.column}\" < '{_year_start(year + 1)}'"


def _year_start(year: int) -> str:
    return datetime.datetime(int(year), 1, 1, tzinfo=YEAR_ZONE).isoformat(sep=" ")


def partition_create_sql(spec: YearPartitions, year: int) -> list[str]:
    """The statements that create `year`'s partition of `spec.table` with its guard."""
    name = spec.name(year)
    return [
        f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{spec.table}" {spec.bounds(year)}',
        *db.partition_guard_sql(name),
    ]


def ensure_year_partitions(spec: YearPartitions, years: list[int], using: str = DEFAULT_DB_ALIAS) -> list[int]:
    """Create the partitions of `years` that are missing; returns the years created. Idempotent;
    nothing on SQLite. Rows of such a year already taken by the DEFAULT partition move to the new one,
    unchanged (ids and hashes are kept, so the chains are untouched)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    created = []
    for year in sorted(set(years)):
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PARTITION_LOCK_KEY])
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{spec.name(year)}"'])
            if cursor.fetchone()[0]:
                continue
            cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{spec.default}" WHERE {spec.in_year(year)})')  # noqa: S608 — no input
            if cursor.fetchone()[0]:
                _move_out_of_default(cursor, spec, year)
            else:
                for sql in partition_create_sql(spec, year):
                    cursor.execute(sql)
        created.append(year)
    return created


def _move_out_of_default(cursor, spec, year):
    """PostgreSQL refuses a new partition while the DEFAULT one holds rows of its year: the rows are
    set aside, deleted from the DEFAULT partition with its row guard switched off for that statement
    alone, and put back through the table once the partition exists, which routes them into it. All
    in this one transaction: nobody sees them missing. The keys are checked at each statement here
    (PostgreSQL alters no table with checks pending), which they pass: a reversal moves with its line.
    """
    table, default, guard = spec.table, spec.default, db.row_guard_name(spec.table)
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(f'CREATE TEMPORARY TABLE moving AS SELECT * FROM "{default}" WHERE {spec.in_year(year)}')  # noqa: S608
    cursor.execute(f'ALTER TABLE "{default}" DISABLE TRIGGER "{guard}"')
    cursor.execute(f'DELETE FROM "{default}" WHERE {spec.in_year(year)}')  # noqa: S608 — no input
    cursor.execute(f'ALTER TABLE "{default}" ENABLE TRIGGER "{guard}"')
    for sql in partition_create_sql(spec, year):
        cursor.execute(sql)
    cursor.execute(f'INSERT INTO "{table}" SELECT * FROM moving ORDER BY id')  # noqa: S608 — no input
    cursor.execute("DROP TABLE moving")
