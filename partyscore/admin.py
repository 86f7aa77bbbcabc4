from django.contrib import admin

from members.admin import ReadOnlyAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "target_repr", "reason")
    list_filter = ("action",)
    search_fields = ("target_repr", "reason")
