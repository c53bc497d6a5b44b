"""``AuditedAdminMixin``: every Django admin page that opens, saves or deletes a record is
audited (``Action.ADMIN``), and a site admin who is staff sees only their own sites' rows.

Apply it first in the bases of every ``ModelAdmin``::

    class RoomAdmin(AuditedAdminMixin, admin.ModelAdmin): ...

Scoping: superusers see everything. Other staff (site admins) see rows whose site is one
where they hold ``site.change``; the path from the model to its site is inferred (``site``,
or through ``patient``, ``episode``, ``session``, ``track``, ``plan``; users, and their API
tokens, through their memberships). A model with no path to a site is shown to superusers
only. Admins that scope their own queryset more tightly (patients' read-only admin) keep
their rule as well.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist

from audit.models import Action
from audit.services import record

from .models import ApiToken, Site, User
from .permissions import site_ids_for

_SITE_PATHS = ("site", "patient__site", "episode__site", "session__site", "track__site", "plan__site")


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


class AuditedAdminMixin:
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        path = site_path_for(self.model)
        if path is None:
            return queryset.none()
        scoped = queryset.filter(**{f"{path}__in": site_ids_for(request.user, "site.change")})
        return scoped.distinct() if "__" in path else scoped

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
