"""Signing a note, an addendum or a co-signature needs a sign-in or confirmation within
REAUTHENTICATION_MINUTES (DOMAIN.md §12): otherwise nothing is signed, a draft keeps what was
typed, and the clinician is sent to confirm it's them and back."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from sessions import services
from sessions.models import CosignRequirement, GroupNote, NoteAddendum, NoteCosignature, NoteStatus, ProgressNote
from tests.fixtures import confirm_with_authenticator, confirm_with_password, make_stale
from users.models import Role

from .factories import roll
from .test_group_notes import fill
from .test_note_views import soap_post

pytestmark = pytest.mark.django_db


def sent_to_confirm(response, back_to: str) -> None:
    assert response.status_code == 302
    url = urlparse(response["Location"])
    assert url.path == reverse("account_reauthenticate")
    assert parse_qs(url.query)["next"] == [back_to]


def signatures() -> int:
    return AuditEvent.objects.filter(action=Action.SIGN).count()


@pytest.fixture
def draft(group, facilitator):
    ep = group.episodes[0]
    roll(group, facilitator, {ep: "present"})
    return services.progress_note_create(session=group, patient=ep.patient, by=facilitator)


def signed(draft, by):
    services.progress_note_update(
        note=draft,
        by=by,
        version=1,
        format="soap",
        sections={"subjective": "S", "objective": "O", "assessment": "A", "plan": "P"},
    )
    return services.note_sign(note=draft, by=by)


def test_a_stale_sign_saves_the_draft_unsigned_and_asks_to_confirm_then_signs(client_as, draft, facilitator):
    client = client_as(user=facilitator)
    make_stale(client)
    edit = reverse("sessions:progress_note_edit", args=[draft.public_id])
    before = signatures()
    response = client.post(edit, soap_post(1, plan="Typed before the window closed", action="sign"))
    sent_to_confirm(response, edit)
    note = ProgressNote.objects.get(pk=draft.pk)
    assert note.status == NoteStatus.DRAFT and note.signed_at is None
    assert note.sections["plan"] == "Typed before the window closed"  # nothing typed is lost
    assert signatures() == before
    page = client.get(response["Location"]).content.decode()
    assert "Confirm it" in page and "draft was saved" in page

    assert confirm_with_password(client, edit)["Location"] == edit
    assert AuditEvent.objects.filter(
        action=Action.LOGIN, actor=facilitator, changes__event="reauthenticated", changes__method="password"
    ).exists()
    response = client.post(edit, soap_post(note.version, plan="Typed before the window closed", action="sign"))
    assert response.status_code == 302 and response["Location"] == reverse(
        "sessions:progress_note", args=[draft.public_id]
    )
    assert ProgressNote.objects.get(pk=draft.pk).status != NoteStatus.DRAFT


def test_saving_a_draft_needs_no_confirmation(client_as, draft, facilitator):
    client = client_as(user=facilitator)
    make_stale(client)
    edit = reverse("sessions:progress_note_edit", args=[draft.public_id])
    response = client.post(edit, soap_post(1, plan="Just saving"))
    assert response.status_code == 302 and response["Location"] == edit
    assert ProgressNote.objects.get(pk=draft.pk).sections["plan"] == "Just saving"


def test_the_authenticator_app_confirms_too(client_as, draft, facilitator):
    client = client_as(user=facilitator)
    make_stale(client)
    edit = reverse("sessions:progress_note_edit", args=[draft.public_id])
    assert client.post(edit, soap_post(1, action="sign")).status_code == 302
    assert ProgressNote.objects.get(pk=draft.pk).status == NoteStatus.DRAFT
    assert confirm_with_authenticator(client, facilitator, edit)["Location"] == edit
    note = ProgressNote.objects.get(pk=draft.pk)
    client.post(edit, soap_post(note.version, action="sign"))
    assert ProgressNote.objects.get(pk=draft.pk).status != NoteStatus.DRAFT


def test_a_stale_group_note_sign_saves_and_does_not_sign(client_as, group, facilitator):
    a, b, _ = group.episodes
    roll(group, facilitator, {a: "present", b: "present"})
    note = fill(services.group_note_start(session=group, by=facilitator), facilitator)
    data = {
        "version": note.version,
        "topic": "Typed topic",
        "curriculum_module": "RP-3",
        "start_time": "09:00",
        "end_time": "12:00",
        "interventions": "CBT",
        "action": "sign",
    }
    for e in note.entries.all():
        for field in ("participation", "response", "progress", "risk_observations"):
            data[f"e-{e.public_id}-{field}"] = getattr(e, field)
    client = client_as(user=facilitator)
    make_stale(client)
    edit = reverse("sessions:group_note_edit", args=[note.public_id])
    before = signatures()
    sent_to_confirm(client.post(edit, data), edit)
    note = GroupNote.objects.get(pk=note.pk)
    assert note.status == NoteStatus.DRAFT and note.topic == "Typed topic" and signatures() == before

    confirm_with_password(client, edit)
    data["version"] = note.version
    response = client.post(edit, data)
    assert response.status_code == 302
    assert GroupNote.objects.get(pk=note.pk).status != NoteStatus.DRAFT


def test_a_stale_addendum_is_not_added_and_the_text_stays_on_the_page(client_as, draft, facilitator):
    note = signed(draft, facilitator)
    client = client_as(user=facilitator)
    make_stale(client)
    page = reverse("sessions:progress_note", args=[note.public_id])
    response = client.post(page, {"reason": "Late entry", "text": "Patient called after group"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "Patient called after group" in body and "Confirm it" in body
    assert reverse("account_reauthenticate") in body
    assert not NoteAddendum.objects.exists()

    confirm_with_password(client, page)
    response = client.post(page, {"reason": "Late entry", "text": "Patient called after group"})
    assert response.status_code == 302 and NoteAddendum.objects.count() == 1


def test_a_stale_cosign_is_refused_until_confirmed(client_as, draft, facilitator, site):
    CosignRequirement.objects.create(site=site, user=facilitator)
    note = signed(draft, facilitator)
    assert note.requires_cosign
    supervisor = client_as(Role.SUPERVISOR)
    make_stale(supervisor)
    url = reverse("sessions:cosign", args=["progress", note.public_id])
    page = reverse("sessions:progress_note", args=[note.public_id])
    sent_to_confirm(supervisor.post(url, {"comment": "Reviewed"}), page)
    assert not NoteCosignature.objects.exists()
    confirm_with_password(supervisor, page)
    assert supervisor.post(url, {"comment": "Reviewed"})["Location"] == page
    assert NoteCosignature.objects.count() == 1
