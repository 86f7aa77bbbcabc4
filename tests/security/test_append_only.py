"""The append-only guard refuses every way of rewriting or removing a row, as an attacker with a SQL
prompt would try them: INSERT OR REPLACE and REPLACE on SQLite (which delete the old row without
firing a delete trigger), TRUNCATE on PostgreSQL (which fires no row trigger), an upsert on both.
A test database's flush still empties the tables once the guard is lifted for the rows."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from members.models import Member
from partyscore.core.models import AuditEvent, ChainAnchor
from scoring.chain_verify import anchor_chains
from scoring.ledger_chain import ledger_append_many
from scoring.models import LedgerEntry
from scoring.services import entry_reverse
from tests.conftest import APPEND_ONLY_TABLES
from tests.test_authorization_matrix import add_scoring

sqlite_only = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's REPLACE")
postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's TRUNCATE")


@pytest.fixture
def recorded(world):
    _reference, _schemes, entries, _period = add_scoring(world)
    entry_reverse(actor=world.secretary, entry=entries["A1"], reason="记错了人")
    anchor_chains()
    return world


def row_of(table, pk):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table}" WHERE id = %s', [pk])  # noqa: S608 — a constant table name
        values = cursor.fetchone()
        return dict(zip([c[0] for c in cursor.description], values, strict=True))


def raw_insert(verb, table, row, suffix=""):
    columns = ", ".join(f'"{c}"' for c in row)
    marks = ", ".join(["%s"] * len(row))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'{verb} INTO "{table}" ({columns}) VALUES ({marks}){suffix}', list(row.values()))


def forged(table, pk, **changes):
    return {**row_of(table, pk), **changes}


def primary_key(table):
    """The primary key's columns: the id, and on PostgreSQL the year partition's key with it."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return ", ".join(f'"{c}"' for c in next(c["columns"] for c in constraints.values() if c["primary_key"]))


def rows(table):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table}" ORDER BY id')  # noqa: S608 — a constant table name
        return cursor.fetchall()


@sqlite_only
@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
def test_sqlite_refuses_replacing_a_ledger_line_by_id_hash_or_reversal(recorded, verb):
    table = LedgerEntry._meta.db_table
    first = LedgerEntry.objects.order_by("id").first()
    reversal = LedgerEntry.objects.filter(reverses__isnull=False).get()
    new_id = LedgerEntry.objects.order_by("-id").values_list("id", flat=True).first() + 1
    before = rows(table)
    attempts = [
        forged(table, first.pk, points=9900),  # the same id: the reported attack
        forged(table, first.pk, id=new_id, points=9900),  # a new id, the same (unique) hash
        forged(table, reversal.pk, id=new_id, hash="0" * 64),  # a new id reversing the same line
    ]
    for row in attempts:
        with pytest.raises(Exception, match="append-only table: a row may not be replaced"):
            raw_insert(verb, table, row)
    assert rows(table) == before
    assert LedgerEntry.objects.get(pk=first.pk).points == first.points


@sqlite_only
@pytest.mark.parametrize(("model", "column"), [(AuditEvent, "reason"), (ChainAnchor, "prev_hash")])
def test_sqlite_refuses_replacing_an_audit_event_or_an_anchor(recorded, model, column):
    table = model._meta.db_table
    row = model.objects.order_by("id").first()
    before = rows(table)
    with pytest.raises(Exception, match="append-only table: a row may not be replaced"):
        raw_insert("INSERT OR REPLACE", table, forged(table, row.pk, **{column: "伪造"}))
    assert rows(table) == before


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_an_upsert_is_refused_as_an_update(recorded, table):
    pk = rows(table)[0][0]
    before = rows(table)
    column = {LedgerEntry._meta.db_table: "points", ChainAnchor._meta.db_table: "prev_hash"}.get(table, "reason")
    value = 9900 if column == "points" else "伪造"
    with pytest.raises(Exception, match="append-only table"):
        raw_insert(
            "INSERT",
            table,
            forged(table, pk, **{column: value}),
            f' ON CONFLICT ({primary_key(table)}) DO UPDATE SET "{column}" = excluded."{column}"',
        )
    assert rows(table) == before


def test_a_new_row_is_still_taken(recorded):
    """The replace guard looks at collisions only: an ordinary append goes through."""
    count = LedgerEntry.objects.count()
    template = LedgerEntry.objects.order_by("id").first()
    ledger_append_many(
        [
            LedgerEntry(
                member=template.member,
                item=template.item,
                period=template.period,
                year=template.year,
                kind=template.kind,
                points=1,
                reason="补录",
                source=template.source,
                recorded_by=recorded.admin,
                occurred_on=template.occurred_on,
            )
        ],
        actor=recorded.admin,
        reason="测试",
    )
    assert LedgerEntry.objects.count() == count + 1


@postgresql_only
@pytest.mark.parametrize(
    "statement",
    [
        'TRUNCATE "scoring_ledgerentry" CASCADE',
        'TRUNCATE "partyscore_auditevent"',
        'TRUNCATE "scoring_ledgerentry", "partyscore_auditevent" CASCADE',
        'TRUNCATE "partyscore_chainanchor"',
        'TRUNCATE "members_member" CASCADE',  # reaches the ledger through its foreign key
    ],
)
def test_postgresql_refuses_truncating_a_guarded_table_that_holds_rows(recorded, statement):
    before = {table: rows(table) for table in APPEND_ONLY_TABLES}
    with (
        pytest.raises(Exception, match="a table holding rows may not be truncated"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as outside the test's transaction
        cursor.execute(statement)
    assert {table: rows(table) for table in APPEND_ONLY_TABLES} == before
    assert Member.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_test_flush_empties_the_guarded_tables_only_once_their_rows_are_gone(append_only_flush):
    """What the `append_only_flush` fixture relies on, on either database: the flush (DELETE on
    SQLite, TRUNCATE on PostgreSQL) is refused while the guarded tables hold rows, and goes through
    with the guard lifted (and put back)."""
    from partyscore.core.db import append_only_guard, append_only_lift
    from tests.builders import build_university

    world = build_university()
    add_scoring(world)
    with pytest.raises(CommandError) as refused:
        call_command("flush", interactive=False, inhibit_post_migrate=True, allow_cascade=True, verbosity=0)
    assert "append-only table" in str(refused.value.__cause__)
    assert LedgerEntry.objects.exists()
    for table in APPEND_ONLY_TABLES:
        append_only_lift(connection, table)
    call_command("flush", interactive=False, inhibit_post_migrate=True, allow_cascade=True, verbosity=0)
    for table in APPEND_ONLY_TABLES:
        append_only_guard(connection, table)
    assert not Member.objects.exists() and not LedgerEntry.objects.exists()
