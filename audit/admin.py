from django.contrib import admin

from users.admin_audit import AuditedAdminMixin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor_label", "action", "site", "object_type", "ip"]
    list_filter = ["action", "site"]
    search_fields = ["actor_label", "patient_ref", "object_id"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
