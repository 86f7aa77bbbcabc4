from django.urls import path

from . import handbook_views, views

urlpatterns = [
    path("ledger/<int:org_id>/", views.ledger, name="ledger"),
    path("ledger/<int:org_id>/record/", views.entry_record, name="entry_record"),
    path("ledger/<int:org_id>/record/bulk/", views.entry_bulk, name="entry_bulk"),
    path("ledger/entries/<int:entry_id>/reverse/", views.entry_reverse, name="entry_reverse"),
    path("evidence/entry/<int:evidence_id>/", views.evidence_entry, name="evidence_entry"),
    path("members/<int:member_id>/card/", views.points_card, name="points_card"),
    path("members/<int:member_id>/handbook/", handbook_views.handbook, name="handbook"),
    path("board/<int:org_id>/", views.board, name="board"),
    path("board/<int:org_id>/visibility/", views.board_visibility, name="board_visibility"),
    path("schemes/", views.scheme_list, name="scheme_list"),
    path("schemes/presets/", views.scheme_preset_load, name="scheme_preset_load"),
    path("schemes/<int:scheme_id>/", views.scheme_detail, name="scheme_detail"),
    path("schemes/<int:scheme_id>/transition/", views.scheme_transition, name="scheme_transition"),
    path("schemes/<int:scheme_id>/edit/", views.scheme_edit, name="scheme_edit"),
    path("schemes/<int:scheme_id>/items/new/", views.item_edit, name="item_new"),
    path("schemes/<int:scheme_id>/items/<int:item_id>/", views.item_edit, name="item_edit"),
    path("schemes/<int:scheme_id>/rules/new/", views.rule_edit, name="rule_new"),
    path("schemes/<int:scheme_id>/rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("schemes/<int:scheme_id>/attendance/new/", views.attendance_rule_edit, name="attendance_rule_new"),
    path("schemes/<int:scheme_id>/attendance/<int:rule_id>/", views.attendance_rule_edit, name="attendance_rule_edit"),
    path(
        "schemes/<int:scheme_id>/<str:part>/<int:part_id>/remove/", views.scheme_part_remove, name="scheme_part_remove"
    ),
    path("cycles/", views.cycle_list, name="cycle_list"),
    path("cycles/<int:cycle_id>/semesters/", views.cycle_semesters, name="cycle_semesters"),
    path("deadlines/", views.deadlines, name="deadlines"),
    path("periods/<int:period_id>/lock/", views.period_lock, name="period_lock"),
]
