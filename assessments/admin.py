"""Read-only admin: clinical records change only through the services (audited, validated)."""

from django.contrib import admin

from users.admin_audit import AuditedAdminMixin

from .models import AnalyteResult, AssessmentResponse, Medication, Placement, Specimen


class ReadOnlyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    raw_id_fields = ["patient"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AssessmentResponse)
class AssessmentResponseAdmin(ReadOnlyAdmin):
    list_display = ["administered_at", "site", "instrument", "total", "band", "status"]
    list_filter = ["instrument", "status", "site"]


@admin.register(Placement)
class PlacementAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "site", "placement_type", "recommended_level", "actual_level", "status"]
    list_filter = ["status", "placement_type", "site"]


@admin.register(Specimen)
class SpecimenAdmin(ReadOnlyAdmin):
    list_display = ["collected_at", "site", "specimen_type", "validity", "reviewed_at"]
    list_filter = ["specimen_type", "validity", "site"]


@admin.register(AnalyteResult)
class AnalyteResultAdmin(ReadOnlyAdmin):
    raw_id_fields = ["specimen"]
    list_display = ["specimen", "analyte", "method", "result", "expectation"]
    list_filter = ["analyte", "result", "expectation"]


@admin.register(Medication)
class MedicationAdmin(ReadOnlyAdmin):
    list_display = ["name", "site", "medication_class", "start_date", "stop_date"]
    list_filter = ["medication_class", "site"]
