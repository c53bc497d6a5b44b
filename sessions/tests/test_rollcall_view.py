"""The roll-call page: whole roster in one POST, htmx row updates, constant query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import Action, AuditEvent
from sessions.models import Attendance

from .conftest import MONDAY
from .factories import enroll, make_session

pytestmark = pytest.mark.django_db


def url(session):
    return reverse("sessions:rollcall", args=[session.public_id])


def post_data(session, marks):
    """``marks``: list of (status, minutes) in roster order."""
    data = {}
    from scheduling.selectors import rosters_for

    for i, entry in enumerate(rosters_for([session])[session.pk]):
        status, minutes = marks[i]
        data[f"r{i}-patient"] = str(entry.patient.public_id)
        data[f"r{i}-status"] = status
        data[f"r{i}-minutes"] = "" if minutes is None else str(minutes)
    return data


def test_a_facilitator_sees_the_roster_with_segmented_statuses(client_as, group, facilitator):
    client = client_as(user=facilitator)
    response = client.get(url(group))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Avery Alpha" in html and "Casey Charlie" in html
    assert 'class="seg-input"' in html and "Late arrival" in html
    assert "<script" not in html.split("</head>")[1]  # no inline scripts in the body
    assert AuditEvent.objects.filter(action=Action.VIEW, object_type="clinical_sessions.rollcall").count() == 1


def test_the_whole_roll_is_saved_in_one_post(client_as, group, facilitator):
    client = client_as(user=facilitator)
    response = client.post(url(group), post_data(group, [("present", None), ("late", 150), ("no_show", None)]))
    assert response.status_code == 302
    assert sorted(Attendance.objects.values_list("status", "minutes_attended")) == [
        ("late", 150),
        ("no_show", 0),
        ("present", 180),
    ]


def test_row_errors_are_shown_and_nothing_is_saved(client_as, group, facilitator):
    client = client_as(user=facilitator)
    response = client.post(url(group), post_data(group, [("present", None), ("late", None), ("", None)]))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter the minutes attended" in html and "Choose a status" in html
    # What was chosen stays chosen; the row without a status marks its radios invalid.
    assert 'value="late" class="seg-input" id="id_r1-status_1" checked>' in html
    assert html.count('aria-invalid="true" aria-describedby="r2-status-error"') == 8
    assert 'id="r2-status-error"' in html
    assert not Attendance.objects.exists()


def test_an_htmx_status_change_rerenders_only_that_row(client_as, group, facilitator):
    client = client_as(user=facilitator)
    data = post_data(group, [("present", None), ("no_show", 90), ("present", None)])
    response = client.post(
        reverse("sessions:rollcall_row", args=[group.public_id, 1]), data, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<tr id="roll-row-1"')
    assert "<html" not in html and "Blake Bravo" in html and "Avery Alpha" not in html
    assert 'value="0" readonly' in html
    assert 'value="no_show" class="seg-input" id="id_r1-status_4" checked>' in html and html.count(" checked>") == 1
    assert not Attendance.objects.exists()


def _count_queries(client, session) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url(session))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_page_costs_the_same_queries_for_3_and_30_attendees(client_as, site, track, facilitator):
    from scheduling.selectors import rosters_for
    from sessions.services import RowInput, attendance_record_roster
    from sessions.tests.factories import make_track

    client = client_as(user=facilitator)
    counts = []
    for size in (3, 30):
        t = make_track(site)
        session = make_session(site, track=t, day=MONDAY, facilitators=[facilitator])
        for _ in range(size):
            enroll(site, t)
        attendance_record_roster(
            session=session,
            rows=[RowInput(patient=e.patient, status="present") for e in rosters_for([session])[session.pk]],
            by=facilitator,
        )
        _count_queries(client, session)  # warm per-request caches alike
        counts.append(_count_queries(client, session))
    assert counts[0] == counts[1], counts


def test_post_requires_the_right_to_take_roll(client_as, group):
    from users.models import Role

    director = client_as(Role.DIRECTOR)
    assert director.get(url(group)).status_code == 200  # clinical.view reads the roll
    assert director.post(url(group), post_data(group, [("present", None)] * 3)).status_code == 403
