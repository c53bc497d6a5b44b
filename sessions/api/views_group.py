"""Group notes over the API: list, read, open a draft for a session, edit, sign.

A group note has a shared part and one part per attendee present (``entries``). Each caller
sees only the parts about patients they may see (``group_note_entries_visible_to``), and the
audit event of a read names exactly those patients. Drafts use optimistic concurrency as
progress notes do: GET returns ``ETag: "<version>"``; PUT/PATCH must send it back in
``If-Match`` (428 without it, 412 when the note changed since); signing checks it when sent.
Writes go through ``sessions.services`` (``group_note_start``, ``group_note_update``,
``note_sign``), which audit them.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import django_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import Action
from audit.services import record
from users.api.base import (
    CONFLICT,
    ERRORS_READ,
    ERRORS_WRITE,
    IF_MATCH,
    REAUTHENTICATION,
    AuditedListApi,
    Conflict,
    check_if_match,
    etag_for,
    with_etag,
)
from users.api.permissions import SIGN_OR_EXPORT
from users.permissions import site_ids_for

from .. import selectors, services
from ..models import ENTRY_FIELDS, GroupNote, NoteStatus
from ..permissions import (
    get_group_note_for_user,
    get_session_for_rollcall,
    group_note_addenda_visible_to,
    group_note_entries_visible_to,
    group_notes_visible_to,
    require_clinical,
)
from .serializers import GroupNoteOutput
from .views import PRECONDITIONS

TAG = ["group notes"]
OBJECT_TYPE = "clinical_sessions.GroupNote"
LOCKED = "This group note is signed and locked. Add an addendum to correct or add to it."


def load_group_notes(user, queryset):
    """``queryset`` with everything ``GroupNoteOutput`` shows, in a fixed number of queries:
    the attendee parts and addenda the user may see (``visible_entries``, ``visible_addenda``)."""
    entries = (
        group_note_entries_visible_to(user)
        .select_related("patient", "attendance")
        .prefetch_related("addressed_objectives")
        .order_by("patient__legal_last_name", "patient__legal_first_name", "id")
    )
    addenda = group_note_addenda_visible_to(user).select_related("entry", "author").order_by("signed_at", "id")
    return queryset.select_related("session", "author", "cosignature__cosigned_by").prefetch_related(
        "facilitators",
        Prefetch("entries", queryset=entries, to_attr="visible_entries"),
        Prefetch("addenda", queryset=addenda, to_attr="visible_addenda"),
    )


def reload_group_note(user, note) -> GroupNote:
    return load_group_notes(user, GroupNote.objects.filter(pk=note.pk)).get()


def patients_shown(note) -> list[str]:
    return [str(e.patient.public_id) for e in note.visible_entries]


def audit_group_note_view(request, note) -> None:
    """The one audit event for a response showing one group note: the patients whose parts it held."""
    record(
        Action.VIEW,
        request=request,
        site=note.site_id,
        obj=note,
        changes={"patients": sorted(set(patients_shown(note)))},
    )


def _etag(note) -> str:
    return etag_for(note.version)


def _respond(request, note, *, code=status.HTTP_200_OK) -> Response:
    note = reload_group_note(request.user, note)
    return with_etag(Response(GroupNoteOutput(note).data, status=code), _etag(note))


# --- list and read ------------------------------------------------------------------------------------


class GroupNoteFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(method="filter_patient", help_text="Notes with a part about this patient.")
    session = django_filters.UUIDFilter(field_name="session__public_id")
    status = django_filters.ChoiceFilter(choices=NoteStatus.choices)

    def filter_patient(self, queryset, name, value):
        # Only through parts the caller may see: a hidden patient matches nothing.
        parts = group_note_entries_visible_to(self.request.user).filter(patient__public_id=value)
        return queryset.filter(pk__in=parts.values("group_note_id"))


@extend_schema_view(
    get=extend_schema(
        tags=TAG, operation_id="group_notes_list", responses={200: GroupNoteOutput(many=True), **ERRORS_READ}
    )
)
class GroupNoteListApi(AuditedListApi):
    """Group notes at your sites (``clinical.view``; intake staff 403), each with the attendee
    parts about patients you may see. The audit event names those patients."""

    queryset = GroupNote.objects.none()
    serializer_class = GroupNoteOutput
    filterset_class = GroupNoteFilter
    ordering_fields = ["starts_at", "created_at", "signed_at"]
    ordering = ["-starts_at", "-id"]
    audit_object_type = OBJECT_TYPE

    @staticmethod
    def patients_of(note):
        return patients_shown(note)

    def scoped_queryset(self):
        if not site_ids_for(self.request.user, "clinical.view"):
            raise PermissionDenied
        return load_group_notes(self.request.user, group_notes_visible_to(self.request.user))


class GroupNoteDetailApi(APIView):
    @extend_schema(tags=TAG, operation_id="group_notes_retrieve", responses={200: GroupNoteOutput, **ERRORS_READ})
    def get(self, request, group_note_id):
        note = reload_group_note(request.user, get_group_note_for_user(request.user, group_note_id))
        audit_group_note_view(request, note)
        return with_etag(Response(GroupNoteOutput(note).data), _etag(note))


# --- write ----------------------------------------------------------------------------------------------


class GroupNoteCreateApi(APIView):
    """Open the session's group note: a new draft prefilled from the session (topic, times,
    facilitators) with a part per attendee present (201), or the note it already has (200)."""

    class Input(serializers.Serializer):
        session = serializers.UUIDField()

    @extend_schema(
        tags=TAG,
        operation_id="group_notes_create",
        request=Input,
        responses={
            201: OpenApiResponse(GroupNoteOutput, description="A new draft."),
            200: OpenApiResponse(GroupNoteOutput, description="The session already had its group note."),
            **ERRORS_WRITE,
        },
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        session = get_session_for_rollcall(request.user, data.validated_data["session"], write=True)
        require_clinical(request.user, session.site_id, write=True)
        existed = GroupNote.objects.filter(session=session).exists()
        try:
            note = services.group_note_start(session=session, by=request.user)
        except ValidationError as exc:
            raise serializers.ValidationError({"session": exc.messages}) from None
        return _respond(request, note, code=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


class GroupNoteEntryInput(serializers.Serializer):
    """One attendee part to change; fields left out stay as they are."""

    id = serializers.UUIDField(help_text="The part's id (``entries[].id`` of the note).")
    participation = serializers.CharField(allow_blank=True, required=False, max_length=10000)
    response = serializers.CharField(allow_blank=True, required=False, max_length=10000)
    progress = serializers.CharField(allow_blank=True, required=False, max_length=10000)
    risk_observations = serializers.CharField(allow_blank=True, required=False, max_length=10000)
    objectives = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=50,
        help_text="Open objectives of the attendee's treatment plan that this session addressed (replaces the list).",
    )


class GroupNoteUpdateApi(APIView):
    """Edit a draft: the shared part and attendee parts (by part ``id``). Requires ``If-Match``
    with the ETag of the version edited. Only the note's author or a facilitator edits it;
    parts about patients you may not see cannot be edited. Times must fall on the session's day
    (site time)."""

    class Input(serializers.Serializer):
        topic = serializers.CharField(max_length=160)
        curriculum_module = serializers.CharField(allow_blank=True, max_length=160)
        interventions = serializers.CharField(allow_blank=True, max_length=10000)
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()
        facilitators = serializers.ListField(
            child=serializers.UUIDField(),
            required=False,
            max_length=20,
            help_text="The group's facilitators: ids of active staff of the note's site (replaces the list; "
            "at least one is needed to sign).",
        )
        entries = GroupNoteEntryInput(many=True, required=False, max_length=200)

    SHARED = ("topic", "curriculum_module", "interventions", "starts_at", "ends_at")

    def _shared(self, note, fields: dict) -> dict:
        shared = {name: fields[name] for name in self.SHARED if name in fields}
        day = timezone.localtime(note.session.starts_at, note.site.zone).date()
        first = datetime.combine(day, time.min, tzinfo=note.site.zone)
        after = datetime.combine(day + timedelta(days=1), time.min, tzinfo=note.site.zone)
        errors = {}
        for name in ("starts_at", "ends_at"):
            # Compared as instants: no conversion of an arbitrary input into the site's zone.
            if name in shared and not first <= shared[name] < after:
                errors[name] = [f"The session was on {day:%Y-%m-%d} (site time): give a time on that day."]
        if not errors and shared.get("ends_at", note.ends_at) <= shared.get("starts_at", note.starts_at):
            errors["ends_at"] = ["The end time must be after the start time."]
        if errors:
            raise serializers.ValidationError(errors)
        return shared

    def _entries(self, request, note, rows) -> dict:
        parts = {
            e.public_id: e
            for e in group_note_entries_visible_to(request.user).filter(group_note=note).select_related("attendance")
        }
        wanted_objectives = any(row.get("objectives") is not None for row in rows)
        objectives = (
            selectors.objectives_for_episodes({e.attendance.episode_id for e in parts.values()})
            if wanted_objectives
            else {}
        )
        errors: dict[str, dict] = {}
        out: dict[str, dict] = {}
        for index, row in enumerate(rows):
            entry = parts.get(row["id"])
            if entry is None:
                errors[str(index)] = {"id": ["No such attendee part in this note."]}
                continue
            if str(entry.public_id) in out:
                errors[str(index)] = {"id": ["This part appears twice."]}
                continue
            values = {f: row[f] for f in ENTRY_FIELDS if f in row}
            if row.get("objectives") is not None:
                allowed = {o.public_id: o for o in objectives.get(entry.attendance.episode_id, [])}
                unknown = [str(u) for u in row["objectives"] if u not in allowed]
                if unknown:
                    errors[str(index)] = {
                        "objectives": ["Not an open objective of this attendee's treatment plan: " + ", ".join(unknown)]
                    }
                    continue
                values["objectives"] = [allowed[u] for u in dict.fromkeys(row["objectives"])]
            out[str(entry.public_id)] = values
        if errors:
            raise serializers.ValidationError({"entries": errors})
        return out

    def _facilitators(self, note, ids) -> list | None:
        if ids is None:
            return None
        staff = {u.public_id: u for u in selectors.facilitator_choices(note.site).filter(public_id__in=ids)}
        unknown = [str(i) for i in dict.fromkeys(ids) if i not in staff]
        if unknown:
            raise serializers.ValidationError(
                {"facilitators": ["Not an active staff member of this note's site: " + ", ".join(unknown)]}
            )
        return [staff[i] for i in dict.fromkeys(ids)]

    def _update(self, request, group_note_id, *, partial: bool):
        note = get_group_note_for_user(request.user, group_note_id, write=True)
        check_if_match(request, _etag(note), required=True)
        if note.is_signed:
            raise Conflict(LOCKED)
        data = self.Input(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        if note.author_id != request.user.pk and not note.facilitators.filter(pk=request.user.pk).exists():
            raise PermissionDenied("Only the author or a facilitator of the session edits this draft.")
        fields = data.validated_data
        note = services.group_note_update(
            note=note,
            by=request.user,
            version=note.version,
            shared=self._shared(note, fields),
            entries=self._entries(request, note, fields.get("entries", [])),
            facilitators=self._facilitators(note, fields.get("facilitators")),
        )
        return _respond(request, note)

    @extend_schema(
        tags=TAG,
        operation_id="group_notes_replace",
        parameters=[IF_MATCH],
        request=Input,
        responses={200: GroupNoteOutput, **ERRORS_WRITE, **CONFLICT, **PRECONDITIONS},
    )
    def put(self, request, group_note_id):
        return self._update(request, group_note_id, partial=False)

    @extend_schema(
        tags=TAG,
        operation_id="group_notes_update",
        parameters=[IF_MATCH],
        request=Input,
        responses={200: GroupNoteOutput, **ERRORS_WRITE, **CONFLICT, **PRECONDITIONS},
    )
    def patch(self, request, group_note_id):
        return self._update(request, group_note_id, partial=True)


# How the API words an attendee part's issue: by field, naming no patient.
PART_MESSAGES = {
    services.REQUIRED: "Required before signing.",
    services.OTHER_NAME: (
        "Another group member's name appears here. This part is copied into its patient's chart: "
        "refer to other members without naming them."
    ),
    services.NO_OBJECTIVE: (
        "Link at least one open objective of this attendee's treatment plan that the session addressed."
    ),
}


def sign_problems(note) -> dict:
    """What stops the group note from being signed, keyed by field: ``topic``,
    ``curriculum_module``, ``interventions``, ``facilitators``, ``entries`` (a message when the
    parts no longer match the roll, else each part's issues by part id and field: empty, another
    group member's name, no objective linked). Messages name no patient."""
    issues = services.group_note_issues(note)
    errors: dict = {k: [v] for k, v in issues.shared.items() if k != "entries"}
    if "entries" in issues.shared:
        errors["entries"] = [
            "The roll changed since the note was opened, or nobody attended: open it again "
            "(POST group-notes/create/ with the session) to bring the attendee parts in step with the roll."
        ]
        return errors
    parts = {
        str(entry.public_id): {field: [PART_MESSAGES[code]] for field, code in codes.items()}
        for entry, codes in issues.parts
        if codes
    }
    if parts:
        errors["entries"] = parts
    return errors


class GroupNoteSignApi(APIView):
    """Sign a draft (its author only): topic, interventions, at least one facilitator and every
    attendee part filled in; no group member's name in the shared part nor another's in a part
    (each is copied into a chart); each part linked to an open objective of its attendee's plan
    when there are some. The note locks for good; corrections are addenda. ``If-Match`` is
    checked when sent."""

    permission_classes = SIGN_OR_EXPORT

    @extend_schema(
        tags=TAG,
        operation_id="group_notes_sign",
        parameters=[IF_MATCH],
        request=None,
        responses={200: GroupNoteOutput, **ERRORS_WRITE, **REAUTHENTICATION, **CONFLICT, 412: PRECONDITIONS[412]},
    )
    def post(self, request, group_note_id):
        note = get_group_note_for_user(request.user, group_note_id, write=True)
        check_if_match(request, _etag(note), required=False)
        if note.is_signed:
            raise Conflict(LOCKED)
        if note.author_id != request.user.pk:
            raise PermissionDenied("Only the author signs a note; a supervisor co-signs it afterwards.")
        problems = sign_problems(note)
        if problems:
            raise serializers.ValidationError(problems)
        note = services.note_sign(note=note, by=request.user, version=note.version)
        return _respond(request, note)
