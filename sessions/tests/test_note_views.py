"""Note editor, detail, chart copy, co-sign queue, hours and follow-up pages through the client."""

from datetime import timedelta

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from sessions import services
from sessions.models import CosignRequirement, GroupNote, ProgressNote
from users.models import Role

from .conftest import MONDAY
from .factories import roll
from .test_group_notes import TEXTS, fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_group(group, facilitator):
    a, b, c = group.episodes
    roll(group, facilitator, {a: "present", b: "present", c: "no_show"})
    note = fill(services.group_note_start(session=group, by=facilitator), facilitator)
    return services.note_sign(note=note, by=facilitator)


def soap_post(version, plan="Continue", action="save"):
    return {
        "version": version,
        "format": "soap",
        "section_subjective": "S",
        "section_objective": "O",
        "section_assessment": "A",
        "section_plan": plan,
        "action": action,
    }


@pytest.fixture
def draft(group, facilitator):
    ep = group.episodes[0]
    roll(group, facilitator, {ep: "present"})
    return services.progress_note_create(session=group, patient=ep.patient, by=facilitator)


def test_two_editors_with_the_same_version_the_second_is_refused(client_as, draft, facilitator):
    client = client_as(user=facilitator)
    edit = reverse("sessions:progress_note_edit", args=[draft.public_id])
    first = client.post(edit, soap_post(1, plan="First tab"))
    second = client.post(edit, soap_post(1, plan="Second tab"))
    assert first.status_code == 302
    assert second.status_code == 409
    assert "changed by" in second.content.decode() and "not saved" in second.content.decode()
    assert ProgressNote.objects.get(pk=draft.pk).sections["plan"] == "First tab"


def test_the_editor_signs_and_the_detail_shows_signature_and_hash(client_as, draft, facilitator):
    client = client_as(user=facilitator)
    response = client.post(reverse("sessions:progress_note_edit", args=[draft.public_id]), soap_post(1, action="sign"))
    assert response.status_code == 302
    page = client.get(reverse("sessions:progress_note", args=[draft.public_id])).content.decode()
    assert "Signed" in page and "LADC" in page and "verifies" in page and "Late entry" in page


def test_a_missing_section_is_shown_on_its_field_when_signing(client_as, draft, facilitator):
    client = client_as(user=facilitator)
    response = client.post(
        reverse("sessions:progress_note_edit", args=[draft.public_id]), soap_post(1, plan="", action="sign")
    )
    assert response.status_code == 400
    assert "Plan is required before signing" in response.content.decode()


def test_an_addendum_is_added_from_the_detail_page(client_as, draft, facilitator):
    services.progress_note_update(
        note=draft,
        by=facilitator,
        version=1,
        format="soap",
        sections={"subjective": "S", "objective": "O", "assessment": "A", "plan": "P"},
    )
    services.note_sign(note=draft, by=facilitator)
    client = client_as(user=facilitator)
    detail = reverse("sessions:progress_note", args=[draft.public_id])
    assert client.post(detail, {"reason": "Late info", "text": "Patient called."}).status_code == 302
    assert "Patient called." in client.get(detail).content.decode()


