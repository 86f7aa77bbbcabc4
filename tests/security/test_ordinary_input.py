"""Ordinary input never gives a 500: the cases found by hand, one test each.

The sweeps that try every list page, name field and missing row automatically are in
tests/security/test_hostile_input.py.
"""

import pytest
from django.urls import reverse

from tests.builders import add_members
from tests.dashboards.conftest import populate


@pytest.fixture
def dash_world(world):
    populate(world)
    return world


def test_the_branch_dashboard_shows_a_member_with_no_year_total(dash_world, login):
    """A member imported mid-year has no stored total yet: the table shows a dash, not a 500."""
    w = dash_world
    newcomer = add_members(w.A1, 1, start=900)[0]
    response = login(w.secretary).get(reverse("dashboard_branch", args=[w.A1.pk]))
    assert response.status_code == 200
    row = next(r for r in response.context["table"] if r["member"].pk == newcomer.pk)
    assert row["total"] is None
    body = response.content.decode()
    cells = body.split(f'data-member="{newcomer.pk}"')[1].split("</tr>")[0]
    assert cells.count("—") >= 2  # no total, no rank
