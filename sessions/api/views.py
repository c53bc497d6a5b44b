"""Roll-call and progress notes over the API.

Roll-call goes through ``sessions.services.attendance_record_roster`` (all rows or none).
Notes use optimistic concurrency: GET returns ``ETag: "<version>"``; PUT/PATCH must send it
back in ``If-Match`` (428 without it, 412 when the note changed since), and so may signing.
A signed note is locked: changing or signing it again answers 409. Group notes are in
``views_group``; co-signatures, the co-sign queue and addenda in ``views_signatures``.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.models import Patient
from users.api.base import (
    CONFLICT,
    ERRORS_READ,
    ERRORS_WRITE,
    IF_MATCH,
    REAUTHENTICATION,
    AuditedListApi,
    ErrorSerializer,
    audit_listing,
    audit_view,
    check_if_match,
    etag_for,
    with_etag,
)
from users.api.permissions import SIGN_OR_EXPORT
from users.permissions import site_ids_for

from .. import selectors, services
from ..models import Attendance, AttendanceStatus, NoteAddendum, NoteFormat, NoteStatus, ProgressNote
from ..permissions import (
    get_progress_note_for_user,
    get_session_for_rollcall,
    progress_notes_visible_to,
    require_clinical,
)
from .serializers import AttendanceOutput, ProgressNoteOutput

TAG_ROLL = ["attendance"]
TAG_NOTES = ["notes"]
PRECONDITIONS = {
    412: OpenApiResponse(ErrorSerializer, description="The note changed since your GET (stale ETag)."),
    428: OpenApiResponse(ErrorSerializer, description="If-Match is required."),
}


# --- roll-call ------------------------------------------------------------------------------------


class AttendanceListApi(APIView):
    """The roll recorded for one session (facilitators and clinical staff)."""

    @extend_schema(
        tags=TAG_ROLL, operation_id="attendance_list", responses={200: AttendanceOutput(many=True), **ERRORS_READ}
    )
    def get(self, request, session_id):
        session = get_session_for_rollcall(request.user, session_id)
        rows = list(
            Attendance.objects.filter(session=session)
            .select_related("patient", "session")
            .order_by("patient__legal_last_name", "patient__legal_first_name", "id")
        )
        audit_listing(
            request,
            object_type="clinical_sessions.Attendance",
            patient_ids=[a.patient.public_id for a in rows],
            site=session.site_id,
        )
        return Response(AttendanceOutput(rows, many=True).data)


class AttendanceRecordApi(APIView):
    """Bulk roll-call: every row validates or nothing is saved (400 with ``rows`` errors by index)."""

    class Row(serializers.Serializer):
        patient = serializers.UUIDField()
        status = serializers.ChoiceField(choices=AttendanceStatus.choices)
        minutes = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=1440)
        late_cancel = serializers.BooleanField(default=False)

    class Input(serializers.Serializer):
        rows = serializers.ListField(min_length=1, max_length=200)

        def validate_rows(self, value):
            rows = AttendanceRecordApi.Row(data=value, many=True)
            rows.is_valid(raise_exception=True)
            return rows.validated_data

    @extend_schema(
        tags=TAG_ROLL,
        operation_id="attendance_record",
        request=Input,
        responses={200: AttendanceOutput(many=True), **ERRORS_WRITE},
    )
    def post(self, request, session_id):
        session = get_session_for_rollcall(request.user, session_id, write=True)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        rows = data.validated_data["rows"]
        patients = {
            p.public_id: p
            for p in Patient.objects.filter(public_id__in=[r["patient"] for r in rows], site_id=session.site_id)
        }
        errors = {}
        inputs = []
        for index, row in enumerate(rows):
            patient = patients.get(row["patient"])
            if patient is None:
                errors[str(index)] = {"patient": ["This patient is not on the session's roster."]}
                continue
            inputs.append(
                services.RowInput(
                    patient=patient, status=row["status"], minutes=row.get("minutes"), late_cancel=row["late_cancel"]
                )
            )
        if errors:
            raise serializers.ValidationError({"rows": errors})
        try:
            saved = services.attendance_record_roster(session=session, rows=inputs, by=request.user)
        except services.RosterErrors as exc:
            raise serializers.ValidationError(
                {"rows": {str(i): {k: [v] for k, v in e.items()} for i, e in exc.row_errors.items()}}
            ) from None
        for attendance in saved:
            attendance.session = session
        return Response(AttendanceOutput(saved, many=True).data)


# --- progress notes ---------------------------------------------------------------------------------


class NoteFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient__public_id")
    session = django_filters.UUIDFilter(field_name="session__public_id")
    status = django_filters.ChoiceFilter(choices=NoteStatus.choices)


@extend_schema_view(
    get=extend_schema(
        tags=TAG_NOTES, operation_id="notes_list", responses={200: ProgressNoteOutput(many=True), **ERRORS_READ}
    )
)
class ProgressNoteListApi(AuditedListApi):
    """Progress notes at your sites (``clinical.view``; intake staff 403)."""

    queryset = ProgressNote.objects.none()
    serializer_class = ProgressNoteOutput
    filterset_class = NoteFilter
    ordering_fields = ["created_at", "signed_at"]
    ordering = ["-created_at", "-id"]
    audit_object_type = "clinical_sessions.ProgressNote"

    @staticmethod
    def patient_of(note):
        return note.patient.public_id

    def scoped_queryset(self):
        if not site_ids_for(self.request.user, "clinical.view"):
            raise PermissionDenied
        return with_note_output(progress_notes_visible_to(self.request.user))


def with_note_output(queryset):
    """``queryset`` with what ``ProgressNoteOutput`` shows, in a fixed number of queries."""
    addenda = NoteAddendum.objects.select_related("author", "entry").order_by("signed_at", "id")
    return queryset.select_related("session", "patient", "author", "cosignature__cosigned_by").prefetch_related(
        Prefetch("addenda", queryset=addenda), "addressed_objectives"
    )


def load_progress_note(note) -> ProgressNote:
    return with_note_output(ProgressNote.objects.filter(pk=note.pk)).get()


def note_response(note, *, code=status.HTTP_200_OK) -> Response:
    return with_etag(Response(ProgressNoteOutput(note).data, status=code), _etag(note))


def _etag(note) -> str:
    return etag_for(note.version)


def _require_author(request, note, message: str) -> None:
    if note.author_id != request.user.pk:
        raise PermissionDenied(message)


class ProgressNoteDetailApi(APIView):
    @extend_schema(
        tags=TAG_NOTES,
        operation_id="notes_retrieve",
        responses={200: ProgressNoteOutput, **ERRORS_READ},
    )
    def get(self, request, note_id):
        note = load_progress_note(get_progress_note_for_user(request.user, note_id))
        audit_view(request, patient=note.patient, obj=note, site=note.site_id)
        return note_response(note)


class ProgressNoteCreateApi(APIView):
    """Start a draft about a patient who attended the session (roll-call first)."""

    class Input(serializers.Serializer):
        session = serializers.UUIDField()
        patient = serializers.UUIDField()
        format = serializers.ChoiceField(choices=NoteFormat.choices, default=NoteFormat.SOAP)
        sections = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)

    @extend_schema(
        tags=TAG_NOTES, operation_id="notes_create", request=Input, responses={201: ProgressNoteOutput, **ERRORS_WRITE}
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        session = get_session_for_rollcall(request.user, fields.pop("session"))
        require_clinical(request.user, session.site, write=True)
        patient = Patient.objects.active().filter(public_id=fields.pop("patient"), site_id=session.site_id).first()
        if patient is None:
            raise serializers.ValidationError({"patient": ["No such patient at this session's site."]})
        note = services.progress_note_create(session=session, patient=patient, by=request.user, **fields)
        return note_response(load_progress_note(note), code=status.HTTP_201_CREATED)


class ProgressNoteUpdateApi(APIView):
    """Edit a draft (its author only). Requires ``If-Match`` with the ETag of the version edited."""

    class Input(serializers.Serializer):
        format = serializers.ChoiceField(choices=NoteFormat.choices, required=False)
        sections = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
        objectives = serializers.ListField(
            child=serializers.UUIDField(),
            required=False,
            max_length=50,
            help_text="Open objectives of the patient's treatment plan that this session addressed (replaces "
            "the list; signing needs at least one when the plan in effect has open objectives).",
        )

    @staticmethod
    def _objectives(note, ids) -> list | None:
        if ids is None:
            return None
        allowed = {o.public_id: o for o in selectors.objectives_for_episodes([note.episode_id])[note.episode_id]}
        unknown = [str(i) for i in dict.fromkeys(ids) if i not in allowed]
        if unknown:
            raise serializers.ValidationError(
                {"objectives": ["Not an open objective of this patient's treatment plan: " + ", ".join(unknown)]}
            )
        return [allowed[i] for i in dict.fromkeys(ids)]

    def _update(self, request, note_id, *, partial: bool):
        note = get_progress_note_for_user(request.user, note_id, write=True)
        check_if_match(request, _etag(note), required=True)
        data = self.Input(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        if not partial:
            missing = {f: ["This field is required."] for f in ("format", "sections") if f not in data.validated_data}
            if missing:
                raise serializers.ValidationError(missing)
        if not note.is_signed:  # a signed note answers 409 from the service, whoever asks
            _require_author(request, note, "Only the author edits a draft note.")
        note = services.progress_note_update(
            note=note,
            by=request.user,
            version=note.version,
            format=data.validated_data.get("format", note.format),
            sections=data.validated_data.get("sections", note.sections),
            objectives=self._objectives(note, data.validated_data.get("objectives")),
        )
        return note_response(load_progress_note(note))

    @extend_schema(
        tags=TAG_NOTES,
        operation_id="notes_replace",
        parameters=[IF_MATCH],
        request=Input,
        responses={200: ProgressNoteOutput, **ERRORS_WRITE, **CONFLICT, **PRECONDITIONS},
    )
    def put(self, request, note_id):
        return self._update(request, note_id, partial=False)

    @extend_schema(
        tags=TAG_NOTES,
        operation_id="notes_update",
        parameters=[IF_MATCH],
        request=Input,
        responses={200: ProgressNoteOutput, **ERRORS_WRITE, **CONFLICT, **PRECONDITIONS},
    )
    def patch(self, request, note_id):
        return self._update(request, note_id, partial=True)


class ProgressNoteSignApi(APIView):
    """Sign a draft (its author only; every section filled in; at least one objective linked when
    the patient's plan in effect has open objectives). The note locks for good (409 on any later
    change or second signature); corrections are addenda. ``If-Match`` is checked when sent."""

    permission_classes = SIGN_OR_EXPORT

    @extend_schema(
        tags=TAG_NOTES,
        operation_id="notes_sign",
        parameters=[IF_MATCH],
        request=None,
        responses={200: ProgressNoteOutput, **ERRORS_WRITE, **REAUTHENTICATION, **CONFLICT, 412: PRECONDITIONS[412]},
    )
    def post(self, request, note_id):
        note = get_progress_note_for_user(request.user, note_id, write=True)
        check_if_match(request, _etag(note), required=False)
        if not note.is_signed:
            _require_author(request, note, "Only the author signs a note; a supervisor co-signs it afterwards.")
        note = services.note_sign(note=note, by=request.user, version=note.version)
        return note_response(load_progress_note(note))
