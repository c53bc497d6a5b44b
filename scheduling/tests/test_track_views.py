import pytest
from django.urls import reverse

from scheduling.models import TherapySession, Track
from users.models import Role

pytestmark = pytest.mark.django_db


def _post_data(site, blocks, **track):
    data = {
        "site": str(site.public_id),
        "name": "Evening IOP",
        "level_of_care": "2.1",
        "age_group": "adult",
        "meeting_days": ["0", "2", "3"],
        "capacity": "12",
        "start_date": "2026-11-23",
        "end_date": "",
        "topics": "Relapse prevention\nCoping skills",
        "blocks-TOTAL_FORMS": str(len(blocks) + 1),
        "blocks-INITIAL_FORMS": "0",
        "blocks-MIN_NUM_FORMS": "0",
        "blocks-MAX_NUM_FORMS": "1000",
    }
    data.update(track)
    for i, block in enumerate(blocks):
        for key, value in block.items():
            data[f"blocks-{i}-{key}"] = value
    return data


GOOD = [
    {"weekday": "", "start_time": "17:30", "end_time": "19:00", "kind": "group"},
    {"weekday": "", "start_time": "19:15", "end_time": "20:45", "kind": "psychoeducation"},
]


def test_a_supervisor_creates_a_track_and_sees_its_hours(site, client_as, room):
    client = client_as(Role.SUPERVISOR)
    blocks = [dict(b, room=str(room.pk)) for b in GOOD]
    response = client.post(reverse("scheduling:track_create"), _post_data(site, blocks))
    track = Track.objects.get(name="Evening IOP")
    assert response.status_code == 302 and response["Location"].endswith(f"/tracks/{track.public_id}/")
    assert track.topics == ["Relapse prevention", "Coping skills"]
    assert TherapySession.objects.filter(track=track).exists()
    page = client.get(response["Location"]).content.decode()
    assert "9 h a week" in page and "meets the minimum" in page


@pytest.mark.parametrize(
    ("blocks", "fields", "message"),
    [
        ([{"weekday": "", "start_time": "19:00", "end_time": "17:30", "kind": "group"}], {}, "ends before it starts"),
        (
            [GOOD[0], {"weekday": "", "start_time": "18:30", "end_time": "21:00", "kind": "skills"}],
            {},
            "overlap",
        ),
        (GOOD, {"meeting_days": ["0", "2"]}, "meets 3–5 days a week"),
        (GOOD[:1], {}, "needs at least 9 h"),
    ],
)
def test_bad_tracks_are_refused_with_a_clear_message_and_nothing_saved(site, client_as, blocks, fields, message):
    client = client_as(Role.SUPERVISOR)
    response = client.post(reverse("scheduling:track_create"), _post_data(site, blocks, **fields))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Track.objects.exists() and not TherapySession.objects.exists()


def test_editing_a_track_changes_future_sessions(site, client_as, track, supervisor):
    client = client_as(user=supervisor)
    url = reverse("scheduling:track_edit", args=[track.public_id])
    page = client.get(url)
    assert page.status_code == 200
    group, skills = track.blocks.order_by("start_time")
    data = _post_data(
        site,
        [
            {"id": group.pk, "weekday": "", "start_time": "08:30", "end_time": "10:00", "kind": "group"},
            {"id": skills.pk, "weekday": "", "start_time": "10:15", "end_time": "11:45", "kind": "skills"},
        ],
        name=track.name,
    )
    data["blocks-INITIAL_FORMS"] = "2"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    from django.utils import timezone

    future = TherapySession.objects.filter(track=track, block=group, starts_at__gte=timezone.now())
    assert {s.starts_at.astimezone(site.zone).strftime("%H:%M") for s in future} == {"08:30"}


def test_generate_now_reports_what_it_did(client_as, track, supervisor):
    response = client_as(user=supervisor).post(
        reverse("scheduling:track_generate", args=[track.public_id]), follow=True
    )
    assert "0 new sessions generated" in response.content.decode()


def test_the_track_page_lists_enrolled_patients_and_audits_the_view(client_as, track, enrolled):
    from audit.models import AuditEvent

    client = client_as(Role.CLINICIAN)
    response = client.get(reverse("scheduling:track_detail", args=[track.public_id]))
    assert "Quillfeather" in response.content.decode()
    event = AuditEvent.objects.order_by("-id").first()
    assert event.object_type == "scheduling.track_roster"
    assert event.changes["patients"] == [str(enrolled.episode.patient.public_id)]
