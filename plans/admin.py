"""Read-only admin for plans. Plans change only through the services (signatures, versions and
the audit trail); querysets are scoped to the sites where the user may read clinical records,
and opening a record here is audited like a chart view."""

from __future__ import annotations

from django.contrib import admin

from audit.models import Action
from audit.services import record
from users.admin_audit import AuditedAdminMixin
from users.permissions import site_ids_for

from .models import (
    AftercarePlan,
    FollowUpCheckIn,
    PlanReviewTrigger,
    RecoveryActivity,
    RelapseEvent,
    RelapsePreventionPlan,
    TreatmentPlan,
)


class ReadOnlyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    site_path = "site"
    #: The path from the model to its patient.
    patient_path = "episode.patient"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return bool(site_ids_for(request.user, "clinical.view"))

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(**{f"{self.site_path}__in": site_ids_for(request.user, "clinical.view")})
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None:
            patient = obj
            for part in self.patient_path.split("."):
                patient = getattr(patient, part)
            record(Action.VIEW, request=request, site=obj.site_id, patient=patient, obj=obj, reason="Django admin")
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(TreatmentPlan)
class TreatmentPlanAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "site", "version", "status", "reason", "plan_date", "signed_on"]
    list_filter = ["site", "status", "reason"]


@admin.register(RelapsePreventionPlan)
class RelapsePreventionPlanAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "site", "version", "status", "reason", "plan_date", "signed_on", "review_date"]
    list_filter = ["site", "status"]
    exclude = ["internal_note"]


@admin.register(PlanReviewTrigger)
class PlanReviewTriggerAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "site", "reason", "requested_on"]
    list_filter = ["site", "reason"]


@admin.register(RelapseEvent)
class RelapseEventAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "site", "occurred_on"]
    list_filter = ["site"]


@admin.register(RecoveryActivity)
class RecoveryActivityAdmin(ReadOnlyAdmin):
    patient_path = "patient"
    list_display = ["public_id", "site", "date", "activity_type"]
    list_filter = ["site", "activity_type"]


@admin.register(AftercarePlan)
class AftercarePlanAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "site", "updated_at"]


@admin.register(FollowUpCheckIn)
class FollowUpCheckInAdmin(ReadOnlyAdmin):
    patient_path = "patient"
    list_display = ["public_id", "site", "days_after_discharge", "due_on", "status"]
    list_filter = ["site", "status"]
