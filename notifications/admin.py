from django.contrib import admin

from .models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Read-only: alerts are raised and acknowledged through the services, never by hand."""

    list_display = ["created_at", "site", "kind", "severity", "title_code", "acknowledged_at"]
    list_filter = ["kind", "severity", "site"]
    readonly_fields = [f.name for f in Alert._meta.fields] + ["recipients"]
    raw_id_fields = ["patient"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
