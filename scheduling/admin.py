"""Admin: rooms and closures through the services (which audit and cancel/restore sessions),
tracks' plain fields through ``track_update``; sessions, bookings and enrollments read-only.
Site admins configure rooms, closures and tracks of their sites; sessions, bookings,
enrollments (patients) and time off (staff's own) are not shown to them."""

from django.contrib import admin

from users.admin_audit import AuditedAdminMixin

from . import services
from .models import (
    Booking,
    Closure,
    Enrollment,
    Room,
    StaffAvailability,
    TherapySession,
    TimeOff,
    Track,
    TrackBlock,
)


class ReadOnlyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Room)
class RoomAdmin(AuditedAdminMixin, admin.ModelAdmin):
    site_admin_can = frozenset({"view", "add", "change"})
    list_display = ["name", "site", "capacity", "is_active"]
    list_filter = ["site", "is_active"]
    fields = ["site", "name", "capacity", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        return ["site"] if obj else []

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in ("name", "capacity", "is_active")}
        if change:
            services.room_update(room=obj, by=request.user, **data)
        else:
            saved = services.room_create(site=form.cleaned_data["site"], by=request.user, **data)
            obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Closure)
class ClosureAdmin(AuditedAdminMixin, admin.ModelAdmin):
    site_admin_can = frozenset({"view", "add", "delete"})
    list_display = ["date", "site", "reason"]
    list_filter = ["site"]
    fields = ["site", "date", "reason"]

    def get_readonly_fields(self, request, obj=None):
        return ["site", "date", "reason"] if obj else []

    def save_model(self, request, obj, form, change):
        if not change:
            saved = services.closure_create(by=request.user, **{f: form.cleaned_data[f] for f in self.fields})
            obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.closure_delete(closure=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for closure in queryset:
            services.closure_delete(closure=closure, by=request.user)


class TrackBlockInline(admin.TabularInline):
    model = TrackBlock
    fields = ["weekday", "start_time", "end_time", "kind", "title", "room", "is_active"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Track)
class TrackAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Blocks change in the app's track editor (it validates hours and overlaps as a whole)."""

    site_admin_can = frozenset({"view", "change"})

    list_display = ["name", "site", "level_of_care", "age_group", "capacity", "start_date", "is_active"]
    list_filter = ["site", "level_of_care", "is_active"]
    fields = [
        "site",
        "name",
        "level_of_care",
        "age_group",
        "meeting_days",
        "capacity",
        "start_date",
        "end_date",
        "topics",
        "is_active",
    ]
    readonly_fields = ["site", "level_of_care", "age_group", "meeting_days"]
    inlines = [TrackBlockInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        fields = {f: form.cleaned_data[f] for f in form.changed_data}
        services.track_update(track=obj, by=request.user, **fields)


@admin.register(TherapySession)
class TherapySessionAdmin(ReadOnlyAdmin):
    list_display = ["starts_at", "site", "track", "kind", "topic", "room", "status", "is_exception"]
    list_filter = ["site", "status", "kind"]
    date_hierarchy = "starts_at"


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin):
    list_display = ["resource_key", "starts_at", "ends_at", "is_active"]


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "track", "start_date", "end_date", "is_taper"]
    list_filter = ["track__site"]


@admin.register(StaffAvailability)
class StaffAvailabilityAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Shown to site admins; working hours are set on the app's availability pages (through the
    services, which check overlaps and audit)."""

    site_admin_can = frozenset({"view"})
    list_display = ["user", "site", "weekday", "start_time", "end_time"]
    list_filter = ["site"]


@admin.register(TimeOff)
class TimeOffAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "starts_at", "ends_at", "reason"]
