from django.urls import path

from partyscore.core import converters  # noqa: F401 (registers <year:…>)

from . import meeting_views, views

urlpatterns = [
    path("reviews/me/", views.my_reviews, name="my_reviews"),
    path("reviews/pledges/", views.my_pledges, name="my_pledges"),
    path("reviews/pledges/print/", views.my_pledges_print, name="my_pledges_print"),
    path("reviews/self/<int:period_id>/", views.self_assessment, name="self_assessment"),
    path("reviews/declarations/new/", views.declaration_new, name="declaration_new"),
    path("reviews/fulfilment/new/", views.fulfilment_new, name="fulfilment_new"),
    path("reviews/objections/new/", views.objection_new, name="objection_new"),
    path("evidence/declaration/<int:declaration_id>/", views.evidence_declaration, name="evidence_declaration"),
    path("evidence/self-claim/<int:claim_id>/", views.evidence_self_claim, name="evidence_self_claim"),
    path("evidence/fulfilment/<int:report_id>/", views.evidence_fulfilment, name="evidence_fulfilment"),
    path("evidence/objection/<int:attachment_id>/", views.evidence_objection, name="evidence_objection"),
    path("reviews/objections/<int:objection_id>/", views.objection_detail, name="objection_detail"),
    path("reviews/publicity/<int:publicity_id>/", views.publicity_detail, name="publicity_detail"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/failed/", views.delivery_failures, name="delivery_failures"),
    path("reviews/branch/<int:org_id>/", views.branch_reviews, name="branch_reviews"),
    path("reviews/branch/<int:org_id>/batch/<str:kind>/", views.branch_decide_batch, name="branch_decide_batch"),
    path("reviews/branch/<int:org_id>/<str:action>/", views.branch_action, name="branch_action"),
    path("reviews/pledges/<int:pledge_id>/decide/", views.pledge_decide, name="pledge_decide"),
    path("reviews/fulfilment/<int:report_id>/decide/", views.fulfilment_decide, name="fulfilment_decide"),
    path("reviews/declarations/<int:declaration_id>/decide/", views.declaration_decide, name="declaration_decide"),
    path("reviews/panel/<int:org_id>/<int:period_id>/", views.panel_board, name="panel_board"),
    path("reviews/panel/<int:org_id>/<int:period_id>/<int:member_id>/", views.panel_member, name="panel_member"),
    path("reviews/mass/<int:org_id>/", views.mass_form, name="mass_form"),
    path("reviews/mass/<int:org_id>/results/", views.mass_results, name="mass_results"),
    path("reviews/determination/<int:org_id>/<year:year>/", views.determination, name="determination"),
    path(
        "reviews/determination/<int:determination_id>/reopen/", views.determination_reopen, name="determination_reopen"
    ),
    path("reviews/follow-ups/", views.follow_ups, name="follow_ups"),
    path("reviews/escalations/", views.escalations, name="escalations"),
    path("cycles/rollover/", views.rollover_start, name="rollover_start"),
    path("cycles/rollover/<int:rollover_id>/", views.rollover_progress, name="rollover_progress"),
    path("reviews/follow-ups/<int:follow_up_id>/", views.follow_up_record, name="follow_up_record"),
    path("meetings/branch/<int:org_id>/", meeting_views.meeting_list, name="meeting_list"),
    path("meetings/branch/<int:org_id>/new/", meeting_views.meeting_new, name="meeting_new"),
    path("meetings/<int:meeting_id>/", meeting_views.meeting_detail, name="meeting_detail"),
    path("meetings/<int:meeting_id>/attendance/", meeting_views.meeting_attendance, name="meeting_attendance"),
    path("meetings/<int:meeting_id>/qr/", meeting_views.meeting_qr, name="meeting_qr"),
    path("meetings/<int:meeting_id>/sign-in/<str:token>/", meeting_views.meeting_sign_in, name="meeting_sign_in"),
    path("evidence/meeting/<int:attachment_id>/", meeting_views.evidence_meeting, name="evidence_meeting"),
    path("schemes/<int:scheme_id>/review-settings/", views.review_settings_edit, name="review_settings"),
]
