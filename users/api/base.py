"""Building blocks every app's API uses: audited list views, read auditing, ETag checks.

Every response that carries patient information writes exactly one audit event:
- one object: ``Action.VIEW`` with ``patient=`` and the object;
- a list or search: ``Action.VIEW`` / ``Action.SEARCH`` with ``object_type`` and the public ids
  of the patients on the page in ``changes["patients"]`` (never the search terms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import filters, generics, serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from audit.models import Action
from audit.services import record

# --- errors the API adds to DRF's -------------------------------------------------------------


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state (for example a booked room)."
    default_code = "conflict"


class PreconditionRequired(APIException):
    status_code = 428
    default_detail = "Send If-Match with the ETag from your last GET: changes to this record need it."
    default_code = "precondition_required"


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The record changed since you read it (the ETag does not match). GET it again, then retry."
    default_code = "precondition_failed"


class ErrorSerializer(serializers.Serializer):
    """A refusal: ``detail`` for the whole request, or one list of messages per field name."""

    detail = serializers.CharField(required=False)
    code = serializers.CharField(
        required=False, help_text="A machine-readable reason, when there is one (``reauthentication_required``)."
    )


# Response documentation shared by the views.
ERRORS_READ = {
    401: OpenApiResponse(ErrorSerializer, description="Not signed in, or the token was revoked."),
    403: OpenApiResponse(ErrorSerializer, description="Your role at the record's site does not allow this."),
    404: OpenApiResponse(ErrorSerializer, description="No such record, or not at one of your sites."),
}
ERRORS_WRITE = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Validation failed: messages keyed by field name."),
    **ERRORS_READ,
}
# For writes to records that lock once signed.
CONFLICT = {
    409: OpenApiResponse(
        ErrorSerializer,
        description="The record's state does not allow this (for example it is already signed and locked).",
    )
}
# For signatures and exports: a browser session must have authenticated recently.
REAUTHENTICATION = {
    403: OpenApiResponse(
        ErrorSerializer,
        description="Your role at the record's site does not allow this; or, for a signed-in browser session, "
        "the last sign-in or confirmation is older than REAUTHENTICATION_MINUTES (``code``: "
        "``reauthentication_required``: confirm it's you at /accounts/reauthenticate/, then retry). "
        "API tokens are not asked.",
    )
}
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag of the version you edited (from GET). Required for PUT and PATCH.",
)
ETAG_HEADER = {"ETag": {"description": "The record's version, for If-Match.", "schema": {"type": "string"}}}


# --- auditing reads -----------------------------------------------------------------------------


def audit_view(request, *, patient, obj=None, object_type: str = "", site=None, action: str = Action.VIEW) -> None:
    """The one audit event for a response showing one patient's record (or one object of it)."""
    record(
        action,
        request=request,
        site=site if site is not None else getattr(patient, "site_id", None),
        patient=patient,
        obj=obj,
        object_type=object_type,
    )


def audit_listing(
    request, *, object_type: str, patient_ids: Iterable, action: str = Action.VIEW, site=None, extra=None
) -> None:
    """The one audit event for a list or search response: which patients were shown."""
    shown = sorted({str(pid) for pid in patient_ids if pid})
    if not shown and action != Action.SEARCH:
        return  # nothing identifying was shown
    record(action, request=request, site=site, object_type=object_type, changes={"patients": shown, **(extra or {})})


# --- list views ---------------------------------------------------------------------------------


class AuditedListApi(generics.ListAPIView):
    """A paginated, filterable, orderable list whose queryset each subclass scopes through the
    app's ``*_visible_to(user)``. After pagination, one audit event names the patients shown.

    Subclasses set ``audit_object_type`` and ``patient_of`` (row → patient public id, or None
    when the rows carry no patient data) or ``patients_of`` (row → several patient public ids,
    e.g. a group note's attendees); ``queryset = Model.objects.none()`` and
    ``scoped_queryset()`` (the user's rows).
    """

    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    audit_object_type: str = ""
    patient_of: Callable | None = None
    patients_of: Callable | None = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user
            return self.queryset
        return self.scoped_queryset()

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        shown = None
        if self.patient_of is not None:
            shown = [type(self).patient_of(row) for row in rows]
        elif self.patients_of is not None:
            shown = [pid for row in rows for pid in type(self).patients_of(row)]
        if shown is not None:
            audit_listing(request, object_type=self.audit_object_type, patient_ids=shown, site=self.audit_site())
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def audit_site(self):
        return None


# --- optimistic concurrency -----------------------------------------------------------------------


def etag_for(value) -> str:
    return f'"{value}"'


def check_if_match(request, current_etag: str, *, required: bool) -> None:
    """428 when ``required`` and If-Match is missing; 412 when it names another version."""
    sent = request.headers.get("If-Match")
    if not sent:
        if required:
            raise PreconditionRequired()
        return
    wanted = {tag.strip().removeprefix("W/") for tag in sent.split(",")}
    if "*" in wanted:
        return
    if current_etag not in wanted:
        raise PreconditionFailed()


def with_etag(response: Response, etag: str) -> Response:
    response["ETag"] = etag
    return response


class OutputSerializer(serializers.ModelSerializer):
    """A read-only model serializer whose optional choice fields (``blank=True``: "" means
    "not set") are described as text, so the schema allows the empty value they can hold."""

    def build_standard_field(self, field_name, model_field):
        if getattr(model_field, "choices", None) and model_field.blank:
            return serializers.CharField, {"read_only": True, "help_text": "One of the documented codes, or empty."}
        return super().build_standard_field(field_name, model_field)
