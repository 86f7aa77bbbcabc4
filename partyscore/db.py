"""Database-level guards that the ORM cannot express.

Append-only tables (the audit log, later the ledger) refuse UPDATE and DELETE in the database
itself, on SQLite and PostgreSQL alike, so that not even a raw query can rewrite history.
"""

APPEND_ONLY_MESSAGE = "append-only table: rows may not be updated or deleted"


def append_only_create_sql(vendor, table):
    if vendor == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION partyscore_refuse_change() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE} (%)', TG_TABLE_NAME; END $$ LANGUAGE plpgsql",
            f'CREATE TRIGGER "{table}_append_only" BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION partyscore_refuse_change()",
        ]
    return [
        f'CREATE TRIGGER "{table}_no_update" BEFORE UPDATE ON "{table}" '
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
        f'CREATE TRIGGER "{table}_no_delete" BEFORE DELETE ON "{table}" '
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    ]


def append_only_drop_sql(vendor, table):
    if vendor == "postgresql":
        return [f'DROP TRIGGER IF EXISTS "{table}_append_only" ON "{table}"']
    return [f'DROP TRIGGER IF EXISTS "{table}_no_update"', f'DROP TRIGGER IF EXISTS "{table}_no_delete"']


def append_only_migration(table):
    """A RunPython operation pair that installs (and on reverse removes) the guard for `table`."""
    from django.db import migrations

    def forwards(apps, schema_editor):
        for sql in append_only_create_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql, params=None)

    def backwards(apps, schema_editor):
        for sql in append_only_drop_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql, params=None)

    return migrations.RunPython(forwards, backwards)
