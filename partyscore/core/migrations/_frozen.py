"""What the migrations run of partyscore.core.db and partyscore.core.audit, frozen as it stood when they were written,
so that a later change there cannot change what an old migration does (the loader skips "_" modules).

tests/test_migrations_frozen.py compares these with the live code: when the live code changes on purpose,
that test fails; the fix is a new migration, not an edit here.
"""

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations

APPEND_ONLY_MESSAGE = "append-only table: rows may not be updated or deleted"
REPLACE_MESSAGE = "append-only table: a row may not be replaced"
TRUNCATE_MESSAGE = "append-only table: a table holding rows may not be truncated"


def _unique_column_sets(connection, table):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    sets = {tuple(c["columns"]) for c in constraints.values() if (c["unique"] or c["primary_key"]) and c["columns"]}
    return sorted(sets)


def append_only_create_sql(connection, table):
    if connection.vendor == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION partyscore_refuse_change() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE} (%)', TG_TABLE_NAME; END $$ LANGUAGE plpgsql",
            f'CREATE TRIGGER "{table}_append_only" BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION partyscore_refuse_change()",
            "CREATE OR REPLACE FUNCTION partyscore_refuse_truncate() RETURNS trigger AS $$ "  # noqa: S608 — no input
            "DECLARE holds_rows boolean; BEGIN "
            "EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I)', TG_TABLE_SCHEMA, TG_TABLE_NAME) INTO holds_rows; "
            f"IF holds_rows THEN RAISE EXCEPTION '{TRUNCATE_MESSAGE} (%)', TG_TABLE_NAME; END IF; "
            "RETURN NULL; END $$ LANGUAGE plpgsql",
            f'CREATE TRIGGER "{table}_no_truncate" BEFORE TRUNCATE ON "{table}" '
            "FOR EACH STATEMENT EXECUTE FUNCTION partyscore_refuse_truncate()",
        ]
    collides = " OR ".join(
        f'EXISTS (SELECT 1 FROM "{table}" WHERE '  # noqa: S608
        + " AND ".join(f'"{column}" = NEW."{column}"' for column in columns) + ")"
        for columns in _unique_column_sets(connection, table))
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
        return [f'DROP TRIGGER IF EXISTS "{table}_append_only" ON "{table}"',
                f'DROP TRIGGER IF EXISTS "{table}_no_truncate" ON "{table}"']
    return [f'DROP TRIGGER IF EXISTS "{table}_no_update"', f'DROP TRIGGER IF EXISTS "{table}_no_delete"',
            f'DROP TRIGGER IF EXISTS "{table}_no_replace"']


def append_only_guard(connection, table):
    with connection.cursor() as cursor:
        for sql in append_only_drop_sql(connection, table) + append_only_create_sql(connection, table):
            cursor.execute(sql)


def append_only_lift(connection, table):
    with connection.cursor() as cursor:
        for sql in append_only_drop_sql(connection, table):
            cursor.execute(sql)


def append_only_migration(table):
    def forwards(apps, schema_editor):
        append_only_guard(schema_editor.connection, table)

    def backwards(apps, schema_editor):
        append_only_lift(schema_editor.connection, table)

    return migrations.RunPython(forwards, backwards)


def event_hash(*, prev_hash, created_at, actor_id, action, target_type, target_id, before, after, reason):
    payload = json.dumps(
        [prev_hash, created_at.isoformat(), actor_id, action, target_type, str(target_id), before, after, reason],
        cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()
