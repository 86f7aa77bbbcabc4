"""Semester boundaries per year (学期起止): the committee sets where the second semester starts (a
春季/秋季 university: 1 September) when it opens the year or later, until a semester is locked."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent
from reviews import rollover
from scoring import services
from scoring.models import Period, PeriodKind
from scoring.selectors import current_period

from .helpers import item_in_force

YEAR = 2031
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def semesters(year=YEAR):
    return [
        (p.starts_on, p.ends_on)
        for p in Period.objects.filter(cycle__year=year, kind=PeriodKind.SEMESTER).order_by("index")
    ]


def d(month, day, year=YEAR):
    return datetime.date(year, month, day)


def test_a_year_opens_with_august_by_default_or_the_date_the_committee_sets(world):
    services.cycle_open(actor=world.org_department, year=YEAR, committee=world.U)
    assert semesters() == [(d(1, 1), d(7, 31)), (d(8, 1), d(12, 31))]
    services.cycle_open(
        actor=world.org_department, year=YEAR + 1, committee=world.U, second_semester_starts=d(9, 1, YEAR + 1)
    )
    assert semesters(YEAR + 1) == [(d(1, 1, YEAR + 1), d(8, 31, YEAR + 1)), (d(9, 1, YEAR + 1), d(12, 31, YEAR + 1))]
    event = AuditEvent.objects.filter(action="cycle.open").latest("id")
    assert event.after["second_semester_starts"] == f"{YEAR + 1}-09-01"


@pytest.mark.parametrize("starts", [datetime.date(YEAR, 1, 31), datetime.date(YEAR, 12, 2)])
def test_each_semester_keeps_at_least_a_month(world, starts):
    with pytest.raises(ApplicationError, match=f"第二学期开始日期须在{YEAR}年2月1日至12月1日之间"):
        services.cycle_open(actor=world.org_department, year=YEAR, committee=world.U, second_semester_starts=starts)
    assert not Period.objects.exists()


def test_the_committee_opens_a_year_with_its_own_semesters_on_the_page(world, login):
    client = login(world.org_department)
    page = client.get(reverse("cycle_list")).content.decode()
    assert "第二学期开始日期" in page and "不填为8月1日" in page
    refused = client.post(
        reverse("cycle_list"), {"year": YEAR, "deadline_sets": ["A"], "second_semester_starts": f"{YEAR + 1}-09-01"}
    )
    assert refused.status_code == 400 and f"第二学期开始日期须在{YEAR}年内" in refused.content.decode()
    assert not Period.objects.exists()
    client.post(
        reverse("cycle_list"), {"year": YEAR, "deadline_sets": ["A"], "second_semester_starts": f"{YEAR}-09-01"}
    )
    assert semesters() == [(d(1, 1), d(8, 31)), (d(9, 1), d(12, 31))]


@pytest.fixture
def open_year(world):
    services.scheme_preset_load(actor=world.org_department, preset="A-staff", year=YEAR, owner=world.U)
    return services.cycle_open(actor=world.org_department, year=YEAR, committee=world.U)


def move(world, cycle, starts, reason="本校实行春季、秋季学期制"):
    return services.semesters_set(
        actor=world.org_department, cycle=cycle, committee=world.U, second_semester_starts=starts, reason=reason
    )


def test_moving_the_boundary_moves_both_semesters_and_which_one_is_current(world, open_year):
    assert current_period(year=YEAR, kind=PeriodKind.SEMESTER, today=d(8, 20)).index == 2
    move(world, open_year, d(9, 1))
    assert semesters() == [(d(1, 1), d(8, 31)), (d(9, 1), d(12, 31))]
    assert current_period(year=YEAR, kind=PeriodKind.SEMESTER, today=d(8, 20)).index == 1
    event = AuditEvent.objects.get(action="cycle.semesters")
    assert (event.before, event.after, event.reason) == (
        {"first_ends_on": f"{YEAR}-07-31", "second_starts_on": f"{YEAR}-08-01"},
        {"first_ends_on": f"{YEAR}-08-31", "second_starts_on": f"{YEAR}-09-01"},
        "本校实行春季、秋季学期制",
    )


def test_a_move_needs_a_reason_and_a_change(world, open_year):
    with pytest.raises(ApplicationError, match="须写明理由"):
        move(world, open_year, d(9, 1), reason=" ")
    with pytest.raises(ApplicationError, match="没有变化"):
        move(world, open_year, d(8, 1))


def test_a_locked_semester_keeps_its_dates(world, open_year):
    first = Period.objects.get(cycle=open_year, kind=PeriodKind.SEMESTER, index=1)
    services.period_lock(actor=world.org_department, period=first, committee=world.U)
    with pytest.raises(ApplicationError, match="学期已锁定"):
        move(world, open_year, d(9, 1))
    assert semesters()[0] == (d(1, 1), d(7, 31))


def test_a_ledger_line_that_would_leave_its_semester_blocks_the_move(world, open_year):
    member = world.a1_members[3]
    second = Period.objects.get(cycle=open_year, kind=PeriodKind.SEMESTER, index=2)
    with time_machine.travel(datetime.datetime(YEAR, 8, 10, 10, tzinfo=SHANGHAI)):
        services.entry_record(
            actor=world.org_department,
            member=member,
            item=item_in_force(member, "A-C02", YEAR),
            period=second,
            points=2,
            reason="暑期志愿服务",
            occurred_on=d(8, 10),
        )
    with pytest.raises(ApplicationError) as refused:
        move(world, open_year, d(9, 1))
    assert f"有 1 条记分记录的发生日期将落在所属学期之外（如{member.name} {YEAR}-08-10的记录）" in refused.value.message
    assert semesters()[1] == (d(8, 1), d(12, 31))
    move(world, open_year, d(8, 5))  # the line stays within its semester: allowed
    assert semesters()[1] == (d(8, 5), d(12, 31))


def test_a_line_recorded_late_for_an_earlier_semester_does_not_block_the_move(world, open_year):
    """补录: a first-semester line recorded (and dated) in October is outside its semester already."""
    member = world.a1_members[3]
    first = Period.objects.get(cycle=open_year, kind=PeriodKind.SEMESTER, index=1)
    with time_machine.travel(datetime.datetime(YEAR, 10, 10, 10, tzinfo=SHANGHAI)):
        services.entry_record(
            actor=world.org_department,
            member=member,
            item=item_in_force(member, "A-C02", YEAR),
            period=first,
            points=2,
            reason="补录上学期志愿服务",
            occurred_on=d(10, 10),
        )
    move(world, open_year, d(9, 1))
    assert semesters()[0] == (d(1, 1), d(8, 31))


def test_the_page_moves_the_boundary_and_shows_a_refusal_on_the_form(world, open_year, login):
    client = login(world.org_department)
    url = reverse("cycle_semesters", args=[open_year.pk])
    prefix = f"cycle{open_year.pk}"
    refused = client.post(url, {f"{prefix}-second_semester_starts": f"{YEAR}-12-20", f"{prefix}-reason": "调整"})
    page = refused.content.decode()
    assert refused.status_code == 400 and "12月1日之间" in page and f'value="{YEAR}-12-20"' in page
    done = client.post(
        url, {f"{prefix}-second_semester_starts": f"{YEAR}-09-01", f"{prefix}-reason": "秋季学期"}, follow=True
    )
    assert f"已调整{YEAR}年度的学期起止日期" in done.content.decode()
    assert semesters()[1] == (d(9, 1), d(12, 31))


def test_the_next_year_keeps_the_boundary_at_rollover(world, open_year, django_capture_on_commit_callbacks):
    move(world, open_year, d(9, 1))
    with django_capture_on_commit_callbacks(execute=True):
        rollover.rollover_start(actor=world.org_department, committee=world.U, from_year=YEAR)
    assert semesters(YEAR + 1)[1] == (d(9, 1, YEAR + 1), d(12, 31, YEAR + 1))


def test_a_boundary_on_29_february_falls_on_the_28th_the_next_year():
    assert rollover._same_day(datetime.date(2032, 2, 29), 2033) == datetime.date(2033, 2, 28)
    assert rollover._same_day(datetime.date(2032, 9, 1), 2033) == datetime.date(2033, 9, 1)
