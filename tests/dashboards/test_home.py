"""The home page is each role's to-do list: counts from the database, deadlines, every link one the
role can open, and a fixed number of queries whatever the size of the university."""

import re

import pytest
from django.urls import reverse

from members.models import Member
from reviews.models import (
    Determination,
    MassEvaluation,
    Objection,
    PanelConfirmation,
    PanelScore,
    Pledge,
)
from scoring.models import MemberYearTotal
from scoring.selectors import current_period, schemes_in_force

from .test_queries import grow

ROLES = ["member", "mass_rep", "recorder", "panel", "committee", "secretary", "gb_secretary", "org_department", "admin"]
HREF = re.compile(r'href="(/[^"#]*)')


def page_links(html):
    """The site's own links on a page, the ones a user would follow (not static files, not logout)."""
    return sorted(
        {
            h.replace("&amp;", "&")
            for h in HREF.findall(html)
            if not h.startswith(("/static/", "/accounts/logout", "/i18n/"))
        }
    )


def todo_counts(html, css):
    """{item text: count} of the to-do items inside the card with class `css`."""
    card = html.split(f'class="card h-100 {css}', 1)[1].split("</ul>", 1)[0]
    found = {}
    for item in card.split("todo-item")[1:]:
        text = re.sub(r"<[^>]+>", "", item.split("</a>", 1)[0].split(">", 2)[-1]).strip()
        found[text] = int(re.search(r'data-count="(\d+)"', item).group(1))
    return found


def test_every_link_on_every_home_opens_for_that_role(dash_world, client):
    """No link leads to a refusal: the follow-up list and the mass-evaluation results used to be
    linked for roles that then got 403. The pages one step further (the branch's review page and
    dashboard) are followed too."""
    refused = []
    for role in ROLES:
        client.force_login(getattr(dash_world, role))
        home = client.get(reverse("home")).content.decode()
        seen = set()
        frontier = page_links(home)
        for step in range(2):
            following = []
            for url in frontier:
                if url in seen:
                    continue
                seen.add(url)
                response = client.get(url)
                if response.status_code == 403:
                    refused.append(f"{role}: {url}")
                elif (
                    step == 0 and response.status_code == 200 and re.match(r"/(reviews/branch|dashboards/branch)/", url)
                ):
                    following += page_links(response.content.decode())
            frontier = following
    assert refused == []


def test_the_secretary_sees_the_branch_work_counted_from_the_database(dash_world, client):
    world = dash_world
    client.force_login(world.secretary)
    html = client.get(reverse("home")).content.decode()
    counts = todo_counts(html, "branch-work")
    assert (
        counts["待审核的承诺"]
        == Pledge.objects.filter(member__branch=world.A1, year=world.year, status="submitted").count()
        > 0
    )
    assert {s.pipeline for s in schemes_in_force(branch=world.A1, year=world.year).values()} == {"vanguard"}
    assert "待核实的践诺报告" not in counts  # Policy B's monthly 践诺 is no step of A1's pipeline
    pending = Objection.objects.filter(branch=world.A1, status__in=Objection.PENDING)
    assert counts["未办结的异议"] == pending.count() == 1
    determination = Determination.objects.get(branch=world.A1, year=world.year)
    state = html.split('class="determination-state"', 1)[1].split("</a>", 1)[0]
    assert state.endswith(str(determination.get_status_display()))


def test_a_committee_member_is_not_given_the_secretarys_work(dash_world, client):
    client.force_login(dash_world.committee)
    counts = todo_counts(client.get(reverse("home")).content.decode(), "branch-work")
    assert "待审核的承诺" in counts and "未办结的异议" in counts  # a committee member reviews and answers
    assert not {"待办谈话", "其他后续处理", "年度工作报告", "应开未开的公示"} & set(counts)


def test_a_panelist_sees_the_members_left_to_score(dash_world, client):
    world = dash_world
    period = current_period(year=world.year, kind="semester")
    PanelScore.objects.create(
        panelist=world.panel,
        member=world.a1_members[-1],
        period=period,
        item=world.reference.items.exclude(kind="veto").first(),
        points=100,
    )
    client.force_login(world.panel)
    html = client.get(reverse("home")).content.decode()
    members = Member.objects.filter(branch=world.A1, left_on__isnull=True, exempt=False).exclude(user=world.panel)
    done = {
        *PanelConfirmation.objects.filter(period=period).values_list("member_id", flat=True),
        *PanelScore.objects.filter(panelist=world.panel, period=period).values_list("member_id", flat=True),
    }
    left = members.exclude(pk__in=done).count()
    assert left < members.count()
    assert list(todo_counts(html, "panel-work").values()) == [left]
    assert reverse("panel_board", args=[world.A1.pk, period.pk]) in html


