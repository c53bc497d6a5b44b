"""Role matrix for every page: clinical roles read, intake never reads notes (403), another
site's staff get 404, anonymous users are sent to sign in."""

import pytest
from django.urls import reverse

from sessions import services
from users.models import Role

from .factories import roll
from .test_group_notes import fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(group, facilitator):
    a, b, c = group.episodes
    roll(group, facilitator, {a: "present", b: "present", c: "no_show"})
    gnote = services.note_sign(
        note=fill(services.group_note_start(session=group, by=facilitator), facilitator), by=facilitator
    )
    pnote = services.progress_note_create(session=group, patient=a.patient, by=facilitator)
    return {"session": group, "group_note": gnote, "note": pnote, "patient": a.patient}


def urls(w):
    p = w["patient"].public_id
    return {
        "rollcall": reverse("sessions:rollcall", args=[w["session"].public_id]),
        "group_note": reverse("sessions:group_note", args=[w["group_note"].public_id]),
        "progress_note": reverse("sessions:progress_note", args=[w["note"].public_id]),
        "patient_notes": reverse("sessions:patient_notes", args=[p]),
        "chart_copy": reverse("sessions:patient_group_note", args=[p, w["group_note"].public_id]),
        "hours": reverse("sessions:patient_hours", args=[p]),
        "followup": reverse("sessions:patient_followup", args=[p]),
    }


NOTE_PAGES = ["group_note", "progress_note", "patient_notes", "chart_copy"]


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.SUPERVISOR, Role.DIRECTOR])
def test_clinical_roles_read_every_page(client_as, world, role):
    client = client_as(role)
    for name, url in urls(world).items():
        assert client.get(url).status_code == 200, name


def test_intake_coordinators_get_403_on_notes(client_as, world):
    client = client_as(Role.INTAKE)
    for name in NOTE_PAGES:
        assert client.get(urls(world)[name]).status_code == 403, name
    assert client.get(urls(world)["rollcall"]).status_code == 403
    assert client.get(reverse("sessions:cosign_queue")).status_code == 403
    assert client.get(reverse("sessions:followups")).status_code == 403


def test_an_intake_coordinator_facilitating_takes_roll_but_reads_no_notes(client_as, world, make_staff):
    intake = make_staff(Role.INTAKE)
    world["session"].facilitators.add(intake)
    client = client_as(user=intake)
    page = client.get(urls(world)["rollcall"])
    assert page.status_code == 200 and "Group note" not in page.content.decode()
    assert client.get(urls(world)["group_note"]).status_code == 403


def test_site_admins_get_403_or_404(client_as, world):
    client = client_as(Role.SITE_ADMIN)
    for name, url in urls(world).items():
        # Patient pages are 404 (site admins hold no patient.view); session and note pages 403.
        assert client.get(url).status_code in (403, 404), name


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.SUPERVISOR])
def test_staff_of_another_site_get_404(client_as, world, other_site, role):
    client = client_as(role, at=other_site)
    for name, url in urls(world).items():
        assert client.get(url).status_code == 404, name


def test_anonymous_users_are_sent_to_sign_in(client, world):
    for name, url in urls(world).items():
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


def test_only_the_author_opens_a_drafts_editor(client_as, world):
    other = client_as(Role.CLINICIAN)
    assert other.get(reverse("sessions:progress_note_edit", args=[world["note"].public_id])).status_code == 403


def test_a_director_reads_notes_but_cannot_write_them(client_as, world):
    client = client_as(Role.DIRECTOR)
    assert client.get(reverse("sessions:progress_note_edit", args=[world["note"].public_id])).status_code == 403
    assert client.post(urls(world)["group_note"], {"reason": "x", "text": "y"}).status_code == 403


def test_each_phi_page_records_one_audit_event(client_as, world):
    from audit.models import AuditEvent

    client = client_as(Role.CLINICIAN)
    for name, url in urls(world).items():
        before = AuditEvent.objects.count()
        client.get(url)
        assert AuditEvent.objects.count() == before + 1, name
