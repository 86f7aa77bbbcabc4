from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

v1 = [
    path("me/card/", views.MyCard.as_view(), name="api_my_card"),
    path("me/self-assessments/<int:period_id>/", views.MySelfAssessment.as_view(), name="api_self_assessment"),
    path("objections/", views.Objections.as_view(), name="api_objections"),
    path("meetings/<int:meeting_id>/sign-in/", views.MeetingSignIn.as_view(), name="api_meeting_sign_in"),
    path("branches/<int:org_id>/members/", views.BranchMembers.as_view(), name="api_branch_members"),
    path("branches/<int:org_id>/ledger/", views.BranchLedger.as_view(), name="api_branch_ledger"),
    path("branches/<int:org_id>/totals/", views.BranchTotals.as_view(), name="api_branch_totals"),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(http_method_names=["get", "head"]), name="api_schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api_schema", http_method_names=["get", "head"]),
        name="api_docs",
    ),
    path("v1/", include(v1)),
]