def test_a_mass_representative_sees_the_evaluation_until_it_is_given(dash_world, client):
    world = dash_world
    client.force_login(world.mass_rep)
    html = client.get(reverse("home")).content.decode()
    assert list(todo_counts(html, "mass-work").values()) == [1]
    assert reverse("mass_form", args=[world.A1.pk]) in html
    MassEvaluation.objects.create(
        representative=world.mass_rep, branch=world.A1, year=world.year, panel_rating=4, branch_rating=4
    )
    html = client.get(reverse("home")).content.decode()
    assert "您已于" in html and reverse("mass_form", args=[world.A1.pk]) not in html


def test_the_member_sees_today_s_standing_first(dash_world, client):
    world = dash_world
    client.force_login(world.member)
    html = client.get(reverse("home")).content.decode()
    total = MemberYearTotal.objects.get(member=world.member.member, year=world.year)
    overview = html.split("my-overview", 1)[1]
    assert "我的积分概况" in html.split("my-overview", 1)[1][:400]
    assert overview.index("my-total") < overview.index("接下来要做")
    assert f"{total.total / 100:g}" in overview.split("接下来要做")[0]


def test_the_organization_department_sees_the_figures_before_the_links(dash_world, client):
    world = dash_world
    client.force_login(world.org_department)
    html = client.get(reverse("home")).content.decode()
    assert html.index("oversight-figures") < html.index("home-links")
    assert "有逾期环节的支部" in html and "黄色预警" in html and "提请组织部核实的异议" in html
    Objection.objects.filter(branch=world.A1).update(status="escalated")
    html = client.get(reverse("home")).content.decode()
    objection = Objection.objects.get(branch=world.A1)
    assert reverse("objection_detail", args=[objection.pk]) in html


def test_a_refusal_names_whom_to_ask(dash_world, client):
    world = dash_world
    client.force_login(world.member)
    page = client.get(reverse("follow_ups"))
    assert page.status_code == 403
    text = page.content.decode()
    assert "甲一支部" in text and world.secretary.get_full_name() in text and "甲学院党委" in text


@pytest.mark.parametrize("extra_branches,extra_members", [(0, 0), (4, 12)])
# A member's home is their points overview (the dashboard's ~20 queries); a secretary's adds the branch
# dashboard's to-do (~37); the committee's and a college's add the dashboard figures of their scope. The
# deadlines list reads the pipelines in force once, to leave out the other policy's deadlines. The
# nodes where the user's roles are held are read once for every permission asked about.
@pytest.mark.parametrize(
    "role,queries",
    [
        ("member", 24),
        ("mass_rep", 12),
        ("panel", 31),
        ("committee", 54),
        ("secretary", 55),
        ("gb_secretary", 21),
        ("org_department", 24),
        ("admin", 23),
    ],
)
def test_home_query_counts_do_not_grow(
    world, client, django_assert_num_queries, extra_branches, extra_members, role, queries
):
    grow(world, extra_branches, extra_members)
    client.force_login(getattr(world, role))
    client.get(reverse("home"))
    with django_assert_num_queries(queries):
        assert client.get(reverse("home")).status_code == 200


def test_branches_of_several_colleges_are_named_with_their_college(dash_world, client):
    """The committee's drill-down list, its export and its flat ledger name 甲学院党委·甲一支部; a college's
    own lists, where every branch is its own, just 甲一支部."""
    import io

    import openpyxl

    from scoring import exports

    world = dash_world
    client.force_login(world.org_department)
    drill = client.get(reverse("dashboard_drill", args=[world.U.pk]), {"metric": "scored"}).content.decode()
    assert "<td>甲学院党委·甲一支部</td>" in drill and "<td>乙学院党委·乙一支部</td>" in drill
    export = client.get(reverse("dashboard_drill_export", args=[world.U.pk]), {"metric": "scored"})
    cells = {
        c for row in openpyxl.load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True) for c in row
    }
    assert "甲学院党委·甲一支部" in cells
    client.force_login(world.gb_secretary)
    drill = client.get(reverse("dashboard_drill", args=[world.A.pk]), {"metric": "scored"}).content.decode()
    assert "<td>甲一支部</td>" in drill and "甲学院党委·" not in drill
    buffer = io.BytesIO()
    exports.WRITERS["flat_ledger"](buffer, organization=world.U, year=world.year)
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).worksheets[0]
    branches = {row[0] for row in sheet.iter_rows(min_row=3, values_only=True) if row[0]}
    assert branches and all("·" in b for b in branches - {"党支部"})
