"""What the migrations run of partyscore.core.db and partyscore.core.audit, frozen as it stood when they were written,
so that a later change there cannot change what an old migration does (the loader skips "_" modules).

tests/test_migrations_frozen.py compares these with the live code: when the live code changes on purpose,
that test fails; the fix is a new migration, not an edit here.
"""

import datetime
import hashlib
import json
import re
from collections import namedtuple
from dataclasses import dataclass
from zoneinfo import ZoneInfo

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


# ── Year partitions on PostgreSQL (partyscore 0009, scoring 0015): partyscore.core.partitions and
# partyscore.core.db's partition guard as they stood, and the conversion itself, which only these
# migrations run. ─────────────────────────────────────────────────────────────────────────────────

YEAR_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class YearPartitions:
    table: str
    column: str
    timestamp: bool = False

    def name(self, year):
        return f"{self.table}_{year}"

    @property
    def default(self):
        return f"{self.table}_default"

    def bounds(self, year):
        if not self.timestamp:
            return f"FOR VALUES IN ({int(year)})"
        return f"FOR VALUES FROM ('{_year_start(year)}') TO ('{_year_start(year + 1)}')"


def _year_start(year):
    return datetime.datetime(int(year), 1, 1, tzinfo=YEAR_ZONE).isoformat(sep=" ")


def partition_guard_sql(partition):
    return [*partition_unguard_sql(partition),
            f'CREATE TRIGGER "{partition}_no_truncate" BEFORE TRUNCATE ON "{partition}" '
            "FOR EACH STATEMENT EXECUTE FUNCTION partyscore_refuse_truncate()"]


def partition_unguard_sql(partition):
    return [f'DROP TRIGGER IF EXISTS "{partition}_no_truncate" ON "{partition}"']


def partition_create_sql(spec, year):
    name = spec.name(year)
    return [f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{spec.table}" {spec.bounds(year)}',
            *partition_guard_sql(name)]


def partition_default_sql(spec):
    return [f'CREATE TABLE IF NOT EXISTS "{spec.default}" PARTITION OF "{spec.table}" DEFAULT',
            *partition_guard_sql(spec.default)]


# A foreign key to a partitioned table must name its partition key, which the tables pointing at the
# ledger do not hold: each such key becomes a deferred constraint trigger on the pointing table that
# checks the row pointed at exists, as the key did. The ledger itself needs no check on its side: it
# refuses every UPDATE and DELETE.
REFERENCE_FUNCTION = "partyscore_check_reference"
REFERENCE_FUNCTION_SQL = (
    f"CREATE OR REPLACE FUNCTION {REFERENCE_FUNCTION}() RETURNS trigger AS $$ "
    "DECLARE found boolean; BEGIN "
    "EXECUTE format('SELECT ($1).%2$I IS NULL OR EXISTS (SELECT 1 FROM %1$I WHERE %3$I = ($1).%2$I)', "
    "TG_ARGV[1], TG_ARGV[0], TG_ARGV[2]) USING NEW INTO found; "
    "IF NOT found THEN RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', MESSAGE = format("
    "'insert or update on table \"%s\" violates foreign key \"%s\": %s is not in \"%s\"', "
    "TG_TABLE_NAME, TG_NAME, TG_ARGV[0], TG_ARGV[1]); END IF; "
    "RETURN NULL; END $$ LANGUAGE plpgsql"
)

_ONE_TO_MANY = "ARRAY(SELECT a.attname::text FROM unnest({keys}) WITH ORDINALITY k(n, i) JOIN pg_attribute a " \
               "ON a.attrelid = {rel} AND a.attnum = k.n ORDER BY k.i)"
_CONSTRAINTS = (
    "SELECT c.conname, c.contype, pg_get_constraintdef(c.oid), cl.relname, "
    + _ONE_TO_MANY.format(keys="c.conkey", rel="c.conrelid") + ", "
    + _ONE_TO_MANY.format(keys="c.confkey", rel="c.confrelid") + ", c.condeferrable, c.condeferred "
    "FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid "
    "WHERE c.conparentid = 0 AND c.contype IN ('p', 'u', 'c', 'f') AND {where} "
    # Keys first: the table's foreign key to itself needs its primary key.
    "ORDER BY position(c.contype::text IN 'pucf'), c.conname"
)


