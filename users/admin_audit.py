"""The Django admin's building blocks: what a site admin may do there, derived from their role,
and ``AuditedAdminMixin``, which audits every admin page that opens, saves or deletes a record
(``Action.ADMIN``).

Apply the mixin first in the bases of every ``ModelAdmin``, and declare what a site admin may
do with the model::

    class RoomAdmin(AuditedAdminMixin, admin.ModelAdmin):
        site_admin_can = frozenset({"view", "add", "change"})

**Permissions come from the role, not from Django's permission rows.** A staff member who holds
``site.change`` at a site (a site admin) may do with a model what its admin declares in
``site_admin_can`` (any of "view", "add", "change", "delete"), for rows of their own sites; an
empty declaration (clinical records, the audit trail, the message log) keeps the model out of
their admin altogether. A model with no site (program-wide settings: message templates, the
Part 2 notice) is shown to every site admin it is declared for, and changed only by one who
administers every active site, since a change reaches sites they do not administer. Superusers
keep all they have, and anyone granted explicit Django permissions keeps them: the role adds
to Django's checks, it never removes. ``has_*_permission`` methods a ModelAdmin defines itself
(read-only admins) take precedence over both.

Scoping: superusers see everything. Other staff see rows whose site is one where they hold
``site.change``; the path from the model to its site is inferred (``site``, or through
``patient``, ``episode``, ``session``, ``track``, ``plan``; users, and their API tokens, through
their memberships). A model with no path to a site is shown to superusers only, unless its
admin declares site-admin access (program-wide settings). Admins that scope their own queryset
more tightly (patients' read-only admin) keep their rule as well.

The choices are scoped like the rows: a foreign key (or many-to-many) to a site, or to
something that belongs to a site (rooms, tracks, staff), lists only the admin's own sites'
objects, so a forged POST naming another site's object fails validation on that field; and a
list filter on such a field lists only the values present in the admin's own rows, so a site
admin never learns other sites' names.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.http import HttpResponseRedirect

from audit.models import Action
from audit.services import record

from .models import ApiToken, Site, User
from .permissions import site_ids_for

_SITE_PATHS = ("site", "patient__site", "episode__site", "session__site", "track__site", "plan__site")

#: What a ModelAdmin may declare in ``site_admin_can``.
ADMIN_ACTIONS = frozenset({"view", "add", "change", "delete"})


def site_path_for(model) -> str | None:
    """The ORM path from ``model`` to its Site, or None when it has none."""
    if model is Site:
        return "pk"
    if model is User:
        return "memberships__site"
    if model is ApiToken:  # a token acts at every site of its owner
        return "user__memberships__site"
    for path in _SITE_PATHS:
        current = model
        try:
            for part in path.split("__"):
                current = current._meta.get_field(part).related_model
        except (FieldDoesNotExist, AttributeError):
            continue
        if current is Site:
            return path
    return None


def admin_site_ids(user) -> set[int]:
    """The sites a user administers (holds ``site.change`` at), for the admin."""
    if not getattr(user, "is_active", False) or not getattr(user, "is_staff", False):
        return set()
    return site_ids_for(user, "site.change")


def administers_every_site(user) -> bool:
    """True when the user is a site admin of every active site (program-wide settings)."""
    sites = admin_site_ids(user)
    return bool(sites) and not Site.objects.filter(is_active=True).exclude(pk__in=sites).exists()


def scope_queryset(queryset, user):
    """``queryset`` limited to rows of the sites ``user`` administers (superusers: all rows;
    a model with no site: no rows)."""
    if user.is_superuser:
        return queryset
    path = site_path_for(queryset.model)
    if path is None:
        return queryset.none()
    scoped = queryset.filter(**{f"{path}__in": site_ids_for(user, "site.change")})
    return scoped.distinct() if "__" in path else scoped


def _fields_in(message) -> list[str]:
    """The changed fields named in the admin's change message."""
    if not isinstance(message, list):
        return []
    return sorted({f for part in message for f in part.get("changed", {}).get("fields", [])})


