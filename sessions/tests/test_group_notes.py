"""Group notes: a shared part and a required part per attendee present; chart copies hold
only their own patient's part; near-identical parts are flagged before signing."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from sessions import services
from sessions.models import GroupNote, GroupNoteEntry, NoteStatus
from sessions.selectors import group_note_chart_copy, near_identical_entries
from users.models import Role

from .factories import roll

pytestmark = pytest.mark.django_db

TEXTS = {
    "Alpha": ("Shared a trigger at work.", "Receptive to feedback.", "Used urge surfing twice.", "None observed."),
    "Bravo": ("Quiet, spoke once about family.", "Tearful, then calmer.", "Attended two meetings.", "Denies SI."),
}


def fill(note, by, *, texts=TEXTS, interventions="CBT thought records; MI"):
    entries = {}
    for e in note.entries.select_related("patient"):
        p, r, g, k = texts[e.patient.legal_last_name]
        entries[str(e.public_id)] = {"participation": p, "response": r, "progress": g, "risk_observations": k}
    return services.group_note_update(
        note=note,
        by=by,
        version=note.version,
        shared={"topic": "Coping with cravings", "curriculum_module": "RP-3", "interventions": interventions},
        entries=entries,
    )


@pytest.fixture
def note(group, facilitator):
    a, b, c = group.episodes
    roll(group, facilitator, {a: "present", b: ("late", 120), c: "no_show"})
    return services.group_note_start(session=group, by=facilitator)


def test_it_starts_from_the_session_with_a_part_per_attendee_present(note, group, facilitator):
    assert note.topic == group.title and note.starts_at == group.starts_at
    assert list(note.facilitators.all()) == [facilitator]
    parts = {e.patient.legal_last_name: e.minutes_attended for e in note.entries.select_related("patient")}
    assert parts == {"Alpha": 180, "Bravo": 120}


def test_the_roll_must_be_taken_first(group, facilitator):
    with pytest.raises(ValidationError):
        services.group_note_start(session=group, by=facilitator)


def test_every_part_is_required_to_sign(note, facilitator):
    note = fill(note, facilitator)
    entry = note.entries.first()
    services.group_note_update(
        note=note,
        by=facilitator,
        version=note.version,
        shared={},
        entries={str(entry.public_id): {"risk_observations": ""}},
    )
    with pytest.raises(ValidationError) as exc:
        services.note_sign(note=note, by=facilitator)
    assert any("Risk observations" in m for m in exc.value.messages)


def test_signing_locks_the_note_and_its_parts(note, facilitator):
    signed = services.note_sign(note=fill(note, facilitator), by=facilitator)
    assert signed.status == NoteStatus.SIGNED and signed.hash_verifies()
    entry = signed.entries.first()
    entry.participation = "changed"
    with pytest.raises(ValidationError):
        entry.save()


def test_the_hash_covers_each_attendees_part(note, facilitator):
    signed = services.note_sign(note=fill(note, facilitator), by=facilitator)
    GroupNoteEntry.objects.filter(group_note=signed).first()  # read only
    content = signed.content()
    assert len(content["entries"]) == 2
    content["entries"][0]["progress"] = "tampered"
    from sessions.models import content_hash

    assert content_hash(content) != signed.content_hash


@pytest.mark.postgres
def test_postgres_refuses_a_direct_update_of_a_signed_group_notes_part(note, facilitator):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL trigger")
    signed = services.note_sign(note=fill(note, facilitator), by=facilitator)
    with pytest.raises(Exception, match="signed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE clinical_sessions_groupnoteentry SET progress = 'x' WHERE group_note_id = %s", [signed.pk]
            )
    with pytest.raises(Exception, match="signed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE clinical_sessions_groupnote SET topic = 'x' WHERE id = %s", [signed.pk])


def test_the_chart_copy_holds_the_shared_part_and_only_its_patients_part(note, group, facilitator):
    signed = services.note_sign(note=fill(note, facilitator), by=facilitator)
    alpha, bravo = group.episodes[0].patient, group.episodes[1].patient
    copy = group_note_chart_copy(signed, alpha)
    assert copy.topic == "Coping with cravings" and copy.entry.patient == alpha
    rendered = repr(copy.__dict__) + " ".join(str(v) for v in copy.__dict__.values())
    assert "Bravo" not in rendered and bravo.legal_first_name not in rendered
    assert not any(t in rendered for t in TEXTS["Bravo"])


def test_an_addendum_about_one_part_reaches_only_that_patients_copy(note, group, facilitator):
    signed = services.note_sign(note=fill(note, facilitator), by=facilitator)
    bravo_entry = signed.entries.get(patient=group.episodes[1].patient)
    services.note_add_addendum(
        note=signed, by=facilitator, reason="Late info", text="Bravo called after group.", entry=bravo_entry
    )
    services.note_add_addendum(note=signed, by=facilitator, reason="Correction", text="Room was changed.")
    alpha_copy = group_note_chart_copy(signed, group.episodes[0].patient)
    bravo_copy = group_note_chart_copy(signed, group.episodes[1].patient)
    assert [a.text for a in alpha_copy.addenda] == ["Room was changed."]
    assert [a.text for a in bravo_copy.addenda] == ["Bravo called after group.", "Room was changed."]


def test_near_identical_parts_are_flagged_but_signing_is_not_blocked(note, facilitator):
    same = ("Participated actively.", "Engaged well.", "Progressing toward goals.", "None observed.")
    near = ("Participated actively!", "Engaged well.", "Progressing toward goals.", "None observed.")
    note = fill(note, facilitator, texts={"Alpha": same, "Bravo": near})
    pairs = near_identical_entries(list(note.entries.select_related("patient")))
    assert len(pairs) == 1 and pairs[0].ratio >= 0.9
    assert services.note_sign(note=note, by=facilitator).is_signed


def test_distinct_parts_are_not_flagged(note, facilitator):
    note = fill(note, facilitator)
    assert near_identical_entries(list(note.entries.all())) == []


def test_a_stale_group_edit_is_refused(note, facilitator):
    fill(note, facilitator)
    with pytest.raises(services.NoteConflict):
        services.group_note_update(note=note, by=facilitator, version=1, shared={"topic": "Other"}, entries={})


def test_a_changed_roll_updates_the_drafts_parts(note, group, facilitator):
    a, b, c = group.episodes
    roll(group, facilitator, {a: "present", b: "no_show", c: "present"})
    services.group_note_start(session=group, by=facilitator)
    names = sorted(e.patient.legal_last_name for e in note.entries.select_related("patient"))
    assert names == ["Alpha", "Charlie"]


# --- Facilitators and names (DOMAIN.md §7: "One shared section (topic, curriculum module,
# facilitator(s) …)"; "Never place another patient's name in a chart copy.") --------------------


def test_a_group_note_without_a_facilitator_is_not_signed(note, facilitator):
    note = fill(note, facilitator)
    note = services.group_note_update(
        note=note, by=facilitator, version=note.version, shared={}, entries={}, facilitators=[]
    )
    with pytest.raises(ValidationError) as exc:
        services.note_sign(note=note, by=facilitator)
    assert any("facilitator" in m for m in exc.value.messages)
    assert "facilitators" in services.group_note_problems(note)


def test_facilitators_are_active_staff_of_the_site(note, facilitator, make_staff, other_site):
    elsewhere = make_staff(Role.CLINICIAN, at=other_site)
    with pytest.raises(ValidationError) as exc:
        services.group_note_update(
            note=note, by=facilitator, version=note.version, shared={}, entries={}, facilitators=[elsewhere]
        )
    assert "facilitators" in exc.value.message_dict
    colleague = make_staff(Role.CLINICIAN)
    note = services.group_note_update(
        note=note, by=facilitator, version=note.version, shared={}, entries={}, facilitators=[colleague]
    )
    assert list(note.facilitators.all()) == [colleague]


def _with_part(note, by, last_name, **values):
    entry = note.entries.get(patient__legal_last_name=last_name)
    return services.group_note_update(
        note=note, by=by, version=note.version, shared={}, entries={str(entry.public_id): values}
    )


@pytest.mark.parametrize(
    "text",
    [
        "Gave Avery feedback about cravings.",  # legal first name
        "Disagreed with alpha about meetings.",  # legal last name, any case
        "Sat next to Avery Alpha.",
        "Thanked AVERY's sponsor.",
        "Spoke with Ace after group.",  # preferred name
    ],
)
def test_another_attendees_name_in_a_part_is_refused(note, group, facilitator, text):
    alpha = group.episodes[0].patient
    alpha.preferred_name = "Ace"
    alpha.save(update_fields=["preferred_name"])
    note = _with_part(fill(note, facilitator), facilitator, "Bravo", participation=text)
    with pytest.raises(ValidationError) as exc:
        services.note_sign(note=note, by=facilitator)
    (message,) = [m for m in exc.value.messages if "name" in m]
    bravo = group.episodes[1].patient
    # The part is named (its own patient, whom the author sees) and the field; whose name it is, not.
    assert bravo.display_name in message and "Participation" in message
    assert "Avery" not in message and "Alpha" not in message and "Ace" not in message
    assert GroupNote.objects.get(pk=note.pk).status == NoteStatus.DRAFT


def test_a_name_inside_another_word_or_the_patients_own_name_is_fine(note, group, facilitator):
    # "alphabet" holds "alpha" and "averyday" holds "avery", not as whole words; Blake Bravo is
    # this part's own patient.
    note = _with_part(
        fill(note, facilitator),
        facilitator,
        "Bravo",
        participation="Blake Bravo sorted the alphabet cards; averyday is not a word.",
    )
    assert services.note_sign(note=note, by=facilitator).is_signed


def test_an_absent_group_members_name_is_refused_too(note, group, facilitator):
    # Casey Charlie was a no-show: on the roll, not an attendee, and still nobody else's business.
    note = _with_part(fill(note, facilitator), facilitator, "Alpha", progress="Asked where Casey was.")
    with pytest.raises(ValidationError):
        services.note_sign(note=note, by=facilitator)


@pytest.mark.parametrize("field", ["topic", "curriculum_module", "interventions"])
def test_a_name_in_the_shared_part_is_refused(note, facilitator, field):
    note = fill(note, facilitator)
    note = services.group_note_update(
        note=note, by=facilitator, version=note.version, shared={field: "Blake's story of recovery"}, entries={}
    )
    problems = services.group_note_problems(note)
    assert field in problems and "Blake" not in problems[field]
    with pytest.raises(ValidationError):
        services.note_sign(note=note, by=facilitator)


def test_an_addendum_naming_another_member_is_refused(note, group, facilitator):
    signed = services.note_sign(note=fill(note, facilitator), by=facilitator)
    bravo_entry = signed.entries.get(patient=group.episodes[1].patient)
    with pytest.raises(ValidationError) as exc:
        services.note_add_addendum(
            note=signed, by=facilitator, reason="Late info", text="Talked with Avery after group.", entry=bravo_entry
        )
    assert "text" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.note_add_addendum(note=signed, by=facilitator, reason="Correction", text="Blake arrived late.")
    services.note_add_addendum(
        note=signed, by=facilitator, reason="Late info", text="Blake called after group.", entry=bravo_entry
    )
