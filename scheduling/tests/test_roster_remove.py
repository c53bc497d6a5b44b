"""Taking a one-off addition off a session's roster: service, audit, the button and who may."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from scheduling import services
from scheduling.models import RosterAddition, TherapySession
from scheduling.selectors import rosters_for
from users.models import Role

from .factories import make_episode

pytestmark = pytest.mark.django_db


@pytest.fixture
def added(session, site, clinician):
    episode = make_episode(site, last="Makeupsession")
    return services.roster_add(session=session, episode=episode, by=clinician, reason="Make-up")


def test_an_addition_is_removed_with_an_audit_event(added, session, supervisor):
    services.roster_remove(addition=added, by=supervisor, reason="Added to the wrong group")
    assert not RosterAddition.objects.exists()
    assert rosters_for([session])[session.pk] == []
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.action, event.object_type, event.object_id) == (
        "delete",
        "scheduling.RosterAddition",
        str(session.public_id),
    )
    assert event.patient_ref == str(added.episode.patient.public_id)
    assert event.reason == "Added to the wrong group" and event.changes["added_reason"] == "Make-up"


def test_an_addition_to_a_session_that_has_started_stays(added, session, supervisor):
    TherapySession.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - timedelta(minutes=5), ends_at=timezone.now() + timedelta(hours=1)
    )
    with pytest.raises(ValidationError, match="already started"):
        services.roster_remove(addition=added, by=supervisor)
    assert RosterAddition.objects.filter(pk=added.pk).exists()


def test_the_session_page_has_a_remove_button_for_additions_only(added, session, enrolled, client_as):
    page = client_as(Role.CLINICIAN).get(reverse("scheduling:session_detail", args=[session.public_id]))
    html = page.content.decode()
    assert html.count(reverse("scheduling:roster_remove", args=[session.public_id])) == 1
    assert f'name="addition" value="{added.pk}"' in html
    # Read-only roles see the roster without the button.
    html = client_as(Role.DIRECTOR).get(reverse("scheduling:session_detail", args=[session.public_id])).content
    assert b"roster/remove/" not in html


def test_removing_through_the_page(added, session, client_as):
    url = reverse("scheduling:roster_remove", args=[session.public_id])
    response = client_as(Role.CLINICIAN).post(url, {"addition": added.pk}, follow=True)
    assert "Removed from this session" in response.content.decode()
    assert not RosterAddition.objects.exists()


def test_who_may_remove(added, session, client_as, other_site):
    url = reverse("scheduling:roster_remove", args=[session.public_id])
    data = {"addition": added.pk}
    assert client_as(Role.DIRECTOR).post(url, data).status_code == 403
    assert client_as(Role.SUPERVISOR, at=other_site).post(url, data).status_code == 404
    anonymous = Client().post(url, data)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    # An addition of another session, or no number at all, is not found here.
    other = TherapySession.objects.exclude(pk=session.pk).filter(track=session.track).first()
    extra = services.roster_add(session=other, episode=added.episode, by=None)
    clinician = client_as(Role.CLINICIAN)
    assert clinician.post(url, {"addition": extra.pk}).status_code == 404
    assert clinician.post(url, {"addition": "x"}).status_code == 404
    assert RosterAddition.objects.count() == 2
