"""Every dashboard's query count is the same for a small and a larger university (four more
branches across both colleges, twelve more members in every branch): nothing is queried per
branch or per member. The counts include the session, the user, the permission look-ups and the
header's context (roles, unread notifications).

The per-branch counts are stored (BranchYearFacts) and recomputed only for branches whose data
changed: the pinned counts are for a page whose counts are current ("warm"), the first page after
a change in one branch, and a page with nothing stored ("cold")."""

import pytest
from django.urls import reverse

from members.models import Organization
from partyscore.dashboards import services as services
from partyscore.dashboards.models import BranchYearFacts

from .conftest import populate

# (url name, its arguments, who looks, query string, queries when the stored counts are current)
PAGES = [
    ("dashboard_org", lambda w: [w.U.pk], "org_department", {}, 19),
    ("dashboard_org", lambda w: [w.A.pk], "gb_secretary", {}, 19),
    ("dashboard_branch", lambda w: [w.A1.pk], "secretary", {}, 37),
    ("dashboard_me", lambda w: [], "member", {}, 20),
    ("college_board", lambda w: [w.A.pk], "gb_secretary", {}, 11),
    ("supervision", lambda w: [w.U.pk], "org_department", {}, 14),
    ("work_reports", lambda w: [w.U.pk], "org_department", {}, 11),
    ("work_report", lambda w: [w.A1.pk, w.year], "secretary", {}, 18),
    ("dashboard_drill", lambda w: [w.U.pk], "org_department", {"metric": "bin", "bin": 1}, 11),
    ("dashboard_drill", lambda w: [w.U.pk], "org_department", {"metric": "self_unchanged"}, 11),
    # An export also writes its line in the security log (one INSERT).
    ("dashboard_export", lambda w: [w.U.pk], "org_department", {}, 16),
    ("dashboard_drill_export", lambda w: [w.U.pk], "org_department", {"metric": "scored"}, 9),
]
SIZES = [(0, 0), (4, 12)]


def grow(world, extra_branches, extra_members):
    populate(world, extra_branches=extra_branches, extra_members=extra_members)
    Organization.objects.filter(kind=Organization.Kind.BRANCH).update(show_board_to_members=True)
    for branch in (world.A1, world.B1):
        services.spot_check_draw(actor=world.org_department, branch=branch, year=world.year, size=2)


@pytest.mark.parametrize("extra_branches,extra_members", SIZES)
def test_dashboard_query_counts_do_not_grow_with_branches_or_members(
    world, client, django_assert_num_queries, extra_branches, extra_members
):
    grow(world, extra_branches, extra_members)
    for name, args, who, query, queries in PAGES:
        client.force_login(getattr(world, who))
        url = reverse(name, args=args(world))
        client.get(url, query)
        with django_assert_num_queries(queries):
            assert client.get(url, query).status_code == 200, name


@pytest.mark.parametrize("extra_branches,extra_members", SIZES)
def test_a_change_recomputes_only_its_branch_and_a_cold_start_everything(
    world, client, django_assert_num_queries, extra_branches, extra_members
):
    grow(world, extra_branches, extra_members)
    client.force_login(world.org_department)
    url = reverse("dashboard_org", args=[world.U.pk])
    with django_assert_num_queries(38):  # nothing stored yet: every branch counted in one pass
        client.get(url)
    before = dict(BranchYearFacts.objects.values_list("branch_id", "computed_at"))
    assert len(before) == Organization.objects.filter(kind=Organization.Kind.BRANCH).count()
    services.commendation_record(
        actor=world.org_department, branch=world.A2, year=world.year, kind="commend", reason="工作扎实"
    )
    with django_assert_num_queries(40):  # the audit log names A2: only A2 is counted again
        page = client.get(url)
    assert page.context["results"]["by_id"][world.A2.pk].commended == 1
    after = dict(BranchYearFacts.objects.values_list("branch_id", "computed_at"))
    assert {pk for pk in after if after[pk] != before[pk]} == {world.A2.pk}