def test_the_chart_copy_page_shows_no_other_attendee(client_as, make_staff, signed_group, group):
    # A fixed name: a generated one can share a first name with an attendee ("Blake").
    client = client_as(user=make_staff(Role.CLINICIAN, full_name="Morgan Viewer"))
    alpha = group.episodes[0].patient
    page = client.get(reverse("sessions:patient_group_note", args=[alpha.public_id, signed_group.public_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Shared a trigger at work." in html
    for other in group.episodes[1:]:
        assert other.patient.legal_first_name not in html and other.patient.legal_last_name not in html
    assert not any(t in html for t in TEXTS["Bravo"])
    event = AuditEvent.objects.filter(action=Action.VIEW).latest("id")
    assert event.patient_ref == str(alpha.public_id)


def test_the_chart_copy_of_a_patient_not_in_the_group_is_404(client_as, signed_group, group):
    client = client_as(Role.CLINICIAN)
    absent = group.episodes[2].patient  # no-show: no part in the note
    url = reverse("sessions:patient_group_note", args=[absent.public_id, signed_group.public_id])
    assert client.get(url).status_code == 404


def test_the_group_editor_warns_about_near_identical_parts(client_as, group, facilitator):
    a, b, _ = group.episodes
    roll(group, facilitator, {a: "present", b: "present"})
    same = ("Participated actively.", "Engaged.", "On track.", "None observed.")
    note = fill(
        services.group_note_start(session=group, by=facilitator), facilitator, texts={"Alpha": same, "Bravo": same}
    )
    page = client_as(user=facilitator).get(reverse("sessions:group_note_edit", args=[note.public_id]))
    assert "read nearly the same" in page.content.decode()


def test_the_cosign_queue_lists_supervisees_notes_and_cosigns(client_as, group, facilitator, supervisor, site):
    CosignRequirement.objects.create(user=facilitator, site=site)
    a, b, _ = group.episodes
    roll(group, facilitator, {a: "present", b: "present"})
    note = services.note_sign(
        note=fill(services.group_note_start(session=group, by=facilitator), facilitator), by=facilitator
    )
    client = client_as(user=supervisor)
    queue = client.get(reverse("sessions:cosign_queue")).content.decode()
    assert "Coping with cravings" in queue
    response = client.post(reverse("sessions:cosign", args=["group", note.public_id]), {"next": "queue"})
    assert response.status_code == 302
    assert not GroupNote.objects.awaiting_cosign().exists()
    assert "Coping with cravings" not in client.get(reverse("sessions:cosign_queue")).content.decode()


def test_the_hours_page_shows_weeks_minutes_threshold_and_flags(client_as, group, facilitator, monkeypatch):
    # Seen in the week after the group's (2026-W41), whatever today's date is.
    monkeypatch.setattr("sessions.views.site_today", lambda site: MONDAY + timedelta(days=7))
    ep = group.episodes[0]
    roll(group, facilitator, {ep: "present"})
    page = client_as(Role.CLINICIAN).get(reverse("sessions:patient_hours", args=[ep.patient.public_id]) + "?weeks=8")
    html = page.content.decode()
    assert page.status_code == 200
    assert "2026-W41" in html and "180 min" in html and "540 min" in html and "Under minimum" in html


def test_the_followup_pages_list_no_shows_and_save_a_contact_note(client_as, group, facilitator):
    ep = group.episodes[2]
    roll(group, facilitator, {ep: "no_show"})
    client = client_as(user=facilitator)
    listing = client.get(reverse("sessions:followups")).content.decode()
    assert "same-day outreach" in listing and ep.patient.legal_last_name in listing
    page = reverse("sessions:patient_followup", args=[ep.patient.public_id])
    response = client.post(
        page,
        {
            "attempted_at": "2026-10-05T13:00",
            "channel": "phone",
            "outcome": "left_message",
            "note": "Neutral voicemail.",
        },
    )
    assert response.status_code == 302
    assert "Neutral voicemail." in client.get(page).content.decode()


@pytest.mark.parametrize(
    ("note_format", "sections"),
    [
        ("pirp", ["Problem", "Intervention", "Response", "Plan"]),
        ("sirp", ["Situation", "Intervention", "Response", "Plan"]),
    ],
)
def test_the_pirp_and_sirp_templates_are_offered_and_signed(client_as, draft, facilitator, note_format, sections):
    client = client_as(user=facilitator)
    edit = reverse("sessions:progress_note_edit", args=[draft.public_id])
    assert f'value="{note_format}"' in client.get(edit).content.decode()
    keys = [label.lower() for label in sections]
    data = {"version": 1, "format": note_format, "action": "sign", **{f"section_{k}": k.upper() for k in keys}}
    response = client.post(edit, data)
    assert response.status_code == 302
    note = ProgressNote.objects.get(pk=draft.pk)
    assert note.is_signed and [label for _, label, _ in note.section_rows()] == sections


def _group_post(note, **extra):
    data = {
        "version": note.version,
        "topic": note.topic,
        "curriculum_module": "",
        "start_time": "09:00",
        "end_time": "12:00",
        "interventions": "CBT",
        "facilitators_shown": "True",
        "action": "sign",
    }
    for e in note.entries.all():
        data.update({f"e-{e.public_id}-{f}": getattr(e, f) for f in ("participation", "response", "progress")})
        data[f"e-{e.public_id}-risk_observations"] = e.risk_observations
    return {**data, **extra}


def test_the_group_editor_names_the_facilitators_and_needs_one_to_sign(client_as, group, facilitator):
    a, b, _ = group.episodes
    roll(group, facilitator, {a: "present", b: "present"})
    note = fill(services.group_note_start(session=group, by=facilitator), facilitator)
    client = client_as(user=facilitator)
    edit = reverse("sessions:group_note_edit", args=[note.public_id])
    page = client.get(edit).content.decode()
    assert "Facilitator(s)" in page and f'value="{facilitator.pk}"' in page and "checked" in page
    refused = client.post(edit, _group_post(note))  # nobody ticked
    assert refused.status_code == 400 and "at least one facilitator" in refused.content.decode()
    note = GroupNote.objects.get(pk=note.pk)
    assert note.status == "draft" and not note.facilitators.exists()
    signed = client.post(edit, _group_post(note, facilitators=[facilitator.pk]))
    assert signed.status_code == 302
    note = GroupNote.objects.get(pk=note.pk)
    assert note.is_signed and list(note.facilitators.all()) == [facilitator]


def test_the_group_editor_refuses_another_members_name_naming_the_part(client_as, group, facilitator):
    a, b, _ = group.episodes
    roll(group, facilitator, {a: "present", b: "present"})
    note = fill(services.group_note_start(session=group, by=facilitator), facilitator)
    bravo = note.entries.get(patient=b.patient)
    client = client_as(user=facilitator)
    edit = reverse("sessions:group_note_edit", args=[note.public_id])
    data = _group_post(note, facilitators=[facilitator.pk])
    data[f"e-{bravo.public_id}-progress"] = "Encouraged avery to call a sponsor."
    response = client.post(edit, data)
    body = response.content.decode()
    assert response.status_code == 400 and "another group member&#x27;s name appears in Progress" in body
    assert not GroupNote.objects.get(pk=note.pk).is_signed
