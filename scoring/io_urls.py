"""URLs of the ledger exports, score imports and printable records (issue: ledger exports)."""

from django.urls import path

from . import io_views

urlpatterns = [
    path("exports/", io_views.export_center, name="export_center"),
    path("exports/orgs/<int:org_id>/", io_views.export_org, name="export_org"),
    path("exports/members/<int:member_id>/", io_views.export_member, name="export_member"),
    path("exports/jobs/<int:job_id>/", io_views.export_job, name="export_job"),
    path("exports/jobs/<int:job_id>/download/", io_views.export_job_download, name="export_job_download"),
    path("imports/cards/", io_views.card_import_upload, name="card_import"),
    path("imports/cards/confirm/", io_views.card_import_confirm, name="card_import_confirm"),
    path("imports/cards/template/<int:org_id>/", io_views.card_template, name="card_template"),
]