Constraint = namedtuple("Constraint", "name kind definition table columns referenced_columns deferrable deferred")
# A foreign key from another table to the ledger, as a key or as the trigger standing for it.
Reference = namedtuple("Reference", "table name column referenced_column deferrable deferred")


def _table_constraints(cursor, table):
    cursor.execute(_CONSTRAINTS.format(where="c.conrelid = to_regclass(%s)"), [f'"{table}"'])
    return [Constraint(*row) for row in cursor.fetchall()]


def _references_to(cursor, table):
    cursor.execute(_CONSTRAINTS.format(where="c.confrelid = to_regclass(%s) AND c.conrelid <> c.confrelid"),
                   [f'"{table}"'])
    found = [Constraint(*row) for row in cursor.fetchall()]
    assert all(len(c.columns) == 1 for c in found), "a foreign key of several columns"
    return [Reference(c.table, c.name, c.columns[0], c.referenced_columns[0], c.deferrable, c.deferred) for c in found]


def _reference_triggers_to(cursor, table):
    cursor.execute(
        "SELECT cl.relname, t.tgname, args[1], args[3], t.tgdeferrable, t.tginitdeferred "
        "FROM pg_trigger t JOIN pg_class cl ON cl.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid, "
        "LATERAL string_to_array(encode(t.tgargs, 'escape'), '\\000') args "
        "WHERE p.proname = %s AND args[2] = %s ORDER BY cl.relname, t.tgname",
        [REFERENCE_FUNCTION, table],
    )
    return [Reference(*row) for row in cursor.fetchall()]


def _plain_indexes(cursor, table):
    """CREATE INDEX statements of the table's indexes that back no constraint."""
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')) "
        "ORDER BY ic.relname",
        [f'"{table}"'],
    )
    return [definition.replace(" ON ONLY ", " ON ", 1) for (definition,) in cursor.fetchall()]


def _deferral(deferrable, deferred):
    return (" DEFERRABLE" if deferrable else "") + (" INITIALLY DEFERRED" if deferred else "")


def _identity(cursor, table):
    """The id's sequence and its state (last value, called), to carry over to the rebuilt table."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [f'"{table}"'])
    (sequence,) = cursor.fetchone()
    assert sequence, f"{table}.id has no sequence"
    cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608 — from the catalogue
    return sequence, cursor.fetchone()


def _rebuild(cursor, table, create_suffix, fill):
    """Rename `table` away, create it again (the same columns, defaults and identity) with
    `create_suffix` after the column list, let `fill` add partitions, copy every row in id order,
    carry the id's sequence over and drop the old table with its indexes and constraints (whose
    names are then free for the new one's)."""
    old = f"{table}_rebuilt"
    sequence, (last_value, is_called) = _identity(cursor, table)
    cursor.execute(f'ALTER SEQUENCE {sequence} RENAME TO "{old}_id_seq"')
    cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    cursor.execute(f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING STORAGE '
                   f"INCLUDING COMMENTS){create_suffix}")
    fill()
    cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}" ORDER BY id')  # noqa: S608 — no input
    cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)", [f'"{table}"', last_value, is_called])
    cursor.execute(f'DROP TABLE "{old}"')


def _with_key(columns_sql, key):
    """'(a, b)' → '(a, b, key)'."""
    return columns_sql[:-1] + f", {key})"


def _without_key(columns_sql, key):
    """'(a, b, key)' → '(a, b)'."""
    assert columns_sql.endswith(f", {key})"), columns_sql
    return columns_sql[: -len(f", {key})")] + ")"


def _key_columns(definition):
    """Split 'PRIMARY KEY (a, b) …' / 'FOREIGN KEY (a) REFERENCES t(b) …' into its parts."""
    match = re.fullmatch(r"(PRIMARY KEY|UNIQUE|FOREIGN KEY) (\([^)]*\))(?: REFERENCES ([^(]+)(\([^)]*\)))?(.*)",
                         definition)
    assert match, f"a constraint the partitioning does not know how to carry: {definition}"
    return match.groups()


