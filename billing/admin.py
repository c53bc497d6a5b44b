"""Admin: payers, the service catalogue and payer rate tables (program-wide settings, no PHI).

Like the message templates, they belong to no site: every site admin may read them, and one who
administers every active site (or a superuser) may add and change them, since a change reaches
every site's claims. Nothing is deleted: payers and codes are deactivated, rates get an end
date. The models' ``clean`` refuses bad rows (code shapes, revenue codes on institutional
claims, S-codes for Medicare, overlapping rate periods) with the message on the field.

Authorizations and utilization reviews are patient records, recorded on the chart's
Authorizations page through ``billing.services``; they are not in the admin.
"""

from django.contrib import admin

from users.admin_audit import AuditedAdminMixin

from .models import Payer, PayerRate, ServiceCode


class ProgramSettingAdmin(AuditedAdminMixin, admin.ModelAdmin):
    site_admin_can = frozenset({"view", "add", "change"})

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payer)
class PayerAdmin(ProgramSettingAdmin):
    list_display = ["name", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    fields = ["name", "kind", "is_active"]


@admin.register(ServiceCode)
class ServiceCodeAdmin(ProgramSettingAdmin):
    list_display = [
        "code",
        "modifier",
        "claim_type",
        "revenue_code",
        "unit_type",
        "minimum_minutes",
        "description",
        "is_active",
    ]
    list_filter = ["claim_type", "unit_type", "is_active"]
    search_fields = ["code", "description"]
    fields = [
        "code",
        "modifier",
        "claim_type",
        "revenue_code",
        "condition_code",
        "unit_type",
        "unit_minutes",
        "minimum_minutes",
        "description",
        "is_active",
    ]


@admin.register(PayerRate)
class PayerRateAdmin(ProgramSettingAdmin):
    list_display = ["payer", "service_code", "rate", "effective_from", "effective_to"]
    list_filter = ["payer", "service_code"]
    list_select_related = ["payer", "service_code"]
    fields = ["payer", "service_code", "rate", "effective_from", "effective_to"]
