"""The caseload selector and page: flags, urgency order, scope, role matrix, constant queries."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from notifications.models import Alert, AlertKind, Severity
from patients.models import Episode, Patient, site_today
from reports.caseload import caseload, caseload_counts, has_flag, window_for
from scheduling.models import Enrollment
from scheduling.tests.factories import make_episode
from sessions.models import ProgressNote
from sessions.tests.factories import make_session, make_track
from tests.fixtures import sign_in
from users.models import Role

from .world import attend


def _mine(site, counselor, first: str, *, days_ago: int = 3, via_patient: bool = False) -> Episode:
    episode = make_episode(site, admitted=site_today(site) - timedelta(days=days_ago), first=first)
    if via_patient:
        Patient.objects.filter(pk=episode.patient_id).update(primary_counselor=counselor)
    else:
        Episode.objects.filter(pk=episode.pk).update(primary_counselor=counselor)
    episode.refresh_from_db()
    return episode


def _assessed_today(episode) -> None:
    from .world import response

    for code in ("PHQ-9", "GAD-7", "BAM"):
        response(episode, code, site_today(episode.site), total=5, subscales={"use": 1})


@pytest.fixture
def world(site, other_site, make_staff):
    clinician = make_staff(Role.CLINICIAN)
    other = make_staff(Role.CLINICIAN)
    today = site_today(site)
    safety = _mine(site, clinician, "Safe")
    Alert.objects.create(
        site=site, patient=safety.patient, kind=AlertKind.SAFETY, severity=Severity.CRITICAL, title_code="OTHER"
    )
    noshow = _mine(site, clinician, "Miss")
    yesterday = make_session(site, day=today - timedelta(days=1), kind="individual")
    attend(yesterday, noshow, "no_show")
    ProgressNote.objects.create(session=yesterday, patient=noshow.patient, episode=noshow, site=site, author=clinician)
    # Enrolled in an adult IOP track for all of last week, attended 180 of 540 minutes.
    under = _mine(site, clinician, "Under", days_ago=20)
    track = make_track(site, start_date=today - timedelta(days=60))
    Enrollment.objects.create(track=track, episode=under, start_date=under.admission_date)
    last_monday = today - timedelta(days=today.weekday() + 7)
    attend(make_session(site, track=track, day=last_monday), under, "present", 180)
    calm = _mine(site, clinician, "Calm", via_patient=True)
    for e in (safety, noshow, under, calm):
        _assessed_today(e)
    theirs = _mine(site, other, "Theirs")
    elsewhere = make_episode(other_site, admitted=today - timedelta(days=3), first="Far")
    Episode.objects.filter(pk=elsewhere.pk).update(primary_counselor=clinician)
    return {
        "clinician": clinician,
        "safety": safety,
        "noshow": noshow,
        "under": under,
        "calm": calm,
        "theirs": theirs,
        "site": site,
    }


def _window(site):
    return window_for(site, site_today(site), timezone.now())


def test_it_lists_the_clinicians_patients_most_urgent_first(world):
    rows = list(caseload(world["site"], _window(world["site"]), counselor=world["clinician"]))
    assert [e.pk for e in rows] == [world[k].pk for k in ("safety", "noshow", "under", "calm")]
    safety, noshow, under, calm = rows
    assert safety.safety == 1 and safety.safety_alert is not None
    assert noshow.no_shows == 1 and noshow.unsigned == 1 and noshow.safety == 0
    assert under.under_last_week and under.minutes_last_week == 180 and under.lw_threshold == 540
    assert under.plan_due  # admitted 20 days ago, no plan signed
    assert not calm.plan_due and not calm.reassess_due and not calm.under_last_week
    assert (calm.safety, calm.no_shows, calm.unsigned) == (0, 0, 0)


def test_a_never_assessed_patient_is_due_for_re_assessment(world):
    fresh = _mine(world["site"], world["clinician"], "Fresh")
    row = caseload(world["site"], _window(world["site"]), counselor=world["clinician"]).get(pk=fresh.pk)
    assert row.reassess_due


def test_the_sites_instrument_settings_decide_what_is_due(world, make_staff):
    from assessments.services import instrument_setting_save

    site, clinician = world["site"], world["clinician"]
    admin = make_staff(Role.SITE_ADMIN)
    fresh = _mine(site, clinician, "Fresh")

    def due(episode) -> bool:
        return caseload(site, _window(site), counselor=clinician).get(pk=episode.pk).reassess_due

    for code in ("PHQ-9", "GAD-7", "BAM"):
        instrument_setting_save(
            site=site, instrument_code=code, enabled=False, reassessment_interval_days=None, by=admin
        )
    assert not due(fresh)  # nothing scheduled is offered at the site any more
    # The calm patient had PHQ-9, GAD-7 and BAM today; an AUDIT every 30 days was never given.
    instrument_setting_save(site=site, instrument_code="AUDIT", enabled=True, reassessment_interval_days=30, by=admin)
    assert due(fresh) and due(world["calm"])


def test_the_whole_site_includes_other_counselors_patients_but_no_other_site(world):
    rows = list(caseload(world["site"], _window(world["site"])))
    assert world["theirs"].pk in {e.pk for e in rows}
    assert {e.site_id for e in rows} == {world["site"].pk}


def test_counts_have_no_names(world):
    counts = caseload_counts(world["site"], _window(world["site"]), counselor=world["clinician"])
    assert counts == {"patients": 4, "flagged": 3, "safety": 1}


def test_the_row_flag_test_agrees_with_the_counting_query(world):
    # The caseload page counts flagged rows in Python; the home page counts them in SQL.
    for counselor in (world["clinician"], None):
        rows = list(caseload(world["site"], _window(world["site"]), counselor=counselor))
        counts = caseload_counts(world["site"], _window(world["site"]), counselor=counselor)
        assert counts["flagged"] == sum(1 for e in rows if has_flag(e))
        assert counts["patients"] == len(rows)
    assert [has_flag(e) for e in caseload(world["site"], _window(world["site"]), counselor=world["clinician"])] == [
        True, True, True, False
    ]  # fmt: skip


def test_the_queries_are_the_same_for_one_patient_or_fifty(site, make_staff):
    clinician = make_staff(Role.CLINICIAN)
    _mine(site, clinician, "Only")
    with CaptureQueriesContext(connection) as one:
        list(caseload(site, _window(site), counselor=clinician))
    for n in range(49):
        _mine(site, clinician, f"More{n}")
    with CaptureQueriesContext(connection) as fifty:
        rows = list(caseload(site, _window(site), counselor=clinician))
    assert len(rows) == 50
    # The site's instrument settings (its re-assessment cadence), then the caseload itself.
    assert len(one) == len(fifty) == 2


# --- the page -------------------------------------------------------------------------------------


def test_the_page_shows_flags_and_links_to_act(world, client):
    sign_in(client, world["clinician"])
    response = client.get(reverse("reports:caseload"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Safe") < html.index("Miss") < html.index("Under") < html.index("Calm")
    assert "Theirs" not in html and "Far" not in html
    alert = Alert.objects.get(patient=world["safety"].patient)
    assert reverse("notifications:alert_detail", args=[alert.public_id]) in html
    assert reverse("sessions:patient_followup", args=[world["noshow"].patient.public_id]) in html
    assert reverse("sessions:patient_notes", args=[world["noshow"].patient.public_id]) in html
    assert reverse("plans:overview", args=[world["under"].patient.public_id]) in html
    assert reverse("sessions:patient_hours", args=[world["under"].patient.public_id]) in html
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.filter(action=Action.VIEW, object_type="reports.Caseload").latest("id")
    assert str(world["safety"].patient.public_id) in event.changes["shown"]


def test_a_clinician_cannot_switch_to_the_whole_site(world, client):
    sign_in(client, world["clinician"])
    html = client.get(reverse("reports:caseload") + "?scope=site").content.decode()
    assert "Theirs" not in html


def test_a_supervisor_can_switch_to_the_whole_site(world, client_as):
    client = client_as(Role.SUPERVISOR)
    assert "Theirs" not in client.get(reverse("reports:caseload")).content.decode()
    assert "Theirs" in client.get(reverse("reports:caseload") + "?scope=site").content.decode()


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.CLINICIAN, 200),
        (Role.SUPERVISOR, 200),
        (Role.DIRECTOR, 200),
        (Role.INTAKE, 403),
        (Role.SITE_ADMIN, 403),
    ],
)
def test_role_matrix(client_as, role, status):
    assert client_as(role).get(reverse("reports:caseload")).status_code == status


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("reports:caseload"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_short_address_redirects_to_the_caseload(client_as):
    response = client_as(Role.CLINICIAN).get("/caseload/")
    assert response.status_code == 302 and response["Location"] == reverse("reports:caseload")


def test_the_page_query_count_is_the_same_for_one_and_fifty_patients(site, make_staff, client):
    clinician = make_staff(Role.CLINICIAN)
    sign_in(client, clinician)
    _mine(site, clinician, "Only")
    client.get(reverse("reports:caseload"))  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("reports:caseload")).status_code == 200
    for n in range(49):
        _mine(site, clinician, f"More{n}")
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(reverse("reports:caseload"))
    assert response.content.decode().count('scope="row"') == 50
    assert len(one) == len(fifty)


def test_the_csv_lists_the_caseload_and_is_audited(world, client):
    sign_in(client, world["clinician"])
    response = client.get(reverse("reports:caseload") + "?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("MRN,Patient,Admitted,Open safety alerts")
    assert len(lines) == 5 and lines[1].startswith(world["safety"].patient.mrn)
    event = AuditEvent.objects.filter(action=Action.EXPORT, object_type="reports.Caseload").latest("id")
    assert event.changes["patients"] == 4


def test_the_home_page_shows_counts_only(world, client):
    sign_in(client, world["clinician"])
    html = client.get(reverse("home")).content.decode()
    assert "Your caseload" in html and "4 open episodes" in html and "1 with a safety alert" in html
    assert "Calm" not in html and world["calm"].patient.mrn not in html


def test_the_home_page_of_intake_staff_has_no_caseload(client_as):
    html = client_as(Role.INTAKE).get(reverse("home")).content.decode()
    assert "Your caseload" not in html


def test_sessions_started_today_before_now_are_in_this_week(world):
    # A guard on the window: this week starts on Monday 00:00 in the site's zone.
    w = _window(world["site"])
    assert w.this_week_start == datetime.combine(w.this_monday, time.min, tzinfo=world["site"].zone)
