"""Database-level guards that the ORM cannot express.

Append-only tables (the audit log and the ledger) refuse, in the database itself, on SQLite and
PostgreSQL alike, every way of rewriting or removing a row, so that not even a raw query can
rewrite history:

- UPDATE and DELETE (row triggers on both);
- on SQLite, INSERT OR REPLACE / REPLACE, which deletes the conflicting row without firing a
  delete trigger (SQLite fires those for REPLACE only with `PRAGMA recursive_triggers`, which is
  per connection): a BEFORE INSERT trigger refuses a row that would collide with an existing one
  on any unique column (the id, the hash, the one-to-one `reverses`);
- on PostgreSQL, TRUNCATE, which fires no row trigger: a statement trigger refuses it while the
  table holds rows (an empty table may be truncated, which is how a test database's flush, after
  emptying the tables with the guard lifted, still works). `ON CONFLICT DO UPDATE` is an UPDATE
  and is refused as one.

On PostgreSQL both tables are partitioned by year (partyscore/core/partitions.py): the row triggers
on the partitioned table are inherited by every partition, present and future, and fire for a
statement on a partition itself too; a TRUNCATE of one partition fires only that partition's own
statement triggers, so each partition carries its own TRUNCATE guard.
"""

APPEND_ONLY_MESSAGE = "append-only table: rows may not be updated or deleted"
REPLACE_MESSAGE = "append-only table: a row may not be replaced"
TRUNCATE_MESSAGE = "append-only table: a table holding rows may not be truncated"


def row_guard_name(table):
    """The name of the row trigger refusing UPDATE and DELETE on PostgreSQL (each partition's copy has it too)."""
    return f"{table}_append_only"


def _unique_column_sets(connection, table):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    sets = {tuple(c["columns"]) for c in constraints.values() if (c["unique"] or c["primary_key"]) and c["columns"]}
    return sorted(sets)


def append_only_create_sql(connection, table):
    """The statements that install the guard on `table` (drop it first with append_only_drop_sql)."""
    if connection.vendor == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION partyscore_refuse_change() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE} (%)', TG_TABLE_NAME; END $$ LANGUAGE plpgsql",
            f'CREATE TRIGGER "{row_guard_name(table)}" BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION partyscore_refuse_change()",
            "CREATE OR REPLACE FUNCTION partyscore_refuse_truncate() RETURNS trigger AS $$ "  # noqa: S608 — no input
            "DECLARE holds_rows boolean; BEGIN "
            "EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I)', TG_TABLE_SCHEMA, TG_TABLE_NAME) INTO holds_rows; "
            f"IF holds_rows THEN RAISE EXCEPTION '{TRUNCATE_MESSAGE} (%)', TG_TABLE_NAME; END IF; "
            "RETURN NULL; END $$ LANGUAGE plpgsql",
            f'CREATE TRIGGER "{table}_no_truncate" BEFORE TRUNCATE ON "{table}" '
            "FOR EACH STATEMENT EXECUTE FUNCTION partyscore_refuse_truncate()",
        ]
    # Table and column names come from the models and the database's own catalogue.
    collides = " OR ".join(
        f'EXISTS (SELECT 1 FROM "{table}" WHERE '  # noqa: S608
        + " AND ".join(f'"{column}" = NEW."{column}"' for column in columns)
        + ")"
        for columns in _unique_column_sets(connection, table)
    )
    return [
        f'CREATE TRIGGER "{table}_no_update" BEFORE UPDATE ON "{table}" '
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
        f'CREATE TRIGGER "{table}_no_delete" BEFORE DELETE ON "{table}" '
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
        f'CREATE TRIGGER "{table}_no_replace" BEFORE INSERT ON "{table}" WHEN {collides} '
        f"BEGIN SELECT RAISE(ABORT, '{REPLACE_MESSAGE}'); END",
    ]


def append_only_drop_sql(connection, table):
    if connection.vendor == "postgresql":
        return [
            f'DROP TRIGGER IF EXISTS "{row_guard_name(table)}" ON "{table}"',
            f'DROP TRIGGER IF EXISTS "{table}_no_truncate" ON "{table}"',
        ]
    return [
        f'DROP TRIGGER IF EXISTS "{table}_no_update"',
        f'DROP TRIGGER IF EXISTS "{table}_no_delete"',
        f'DROP TRIGGER IF EXISTS "{table}_no_replace"',
    ]


def partition_guard_sql(partition):
    """The TRUNCATE guard of one partition (PostgreSQL), put in place of any there."""
    return [
        *partition_unguard_sql(partition),
        f'CREATE TRIGGER "{partition}_no_truncate" BEFORE TRUNCATE ON "{partition}" '
        "FOR EACH STATEMENT EXECUTE FUNCTION partyscore_refuse_truncate()",
    ]


def partition_unguard_sql(partition):
    return [f'DROP TRIGGER IF EXISTS "{partition}_no_truncate" ON "{partition}"']


def partitions_of(connection, table):
    """The partitions of `table` (none unless it is a partitioned table on PostgreSQL)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
            [f'"{table}"'],
        )
        return [name for (name,) in cursor.fetchall()]


def append_only_guard(connection, table):
    """(Re)install the guard on `table` and its partitions, whichever parts of it are there now."""
    statements = append_only_drop_sql(connection, table) + append_only_create_sql(connection, table)
    for partition in partitions_of(connection, table):
        statements += partition_guard_sql(partition)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def append_only_lift(connection, table):
    statements = append_only_drop_sql(connection, table)
    for partition in partitions_of(connection, table):
        statements += partition_unguard_sql(partition)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def append_only_migration(table):
    """A RunPython operation pair that installs (and on reverse removes) the guard for `table`."""
    from django.db import migrations

    def forwards(apps, schema_editor):
        append_only_guard(schema_editor.connection, table)

    def backwards(apps, schema_editor):
        append_only_lift(schema_editor.connection, table)

    return migrations.RunPython(forwards, backwards)
