"""URLs of the dashboards and boards (issue: dashboards)."""

from django.urls import path

from partyscore.core import converters  # noqa: F401 (registers <year:…>)

from . import views as views

urlpatterns = [
    path("dashboard/", views.dashboard_home, name="dashboard"),
    path("dashboard/me/", views.my_dashboard, name="dashboard_me"),
    path("dashboard/org/<int:org_id>/", views.org_dashboard, name="dashboard_org"),
    path("dashboard/org/<int:org_id>/export/", views.org_dashboard_export, name="dashboard_export"),
    path("dashboard/org/<int:org_id>/members/", views.drill, name="dashboard_drill"),
    path("dashboard/org/<int:org_id>/members/export/", views.drill_export, name="dashboard_drill_export"),
    path("dashboard/branch/<int:org_id>/", views.branch_dashboard, name="dashboard_branch"),
    path("dashboard/board/<int:org_id>/", views.college_board, name="college_board"),
    path("dashboard/supervision/<int:org_id>/", views.supervision, name="supervision"),
    path("dashboard/supervision/<int:org_id>/spot-check/", views.spot_check_new, name="spot_check_new"),
    path("dashboard/supervision/<int:org_id>/notice/", views.commendation_new, name="commendation_new"),
    path("dashboard/spot-checks/<int:spot_check_id>/", views.spot_check_detail, name="spot_check_detail"),
    path("dashboard/reports/<int:org_id>/", views.work_reports, name="work_reports"),
    path("dashboard/reports/<int:org_id>/export/", views.work_reports_export, name="work_reports_export"),
    path("dashboard/reports/<int:org_id>/<year:year>/", views.work_report, name="work_report"),
    path("dashboard/reports/<int:org_id>/<year:year>/export/", views.work_report_export, name="work_report_export"),
]
