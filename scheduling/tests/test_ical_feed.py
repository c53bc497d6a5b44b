from datetime import time, timedelta

import pytest
from django.urls import reverse
from icalendar import Calendar

from scheduling import services
from scheduling.models import CalendarFeed
from users.models import Role

from .factories import upcoming_monday

pytestmark = pytest.mark.django_db


def test_the_feed_has_sessions_but_no_patient_names(site, client_as, supervisor, enrolled, track, episode):
    services.session_book(
        site=site,
        by=supervisor,
        kind="individual",
        day=upcoming_monday() + timedelta(days=1),
        start_time=time(14),
        end_time=time(15),
        facilitators=[supervisor],
        episode=episode,
    )
    client = client_as(user=supervisor)
    response = client.post(reverse("scheduling:feed_settings"))
    link = response.context["link"]
    token = link.rsplit("/", 1)[1].removesuffix(".ics")
    assert CalendarFeed.objects.get(user=supervisor).token_hash != token  # only the hash is stored
    feed = client_as(Role.CLINICIAN).get(link)  # the link needs no sign-in; any client works
    assert feed.status_code == 200 and feed["Content-Type"].startswith("text/calendar")
    body = feed.content.decode()
    assert "Rowan" not in body and "Quillfeather" not in body and episode.patient.mrn not in body
    events = Calendar.from_ical(feed.content).walk("VEVENT")
    assert any("Morning IOP" in str(e["SUMMARY"]) for e in events)
    assert any(str(e["SUMMARY"]) == "Individual session (R.Q.)" for e in events)


def test_an_unknown_or_replaced_token_is_404(client, client_as, supervisor):
    signed_in = client_as(user=supervisor)
    first = signed_in.post(reverse("scheduling:feed_settings")).context["link"]
    second = signed_in.post(reverse("scheduling:feed_settings")).context["link"]
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    assert client.get(reverse("scheduling:ical_feed", args=["nope"])).status_code == 404
