"""Migrations run the code they were written with: they import no app module but the frozen copies in
`<app>/migrations/_frozen.py` (and the callables that field definitions name), and those copies still
compute what the live code computes today, so that changing the live code on purpose is noticed here."""

import ast
import datetime
import decimal
import importlib
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader

import partyscore.core.migrations._frozen as frozen_core
import scoring.migrations._frozen as frozen_scoring
from partyscore.core import audit, db, partitions
from partyscore.core.models import AUDIT_PARTITIONS
from scoring import ledger_chain
from scoring.models import LEDGER_PARTITIONS

FROZEN = {"partyscore.core.migrations._frozen", "scoring.migrations._frozen"}
# Referenced by a field definition (upload_to), as Django writes it; Django needs it importable anyway.
FIELD_REFERENCES = {"scoring.models.export_file_path"}


def project_apps():
    root = Path(settings.BASE_DIR).resolve()
    return [
        config
        for config in apps.get_app_configs()
        if root in Path(config.path).resolve().parents and "site-packages" not in Path(config.path).parts
    ]


def migration_files():
    files = [path for config in project_apps() for path in sorted((Path(config.path) / "migrations").glob("*.py"))]
    assert len(files) > 30
    return files


def app_references(tree, app_packages):
    """(line, dotted name, how) of every import of an app module and every attribute read through one."""
    imported, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.split(".")[0] in app_packages]
            imported.update(names)
            found += [(node.lineno, name, "import") for name in names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import in a migration"
            if node.module.split(".")[0] in app_packages:
                found += [(node.lineno, f"{node.module}.{alias.name}", "from") for alias in node.names]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (dotted := ast.unparse(node)).rsplit(".", 1)[0] in imported:
            found.append((node.lineno, dotted, "attribute"))
    return found


def allowed(name, how):
    if how == "import":
        return name in FROZEN or name in {reference.rsplit(".", 1)[0] for reference in FIELD_REFERENCES}
    return name in FIELD_REFERENCES or (how == "from" and name.rsplit(".", 1)[0] in FROZEN)


def test_migrations_import_no_live_app_code():
    app_packages = {config.name.split(".")[0] for config in project_apps()}
    assert {"partyscore", "members", "scoring", "reviews"} <= app_packages
    offending = []
    for path in migration_files():
        for line, name, how in app_references(ast.parse(path.read_text(), str(path)), app_packages):
            if not allowed(name, how):
                offending.append(f"{path.relative_to(settings.BASE_DIR)}:{line} {name}")
    assert offending == []


@pytest.mark.parametrize(
    ("source", "offending"),
    [
        ("from partyscore.core.db import append_only_migration", ["partyscore.core.db.append_only_migration"]),
        ("def f(apps, editor):\n    from scoring.ledger_chain import entry_hash", ["scoring.ledger_chain.entry_hash"]),
        ("import scoring.models\nx = scoring.models.Scheme", ["scoring.models.Scheme"]),
        ("import scoring.ledger_chain", ["scoring.ledger_chain"]),
        ("import scoring.models\nf = scoring.models.export_file_path", []),
        ("from scoring.migrations._frozen import entry_hash\nfrom django.db import migrations", []),
    ],
)
def test_the_check_catches_a_live_import(source, offending):
    found = app_references(ast.parse(source), {"partyscore", "scoring"})
    assert [name for _, name, how in found if not allowed(name, how)] == offending


def test_the_frozen_modules_are_not_migrations():
    loaded = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    assert ("scoring", "0005_ledger_hash_chain") in loaded
    assert not [key for key in loaded if key[1].startswith("_")]


LEDGER_ROWS = [
    {
        "prev_hash": "",
        "member_id": 1,
        "item_id": 2,
        "period_id": 3,
        "year": 2026,
        "kind": "add",
        "points": decimal.Decimal("2.50"),
        "reason": "志愿服务",
        "source": "manual",
        "recorded_by_id": 4,
        "verified_by_id": None,
        "occurred_on": datetime.date(2026, 3, 1),
        "recorded_at": datetime.datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Shanghai")),
        "reverses_id": None,
    },
    {
        "prev_hash": "ab" * 32,
        "member_id": 9,
        "item_id": None,
        "period_id": None,
        "year": 2025,
        "kind": "deduct",
        "points": decimal.Decimal("-1"),
        "reason": '未参加\n"组织生活"',
        "source": "import",
        "recorded_by_id": None,
        "verified_by_id": 7,
        "occurred_on": datetime.date(2025, 12, 31),
        "recorded_at": datetime.datetime(2025, 12, 31, 23, 59, tzinfo=datetime.UTC),
        "reverses_id": 5,
    },
]


@pytest.mark.parametrize("row", LEDGER_ROWS)
def test_the_frozen_ledger_hash_is_the_live_one_on_the_root_chain(row):
    """Entries hashed by the migration that chained the ledger are on the root chain, which hashes
    as it did then; the per-branch chains add the chain to the hash."""
    assert (*frozen_scoring.HASHED_FIELDS, "chain") == ledger_chain.HASHED_FIELDS == (*row, "chain")
    assert frozen_scoring.BULK_ACTION == ledger_chain.BULK_ACTION
    assert frozen_scoring.entry_hash(**row) == ledger_chain.entry_hash(**row, chain=audit.ROOT_CHAIN)
    assert frozen_scoring.entry_hash(**{**row, "points": row["points"] + 1}) != ledger_chain.entry_hash(**row)
    assert frozen_scoring.entry_hash(**row) != ledger_chain.entry_hash(**row, chain=7)


@pytest.mark.parametrize(
    "event",
    [
        {
            "prev_hash": "",
            "created_at": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
            "actor_id": None,
            "action": "ledger.bulk",
            "target_type": "",
            "target_id": "",
            "before": None,
            "after": {"first": 1, "last": 9, "count": 9, "hash": "c" * 64},
            "reason": "为已有台账建立哈希链",
        },
        {
            "prev_hash": "d" * 64,
            "created_at": datetime.datetime(2026, 6, 1, 12, tzinfo=ZoneInfo("Asia/Shanghai")),
            "actor_id": 3,
            "action": "member.edit",
            "target_type": "members.member",
            "target_id": 42,
            "before": {"name": "张三", "tags": ["a", "b"]},
            "after": {"name": "李四", "points": "1.50"},
            "reason": "更正",
        },
    ],
)
def test_the_frozen_audit_hash_is_the_live_one_on_the_root_chain(event):
    assert frozen_core.event_hash(**event) == audit.event_hash(**event, chain=audit.ROOT_CHAIN)
    assert frozen_core.event_hash(**event) != audit.event_hash(**event, chain=7)


@pytest.mark.django_db
@pytest.mark.parametrize("table", ["partyscore_auditevent", "scoring_ledgerentry", "partyscore_chainanchor"])
@pytest.mark.parametrize("vendor", ["this database", "postgresql"])
def test_the_frozen_append_only_guard_is_the_live_one(table, vendor):
    conn = connection if vendor == "this database" else SimpleNamespace(vendor=vendor)
    assert frozen_core.append_only_create_sql(conn, table) == db.append_only_create_sql(conn, table)
    assert frozen_core.append_only_drop_sql(conn, table) == db.append_only_drop_sql(conn, table)


@pytest.mark.parametrize(
    ("migration", "live"),
    [
        ("partyscore.core.migrations.0009_auditevent_partitioned", AUDIT_PARTITIONS),
        ("scoring.migrations.0015_ledger_partitioned", LEDGER_PARTITIONS),
    ],
)
def test_the_frozen_year_partitions_are_the_live_ones(migration, live):
    spec = next(
        v for v in vars(importlib.import_module(migration)).values() if isinstance(v, frozen_core.YearPartitions)
    )
    assert (spec.table, spec.column, spec.timestamp) == (live.table, live.column, live.timestamp)
    assert spec.default == live.default
    for year in (2025, 2026, 2100):
        assert frozen_core.partition_create_sql(spec, year) == partitions.partition_create_sql(live, year)
    assert frozen_core.partition_unguard_sql(live.default) == db.partition_unguard_sql(live.default)
    assert frozen_core.YEAR_ZONE == partitions.YEAR_ZONE
