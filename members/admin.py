"""The admin is for looking, not for changing: every write goes through a service and is audited.

The one exception is adding a node to the organization tree, which calls the service.
"""

from django.contrib import admin
from django_otp.plugins.otp_totp.models import TOTPDevice

from partyscore.core.admin import ReadOnlyAdmin

from . import services
from .auth_views import admin_login
from .models import Member, MemberTransfer, Organization, RoleAssignment, User


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ("name", "code", "kind", "category", "parent")
    list_filter = ("kind", "category")
    search_fields = ("name", "code")
    fields = ("name", "code", "kind", "category", "parent")

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def save_model(self, request, obj, form, change):
        created = services.organization_create(
            actor=request.user, name=obj.name, code=obj.code, kind=obj.kind, parent=obj.parent, category=obj.category
        )
        obj.pk = created.pk


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ("number", "name", "branch", "category", "status", "is_cadre", "exempt")
    list_filter = ("category", "status", "is_cadre", "exempt")
    search_fields = ("number", "name")
    list_select_related = ("branch",)


@admin.register(MemberTransfer)
class MemberTransferAdmin(ReadOnlyAdmin):
    list_display = ("member", "from_branch", "to_branch", "transferred_on")


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("user", "organization", "role", "starts_on", "ends_on", "revoked_at")
    list_filter = ("role",)
    list_select_related = ("user", "organization")


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ("username", "full_name", "is_active", "must_change_password", "last_login")
    search_fields = ("username", "full_name")


# Authenticator secrets stay out of the admin; a lost phone is handled by the audited
# `manage.py two_factor_reset` command.
admin.site.unregister(TOTPDevice)
# The admin's own login form would skip the second factor: logging in happens on ours.
admin.site.login = admin_login
