"""Read-only admin for patient records. Clinical changes go through the services (and their
audit trail), so nothing here adds, changes or deletes. The admin is not a PHI back door:
querysets are scoped with the same visibility rules as the app, and opening a patient's
record here is audited like any chart view."""

from __future__ import annotations

from django.contrib import admin

from audit.models import Action
from audit.services import record
from users.admin_audit import AuditedAdminMixin
from users.permissions import site_ids_for

from .models import (
    Consent,
    Disclosure,
    Episode,
    Part2NoticeTemplate,
    Patient,
    Referral,
    ReferralEvent,
    SupportContact,
)


class ReadOnlyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    #: The path from the model to its site, for scoping.
    site_path = "site"
    patient_path: str | None = "patient"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return bool(site_ids_for(request.user, "patient.view"))

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(**{f"{self.site_path}__in": site_ids_for(request.user, "patient.view")})
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None:
            patient = obj if isinstance(obj, Patient) else getattr(obj, self.patient_path or "", None)
            record(
                Action.VIEW,
                request=request,
                site=getattr(patient, "site_id", None),
                patient=patient,
                obj=obj,
                reason="Django admin",
            )
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    patient_path = None
    list_display = ["mrn", "site", "created_at", "deleted_at"]
    list_filter = ["site"]
    search_fields = ["mrn"]
    exclude = ["deletion_reason"]


@admin.register(Episode)
class EpisodeAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "site", "admission_date", "level_of_care", "discharge_date", "discharge_type"]
    list_filter = ["site", "level_of_care", "discharge_type"]


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "site", "source", "received_on", "stage"]
    list_filter = ["site", "stage", "source"]


@admin.register(ReferralEvent)
class ReferralEventAdmin(ReadOnlyAdmin):
    site_path = "referral__site"
    patient_path = None
    list_display = ["referral", "from_stage", "to_stage", "at", "by"]


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    site_path = "patient__site"
    list_display = ["public_id", "kind", "signed_at", "expires_on", "expiry_event", "revoked_on"]
    list_filter = ["kind"]


@admin.register(SupportContact)
class SupportContactAdmin(ReadOnlyAdmin):
    site_path = "patient__site"
    list_display = ["public_id", "relationship", "may_contact", "removed_at"]


@admin.register(Disclosure)
class DisclosureAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "site", "legal_basis", "purpose", "channel", "disclosed_at", "notice"]
    list_filter = ["site", "legal_basis", "purpose", "channel"]


@admin.register(Part2NoticeTemplate)
class Part2NoticeTemplateAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Notice versions: a new wording is a new version (add), never an edit of an old one. The
    notice is program-wide: every site admin reads it, and one who administers every site may
    add a version."""

    site_admin_can = frozenset({"view", "add"})

    list_display = ["version", "title", "effective_on"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
