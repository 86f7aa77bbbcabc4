"""Helpers for the scoring tests: the test year, its periods, items in force, member changes."""

import datetime

from members import services as member_services
from members.models import Member
from scoring import services
from scoring.models import Period, PeriodKind
from scoring.selectors import scheme_for_member

YEAR = 2025  # a past year: every period has started, so every semester/quarter is counted


def period(index, kind=PeriodKind.SEMESTER, year=YEAR):
    return Period.objects.select_related("cycle").get(cycle__year=year, kind=kind, index=index)


def item_in_force(member, code, year=YEAR):
    """The item `code` of the scheme in force for `member` (their branch's nearest approved scheme)."""
    return scheme_for_member(member=member, year=year).items.get(code=code)


def open_year(world, year, presets=("A-staff", "A-student")):
    """Publish the presets as the committee's approved reference schemes for `year`, and open it."""
    schemes = {
        preset: services.scheme_preset_load(actor=world.org_department, preset=preset, year=year, owner=world.U)
        for preset in presets
    }
    services.cycle_open(actor=world.org_department, year=year, committee=world.U)
    return schemes


def set_member(world, member, **data):
    """Change a member's own fields through the members service (as the organization department)."""
    return member_services.member_update(actor=world.org_department, member=member, data=data, reason="测试")


def make_probationary(world, member):
    return set_member(world, member, status=Member.Status.PROBATIONARY, probation_start=datetime.date(YEAR - 1, 6, 1))


def exempt(world, member):
    member_services.member_exemption_request(
        actor=world.secretary if member.branch_id == world.A1.pk else world.org_department,
        member=member,
        reason="年老体弱",
    )
    member.refresh_from_db()
    member_services.member_exemption_decide(actor=world.org_department, member=member, approve=True)
    member.refresh_from_db()
    return member
