from django.contrib import admin

from users.admin_audit import AuditedAdminMixin

from .models import Alert


@admin.register(Alert)
class AlertAdmin(AuditedAdminMixin, admin.ModelAdmin):
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


from .models import MessageTemplate, OutboundMessage  # noqa: E402


@admin.register(MessageTemplate)
class MessageTemplateAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Editable by administrators. Saving runs the model's clean(): the privacy linter refuses
    SUD-revealing words and full-name placeholders in patient templates. Each change bumps the
    version the outbox records. Templates are program-wide: every site admin reads them, and one
    who administers every site may change them (a change reaches every site's patients)."""

    site_admin_can = frozenset({"view", "add", "change"})

    list_display = ["key", "channel", "language", "audience", "version", "updated_at"]
    list_filter = ["channel", "audience"]
    readonly_fields = ["version"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The message log, read-only: template, channel, status, attempts, error code; no text."""

    list_display = [
        "created_at",
        "site",
        "template_key",
        "channel",
        "recipient_kind",
        "status",
        "attempts",
        "last_error",
    ]
    list_filter = ["status", "channel", "template_key", "site"]
    readonly_fields = [f.name for f in OutboundMessage._meta.fields]
    raw_id_fields = ["patient", "staff"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
