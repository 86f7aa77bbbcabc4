"""A scored university for the export and import tests: `scored` from the scoring pages plus a few
lines of every kind in A1, a reversal, and reasons that look like formulas."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from scoring import services as scoring
from tests.test_authorization_matrix import add_scoring

HOSTILE_REASONS = ['=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.fixture
def eager_celery():
    """Run queued tasks in-process even when the suite runs against a real broker (REDIS_URL)."""
    from partyscore.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def io_world(world):
    world.reference, world.schemes, world.entries, world.period = add_scoring(world)
    world.year = world.period.cycle.year
    scheme = world.schemes["A1"]
    items = {item.code: item for item in scheme.items.all()}
    first, second = world.a1_members[0], world.a1_members[1]

    def record(member, code, points, reason):
        return scoring.entry_record(
            actor=world.recorder,
            member=member,
            item=items[code],
            period=world.period,
            points=points,
            reason=reason,
            recalculate=False,
        )

    record(first, "A-B01", 2, "缺席一次组织生活")
    record(first, "A-C02", 3, "社区志愿服务")
    wrong = record(first, "A-C04", 1, "误记")
    for n, reason in enumerate(HOSTILE_REASONS):
        record(second, "A-C05", 1, reason)
        assert n < 6
    scoring.entry_reverse(actor=world.recorder, entry=wrong, reason="重复记录")
    scoring.recalculate(year=world.year)
    world.items = items
    return world


def open_xlsx(content):
    return openpyxl.load_workbook(io.BytesIO(content))


def xlsx_upload(rows, headers, name="cards.xlsx"):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())
