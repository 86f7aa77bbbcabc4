from django.urls import path

from . import views

urlpatterns = [
    path("security-log/", views.access_log_list, name="access_log"),
    path("orgs/", views.org_tree, name="org_tree"),
    path("orgs/import/", views.tree_import_upload, name="tree_import"),
    path("orgs/import/confirm/", views.tree_import_confirm, name="tree_import_confirm"),
    path("orgs/import/template/", views.tree_template, name="tree_template"),
    path("orgs/<int:org_id>/add/", views.org_add, name="org_add"),
    path("orgs/<int:org_id>/manage/", views.org_manage, name="org_manage"),
    path("orgs/<int:org_id>/members/", views.member_list, name="member_list"),
    path("orgs/<int:org_id>/members/export/", views.member_export, name="member_export"),
    path("orgs/<int:org_id>/roles/", views.org_roles, name="org_roles"),
    path("members/<int:member_id>/", views.member_detail, name="member_detail"),
    path("members/<int:member_id>/edit/", views.member_edit, name="member_edit"),
    path("members/<int:member_id>/status/", views.member_status, name="member_status"),
    path("members/<int:member_id>/password/", views.member_password_reset, name="member_password_reset"),
    path("members/<int:member_id>/transfer/", views.member_transfer, name="member_transfer"),
    path("members/<int:member_id>/exemption/request/", views.member_exemption_request, name="member_exemption_request"),
    path("members/<int:member_id>/exemption/decide/", views.member_exemption_decide, name="member_exemption_decide"),
    path("exemptions/", views.exemption_queue, name="exemption_queue"),
    path("roster/import/", views.roster_import_upload, name="roster_import"),
    path("roster/import/confirm/", views.roster_import_confirm, name="roster_import_confirm"),
    path("accounts/api-tokens/", views.api_tokens, name="api_tokens"),
    path("accounts/api-tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("roster/template/", views.roster_template, name="roster_template"),
    path("audit/", views.audit_list, name="audit_list"),
    path("security/two-factor/", views.two_factor_requirements, name="two_factor_requirements"),
    path("security/password-login/", views.password_login_policy, name="password_login_policy"),
]
