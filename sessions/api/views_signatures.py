"""After signing: co-signatures (and the queue of notes awaiting mine) and addenda.

A supervisee's signed note (``requires_cosign``) waits for a clinical supervisor of its site
(``note.cosign``) other than its author; the co-signature is a row of its own and the note is
untouched. A signed note is corrected or added to by a signed addendum (``clinical.write``); on
a group note an addendum may concern one attendee's part. Writes go through
``sessions.services`` (``note_cosign``, ``note_add_addendum``), which audit them.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from users.api.base import CONFLICT, ERRORS_READ, ERRORS_WRITE, REAUTHENTICATION, Conflict, audit_listing
from users.api.permissions import SIGN_OR_EXPORT
from users.permissions import has_capability, site_ids_for

from .. import services
from ..models import GroupNote, NoteCosignature, ProgressNote
from ..permissions import (
    get_group_note_for_user,
    get_progress_note_for_user,
    group_note_entries_visible_to,
)
from .serializers import CosignQueueItem, GroupNoteOutput, ProgressNoteOutput
from .views import TAG_NOTES, load_progress_note, note_response
from .views_group import TAG as TAG_GROUP
from .views_group import _respond as group_note_response

TAG_COSIGN = ["co-signature"]


class CosignInput(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class AddendumInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="Why the addendum is added (for example: late entry).")
    text = serializers.CharField(max_length=20000)


class GroupAddendumInput(AddendumInput):
    entry = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="An attendee part of the note: the addendum concerns that patient only (their chart copy).",
    )


def _cosign(request, note) -> None:
    """Refusals before the service: 403 without ``note.cosign`` at the note's site or for its
    own author; 409 when the note is not awaiting a co-signature."""
    if not has_capability(request.user, note.site_id, "note.cosign"):
        raise PermissionDenied("Only a clinical supervisor of this site co-signs notes.")
    if note.author_id == request.user.pk:
        raise PermissionDenied("A note cannot be co-signed by its own author.")
    if not note.is_signed or not note.requires_cosign:
        raise Conflict("This note is not awaiting a co-signature.")
    field = "progress_note" if isinstance(note, ProgressNote) else "group_note"
    if NoteCosignature.objects.filter(**{field: note}).exists():
        raise Conflict("This note was already co-signed.")
    data = CosignInput(data=request.data)
    data.is_valid(raise_exception=True)
    services.note_cosign(note=note, by=request.user, comment=data.validated_data["comment"])


def _check_amendable(note) -> None:
    if not note.is_signed:
        raise Conflict("A draft is edited, not amended: addenda are for signed notes.")


# --- progress notes ----------------------------------------------------------------------------------


class ProgressNoteCosignApi(APIView):
    """Co-sign a supervisee's signed progress note (a clinical supervisor of its site, not its author)."""

    permission_classes = SIGN_OR_EXPORT

    @extend_schema(
        tags=TAG_COSIGN,
        operation_id="notes_cosign",
        request=CosignInput,
        responses={200: ProgressNoteOutput, **ERRORS_WRITE, **REAUTHENTICATION, **CONFLICT},
    )
    def post(self, request, note_id):
        note = get_progress_note_for_user(request.user, note_id)
        _cosign(request, note)
        return note_response(load_progress_note(note))


class ProgressNoteAddendumApi(APIView):
    """Add a signed, dated addendum to a signed progress note; the note stays exactly as signed."""

    permission_classes = SIGN_OR_EXPORT

    @extend_schema(
        tags=TAG_NOTES,
        operation_id="notes_addendum",
        request=AddendumInput,
        responses={201: ProgressNoteOutput, **ERRORS_WRITE, **REAUTHENTICATION, **CONFLICT},
    )
    def post(self, request, note_id):
        note = get_progress_note_for_user(request.user, note_id, write=True)
        _check_amendable(note)
        data = AddendumInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.note_add_addendum(note=note, by=request.user, **data.validated_data)
        return note_response(load_progress_note(note), code=status.HTTP_201_CREATED)


