"""A small clinic for the API tests, the fuzzing run and the authorization matrix (no tests here).

Site A holds one of every record (patient, episode, consent, track, session with roll taken, a
draft progress note, a draft treatment plan, an alert, an assessment response, an enrollment);
site B holds its own patient and a clinician. Fake people only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from tests.fixtures import sign_in
from users.models import Role
from users.tests.factories import MembershipFactory, SiteFactory, UserFactory

ROLES = [Role.INTAKE, Role.CLINICIAN, Role.SUPERVISOR, Role.DIRECTOR, Role.SITE_ADMIN]


@dataclass
class World:
    site: object
    other_site: object
    staff: dict = field(default_factory=dict)  # role → user at site A
    other_clinician: object = None
    objects: dict = field(default_factory=dict)

    def api(self, user=None, *, token: bool = True) -> APIClient:
        client = APIClient()
        if user is not None:
            if token:
                client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
            else:
                sign_in(client, user)
        return client


def api_key_for(user) -> str:
    """A live API token's secret for ``user``: issued through the service the first time it is
    asked for, then the same one for that user object (the secret is not kept anywhere else)."""
    from users.api.tokens import api_token_create

    if not hasattr(user, "_test_api_key"):
        _token, user._test_api_key = api_token_create(user=user, name="Test integration", expires_at=None, by=user)
    return user._test_api_key


def staff_member(site, role, **fields):
    user = UserFactory(mfa=True, **fields)
    MembershipFactory(user=user, site=site, role=role)
    return user


def build_world() -> World:
    from assessments import services as assessment_services
    from notifications import services as alert_services
    from notifications.models import AlertKind
    from patients.tests.factories import ConsentFactory
    from plans import services as plan_services
    from scheduling.models import Enrollment
    from scheduling.tests.factories import make_episode
    from sessions import services as session_services
    from sessions.tests.factories import make_session, make_track, roll

    tag = uuid.uuid4().hex[:6]  # fresh sites each time, even twice in one test
    site = SiteFactory(name=f"API Riverside {tag}", time_zone="America/New_York")
    other = SiteFactory(name=f"API Elsewhere {tag}", time_zone="America/Chicago")
    world = World(site=site, other_site=other)
    for role in ROLES:
        world.staff[role] = staff_member(site, role, credentials="LCSW" if role == Role.CLINICIAN else "")
    world.other_clinician = staff_member(other, Role.CLINICIAN)
    clinician = world.staff[Role.CLINICIAN]

    today = timezone.localdate(timezone=site.zone)
    start = today - timedelta(days=21)
    track = make_track(site, start_date=start - timedelta(days=7))
    episode = make_episode(site, admitted=start, by=clinician, first="Avery")
    patient = episode.patient
    enrollment = Enrollment.objects.create(track=track, episode=episode, start_date=start)
    day = today - timedelta(days=2)
    session = make_session(site, track=track, day=day, at=time(9), facilitators=[clinician])
    roll(session, clinician, {episode: "present"})
    attendance = session.attendance.get()
    note = session_services.progress_note_create(
        session=session, patient=patient, by=clinician, sections={"subjective": "Doing well."}
    )
    consent = ConsentFactory(patient=patient, recorded_by=clinician)
    plan = plan_services.treatment_plan_start(episode=episode, by=clinician)
    response = assessment_services.assessment_record(
        patient=patient, instrument_code="PHQ-9", answers=[1, 0, 0, 0, 0, 0, 0, 0, 0], by=clinician
    )
    alert = alert_services.alert_raise(
        site=site, kind=AlertKind.OTHER, title_code="OTHER", patient=patient, obj=patient, by=clinician
    )
    other_episode = make_episode(other, admitted=start, first="Blake")
    world.objects.update(
        patient=patient,
        episode=episode,
        track=track,
        session=session,
        enrollment=enrollment,
        attendance=attendance,
        note=note,
        consent=consent,
        plan=plan,
        response=response,
        alert=alert,
        other_patient=other_episode.patient,
        other_episode=other_episode,
        day=day,
        today=today,
        date=date,
    )
    return world
