"""Scoring follows the members' dated status changes: the probationary rules apply to the years before
the 转正 date and not after it; a member who left (出党, 转出, 毕业…) is treated by the leave rules."""

import datetime

import pytest

from members import services as member_services
from members.models import Member
from partyscore.core.exceptions import ApplicationError
from scoring.models import MemberOutcome, MemberYearTotal
from scoring.recalculation import probationary_in, recalculate_branch

from .helpers import YEAR, make_probationary


def yellow(w, record, member):
    """55 and 65 in the two semesters: 60, a yellow warning."""
    record(member, "A-B04", "5", index=1)
    record(member, "A-C05", "5", index=2)


def codes(member, year=YEAR):
    return set(MemberOutcome.objects.filter(member=member, year=year).values_list("rule_code", flat=True))


def test_full_membership_after_the_year_keeps_that_years_probation_rules(scoring_world, record):
    w = scoring_world
    later, within = w.a1_members[2], w.a1_members[3]
    for member in (later, within):
        make_probationary(w, member)
        yellow(w, record, member)
    assert "A-YELLOW-PROBATION" in codes(later) and "A-YELLOW-PROBATION" in codes(within)
    member_services.member_status_record(
        actor=w.secretary,
        member=later,
        kind="full_membership",
        occurred_on=datetime.date(YEAR + 1, 3, 1),
        reason="按期转正",
    )
    member_services.member_status_record(
        actor=w.secretary,
        member=within,
        kind="full_membership",
        occurred_on=datetime.date(YEAR, 6, 1),
        reason="按期转正",
    )
    recalculate_branch(branch=w.A1, year=YEAR)
    # Probationary through the whole of YEAR: the probation consequence stands.
    assert codes(later) == {"A-NOT-EXCELLENT", "A-YELLOW", "A-YELLOW-PROBATION"}
    # A full member by the year's end: a full member's outcome, no probation proposal.
    assert codes(within) == {"A-NOT-EXCELLENT", "A-YELLOW"}


@pytest.mark.parametrize(
    ("full_on", "year", "today", "expected"),
    [
        (datetime.date(2026, 3, 1), 2025, datetime.date(2026, 12, 1), True),  # the year before 转正
        (datetime.date(2026, 3, 1), 2026, datetime.date(2026, 12, 1), False),  # the year of 转正, after it
        (datetime.date(2026, 3, 1), 2026, datetime.date(2026, 2, 28), True),  # the year in progress, before it
        (datetime.date(2026, 3, 1), 2026, datetime.date(2026, 3, 1), False),  # on the day itself
        (None, 2026, datetime.date(2026, 12, 1), False),  # always a full member
    ],
)
def test_probationary_in_reads_the_full_membership_date(full_on, year, today, expected):
    member = Member(status=Member.Status.FULL, full_member_on=full_on)
    assert probationary_in(member, year, today) is expected
    assert probationary_in(Member(status=Member.Status.PROBATIONARY), year, today) is True


def test_a_member_who_graduated_is_not_scored_or_ranked_and_takes_no_later_entries(scoring_world, record):
    w = scoring_world
    member = w.a1_members[3]
    record(member, "A-C02", "2", index=1)
    member_services.member_status_record(
        actor=w.secretary, member=member, kind="graduated", occurred_on=datetime.date(YEAR, 7, 1), reason="本科毕业"
    )
    recalculate_branch(branch=w.A1, year=YEAR)
    total = MemberYearTotal.objects.get(member=member, year=YEAR)
    assert total.scored is False and total.rank is None
    member.refresh_from_db()
    with pytest.raises(ApplicationError):
        record(member, "A-C02", "1", index=2)  # the second semester starts after the leave date
