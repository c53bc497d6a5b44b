"""The block editor as a browser submits it: spare blocks send their session-type select too."""

import pytest
from django.urls import reverse

from scheduling.models import Track
from users.models import Role

pytestmark = pytest.mark.django_db


def _browser_post(site, blocks, spare: int):
    data = {
        "site": str(site.public_id),
        "name": "Day IOP",
        "level_of_care": "2.1",
        "age_group": "adult",
        "meeting_days": ["0", "2", "3"],
        "capacity": "10",
        "start_date": "2026-11-23",
        "end_date": "",
        "topics": "",
        "blocks-TOTAL_FORMS": str(len(blocks) + spare),
        "blocks-INITIAL_FORMS": "0",
        "blocks-MIN_NUM_FORMS": "0",
        "blocks-MAX_NUM_FORMS": "1000",
    }
    rows = blocks + [{}] * spare
    for i, block in enumerate(rows):
        row = {"id": "", "weekday": "", "start_time": "", "end_time": "", "kind": "group", "title": "", "room": ""}
        row.update(block)
        data.update({f"blocks-{i}-{k}": v for k, v in row.items()})
    return data


BLOCKS = [
    {"start_time": "09:00", "end_time": "10:30", "kind": "group"},
    {"start_time": "10:45", "end_time": "12:00", "kind": "skills"},
    {"weekday": "3", "start_time": "12:15", "end_time": "13:00", "kind": "wellness"},
]


def test_a_new_track_offers_four_blocks_and_spare_ones_are_skipped(site, client_as):
    client = client_as(Role.SUPERVISOR)
    page = client.get(reverse("scheduling:track_create") + f"?site={site.public_id}").content.decode()
    assert 'name="blocks-TOTAL_FORMS" value="4"' in page
    response = client.post(reverse("scheduling:track_create"), _browser_post(site, BLOCKS, spare=1))
    assert response.status_code == 302, response.context["formset"].errors
    track = Track.objects.get(name="Day IOP")
    assert track.blocks.count() == 3