# --- group notes ----------------------------------------------------------------------------------------


class GroupNoteCosignApi(APIView):
    """Co-sign a supervisee's signed group note (a clinical supervisor of its site, not its author)."""

    permission_classes = SIGN_OR_EXPORT

    @extend_schema(
        tags=TAG_COSIGN,
        operation_id="group_notes_cosign",
        request=CosignInput,
        responses={200: GroupNoteOutput, **ERRORS_WRITE, **REAUTHENTICATION, **CONFLICT},
    )
    def post(self, request, group_note_id):
        note = get_group_note_for_user(request.user, group_note_id)
        _cosign(request, note)
        return group_note_response(request, note)


class GroupNoteAddendumApi(APIView):
    """Add a signed addendum to a signed group note: about the shared part, or (``entry``) about
    one attendee's part, so that only that patient's chart copy shows it."""

    permission_classes = SIGN_OR_EXPORT

    @extend_schema(
        tags=TAG_GROUP,
        operation_id="group_notes_addendum",
        request=GroupAddendumInput,
        responses={201: GroupNoteOutput, **ERRORS_WRITE, **REAUTHENTICATION, **CONFLICT},
    )
    def post(self, request, group_note_id):
        note = get_group_note_for_user(request.user, group_note_id, write=True)
        _check_amendable(note)
        data = GroupAddendumInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        entry_id = fields.pop("entry")
        entry = None
        if entry_id is not None:
            entry = group_note_entries_visible_to(request.user).filter(group_note=note, public_id=entry_id).first()
            if entry is None:
                raise serializers.ValidationError({"entry": ["No such attendee part in this note."]})
        services.note_add_addendum(note=note, by=request.user, entry=entry, **fields)
        return group_note_response(request, note, code=status.HTTP_201_CREATED)


# --- the queue ----------------------------------------------------------------------------------------------


class CosignQueueApi(APIView):
    """Signed notes awaiting my co-signature at the sites where I co-sign (``note.cosign``),
    oldest signature first; my own notes are left out. Group notes are listed without their
    attendees (open the note to read them)."""

    @extend_schema(
        tags=TAG_COSIGN,
        operation_id="cosign_queue",
        responses={200: CosignQueueItem(many=True), **ERRORS_READ},
    )
    def get(self, request):
        sites = site_ids_for(request.user, "note.cosign")
        if not sites:
            raise PermissionDenied
        progress = list(
            ProgressNote.objects.awaiting_cosign()
            .filter(site_id__in=sites)
            .exclude(author=request.user)
            .select_related("patient", "session", "site", "author")
        )
        groups = list(
            GroupNote.objects.awaiting_cosign()
            .filter(site_id__in=sites)
            .exclude(author=request.user)
            .select_related("session", "site", "author")
        )
        items = [_queue_item(n, "progress") for n in progress] + [_queue_item(n, "group") for n in groups]
        items.sort(key=lambda item: (item["signed_at"], str(item["id"])))
        audit_listing(
            request,
            object_type="clinical_sessions.cosign_queue",
            patient_ids=[n.patient.public_id for n in progress],
            site=next(iter(sites)) if len(sites) == 1 else None,
        )
        return Response(CosignQueueItem(items, many=True).data)


def _queue_item(note, kind: str) -> dict:
    patient = note.patient if kind == "progress" else None
    return {
        "kind": kind,
        "id": note.public_id,
        "site": note.site.public_id,
        "session": note.session.public_id,
        "session_starts_at": note.session.starts_at,
        "patient": patient.public_id if patient else None,
        "display_name": patient.display_name if patient else "",
        "topic": note.topic if kind == "group" else "",
        "author": note.author.public_id,
        "signer_name": note.signer_name,
        "signer_credential": note.signer_credential,
        "signed_at": note.signed_at,
        "late_entry": note.late_entry,
    }
