"""Drafts, optimistic locking, signing, immutability, content hash, late entry, addenda, co-signing."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from audit.models import Action, AuditEvent
from sessions import services
from sessions.models import CosignRequirement, NoteCosignature, NoteStatus, ProgressNote, SignedNoteLocked
from users.models import Role

from .factories import roll

pytestmark = pytest.mark.django_db

SOAP = {
    "subjective": "Reports cravings lower.",
    "objective": "Engaged, on time.",
    "assessment": "Stable.",
    "plan": "Continue.",
}


@pytest.fixture
def note(group, facilitator):
    ep = group.episodes[0]
    roll(group, facilitator, {ep: "present"})
    return services.progress_note_create(session=group, patient=ep.patient, by=facilitator, format="soap")


def sign(note, by):
    note = services.progress_note_update(note=note, by=by, version=note.version, format="soap", sections=SOAP)
    return services.note_sign(note=note, by=by, version=note.version)


def test_a_note_needs_the_patient_to_have_attended(group, facilitator):
    ep = group.episodes[0]
    roll(group, facilitator, {ep: "no_show"})
    with pytest.raises(ValidationError):
        services.progress_note_create(session=group, patient=ep.patient, by=facilitator)


def test_sections_are_validated_against_the_format(note, facilitator):
    with pytest.raises(ValidationError):
        services.progress_note_update(note=note, by=facilitator, version=1, format="soap", sections={"behavior": "x"})
    updated = services.progress_note_update(note=note, by=facilitator, version=1, format="dap", sections={"data": "x"})
    assert updated.sections == {"data": "x", "assessment": "", "plan": ""}


def test_every_section_is_required_to_sign(note, facilitator):
    services.progress_note_update(note=note, by=facilitator, version=1, format="soap", sections={**SOAP, "plan": ""})
    with pytest.raises(ValidationError) as exc:
        services.note_sign(note=note, by=facilitator, version=2)
    assert "plan" in exc.value.error_dict
    assert ProgressNote.objects.get(pk=note.pk).status == NoteStatus.DRAFT


def test_a_stale_edit_is_refused_with_a_conflict_and_nothing_is_overwritten(note, facilitator):
    services.progress_note_update(note=note, by=facilitator, version=1, format="soap", sections={"plan": "First"})
    with pytest.raises(services.NoteConflict) as exc:
        services.progress_note_update(note=note, by=facilitator, version=1, format="soap", sections={"plan": "Second"})
    assert "changed by" in exc.value.messages[0] and "not saved" in exc.value.messages[0]
    assert ProgressNote.objects.get(pk=note.pk).sections["plan"] == "First"


def test_signing_locks_the_note_and_records_signer_credential_time_and_hash(note, facilitator):
    signed = sign(note, facilitator)
    assert signed.status == NoteStatus.SIGNED
    assert signed.signed_by == facilitator and signed.signer_credential == "LADC"
    assert signed.signed_at is not None and len(signed.content_hash) == 64
    assert signed.hash_verifies()
    event = AuditEvent.objects.filter(action=Action.SIGN).get()
    assert event.patient_ref == str(note.patient.public_id)


def test_the_service_refuses_to_edit_or_resign_a_signed_note(note, facilitator):
    signed = sign(note, facilitator)
    with pytest.raises(SignedNoteLocked):
        services.progress_note_update(note=signed, by=facilitator, version=signed.version, format="soap", sections=SOAP)
    with pytest.raises(SignedNoteLocked):
        services.note_sign(note=signed, by=facilitator)


def test_the_model_refuses_to_save_a_signed_note(note, facilitator):
    signed = sign(note, facilitator)
    signed.sections = {**SOAP, "plan": "Changed"}
    with pytest.raises(SignedNoteLocked):
        signed.save()


def test_the_content_hash_detects_a_change(note, facilitator):
    signed = sign(note, facilitator)
    signed.sections = {**SOAP, "plan": "Tampered"}
    assert not signed.hash_verifies()


@pytest.mark.postgres
def test_postgres_refuses_a_direct_sql_update_of_a_signed_note(note, facilitator):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL trigger")
    signed = sign(note, facilitator)
    with pytest.raises(Exception, match="signed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE clinical_sessions_progressnote SET sections = '{}' WHERE id = %s", [signed.pk])
    with pytest.raises(Exception, match="signed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM clinical_sessions_progressnote WHERE id = %s", [signed.pk])
    assert ProgressNote.objects.get(pk=signed.pk).sections == SOAP


@pytest.mark.postgres
def test_postgres_still_allows_editing_a_draft(note, facilitator):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL trigger")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE clinical_sessions_progressnote SET version = 7 WHERE id = %s", [note.pk])
    assert ProgressNote.objects.get(pk=note.pk).version == 7


def test_only_the_author_signs(note, facilitator, make_staff):
    other = make_staff(Role.CLINICIAN)
    services.progress_note_update(note=note, by=facilitator, version=1, format="soap", sections=SOAP)
    with pytest.raises(ValidationError):
        services.note_sign(note=note, by=other)


@override_settings(NOTE_LATE_ENTRY_HOURS=24)
def test_a_note_signed_over_24_hours_after_the_session_is_a_late_entry(note, facilitator, group):
    # The session (5 October) ended long before now.
    assert timezone.now() - group.ends_at > timedelta(hours=24)
    assert sign(note, facilitator).late_entry


@override_settings(NOTE_LATE_ENTRY_HOURS=24)
def test_a_note_signed_within_24_hours_is_not_late(note, facilitator, group):
    from scheduling.models import TherapySession

    TherapySession.objects.filter(pk=group.pk).update(
        starts_at=timezone.now() - timedelta(hours=4), ends_at=timezone.now() - timedelta(hours=1)
    )
    assert not sign(note, facilitator).late_entry


def test_addenda_are_signed_dated_and_leave_the_original_unchanged(note, facilitator):
    signed = sign(note, facilitator)
    addendum = services.note_add_addendum(note=signed, by=facilitator, reason="Late information", text="Called back.")
    assert addendum.author_credential == "LADC" and addendum.hash_verifies()
    fresh = ProgressNote.objects.get(pk=signed.pk)
    assert fresh.sections == SOAP and fresh.hash_verifies()
    with pytest.raises(SignedNoteLocked):
        addendum.text = "edited"
        addendum.save()


def test_a_draft_takes_no_addendum(note, facilitator):
    with pytest.raises(ValidationError):
        services.note_add_addendum(note=note, by=facilitator, reason="x", text="y")


def test_a_supervisees_note_awaits_cosign_until_a_supervisor_cosigns(note, facilitator, supervisor, site):
    services.cosign_requirement_set(user=facilitator, site=site, required=True, by=supervisor, reason="intern")
    signed = sign(note, facilitator)
    assert signed.requires_cosign
    assert list(ProgressNote.objects.awaiting_cosign()) == [signed]
    cosignature = services.note_cosign(note=signed, by=supervisor, comment="Reviewed.")
    assert cosignature.note_hash == signed.content_hash
    assert not ProgressNote.objects.awaiting_cosign().exists()
    # The note row itself did not change.
    assert ProgressNote.objects.get(pk=signed.pk).content_hash == signed.content_hash
    with pytest.raises(ValidationError):
        services.note_cosign(note=signed, by=supervisor)


def test_a_note_by_someone_without_the_requirement_needs_no_cosign(note, facilitator, supervisor):
    signed = sign(note, facilitator)
    assert not signed.requires_cosign
    with pytest.raises(ValidationError):
        services.note_cosign(note=signed, by=supervisor)


def test_only_a_supervisor_cosigns(note, facilitator, site, supervisor, make_staff):
    CosignRequirement.objects.create(user=facilitator, site=site)
    signed = sign(note, facilitator)
    with pytest.raises(ValidationError):
        services.note_cosign(note=signed, by=make_staff(Role.CLINICIAN))
    assert not NoteCosignature.objects.exists()


@pytest.mark.postgres
def test_postgres_refuses_to_change_a_cosignature(note, facilitator, site, supervisor):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL trigger")
    CosignRequirement.objects.create(user=facilitator, site=site)
    cosignature = services.note_cosign(note=sign(note, facilitator), by=supervisor)
    with pytest.raises(Exception, match="signed records"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE clinical_sessions_notecosignature SET comment = 'x' WHERE id = %s", [cosignature.pk])
