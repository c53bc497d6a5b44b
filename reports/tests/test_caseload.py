"""The caseload selector and page: flags, urgency order, scope, role matrix, constant queries."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assessments.models import AssessmentResponse
from audit.models import Action, AuditEvent
from notifications.models import Alert, AlertKind, Severity
from patients.models import Episode, Patient, site_today
from reports.caseload import caseload, caseload_counts, has_flag, window_for
from scheduling.models import Enrollment, LevelOfCare
from scheduling.tests.factories import make_episode
from sessions.models import GroupNote, NoteStatus, ProgressNote
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


def _row(site, counselor, episode):
    (row,) = [e for e in caseload(site, _window(site), counselor=counselor) if e.pk == episode.pk]
    return row


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
    assert _row(world["site"], world["clinician"], fresh).reassess_due


def test_the_sites_instrument_settings_decide_what_is_due(world, make_staff):
    from assessments.services import instrument_setting_save

    site, clinician = world["site"], world["clinician"]
    admin = make_staff(Role.SITE_ADMIN)
    fresh = _mine(site, clinician, "Fresh")

    def due(episode) -> bool:
        return _row(site, clinician, episode).reassess_due

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


def test_the_home_page_counts_agree_with_the_caseload_rows(world):
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
    # The site's instrument settings (its re-assessment cadence), the episodes, their treatment
    # plans, relapse-prevention plans and review requests, then grouped queries: safety alerts,
    # no-shows, weekly hours (sessions.selectors: minutes per local day in every zone at once,
    # enrollments), draft progress notes, draft group notes, latest administrations.
    assert len(one) == len(fifty) == 12


def _enrolled(site, counselor, first, track, start, *, end=None, taper=False) -> Episode:
    episode = _mine(site, counselor, first, days_ago=40)
    Enrollment.objects.create(track=track, episode=episode, start_date=start, end_date=end, is_taper=taper)
    return episode


def test_the_weekly_minimum_follows_the_track_of_the_whole_week(site, make_staff):
    clinician = make_staff(Role.CLINICIAN)
    today = site_today(site)
    last_monday = today - timedelta(days=today.weekday() + 7)
    this_monday = last_monday + timedelta(days=7)
    adult = make_track(site, start_date=today - timedelta(days=90))
    teen = make_track(site, age_group="adolescent", start_date=today - timedelta(days=90))
    php = make_track(site, level=LevelOfCare.PHP, start_date=today - timedelta(days=90))
    young = _enrolled(site, clinician, "Young", teen, today - timedelta(days=30))
    taper = _enrolled(site, clinician, "Taper", adult, today - timedelta(days=30), taper=True)
    partial = _enrolled(
        site, clinician, "Partial", adult, today - timedelta(days=30), end=last_monday + timedelta(days=2)
    )
    Enrollment.objects.create(track=php, episode=partial, start_date=last_monday + timedelta(days=3))
    day = _enrolled(site, clinician, "Dayprog", php, today - timedelta(days=30))
    enough = _enrolled(site, clinician, "Enough", adult, today - timedelta(days=30))
    for episode, minutes in ((young, 300), (taper, 60), (partial, 60), (day, 1180), (enough, 540)):
        attend(make_session(site, track=adult, day=last_monday + timedelta(days=1)), episode, "present", minutes)
    # This week: counted and shown against the current track, never flagged (the week is not over).
    attend(make_session(site, track=adult, day=this_monday, at=time(0, 30)), enough, "present", 90)
    attend(make_session(site, track=adult, day=this_monday, at=time(1)), enough, "no_show")

    rows = {e.pk: e for e in caseload(site, _window(site), counselor=clinician)}
    assert (rows[young.pk].lw_threshold, rows[young.pk].under_last_week) == (360, True)
    assert (rows[taper.pk].lw_threshold, rows[taper.pk].under_last_week) == (540, False)
    # Moved to PHP on Thursday: the week's latest enrollment sets the minimum (the hours page's rule).
    assert (rows[partial.pk].lw_threshold, rows[partial.pk].under_last_week) == (1200, True)
    assert rows[partial.pk].tw_threshold == 1200
    assert (rows[day.pk].lw_threshold, rows[day.pk].under_last_week) == (1200, True)
    assert rows[enough.pk].under_last_week is False and rows[enough.pk].minutes_last_week == 540
    assert (rows[enough.pk].minutes_this_week, rows[enough.pk].hours_this_week) == (90, 1.5)
    assert rows[enough.pk].no_shows == 1 and rows[enough.pk].tw_threshold == 540


def test_draft_group_notes_count_only_for_patients_who_attended(site, make_staff):
    clinician = make_staff(Role.CLINICIAN)
    today = site_today(site)
    came = _mine(site, clinician, "Came")
    away = _mine(site, clinician, "Away")
    sessions = [make_session(site, day=today - timedelta(days=d)) for d in (1, 2, 3)]
    for session in sessions:
        attend(session, came, "present", 180)
    attend(sessions[0], away, "excused")
    _, _, signed = (
        GroupNote.objects.create(
            session=s, site=site, author=clinician, topic="Coping", starts_at=s.starts_at, ends_at=s.ends_at
        )
        for s in sessions
    )
    GroupNote.objects.filter(pk=signed.pk).update(
        status=NoteStatus.SIGNED, signed_by=clinician, signed_at=timezone.now(), content_hash="0" * 64
    )
    rows = {e.pk: e for e in caseload(site, _window(site), counselor=clinician)}
    assert rows[came.pk].unsigned == 2  # two draft group notes of sessions attended; the signed one is done
    assert rows[away.pk].unsigned == 1  # an attendance row of any status ties the patient to the note


def test_the_most_urgent_open_safety_alert_is_the_one_linked(site, other_site, make_staff):
    clinician = make_staff(Role.CLINICIAN)
    episode = _mine(site, clinician, "Alerted")
    patient = episode.patient

    def alert(severity, where=site):
        return Alert.objects.create(
            site=where, patient=patient, kind=AlertKind.SAFETY, severity=severity, title_code="OTHER"
        )

    alert(Severity.HIGH)
    critical = alert(Severity.CRITICAL)
    alert(Severity.NORMAL)
    done = alert(Severity.CRITICAL)
    Alert.objects.filter(pk=done.pk).update(
        acknowledged_at=timezone.now(), acknowledged_by=clinician, action_taken="reviewed", action_note="Safe at home"
    )
    alert(Severity.CRITICAL, where=other_site)
    Alert.objects.create(
        site=site, patient=patient, kind=AlertKind.NO_SHOW, severity=Severity.CRITICAL, title_code="OTHER"
    )
    (row,) = caseload(site, _window(site), counselor=clinician)
    assert row.safety == 3 and row.safety_alert == critical.public_id


def test_re_assessment_is_due_by_the_sites_calendar(site, make_staff):
    from assessments.selectors import site_cadences

    from .world import response

    clinician = make_staff(Role.CLINICIAN)
    today = site_today(site)
    cadence = site_cadences([site.pk])[site.pk]
    code, days = sorted(cadence.items())[0]
    on_time = _mine(site, clinician, "Ontime")
    early = _mine(site, clinician, "Early")
    again = _mine(site, clinician, "Again")
    for episode in (on_time, early, again):
        for other in cadence:
            if other != code:
                response(episode, other, today)
    due_day = today - timedelta(days=days)

    def given(episode, day, at):
        r = response(episode, code, day)
        AssessmentResponse.objects.filter(pk=r.pk).update(administered_at=datetime.combine(day, at, tzinfo=site.zone))

    # Late in the evening in the site's zone: the next day in UTC for a zone west of Greenwich.
    given(on_time, due_day, time(23, 30))
    given(early, due_day + timedelta(days=1), time(0, 30))
    given(again, due_day - timedelta(days=5), time(9))
    given(again, today, time(0, 5))  # the latest administration decides
    rows = {e.pk: e for e in caseload(site, _window(site), counselor=clinician)}
    assert rows[on_time.pk].reassess_due is True
    assert rows[early.pk].reassess_due is False
    assert rows[again.pk].reassess_due is False


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
