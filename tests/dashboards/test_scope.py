"""Scope: a general-branch secretary sees only their colleges' branches, a member no one else's
details, and every drill-down and export link stays inside the viewer's scope (403 outside)."""

from django.urls import reverse

from .helpers import of


def test_a_general_branch_secretary_sees_only_their_colleges_branches(dash_world, login):
    w = dash_world
    client = login(w.gb_secretary)
    assert client.get(reverse("dashboard")).url == reverse("dashboard_org", args=[w.A.pk])
    response = client.get(reverse("dashboard_org", args=[w.A.pk]))
    shown = {row.org.code for row in response.context["progress"]["rows"]}
    assert shown == {"A", "A1", "A2"}
    body = response.content.decode()
    assert "乙一支部" not in body and "乙学院党委" not in body
    for name in (
        "dashboard_org",
        "dashboard_export",
        "dashboard_branch",
        "college_board",
        "supervision",
        "work_reports",
        "dashboard_drill",
    ):
        assert client.get(reverse(name, args=[w.B1.pk]), {"metric": "scored"}).status_code == 403, name
        assert client.get(reverse(name, args=[w.U.pk]), {"metric": "scored"}).status_code == 403, name
    assert client.get(reverse("work_report", args=[w.B1.pk, w.year])).status_code == 403


def test_every_drill_down_link_on_a_dashboard_stays_in_scope(dash_world, login):
    w = dash_world
    client = login(w.gb_secretary)
    page = client.get(reverse("dashboard_org", args=[w.A.pk]))
    charts = page.context["charts"]
    urls = [item["url"] for chart in charts.values() for item in chart.get("items", []) if "url" in item]
    urls += [d["url"] for chart in charts.values() for s in chart.get("series", []) for d in s["data"]]
    urls = [u for u in urls if u.startswith("/")]
    assert len(urls) > 20
    b_numbers = {p.member.number for p in of(w.plan, "B1")}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert not {m.number for m in response.context["page"]} & b_numbers, url


def test_a_drill_down_into_another_college_is_refused_not_hidden(dash_world, login):
    w = dash_world
    client = login(w.gb_secretary)
    for name in ("dashboard_drill", "dashboard_drill_export"):
        url = reverse(name, args=[w.A.pk])
        assert client.get(url, {"metric": "scored", "org": w.B1.pk}).status_code == 403
        assert client.get(url, {"metric": "no-such-metric"}).status_code == 403
        assert client.get(url, {"metric": "bin", "bin": "99"}).status_code == 403


def test_a_member_sees_no_one_elses_details(dash_world, login):
    w = dash_world
    client = login(w.member)
    assert client.get(reverse("dashboard")).url == reverse("dashboard_me")
    for name, args in (
        ("dashboard_org", [w.A1.pk]),
        ("dashboard_branch", [w.A1.pk]),
        ("dashboard_drill", [w.A1.pk]),
        ("dashboard_drill_export", [w.A1.pk]),
        ("college_board", [w.A.pk]),
        ("supervision", [w.A1.pk]),
        ("work_report", [w.A1.pk, w.year]),
        ("dashboard_export", [w.A1.pk]),
    ):
        assert client.get(reverse(name, args=args), {"metric": "scored"}).status_code == 403, name
    page = client.get(reverse("dashboard_me")).content.decode()
    others = [m for m in w.a1_members if m.user != w.member]
    assert not [m.name for m in others if m.name in page]
    assert not [m.number for m in others if m.number in page]


def test_the_secretarys_links_lead_only_into_their_own_branch(dash_world, login):
    w = dash_world
    client = login(w.secretary)
    response = client.get(reverse("dashboard_branch", args=[w.A1.pk]))
    charts = response.context["charts"]
    urls = [
        d["url"] for chart in charts.values() for item in (chart.get("items") or []) for d in [item] if d.get("url")
    ]
    urls += [d["url"] for chart in charts.values() for s in chart.get("series", []) for d in s["data"] if d["url"]]
    assert urls
    a1 = {p.member.number for p in of(w.plan, "A1")}
    for url in urls:
        members = {m.number for m in client.get(url).context["page"]}
        assert members <= a1, url
    assert client.get(reverse("dashboard_branch", args=[w.A2.pk])).status_code == 403
    assert client.get(reverse("dashboard_org", args=[w.A.pk])).status_code == 403
