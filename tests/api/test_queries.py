"""The API's lists cost the same number of queries at 5 and at 25 members a branch."""

import pytest
from django.urls import reverse

from scoring import services as scoring
from scoring.recalculation import recalculate_branch
from tests.builders import add_members


def _grow(world, extra):
    """`extra` more members in A1, each with a ledger line (totals refreshed once)."""
    members = add_members(world.A1, extra, with_accounts=False, start=100) if extra else []
    item = world.scheme.items.get(code="A-C02")
    for member in [*world.a1_members, *members]:
        scoring.entry_record(
            actor=world.secretary,
            member=member,
            item=item,
            period=world.s1,
            points=1,
            reason="志愿服务",
            recalculate=False,
        )
    recalculate_branch(branch=world.A1, year=world.year)


@pytest.mark.parametrize("extra", [0, 20])
@pytest.mark.parametrize(
    ("name", "queries"), [("api_branch_members", 6), ("api_branch_ledger", 6), ("api_branch_totals", 7)]
)
def test_list_queries_do_not_grow(a_year, api_as, django_assert_num_queries, extra, name, queries):
    w = a_year
    _grow(w, extra)
    api = api_as(w.secretary)
    url = reverse(name, args=[w.A1.pk])
    with django_assert_num_queries(queries):
        response = api.get(url, {"year": w.year})
    assert response.status_code == 200
    body = response.json()
    rows = body.get("results", body.get("totals"))
    assert len(rows) == 5 + extra
