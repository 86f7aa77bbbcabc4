"""Spot checks (随机抽查), commendations and criticisms (通报), talks and follow-ups."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent
from partyscore.dashboards import services as services
from partyscore.dashboards.models import BranchCommendation, SpotCheck
from scoring.models import LedgerEntry


def test_a_spot_check_samples_the_branchs_own_lines_and_records_each_review(dash_world, login):
    w = dash_world
    client = login(w.org_department)
    response = client.post(reverse("spot_check_new", args=[w.U.pk]), {"branch": w.A1.pk, "size": 5, "year": w.year})
    check = SpotCheck.objects.get()
    assert response["Location"] == reverse("spot_check_detail", args=[check.pk])
    a1_lines = set(LedgerEntry.objects.filter(member__branch=w.A1, year=w.year).values_list("pk", flat=True))
    sampled = [i.entry_id for i in check.items.all()]
    assert len(sampled) == min(5, len(a1_lines)) and set(sampled) <= a1_lines
    item = check.items.first()
    bad = client.post(
        reverse("spot_check_detail", args=[check.pk]), {"item": item.pk, "verdict": "problem", "note": ""}, follow=True
    )
    assert "存在问题时请写明核查说明" in bad.content.decode()
    client.post(
        reverse("spot_check_detail", args=[check.pk]), {"item": item.pk, "verdict": "problem", "note": "无佐证材料"}
    )
    item.refresh_from_db()
    assert (item.verdict, item.note, item.reviewed_by) == ("problem", "无佐证材料", w.org_department)
    for other in check.items.exclude(pk=item.pk):
        client.post(reverse("spot_check_detail", args=[check.pk]), {"item": other.pk, "verdict": "ok"})
    client.post(reverse("spot_check_detail", args=[check.pk]), {"action": "close", "conclusion": "一条记录缺佐证"})
    check.refresh_from_db()
    assert check.status == "closed" and check.conclusion == "一条记录缺佐证"
    actions = list(
        AuditEvent.objects.filter(target_type__startswith="dashboards.SpotCheck").values_list("action", flat=True)
    )
    assert actions.count("spot_check.review") == len(sampled) and "spot_check.draw" in actions
    assert "spot_check.close" in actions
    page = login(w.secretary).get(reverse("spot_check_detail", args=[check.pk])).content.decode()
    assert "一条记录缺佐证" in page and "无佐证材料" in page  # the branch sees the result, cannot change it
    assert (
        login(w.secretary)
        .post(reverse("spot_check_detail", args=[check.pk]), {"item": item.pk, "verdict": "ok"})
        .status_code
        == 403
    )


def test_the_same_seed_draws_the_same_lines(dash_world):
    w = dash_world
    first = services.spot_check_draw(actor=w.org_department, branch=w.A1, year=w.year, size=1, seed="abc")
    again = services.spot_check_draw(actor=w.org_department, branch=w.A1, year=w.year, size=1, seed="abc")
    assert [i.entry_id for i in first.items.all()] == [i.entry_id for i in again.items.all()]


def test_spot_checks_are_the_organization_departments_and_need_lines(dash_world):
    w = dash_world
    with pytest.raises(PermissionDenied):
        services.spot_check_draw(actor=w.gb_secretary, branch=w.A1, year=w.year, size=2)
    with pytest.raises(ApplicationError):
        services.spot_check_draw(actor=w.org_department, branch=w.A1, year=w.year - 5, size=2)
    with pytest.raises(ApplicationError):
        services.spot_check_draw(actor=w.org_department, branch=w.A1, year=w.year, size=500)


def test_a_criticism_costs_the_branch_its_award_eligibility_and_is_shown(dash_world, login):
    w = dash_world
    client = login(w.org_department)
    client.post(
        reverse("commendation_new", args=[w.U.pk]),
        {
            "branch": w.A2.pk,
            "kind": "criticise",
            "reason": "公示走过场",
            "loses_award_eligibility": "on",
            "year": w.year,
        },
    )
    notice = BranchCommendation.objects.get()
    assert (notice.branch, notice.kind, notice.loses_award_eligibility) == (w.A2, "criticise", True)
    assert AuditEvent.objects.filter(action="branch.criticise", target_id=str(notice.pk)).exists()
    dashboard = client.get(reverse("dashboard_org", args=[w.U.pk]))
    row = dashboard.context["results"]["by_id"][w.A2.pk]
    assert row.criticised == 1 and row.loses_awards
    secretary_view = login(w.gb_secretary).get(reverse("supervision", args=[w.A.pk])).content.decode()
    assert "公示走过场" in secretary_view
    with pytest.raises(ApplicationError):
        services.commendation_record(
            actor=w.org_department, branch=w.A1, year=w.year, kind="commend", reason="好", loses_award_eligibility=True
        )
    with pytest.raises(ApplicationError):
        services.commendation_record(actor=w.org_department, branch=w.A1, year=w.year, kind="commend", reason=" ")
    with pytest.raises(PermissionDenied):
        services.commendation_record(actor=w.gb_secretary, branch=w.A1, year=w.year, kind="commend", reason="好")


def test_talks_and_follow_ups_due_and_done(dash_world, login):
    w = dash_world
    response = login(w.org_department).get(reverse("supervision", args=[w.U.pk]))
    by_kind = {k["kind"]: k for k in response.context["by_kind"]}
    talks = by_kind["talk_secretary"]
    assert talks["done"] == sum(1 for f in w.follow_ups if f.status == "done")
    assert talks["open"] == sum(1 for f in w.follow_ups if f.status == "open")
    assert [f.pk for f in response.context["open_items"]] == [
        f.pk for f in sorted((f for f in w.follow_ups if f.status == "open"), key=lambda f: (f.due_on, f.pk))
    ]