class SiteScopedAdminMixin:
    """Role-derived permissions, row scoping and scoped choices; shared by model admins and
    inlines (``AuditedAdminMixin`` adds the audit)."""

    #: What a site admin may do with this model here: a subset of ``ADMIN_ACTIONS``.
    site_admin_can: frozenset[str] = frozenset()

    # --- permissions from the role ---------------------------------------------------------------

    def role_allows(self, request, action: str) -> bool:
        """Whether the user's role (not Django's permission rows) lets them ``action`` this model."""
        assert action in ADMIN_ACTIONS, action
        if action not in self.site_admin_can or not admin_site_ids(request.user):
            return False
        if action != "view" and site_path_for(self.model) is None:
            return administers_every_site(request.user)
        return True

    def has_view_permission(self, request, obj=None):
        return (
            super().has_view_permission(request, obj)
            or self.role_allows(request, "view")
            or self.role_allows(request, "change")
        )

    def has_add_permission(self, request, *args):
        return super().has_add_permission(request, *args) or self.role_allows(request, "add")

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or self.role_allows(request, "change")

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) or self.role_allows(request, "delete")

    # --- rows and choices --------------------------------------------------------------------------

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not request.user.is_superuser and site_path_for(self.model) is None and self.role_allows(request, "view"):
            return queryset  # a program-wide setting, shown to the site admins it is declared for
        return scope_queryset(queryset, request.user)

    def _scoped_choices(self, db_field, request, kwargs):
        if request.user.is_superuser or "queryset" in kwargs:
            return
        related = db_field.remote_field.model
        if site_path_for(related) is None:
            return
        queryset = self.get_field_queryset(None, db_field, request)
        if queryset is None:
            queryset = related._default_manager.all()
        kwargs["queryset"] = scope_queryset(queryset, request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class AuditedAdminMixin(SiteScopedAdminMixin):
    def has_module_permission(self, request):
        return super().has_module_permission(request) or any(
            self.role_allows(request, action) for action in ADMIN_ACTIONS
        )

    def get_list_filter(self, request):
        """A filter on a site (or a site's rooms, tracks, staff) lists only the values in the
        user's own rows, never every site's."""
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser:
            return filters
        scoped = []
        for item in filters:
            if isinstance(item, str):
                try:
                    field = get_fields_from_path(self.model, item)[-1]
                except (FieldDoesNotExist, admin.utils.NotRelationField):
                    field = None
                related = getattr(getattr(field, "remote_field", None), "model", None)
                if related is not None and site_path_for(related) is not None:
                    item = (item, admin.RelatedOnlyFieldListFilter)
            scoped.append(item)
        return scoped

    def _audit(self, request, obj, what: str, changes: dict | None = None) -> None:
        site = None
        path = site_path_for(type(obj)) if obj is not None else None
        if path == "site":
            site = getattr(obj, "site_id", None)
        elif path == "pk":
            site = obj.pk
        patient = getattr(obj, "patient", None) if obj is not None else None
        record(
            Action.ADMIN,
            request=request,
            site=site,
            patient=patient if getattr(patient, "public_id", None) else None,
            obj=obj,
            object_type="" if obj is not None else self.model._meta.label,
            reason=what,
            changes=changes or {},
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Saves go through services, which may refuse what the form allowed (a track whose
        # blocks no longer fit, a booking conflict). The admin's transaction has rolled back:
        # say why on the same page instead of answering 500.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            self.message_user(request, "Nothing was saved: " + " ".join(exc.messages), level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and getattr(response, "status_code", None) == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                self._audit(request, obj, "viewed in admin")
        return response

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = sorted(form.changed_data) if form is not None else []
        self._audit(request, obj, "changed in admin" if change else "added in admin", {"fields": changed})
        obj._admin_audited = True

    # Admins that save through a service (rooms, tracks, settings) do not call the save above;
    # the admin logs every save it makes, so the audit is recorded here for them.
    def log_addition(self, request, obj, message):
        if not getattr(obj, "_admin_audited", False):
            self._audit(request, obj, "added in admin", {"fields": _fields_in(message)})
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        if not getattr(obj, "_admin_audited", False):
            self._audit(request, obj, "changed in admin", {"fields": _fields_in(message)})
        return super().log_change(request, obj, message)

    def delete_model(self, request, obj):
        self._audit(request, obj, "deleted in admin")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        record(
            Action.ADMIN,
            request=request,
            object_type=self.model._meta.label,
            reason="bulk delete in admin",
            changes={"ids": [str(getattr(o, "public_id", None) or o.pk) for o in queryset]},
        )
        super().delete_queryset(request, queryset)
