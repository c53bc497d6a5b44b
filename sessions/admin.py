"""Read-only admin for session delivery. Attendance, notes and signatures change only through
the services (and their audit trail); querysets are scoped like the app (clinical staff of the
row's site) and opening a record here is audited like a page view."""

from __future__ import annotations

from django.contrib import admin

from audit.models import Action
from audit.services import record
from users.admin_audit import AuditedAdminMixin
from users.permissions import site_ids_for

from .models import (
    Attendance,
    ContactAttempt,
    CosignRequirement,
    FollowUpPolicy,
    GroupNote,
    GroupNoteEntry,
    NoteAddendum,
    NoteCosignature,
    ProgressNote,
)


class ReadOnlyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    site_path = "site"
    patient_path: str | None = None

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
            patient = getattr(obj, self.patient_path, None) if self.patient_path else None
            record(Action.VIEW, request=request, patient=patient, obj=obj, reason="Django admin")
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyAdmin):
    site_path = "session__site"
    patient_path = "patient"
    list_display = ["public_id", "status", "minutes_attended", "late_cancel", "recorded_at"]
    list_filter = ["status"]


@admin.register(ProgressNote)
class ProgressNoteAdmin(ReadOnlyAdmin):
    patient_path = "patient"
    list_display = ["public_id", "site", "format", "status", "signed_at", "late_entry", "requires_cosign"]
    list_filter = ["site", "status", "format"]


@admin.register(GroupNote)
class GroupNoteAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "site", "status", "signed_at", "late_entry", "requires_cosign"]
    list_filter = ["site", "status"]


@admin.register(GroupNoteEntry)
class GroupNoteEntryAdmin(ReadOnlyAdmin):
    site_path = "group_note__site"
    patient_path = "patient"
    list_display = ["public_id", "minutes_attended"]


@admin.register(NoteAddendum)
class NoteAddendumAdmin(ReadOnlyAdmin):
    site_path = "author__memberships__site"
    list_display = ["public_id", "author_name", "signed_at"]

    def get_queryset(self, request):
        sites = site_ids_for(request.user, "clinical.view")
        return NoteAddendum.objects.filter(progress_note__site__in=sites) | NoteAddendum.objects.filter(
            group_note__site__in=sites
        )


@admin.register(NoteCosignature)
class NoteCosignatureAdmin(ReadOnlyAdmin):
    list_display = ["cosigner_name", "cosigned_at"]

    def get_queryset(self, request):
        sites = site_ids_for(request.user, "clinical.view")
        return NoteCosignature.objects.filter(progress_note__site__in=sites) | NoteCosignature.objects.filter(
            group_note__site__in=sites
        )


@admin.register(ContactAttempt)
class ContactAttemptAdmin(ReadOnlyAdmin):
    site_path = "patient__site"
    patient_path = "patient"
    list_display = ["public_id", "attempted_at", "channel", "outcome"]


@admin.register(FollowUpPolicy)
class FollowUpPolicyAdmin(ReadOnlyAdmin):
    list_display = [
        "site",
        "consecutive_no_shows_for_review",
        "weekly_attendance_percent",
        "consecutive_absences_for_discharge_review",
        "days_without_contact",
        "outreach_attempts_for_discharge_review",
    ]


@admin.register(CosignRequirement)
class CosignRequirementAdmin(ReadOnlyAdmin):
    list_display = ["user", "site", "is_active", "reason"]
