"""Read-only admin for clinical records (they change only through the services, audited and
validated); the per-site instrument settings are edited here, through their service."""

from django import forms
from django.contrib import admin

from users.admin_audit import AuditedAdminMixin
from users.permissions import site_ids_for

from . import services
from .models import AnalyteResult, AssessmentResponse, InstrumentSetting, Medication, Placement, Specimen


class ReadOnlyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Like every clinical admin: shown to those who read clinical records at a site, scoped to
    those sites (a superuser's flag alone gives no clinical access; site admins have none)."""

    raw_id_fields = ["patient"]
    site_path = "site"

    def has_view_permission(self, request, obj=None):
        return bool(site_ids_for(request.user, "clinical.view"))

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_queryset(self, request):
        sites = site_ids_for(request.user, "clinical.view")
        return super().get_queryset(request).filter(**{f"{self.site_path}__in": sites})

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
    list_display = ["collected_at", "site", "specimen_type", "observed", "forensic", "validity", "reviewed_at"]
    list_filter = ["specimen_type", "validity", "forensic", "site"]


@admin.register(AnalyteResult)
class AnalyteResultAdmin(ReadOnlyAdmin):
    raw_id_fields = ["specimen"]
    site_path = "specimen__site"
    list_display = ["specimen", "analyte", "method", "result", "cutoff", "expectation"]
    list_filter = ["analyte", "result", "expectation"]


@admin.register(Medication)
class MedicationAdmin(ReadOnlyAdmin):
    list_display = ["name", "site", "medication_class", "agent", "start_date", "stop_date"]
    list_filter = ["medication_class", "agent", "site"]


FIXED_BY_THE_INSTRUMENT = (
    "Choose, per site, which instruments staff can administer to patients and how often each is "
    "due again. Items, scoring, bands and safety rules (PHQ-9 item 9 raising a safety alert and a "
    "C-SSRS screen, C-SSRS risk levels) are fixed by the instrument and cannot be changed here. "
    "A site with no setting for an instrument offers it on the built-in cadence."
)


class InstrumentSettingForm(forms.ModelForm):
    class Meta:
        model = InstrumentSetting
        fields = ["site", "instrument", "enabled", "reassessment_interval_days"]


@admin.register(InstrumentSetting)
class InstrumentSettingAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Per-site instrument settings. A site admin sees and sets only their own sites' rows
    (the mixin's queryset, and the site choices below); saving goes through
    ``services.instrument_setting_save``, which audits before and after."""

    form = InstrumentSettingForm
    site_admin_can = frozenset({"view", "add", "change"})
    list_display = ["instrument", "site", "enabled", "interval"]
    # Only the sites of the rows shown, so a site admin's filter does not list other sites.
    list_filter = [("site", admin.RelatedOnlyFieldListFilter), "enabled", "instrument"]
    list_select_related = ["site"]
    fieldsets = [
        (
            None,
            {
                "fields": ["site", "instrument", "enabled", "reassessment_interval_days"],
                "description": FIXED_BY_THE_INSTRUMENT,
            },
        )
    ]

    @admin.display(description="re-administration interval")
    def interval(self, obj: InstrumentSetting) -> str:
        if obj.reassessment_interval_days:
            return f"every {obj.reassessment_interval_days} days"
        return "built-in cadence"

    def get_readonly_fields(self, request, obj=None):
        return ["site", "instrument"] if obj else []

    def save_model(self, request, obj, form, change):
        saved = services.instrument_setting_save(
            site=obj.site,
            instrument_code=obj.instrument,
            enabled=form.cleaned_data["enabled"],
            reassessment_interval_days=form.cleaned_data["reassessment_interval_days"],
            by=request.user,
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None):
        return False  # back to the defaults: offered, built-in cadence