def _carry_constraint(table, key, constraint, adjust):
    """The ADD CONSTRAINT of one of the table's own constraints, its columns run through `adjust`
    (adding or removing the partition key) where the partitioning requires: the primary key, the
    unique constraints, and the table's foreign key to itself, which on a partitioned table points at
    the row with the same id in the same partition."""
    name, kind, definition = constraint.name, constraint.kind, constraint.definition
    if kind in ("p", "u") or (kind == "f" and _key_columns(definition)[2] == table):
        verb, columns, referenced, referenced_columns, rest = _key_columns(definition)
        if referenced is None:
            definition = f"{verb} {adjust(columns, key)}{rest}"
        else:
            definition = f"{verb} {adjust(columns, key)} REFERENCES {referenced}{adjust(referenced_columns, key)}{rest}"
    return f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'


def partition_by_year(connection, spec, years):
    """Convert `spec.table` in place into a table partitioned by year: a partition for each year its
    rows hold and each of `years`, and a DEFAULT one; every row copied with its id; the id's sequence,
    the indexes, constraints (the partition key added to the primary and unique keys) and the
    append-only guard put back; other tables' foreign keys to it replaced by reference triggers.
    PostgreSQL only."""
    table, key = spec.table, spec.column
    with connection.cursor() as cursor:
        own = _table_constraints(cursor, table)
        indexes = _plain_indexes(cursor, table)
        references = _references_to(cursor, table)
        if spec.timestamp:
            assert not [c for c in own if c.kind == "f" and _key_columns(c.definition)[2] == table], "a self reference"
            cursor.execute(f'SELECT DISTINCT extract(year FROM "{key}" AT TIME ZONE %s)::int FROM "{table}"',  # noqa: S608
                           [str(YEAR_ZONE)])
        else:
            cursor.execute(f'SELECT DISTINCT "{key}" FROM "{table}"')  # noqa: S608 — no input
        years = sorted({year for (year,) in cursor.fetchall()} | set(years))
        append_only_lift(connection, table)
        for reference in references:
            cursor.execute(f'ALTER TABLE "{reference.table}" DROP CONSTRAINT "{reference.name}"')

        def fill():
            for sql in [*partition_default_sql(spec), *(s for year in years for s in partition_create_sql(spec, year))]:
                cursor.execute(sql)

        method = "RANGE" if spec.timestamp else "LIST"
        _rebuild(cursor, table, f' PARTITION BY {method} ("{key}")', fill)
        for constraint in own:
            cursor.execute(_carry_constraint(table, key, constraint, _with_key))
        for sql in indexes:
            cursor.execute(sql)
        append_only_guard(connection, table)
        cursor.execute(REFERENCE_FUNCTION_SQL)
        for r in references:
            cursor.execute(
                f'CREATE CONSTRAINT TRIGGER "{r.name}" AFTER INSERT OR UPDATE OF "{r.column}" ON "{r.table}"'
                f"{_deferral(r.deferrable, r.deferred)} FOR EACH ROW "
                f"EXECUTE FUNCTION {REFERENCE_FUNCTION}('{r.column}', '{table}', '{r.referenced_column}')"
            )


def unpartition(connection, spec):
    """The reverse of partition_by_year: one table again, with its keys as they were and the reference
    triggers turned back into foreign keys. PostgreSQL only."""
    table, key = spec.table, spec.column
    with connection.cursor() as cursor:
        own = _table_constraints(cursor, table)
        indexes = _plain_indexes(cursor, table)
        references = _reference_triggers_to(cursor, table)
        append_only_lift(connection, table)
        for r in references:
            cursor.execute(f'DROP TRIGGER "{r.name}" ON "{r.table}"')
        _rebuild(cursor, table, "", lambda: None)
        for constraint in own:
            cursor.execute(_carry_constraint(table, key, constraint, _without_key))
        for sql in indexes:
            cursor.execute(sql)
        append_only_guard(connection, table)
        for r in references:
            cursor.execute(f'ALTER TABLE "{r.table}" ADD CONSTRAINT "{r.name}" FOREIGN KEY ("{r.column}") '
                           f'REFERENCES "{table}" ("{r.referenced_column}"){_deferral(r.deferrable, r.deferred)}')
