"""Worlds for the review pipeline's acceptance tests: a frozen clock in an explicit year, and
one branch (A1) running Policy A or Policy B with enough panelists and mass representatives."""

import datetime

import pytest
import time_machine

from members import services as member_services
from members.models import Role
from scoring import services as scoring
from scoring.models import Period
from tests.builders import build_university, make_user

from .pages import SHANGHAI, YEAR


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    """Evidence uploaded by these tests goes to a temporary directory, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def clock():
    """Time stands still in YEAR; `clock(month, day[, hour])` moves it and returns the date."""
    traveller = time_machine.travel(datetime.datetime(YEAR, 1, 2, 9, tzinfo=SHANGHAI), tick=False)
    coordinates = traveller.start()

    def move(month, day, hour=10, year=YEAR):
        coordinates.move_to(datetime.datetime(year, month, day, hour, tzinfo=SHANGHAI))
        return datetime.date(year, month, day)

    yield move
    traveller.stop()


def give(world, user, role, org=None, actor=None):
    """The branch secretary staffs A1 (panel, mass representatives) as on the roles page."""
    member_services.role_assign(
        actor=actor or world.secretary,
        user=user,
        organization=org or world.A1,
        role=role,
        starts_on=datetime.date(YEAR, 1, 2),
    )
    return user


def _year_world(preset, size=5):
    """A1 (members M0 secretary, M1 committee, M2 panelist, M3, M4 = world.member) under `preset`:
    the committee publishes the reference, A1 derives its detailed rules, college A approves them."""
    world = build_university(size=size)
    world.year = YEAR
    scoring.cycle_open(actor=world.org_department, year=YEAR, committee=world.U)
    reference = scoring.scheme_preset_load(actor=world.org_department, preset=preset, year=YEAR, owner=world.U)
    derived = scoring.scheme_derive(actor=world.secretary, source=reference, owner=world.A1)
    scoring.scheme_submit(actor=world.secretary, scheme=derived)
    world.scheme = scoring.scheme_approve(actor=world.gb_secretary, scheme=derived)
    world.m = world.a1_members
    world.panel2 = give(world, make_user("panel2", "考评员乙"), Role.PANEL_MEMBER)
    world.reps = [world.mass_rep] + [
        give(world, make_user(f"rep{i}", f"群众代表{i}"), Role.MASS_REPRESENTATIVE) for i in (2, 3, 4, 5)
    ]
    return world


@pytest.fixture
def a_year(db, clock):
    """Policy A (百分制, staff reference) in A1 from 2 January."""
    clock(1, 2)
    world = _year_world("A-staff")
    world.s1, world.s2 = (Period.objects.get(cycle__year=YEAR, kind="semester", index=i) for i in (1, 2))
    return world


@pytest.fixture
def b_year(db, clock):
    """Policy B (80 − … + … − …) in A1 from 2 January."""
    clock(1, 2)
    world = _year_world("B")
    world.q = {i: Period.objects.get(cycle__year=YEAR, kind="quarter", index=i) for i in range(1, 5)}
    world.month = {i: Period.objects.get(cycle__year=YEAR, kind="month", index=i) for i in range(1, 13)}
    return world
