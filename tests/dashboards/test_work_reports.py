"""Annual work reports (工作报告): a branch to its general branch, a college to the committee."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import Notification
from partyscore.dashboards import reports
from partyscore.dashboards import services as services
from partyscore.dashboards.models import WorkReport

from .helpers import of, sheet_values, workbook


def test_a_branch_writes_its_report_from_its_own_figures_and_submits_it(dash_world, login):
    w = dash_world
    client = login(w.secretary)
    url = reverse("work_report", args=[w.A1.pk, w.year])
    page = client.get(url)
    items = of(w.plan, "A1")
    assert page.context["figures"]["expected"] == len(items)
    assert f"应参与记分党员 {len(items)} 名" in page.context["draft"]  # pre-filled from the figures
    client.post(url, {"summary": "草稿", "lock_version": 0, "action": "save"})
    report = WorkReport.objects.get(organization=w.A1)
    assert report.status == "draft" and report.figures == {}
    client.post(url, {"summary": "甲一支部总结", "lock_version": report.lock_version, "action": "submit"})
    report.refresh_from_db()
    assert report.status == "submitted" and report.submitted_by == w.secretary
    assert report.figures["scored"] == len(items)
    assert Notification.objects.filter(user=w.gb_secretary, message__contains="工作报告").exists()
    again = client.post(url, {"summary": "改", "lock_version": report.lock_version, "action": "save"}, follow=True)
    assert "已上报，不能修改" in again.content.decode()
    export = workbook(client.get(reverse("work_report_export", args=[w.A1.pk, w.year])))
    assert sheet_values(export, "工作总结")[2] == ["甲一支部总结"]
    facts = {row[0]: row[1] for row in sheet_values(export, "基本情况")[2:]}
    assert facts["参与记分党员"] == str(len(items))


def test_the_general_branch_returns_a_report_and_submits_the_college_report(dash_world, login):
    w = dash_world
    services.work_report_save(actor=w.secretary, organization=w.A1, year=w.year, summary="总结", submit=True)
    college = login(w.gb_secretary)
    college.post(reverse("work_report", args=[w.A1.pk, w.year]), {"action": "return", "reason": "补充数据"})
    report = WorkReport.objects.get(organization=w.A1)
    assert report.status == "returned" and report.returned_reason == "补充数据"
    college.post(
        reverse("work_report", args=[w.A.pk, w.year]), {"summary": "学院总结", "lock_version": 0, "action": "submit"}
    )
    college_report = WorkReport.objects.get(organization=w.A)
    assert college_report.status == "submitted"
    assert college_report.figures["expected"] == len(of(w.plan, "A1") + of(w.plan, "A2"))
    with pytest.raises(PermissionDenied):  # the secretary cannot return their own or the college's report
        services.work_report_return(actor=w.secretary, report=college_report, reason="x")
    with pytest.raises(PermissionDenied):
        services.work_report_save(actor=w.secretary, organization=w.A, year=w.year, summary="x")
    services.work_report_return(actor=w.org_department, report=college_report, reason="请补充")
    with pytest.raises(ApplicationError):
        services.work_report_return(actor=w.org_department, report=college_report, reason="再退")


def test_the_committee_sees_who_submitted_and_who_is_late(dash_world, login):
    w = dash_world
    services.work_report_save(actor=w.secretary, organization=w.A1, year=w.year, summary="总结", submit=True)
    services.work_report_save(actor=w.gb_secretary, organization=w.A, year=w.year, summary="草稿")
    before = datetime.date(w.year + 1, 1, 5)
    on_time = reports.work_reports_overview(actor=w.org_department, org=w.U, year=w.year, today=before)
    assert {r["org"].code: (r["submitted"], r["late"]) for r in on_time["rows"]} == {
        "A": (False, False),
        "A1": (True, False),
        "A2": (False, False),
        "B": (False, False),
        "B1": (False, False),
    }
    after = datetime.date(w.year + 1, 1, 11)  # the reports were due 10 January
    late = reports.work_reports_overview(actor=w.org_department, org=w.U, year=w.year, today=after)
    assert {r["org"].code for r in late["rows"] if r["late"]} == {"A", "A2", "B", "B1"}
    assert late["counts"]["submitted"] == 1 and late["counts"]["late"] == 4
    WorkReport.objects.filter(organization=w.A1).update(
        submitted_at=timezone.make_aware(datetime.datetime(w.year + 1, 1, 12))
    )
    late = reports.work_reports_overview(actor=w.org_department, org=w.U, year=w.year, today=after)
    assert next(r for r in late["rows"] if r["org"].code == "A1")["late"]  # submitted after the deadline
    response = login(w.org_department).get(reverse("work_reports", args=[w.U.pk]))
    assert response.status_code == 200 and "甲一支部" in response.content.decode()
    export = workbook(login(w.org_department).get(reverse("work_reports_export", args=[w.U.pk])))
    rows = {row[0]: row for row in sheet_values(export, "上报情况")[2:]}
    assert rows["甲一支部"][2] == "已上报" and rows["乙一支部"][2] == "未填写"
