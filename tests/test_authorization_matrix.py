"""Every URL pattern (pages, API, admin) × every role and anonymous, against an expected table.

``EXPECTED`` maps each URL name to the HTTP method probed and the access class for
anonymous, intake, clinician, supervisor, director and site admin (in that order):
``ok`` (served, or refused for bad input: 2xx, 3xx, 400, 405, 409, 412, 428), ``403``,
``404`` or ``login`` (sent to sign-in, or 401 from the API). A route missing from the table
fails the test: a new route must be added here with the access it is meant to have.
Django admin and allauth routes follow the rules in ``RULES`` (third-party pages; staff-only
admin sends every role, none of whom is staff, to sign in).

Cross-site probes: every route with an object id, requested by a clinician of another site,
must answer 404 (``CROSS_SITE_EXCEPTIONS`` lists the few that are not object pages).

``MATRIX_PRINT=1 pytest tests/test_authorization_matrix.py -k observed -s`` prints the table
as observed, to review by hand when adding routes (never to paste unread).
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tests.fixtures import sign_in
from users.models import Role

from .test_api_world import ROLES, api_key_for, build_world

pytestmark = pytest.mark.django_db

COLUMNS = ["anonymous", *ROLES]


# --- the routes -----------------------------------------------------------------------------------


def walk(patterns=None, ns=None):
    """(name, converters) for every named route, recursively through includes."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            inner = f"{ns}:{p.namespace}" if ns and p.namespace else (p.namespace or ns)
            yield from walk(p.url_patterns, inner)
        elif isinstance(p, URLPattern) and p.name:
            yield (f"{ns}:{p.name}" if ns else p.name), dict(p.pattern.converters)


def all_routes() -> dict[str, dict]:
    return dict(walk())


RULES = [
    # (prefix, method, classes): third-party routes.
    ("admin:", "GET", "login login login login login login"),
]
ALLAUTH_PREFIXES = ("account_", "mfa_", "socialaccount_", "usersessions_")


def expected_for(name: str):
    if name in EXPECTED:
        method, classes = EXPECTED[name]
        return method, dict(zip(COLUMNS, classes.split(), strict=True))
    for prefix, method, classes in RULES:
        if name.startswith(prefix):
            return method, dict(zip(COLUMNS, classes.split(), strict=True))
    if name.startswith(ALLAUTH_PREFIXES):
        return "GET", None  # allauth's own pages: any answer but a server error
    return None


# --- the clinic they are probed against -------------------------------------------------------------


def build_matrix_world():
    from patients.services import disclosure_make, referral_create
    from patients.tests.factories import SupportContactFactory
    from plans import services as plan_services
    from scheduling.models import Closure, Room
    from scheduling.services import calendar_feed_reset
    from scheduling.tests.factories import make_episode
    from sessions import services as session_services
    from users.models import Invitation

    w = build_world()
    o = w.objects
    clinician, site = w.staff[Role.CLINICIAN], w.site
    patient, episode, today = o["patient"], o["episode"], o["today"]
    o["disclosure"] = disclosure_make(
        patient=patient,
        recipient="Dr. Quinn Example",
        purpose="treatment",
        categories=["attendance"],
        channel="fax",
        by=clinician,
    )
    o["contact"] = SupportContactFactory(patient=patient)
    o["referral"] = referral_create(
        patient=patient, source="self", received_on=today, reason="Test", by=w.staff[Role.INTAKE]
    )
    o["room"] = Room.objects.create(site=site, name="Matrix room", capacity=8)
    o["closure"] = Closure.objects.create(site=site, date=today + timedelta(days=40), reason="Holiday")
    o["membership"] = clinician.memberships.get()
    token, token_hash = Invitation.new_token()
    o["invitation_token"] = token
    o["invitation"] = Invitation.objects.create(
        email="newperson@example.test",
        site=site,
        role=Role.CLINICIAN,
        token_hash=token_hash,
        invited_by=w.staff[Role.SITE_ADMIN],
        expires_at=Invitation.default_expiry(),
    )
    o["group_note"] = session_services.group_note_start(session=o["session"], by=clinician)
    plan = o["plan"]
    o["problem"] = plan_services.problem_add(
        plan=plan, by=clinician, statement="Cravings", dimensions=[5], diagnosis="Alcohol use disorder"
    )
    o["goal"] = plan_services.goal_add(problem=o["problem"], by=clinician, statement="Stay sober")
    o["objective"] = plan_services.objective_add(
        goal=o["goal"], by=clinician, statement="Attend 3 groups a week", target_date=today + timedelta(days=30)
    )
    o["rp_plan"] = plan_services.rp_plan_start(episode=episode, by=clinician)
    discharged = make_episode(site, admitted=today - timedelta(days=60), discharged=today - timedelta(days=1))
    o["discharged_patient"] = discharged.patient
    o["checkin"] = plan_services.follow_ups_schedule(episode=discharged, by=clinician)[0]
    from assessments import services as assessment_services

    o["placement"] = assessment_services.placement_create(patient=patient, by=clinician, placement_type="initial")
    o["specimen"] = assessment_services.specimen_record(
        patient=patient, by=clinician, specimen_type="urine", collected_at=timezone.now() - timedelta(hours=1)
    )
    o["medication"] = assessment_services.medication_add(
        patient=patient,
        by=clinician,
        name="Naltrexone 50 mg",
        medication_class="other",
        start_date=today,
        prescriber_name="Dr. Outside",
    )
    o["ical_token"] = calendar_feed_reset(user=clinician, by=clinician)
    from users.api.tokens import api_token_create

    o["api_token"] = api_token_create(user=clinician, name="Matrix integration", expires_at=None, by=clinician)[0]
    from patients.models import EmergencyAccess

    # A break-glass grant of the other site's clinician, already over (their probes stay 404).
    now = timezone.now()
    o["emergency_access"] = EmergencyAccess.objects.create(
        user=w.other_clinician,
        patient=patient,
        site=site,
        reason="Brought in unresponsive; needed the medication list.",
        started_at=now - timedelta(hours=2),
        expires_at=now - timedelta(hours=1),
    )
    from billing.models import Payer
    from billing.services import authorization_create

    o["authorization"] = authorization_create(
        episode=episode,
        by=w.staff[Role.INTAKE],
        payer=Payer.objects.create(name="Matrix Health Plan", kind="commercial"),
        authorized_level="2.1",
        start_date=episode.admission_date,
        end_date=episode.admission_date + timedelta(days=29),
        units_authorized=20,
        reference_number="MATRIX-1",
    )
    return w


def kwargs_for(name: str, converters: dict, w) -> dict:
    o = w.objects
    p = o["patient"].public_id
    ns, _, short = name.partition(":")
    if not converters:
        return {}
    if ns == "admin" or name.startswith(ALLAUTH_PREFIXES):
        generic = {"app_label": "users", "object_id": "1", "content_type_id": "1"}
        return {key: generic.get(key, "x") for key in converters}
    by_name = {
        "users:membership_edit": {"public_id": w.site.public_id, "membership_id": o["membership"].pk},
        "users:invitation_revoke": {"public_id": w.site.public_id, "invitation_id": o["invitation"].pk},
        "users:invitation_accept": {"token": o["invitation_token"]},
        "users:api_token_revoke": {"public_id": o["api_token"].public_id},
        "patients:episode_discharge": {"public_id": p, "episode_id": o["episode"].public_id},
        "patients:disclosure_packet": {"public_id": p, "disclosure_id": o["disclosure"].public_id},
        "patients:emergency_review": {"access_id": o["emergency_access"].public_id},
        "intake:referral": {"public_id": o["referral"].public_id},
        "intake:referral_advance": {"public_id": o["referral"].public_id},
        "plans:follow_up_record": {
            "public_id": o["discharged_patient"].public_id,
            "checkin_id": o["checkin"].public_id,
        },
        "plans:part_remove": {
            "public_id": p,
            "plan_id": o["plan"].public_id,
            "kind": "objective",
            "part_id": o["objective"].public_id,
        },
        "reports:discharge": {"public_id": p, "episode_id": o["episode"].public_id},
        "assessments:administer": {"public_id": p, "code": "PHQ-9"},
        "scheduling:room_edit": {"pk": o["room"].pk},
        "scheduling:closure_delete": {"pk": o["closure"].pk},
        "scheduling:ical_feed": {"token": o["ical_token"]},
        "scheduling:enrollment_change": {"public_id": o["enrollment"].public_id},
        "scheduling:staff_availability": {"public_id": w.staff[Role.CLINICIAN].public_id},
        "sessions:rollcall_row": {"public_id": o["session"].public_id, "index": 0},
        "sessions:progress_note_new": {"public_id": o["session"].public_id, "patient_id": p},
        "sessions:cosign": {"kind": "progress", "public_id": o["note"].public_id},
        "sessions:attendance_followup": {"public_id": o["attendance"].public_id},
        "sessions:patient_group_note": {"public_id": p, "note_id": o["group_note"].public_id},
    }
    if name in by_name:
        return by_name[name]
    values = {
        "consent_id": o["consent"].public_id,
        "contact_id": o["contact"].public_id,
        "plan_id": (o["rp_plan"] if "rp_" in short else o["plan"]).public_id,
        "problem_id": o["problem"].public_id,
        "goal_id": o["goal"].public_id,
        "objective_id": o["objective"].public_id,
        "checkin_id": o["checkin"].public_id,
        "patient_id": p,
        "episode_id": o["episode"].public_id,
        "track_id": o["track"].public_id,
        "session_id": o["session"].public_id,
        "enrollment_id": o["enrollment"].public_id,
        "note_id": o["note"].public_id,
        "group_note_id": o["group_note"].public_id,
        "response_id": o["response"].public_id,
        "placement_id": o["placement"].public_id,
        "alert_id": o["alert"].public_id,
        "authorization_id": o["authorization"].public_id,
    }
    public_id = {
        "users": w.site.public_id,
        "patients": p,
        "plans": p,
        "sessions": p,
    }.get(ns, p)
    if ns == "scheduling":
        public_id = o["track"].public_id if short.startswith(("track", "enroll")) else p
        if short.startswith(("session", "roster")):
            public_id = o["session"].public_id
    if ns == "sessions":
        if short in {"rollcall", "group_note_open"}:
            public_id = o["session"].public_id
        elif short.startswith("group_note"):
            public_id = o["group_note"].public_id
        elif short.startswith("progress_note"):
            public_id = o["note"].public_id
    if ns == "assessments":
        if short.startswith("response"):
            public_id = o["response"].public_id
        elif short in {"placement_detail", "placement_edit", "placement_cosign"}:
            public_id = o["placement"].public_id
        elif short == "specimen_detail":
            public_id = o["specimen"].public_id
        elif short == "medication_edit":
            public_id = o["medication"].public_id
    if ns == "notifications":
        public_id = o["alert"].public_id
    kwargs = {}
    for key in converters:
        kwargs[key] = public_id if key == "public_id" else values.get(key, uuid.uuid4())
    return kwargs


def classify(response) -> str:
    status = response.status_code
    if status >= 500:
        return f"ERROR {status}"
    if status == 401 or (status in (301, 302) and "/login/" in response.get("Location", "")):
        return "login"
    if status in (403, 404):
        return str(status)
    return "ok"


def client_for(w, column: str, *, api: bool) -> Client:
    client = Client()
    if column == "anonymous":
        return client
    user = w.other_clinician if column == "other_site" else w.staff[column]
    if api:
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {api_key_for(user)}"
    else:
        sign_in(client, user)
    return client


def probe(w, column: str, name: str, converters: dict, method: str) -> str:
    try:
        url = reverse(name, kwargs=kwargs_for(name, converters, w))
    except NoReverseMatch:
        if name.startswith("admin:") or name.startswith(ALLAUTH_PREFIXES):
            return "skip"  # a third-party route whose arguments we do not fabricate
        raise
    client = client_for(w, column, api=name.startswith("api:") and name not in {"api:schema", "api:docs", "api:redoc"})
    if method == "PATCH":
        response = client.patch(url, "{}", content_type="application/json")
    elif method == "POST":
        response = client.post(url, {})
    else:
        response = client.get(url)
    return classify(response)


# --- the tests ----------------------------------------------------------------------------------------


def test_every_route_is_in_the_table():
    missing = sorted(name for name in all_routes() if expected_for(name) is None)
    assert not missing, "Add these routes to EXPECTED with the access they should have:\n" + "\n".join(missing)


@pytest.mark.parametrize("column", COLUMNS)
def test_access_matches_the_table(column):
    w = build_matrix_world()
    wrong = []
    for name, converters in sorted(all_routes().items()):
        spec = expected_for(name)
        if spec is None:
            continue
        method, classes = spec
        got = probe(w, column, name, converters, method)
        if got == "skip":
            continue
        if classes is None:
            if got.startswith("ERROR"):
                wrong.append(f"{name}: {got}")
            continue
        if got != classes[column]:
            wrong.append(f"{name}: expected {classes[column]}, got {got}")
    assert not wrong, f"As {column}:\n" + "\n".join(wrong)


CROSS_SITE_EXCEPTIONS = {
    "users:invitation_accept": "a token link for the invited person, not a site object",
    "scheduling:ical_feed": "a secret-token feed URL, answered by token not by session",
    "sessions:cosign": "kind in the path; covered by the object id",
}


def test_cross_site_probes_answer_404():
    w = build_matrix_world()
    wrong = []
    for name, converters in sorted(all_routes().items()):
        if name.startswith("admin:") or name in CROSS_SITE_EXCEPTIONS:
            continue
        if not any(c.__class__.__name__ in {"UUIDConverter", "IntConverter"} for c in converters.values()):
            continue
        spec = expected_for(name)
        method = spec[0] if spec else "GET"
        got = probe(w, "other_site", name, converters, method)
        if got != "404":
            wrong.append(f"{name}: {got}")
    assert not wrong, "A user of another site must get 404:\n" + "\n".join(wrong)


# --- Django admin, as staff ---------------------------------------------------------------------------
#
# The main table sees every admin route as a non-staff member (sent to sign in). Here every
# model's admin pages (list, add, change, history, delete) are probed as those who do reach the
# admin. The object pages name a row of site A (or, for program-wide settings, any row). Columns:
# a superuser with no site role; a site admin of site A and one of site B, both staff with no
# Django permission rows (what they may do comes from their role); a clinician of site A who is
# staff, without permissions; a member who is not staff. ``absent`` is the admin's "does not
# exist" redirect, its 404.

ADMIN_COLUMNS = ["superuser", "site_admin", "other_site_admin", "staff_no_perms", "member"]
ADMIN_VIEWS = ["changelist", "add", "change", "history", "delete"]

# A clinical record: hidden from site admins and from a superuser with no clinical role (the
# flag alone gives no clinical access); clinical staff who are staff reach the (empty) list but
# not a row; read-only for superusers who hold a clinical role (tests/test_api_admin_audit.py).
CLINICAL = {
    "superuser": "403 403 403 absent 403",
    "site_admin": "403 403 403 absent 403",
    "other_site_admin": "403 403 403 absent 403",
    "staff_no_perms": "ok 403 absent absent 403",
}
# Django's own permission rows only (third-party models; none stored in this world): superusers.
NO_ROWS_SUPERUSER_ONLY = {
    "superuser": "ok ok absent absent absent",
    "site_admin": "403 403 403 absent 403",
    "other_site_admin": "403 403 403 absent 403",
    "staff_no_perms": "403 403 403 absent 403",
}

#: model label -> {column: classes of ADMIN_VIEWS}; the member column is always "login".
#: Reviewed by hand. What a site admin may do comes from ``site_admin_can`` on each admin: their
#: sites' rooms (add, change), closures (add, delete), tracks (change), instrument settings (add,
#: change), staff, roles and tokens (change), their sites (change), invitations and availability
#: (view). Message templates and the Part 2 notice are program-wide: these site admins, each of
#: one site of two, read them (no template is stored here: the defaults are in code).
STAFF_ADMIN_EXPECTED: dict[str, dict[str, str]] = {
    "account.EmailAddress": NO_ROWS_SUPERUSER_ONLY,
    "assessments.AnalyteResult": CLINICAL,
    "assessments.AssessmentResponse": CLINICAL,
    "assessments.InstrumentSetting": {
        "superuser": "ok ok ok ok 403",
        "site_admin": "ok ok ok ok 403",
        "other_site_admin": "ok ok absent absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "assessments.Medication": CLINICAL,
    "assessments.Placement": CLINICAL,
    "assessments.Specimen": CLINICAL,
    # Payers, the service catalogue and rate tables are program-wide, like message templates:
    # site admins of one site of two read them; nobody deletes them (one payer row exists here).
    "billing.Payer": {
        "superuser": "ok ok ok ok 403",
        "site_admin": "ok 403 ok ok 403",
        "other_site_admin": "ok 403 ok ok 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "billing.PayerRate": {
        "superuser": "ok ok absent absent 403",
        "site_admin": "ok 403 absent absent 403",
        "other_site_admin": "ok 403 absent absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "billing.ServiceCode": {
        "superuser": "ok ok absent absent 403",
        "site_admin": "ok 403 absent absent 403",
        "other_site_admin": "ok 403 absent absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "audit.AuditEvent": {
        "superuser": "ok 403 ok ok 403",
        "site_admin": "403 403 403 403 403",
        "other_site_admin": "403 403 403 absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "auth.Group": NO_ROWS_SUPERUSER_ONLY,
    "clinical_sessions.Attendance": CLINICAL,
    "clinical_sessions.ContactAttempt": CLINICAL,
    "clinical_sessions.CosignRequirement": CLINICAL,
    "clinical_sessions.FollowUpPolicy": CLINICAL,
    "clinical_sessions.GroupNote": CLINICAL,
    "clinical_sessions.GroupNoteEntry": CLINICAL,
    "clinical_sessions.NoteAddendum": CLINICAL,
    "clinical_sessions.NoteCosignature": CLINICAL,
    "clinical_sessions.ProgressNote": CLINICAL,
    "django_celery_beat.ClockedSchedule": NO_ROWS_SUPERUSER_ONLY,
    "django_celery_beat.CrontabSchedule": NO_ROWS_SUPERUSER_ONLY,
    "django_celery_beat.IntervalSchedule": NO_ROWS_SUPERUSER_ONLY,
    "django_celery_beat.PeriodicTask": NO_ROWS_SUPERUSER_ONLY,
    "django_celery_beat.SolarSchedule": NO_ROWS_SUPERUSER_ONLY,
    "mfa.Authenticator": {
        "superuser": "ok ok ok ok ok",
        "site_admin": "403 403 403 403 403",
        "other_site_admin": "403 403 403 403 403",
        "staff_no_perms": "403 403 403 403 403",
    },
    "notifications.Alert": {
        "superuser": "ok 403 ok ok 403",
        "site_admin": "403 403 403 403 403",
        "other_site_admin": "403 403 403 absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "notifications.MessageTemplate": {
        "superuser": "ok ok absent absent absent",
        "site_admin": "ok 403 absent absent 403",
        "other_site_admin": "ok 403 absent absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "notifications.OutboundMessage": {
        "superuser": "ok 403 absent absent 403",
        "site_admin": "403 403 403 absent 403",
        "other_site_admin": "403 403 403 absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "patients.Consent": CLINICAL,
    "patients.Disclosure": CLINICAL,
    "patients.Episode": CLINICAL,
    "patients.Part2NoticeTemplate": {
        "superuser": "ok ok ok ok 403",
        "site_admin": "ok 403 ok ok 403",
        "other_site_admin": "ok 403 ok ok 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "patients.Patient": CLINICAL,
    "patients.Referral": CLINICAL,
    "patients.ReferralEvent": CLINICAL,
    "patients.SupportContact": CLINICAL,
    "plans.AftercarePlan": CLINICAL,
    "plans.FollowUpCheckIn": CLINICAL,
    "plans.PlanReviewTrigger": CLINICAL,
    "plans.RecoveryActivity": CLINICAL,
    "plans.RelapseEvent": CLINICAL,
    "plans.RelapsePreventionPlan": CLINICAL,
    "plans.TreatmentPlan": CLINICAL,
    "scheduling.Booking": {
        "superuser": "ok 403 absent absent 403",
        "site_admin": "403 403 403 absent 403",
        "other_site_admin": "403 403 403 absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "scheduling.Closure": {
        "superuser": "ok ok ok ok ok",
        "site_admin": "ok ok ok ok ok",
        "other_site_admin": "ok ok absent absent absent",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "scheduling.Enrollment": {
        "superuser": "ok 403 ok ok 403",
        "site_admin": "403 403 403 403 403",
        "other_site_admin": "403 403 403 absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "scheduling.Room": {
        "superuser": "ok ok ok ok 403",
        "site_admin": "ok ok ok ok 403",
        "other_site_admin": "ok ok absent absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "scheduling.StaffAvailability": {
        "superuser": "ok ok absent absent absent",
        "site_admin": "ok 403 absent absent 403",
        "other_site_admin": "ok 403 absent absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "scheduling.TherapySession": {
        "superuser": "ok 403 ok ok 403",
        "site_admin": "403 403 403 403 403",
        "other_site_admin": "403 403 403 absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "scheduling.TimeOff": NO_ROWS_SUPERUSER_ONLY,
    "scheduling.Track": {
        "superuser": "ok 403 ok ok 403",
        "site_admin": "ok 403 ok ok 403",
        "other_site_admin": "ok 403 absent absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "users.ApiToken": {
        "superuser": "ok 403 ok ok 403",
        "site_admin": "ok 403 ok ok 403",
        "other_site_admin": "ok 403 absent absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "users.Invitation": {
        "superuser": "ok 403 ok ok ok",
        "site_admin": "ok 403 ok ok 403",
        "other_site_admin": "ok 403 absent absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "users.Membership": {
        "superuser": "ok ok ok ok ok",
        "site_admin": "ok 403 ok ok 403",
        "other_site_admin": "ok 403 absent absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "users.Site": {
        "superuser": "ok ok ok ok ok",
        "site_admin": "ok 403 ok ok 403",
        "other_site_admin": "ok 403 absent absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
    "users.User": {
        "superuser": "ok ok ok ok ok",
        "site_admin": "ok 403 ok ok 403",
        "other_site_admin": "ok 403 absent absent 403",
        "staff_no_perms": "403 403 403 absent 403",
    },
}

#: The admin routes that are not a model's list, add, change, history or delete page.
OTHER_ADMIN_ROUTES = {
    "admin:index": "the models each one sees: tests/test_api_admin_audit.py",
    "admin:app_list": "the same, for one app",
    "admin:auth_user_password_change": "superusers only: tests/test_api_admin_audit.py",
    "admin:autocomplete": "scoped by the related model's admin: tests/test_api_admin_audit.py",
    "admin:jsi18n": "static translations",
    "admin:login": "the main sign-in (EXPECTED)",
    "admin:logout": "EXPECTED",
    "admin:password_change": "the admin's own password form (accounts change theirs on the account pages)",
    "admin:password_change_done": "its confirmation",
    "admin:view_on_site": "a redirect to an object's page in the app, which checks access itself",
}


def admin_models() -> list:
    from django.contrib import admin

    return sorted(admin.site._registry, key=lambda m: m._meta.label)


def _admin_class(response) -> str:
    if response.status_code == 302 and response["Location"] == reverse("admin:index"):
        return "absent"
    if response.status_code in (301, 302) and "/login/" in response["Location"]:
        return "login"
    return classify(response)


def _admin_users(w) -> dict:
    from users.tests.factories import UserFactory

    from .test_api_world import staff_member

    users = {
        "superuser": UserFactory(mfa=True, is_staff=True, is_superuser=True),
        "site_admin": staff_member(w.site, Role.SITE_ADMIN, is_staff=True),
        "other_site_admin": staff_member(w.other_site, Role.SITE_ADMIN, is_staff=True),
        "staff_no_perms": staff_member(w.site, Role.CLINICIAN, is_staff=True),
        "member": w.staff[Role.CLINICIAN],
    }
    assert not any(u.user_permissions.exists() for u in users.values())
    return users


def _admin_object_pk(model, w):
    from assessments.services import instrument_setting_save
    from users.admin_audit import site_path_for

    if model._meta.label == "assessments.InstrumentSetting":
        instrument_setting_save(
            site=w.site, instrument_code="AUDIT", enabled=True, reassessment_interval_days=90, by=None
        )
    if model._meta.label == "users.User":
        return w.staff[Role.CLINICIAN].pk
    path = site_path_for(model)
    rows = model._default_manager.all()
    if path is not None:
        rows = rows.filter(**{path: w.site.pk})
    row = rows.order_by("pk").first()
    return row.pk if row is not None else 0


def observe_staff_admin() -> dict[str, dict[str, str]]:
    from patients.models import Part2NoticeTemplate

    w = build_matrix_world()
    Part2NoticeTemplate.current()
    users = _admin_users(w)
    clients = {}
    for column, user in users.items():
        clients[column] = Client()
        clients[column].force_login(user)
    observed = {}
    for model in admin_models():
        pk = _admin_object_pk(model, w)
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        row = {}
        for column in ADMIN_COLUMNS:
            got = []
            for view in ADMIN_VIEWS:
                url = reverse(f"{prefix}_{view}", args=[pk] if view in {"change", "history", "delete"} else [])
                got.append(_admin_class(clients[column].get(url)))
            row[column] = " ".join(got)
        observed[model._meta.label] = row
    return observed


def test_every_admin_model_is_in_the_staff_table():
    assert sorted(m._meta.label for m in admin_models()) == sorted(STAFF_ADMIN_EXPECTED)


def test_every_admin_route_is_a_probed_view_or_listed():
    per_model = {f"admin:{m._meta.app_label}_{m._meta.model_name}_{v}" for m in admin_models() for v in ADMIN_VIEWS}
    others = {name for name in all_routes() if name.startswith("admin:") and name not in per_model}
    assert others == set(OTHER_ADMIN_ROUTES)


def test_staff_admin_access_matches_the_table():
    wrong = []
    for label, row in sorted(observe_staff_admin().items()):
        expected = {**STAFF_ADMIN_EXPECTED[label], "member": "login login login login login"}
        for column in ADMIN_COLUMNS:
            if row[column] != expected[column]:
                wrong.append(f"{label} as {column}: expected {expected[column]}, got {row[column]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.skipif(not os.environ.get("MATRIX_PRINT"), reason="set MATRIX_PRINT=1 to print the observed table")
def test_print_observed_staff_admin_table():
    for label, row in observe_staff_admin().items():
        print(f'    "{label}": {{')
        for column in ADMIN_COLUMNS[:4]:
            print(f'        "{column}": "{row[column]}",')
        print("    },")


@pytest.mark.skipif(not os.environ.get("MATRIX_PRINT"), reason="set MATRIX_PRINT=1 to print the observed table")
def test_print_observed_table():
    observed = {}
    methods = {}
    for column in COLUMNS:
        w = build_matrix_world()
        for name, converters in sorted(all_routes().items()):
            if name.startswith("admin:") or name.startswith(ALLAUTH_PREFIXES):
                continue
            if name not in methods:
                # POST-only views answer GET with 405: probe those with an empty POST.
                url = reverse(name, kwargs=kwargs_for(name, converters, w))
                api = name.startswith("api:") and name not in {"api:schema", "api:docs", "api:redoc"}
                status = client_for(w, Role.SUPERVISOR, api=api).get(url).status_code
                methods[name] = "POST" if status == 405 else "GET"
                if name in {
                    "api:patient-update",
                    "api:note-update",
                    "api:plan-update",
                    "api:group-note-update",
                    "api:placement-update",
                    "api:authorization-update",
                }:
                    methods[name] = "PATCH"
            got = probe(w, column, name, converters, methods[name])
            observed.setdefault(name, []).append(got)
    for name, row in sorted(observed.items()):
        print(f'    "{name}": ("{methods[name]}", "{" ".join(row)}"),')


EXPECTED: dict[str, tuple[str, str]] = {
    # name: (method, "anonymous intake clinician supervisor director site_admin")
    #
    # Reviewed by hand. Notes on what "ok" hides:
    # - API create endpoints (patient, session-book, enrollment, note, plan, assessment) validate
    #   the body first, so an empty POST is 400 ("ok") for every role; who may create is then
    #   decided at the named site or record (403/404), tested in tests/test_api_endpoints.py.
    # - PATCH without If-Match on notes and plans is 428 ("ok") for those who may edit.
    # - The SMS webhooks are public by design and answer 403 to an unsigned request.
    # - Invitation links and the iCal feed are authorised by their secret token, not a session.
    # - Admin sign-in goes through the main sign-in; a signed-in non-staff member is refused.
    "admin:login": ("GET", "login 403 403 403 403 403"),
    "admin:logout": ("GET", "ok ok ok ok ok ok"),
    "api:alert-acknowledge": ("POST", "login 404 ok ok 403 404"),
    "api:alert-detail": ("GET", "login 404 ok ok ok 404"),
    "api:alert-list": ("GET", "login 403 ok ok ok 403"),
    "api:assessment-create": ("POST", "login ok ok ok ok ok"),
    # Authorizations: read by whoever sees the patient, written with billing.manage (intake,
    # supervisor, director); an empty create is 400 for every role, PATCH without If-Match 428.
    "api:authorization-create": ("POST", "login ok ok ok ok ok"),
    "api:authorization-detail": ("GET", "login ok ok ok ok 404"),
    "api:authorization-list": ("GET", "login ok ok ok ok 403"),
    "api:authorization-review-create": ("POST", "login ok 403 ok ok 404"),
    "api:authorization-update": ("PATCH", "login ok 403 ok ok 404"),
    "api:assessment-detail": ("GET", "login ok ok ok ok 404"),
    "api:assessment-list": ("GET", "login ok ok ok ok 403"),
    "api:assessment-score": ("POST", "login ok ok ok 403 403"),
    "api:attendance-list": ("GET", "login 403 ok ok ok 403"),
    "api:attendance-record": ("POST", "login 403 ok ok 403 403"),
    "api:consent-create": ("POST", "login ok ok ok 403 404"),
    "api:consent-detail": ("GET", "login ok ok ok ok 404"),
    "api:consent-list": ("GET", "login ok ok ok ok 404"),
    "api:consent-revoke": ("POST", "login ok ok ok 403 404"),
    "api:disclosure-create": ("POST", "login ok ok ok 403 404"),
    "api:disclosure-list": ("GET", "login ok ok ok ok 404"),
    "api:docs": ("GET", "login ok ok ok ok ok"),
    "api:enrollment-create": ("POST", "login ok ok ok ok ok"),
    "api:enrollment-detail": ("GET", "login ok ok ok ok 404"),
    "api:enrollment-end": ("POST", "login ok ok ok 403 404"),
    "api:enrollment-list": ("GET", "login ok ok ok ok 403"),
    "api:episode-admit": ("POST", "login ok ok ok 403 404"),
    "api:episode-discharge": ("POST", "login 403 ok ok 403 404"),
    "api:episode-list": ("GET", "login ok ok ok ok 404"),
    "api:me": ("GET", "login ok ok ok ok ok"),
    "api:note-create": ("POST", "login ok ok ok ok ok"),
    "api:note-detail": ("GET", "login 403 ok ok ok 403"),
    "api:note-list": ("GET", "login 403 ok ok ok 403"),
    # Only the author signs a note: a supervisor who did not write it is refused (403).
    "api:note-sign": ("POST", "login 403 ok 403 403 403"),
    "api:note-update": ("PATCH", "login 403 ok ok 403 403"),
    "api:patient-create": ("POST", "login ok ok ok ok ok"),
    "api:patient-detail": ("GET", "login ok ok ok ok 404"),
    "api:patient-fhir-disclosure": ("POST", "login ok ok ok 403 404"),
    "api:patient-list": ("GET", "login ok ok ok ok 403"),
    "api:patient-search": ("POST", "login ok ok ok ok 403"),
    "api:patient-update": ("PATCH", "login ok ok ok 403 404"),
    "api:placement-detail": ("GET", "login 404 ok ok ok 404"),
    "api:placement-list": ("GET", "login 403 ok ok ok 403"),
    "api:placement-recommend": ("POST", "login 403 ok ok 403 403"),
    "api:payer-list": ("GET", "login ok ok ok ok ok"),
    "api:plan-create": ("POST", "login ok ok ok ok ok"),
    "api:plan-detail": ("GET", "login 403 ok ok ok 403"),
    "api:plan-list": ("GET", "login 403 ok ok ok 403"),
    "api:plan-sign": ("POST", "login 403 ok ok 403 403"),
    "api:plan-update": ("PATCH", "login 403 ok ok 403 403"),
    "api:redoc": ("GET", "login ok ok ok ok ok"),
    "api:schema": ("GET", "login ok ok ok ok ok"),
    "api:service-code-list": ("GET", "login ok ok ok ok ok"),
    "api:session-book": ("POST", "login ok ok ok ok ok"),
    "api:session-detail": ("GET", "login ok ok ok ok ok"),
    "api:session-list": ("GET", "login ok ok ok ok ok"),
    "api:track-detail": ("GET", "login ok ok ok ok ok"),
    "api:track-list": ("GET", "login ok ok ok ok ok"),
    "assessments:administer": ("GET", "login ok ok ok 403 404"),
    "assessments:due": ("GET", "login 403 ok ok ok 403"),
    "assessments:medication_create": ("GET", "login 403 ok ok 403 404"),
    "assessments:medication_edit": ("GET", "login 404 ok ok 403 404"),
    "assessments:medication_list": ("GET", "login 403 ok ok ok 404"),
    "assessments:patient": ("GET", "login ok ok ok ok 404"),
    "assessments:placement_cosign": ("POST", "login 404 403 ok 403 404"),
    "assessments:placement_create": ("GET", "login 403 ok ok 403 404"),
    "assessments:placement_detail": ("GET", "login 404 ok ok ok 404"),
    "assessments:placement_edit": ("GET", "login 404 ok ok 403 404"),
    "assessments:placement_list": ("GET", "login 403 ok ok ok 404"),
    "assessments:placement_review": ("GET", "login 403 403 ok 403 403"),
    "assessments:response_close": ("POST", "login 403 ok ok 403 404"),
    "assessments:response_detail": ("GET", "login ok ok ok ok 404"),
    "assessments:specimen_create": ("GET", "login 403 ok ok 403 404"),
    "assessments:specimen_detail": ("GET", "login 404 ok ok ok 404"),
    "assessments:specimen_list": ("GET", "login 403 ok ok ok 404"),
    "audit:list": ("GET", "login 403 403 ok ok ok"),
    # Authorizations and UR: whoever sees the patient reads; billing.manage (intake, supervisor,
    # director) records; site admins never see patients.
    "billing:authorizations": ("GET", "login ok ok ok ok 404"),
    "billing:authorization_create": ("GET", "login ok 403 ok ok 404"),
    "billing:authorization_detail": ("GET", "login ok ok ok ok 404"),
    "billing:authorization_edit": ("GET", "login ok 403 ok ok 404"),
    "billing:review_create": ("POST", "login ok 403 ok ok 404"),
    "home": ("GET", "login ok ok ok ok ok"),
    "intake:board": ("GET", "login ok ok ok 403 403"),
    "intake:referral": ("GET", "login ok ok ok ok 404"),
    "intake:referral_advance": ("POST", "login ok ok ok 403 404"),
    "notifications:alert_detail": ("GET", "login 404 ok ok ok 404"),
    "notifications:alert_list": ("GET", "login 403 ok ok ok 403"),
    "notifications:delivery": ("GET", "login 403 403 ok 403 ok"),
    "notifications:sms_inbound": ("POST", "403 403 403 403 403 403"),
    "notifications:sms_status": ("POST", "403 403 403 403 403 403"),
    "patients:archive": ("GET", "login 403 403 ok 403 404"),
    "patients:consent_create": ("GET", "login ok ok ok 403 404"),
    "patients:consent_detail": ("GET", "login ok ok ok ok 404"),
    "patients:consent_list": ("GET", "login ok ok ok ok 404"),
    "patients:consent_revoke": ("POST", "login ok ok ok 403 404"),
    "patients:detail": ("GET", "login ok ok ok ok 404"),
    "patients:disclosure_accounting": ("GET", "login ok ok ok ok 404"),
    "patients:disclosure_create": ("GET", "login ok ok ok 403 404"),
    "patients:disclosure_list": ("GET", "login ok ok ok ok 404"),
    "patients:disclosure_packet": ("GET", "login ok ok ok 403 404"),
    "patients:disclosure_without_consent": ("GET", "login 403 403 ok ok 404"),
    "patients:edit": ("GET", "login ok ok ok 403 404"),
    "patients:emergency_access": ("GET", "login 403 ok ok ok 403"),
    # Ending a grant: only one's own (the probe names no grant of theirs).
    "patients:emergency_end": ("POST", "login 404 404 404 404 404"),
    "patients:emergency_review": ("GET", "login 404 404 ok ok 404"),
    "patients:emergency_reviews": ("GET", "login 403 403 ok ok 403"),
    "patients:episode_admit": ("GET", "login ok ok ok 403 404"),
    "patients:episode_discharge": ("GET", "login 403 ok ok 403 404"),
    "patients:referral_create": ("GET", "login ok ok ok 403 404"),
    "patients:register": ("GET", "login ok ok ok 403 403"),
    "patients:search": ("GET", "login ok ok ok ok 403"),
    "patients:support_create": ("GET", "login ok ok ok 403 404"),
    "patients:support_edit": ("GET", "login ok ok ok 403 404"),
    "patients:support_list": ("GET", "login ok ok ok ok 404"),
    "patients:support_remove": ("POST", "login ok ok ok 403 404"),
    "plans:aftercare": ("GET", "login 403 ok ok ok 404"),
    "plans:due": ("GET", "login 403 ok ok ok 403"),
    "plans:follow_up_record": ("GET", "login 403 ok ok 403 404"),
    "plans:follow_ups": ("GET", "login 403 ok ok ok 403"),
    "plans:goal_add": ("POST", "login 403 ok ok 403 404"),
    "plans:intervention_add": ("POST", "login 403 ok ok 403 404"),
    "plans:objective_add": ("POST", "login 403 ok ok 403 404"),
    "plans:objective_edit": ("GET", "login 403 ok ok 403 404"),
    "plans:overview": ("GET", "login 403 ok ok ok 404"),
    "plans:part_remove": ("POST", "login 403 ok ok 403 404"),
    "plans:problem_add": ("POST", "login 403 ok ok 403 404"),
    "plans:recovery": ("GET", "login 403 ok ok ok 404"),
    "plans:relapse": ("POST", "login 403 ok ok 403 404"),
    "plans:review_request": ("POST", "login 403 ok ok 403 404"),
    "plans:rp_contact_add": ("POST", "login 403 ok ok 403 404"),
    "plans:rp_contact_remove": ("POST", "login 403 ok ok 403 404"),
    "plans:rp_plan": ("GET", "login 403 ok ok ok 404"),
    "plans:rp_plan_print": ("GET", "login 403 ok ok ok 404"),
    "plans:rp_plan_sign": ("POST", "login 403 ok ok 403 404"),
    "plans:rp_plan_start": ("POST", "login 403 ok ok 403 404"),
    "plans:rp_strategy_add": ("POST", "login 403 ok ok 403 404"),
    "plans:rp_trigger_add": ("POST", "login 403 ok ok 403 404"),
    "plans:treatment_plan": ("GET", "login 403 ok ok ok 404"),
    "plans:treatment_plan_cosign": ("POST", "login 403 403 ok 403 404"),
    "plans:treatment_plan_edit": ("POST", "login 403 ok ok 403 404"),
    "plans:treatment_plan_sign": ("POST", "login 403 ok ok 403 404"),
    "plans:treatment_plan_start": ("POST", "login 403 ok ok 403 404"),
    "reports:discharge": ("GET", "login 403 ok ok ok 404"),
    "scheduling:calendar": ("GET", "login ok ok ok ok ok"),
    "scheduling:closure_delete": ("POST", "login 403 403 ok ok ok"),
    "scheduling:closure_list": ("GET", "login ok ok ok ok ok"),
    "scheduling:enroll": ("GET", "login ok ok ok 403 403"),
    "scheduling:enrollment_change": ("GET", "login ok ok ok 403 404"),
    "scheduling:feed_settings": ("GET", "login ok ok ok ok ok"),
    "scheduling:ical_feed": ("GET", "ok ok ok ok ok ok"),
    "scheduling:my_day": ("GET", "login ok ok ok ok ok"),
    "scheduling:patient_schedule": ("GET", "login ok ok ok ok 404"),
    "scheduling:patient_schedule_print": ("GET", "login ok ok ok ok 404"),
    "scheduling:room_edit": ("GET", "login 403 403 ok ok ok"),
    "scheduling:room_list": ("GET", "login ok ok ok ok ok"),
    "scheduling:roster_add": ("POST", "login ok ok ok 403 403"),
    "scheduling:session_book": ("GET", "login ok ok ok 403 403"),
    "scheduling:session_cancel": ("POST", "login ok ok ok 403 403"),
    "scheduling:session_detail": ("GET", "login ok ok ok ok ok"),
    "scheduling:session_move": ("GET", "login ok ok ok 403 403"),
    "scheduling:track_create": ("GET", "login 403 403 ok ok ok"),
    "scheduling:track_detail": ("GET", "login ok ok ok ok ok"),
    "scheduling:track_edit": ("GET", "login 403 403 ok ok ok"),
    "scheduling:track_generate": ("POST", "login 403 403 ok ok ok"),
    "scheduling:track_list": ("GET", "login ok ok ok ok ok"),
    "sessions:attendance_followup": ("GET", "login 403 ok ok ok 403"),
    "sessions:cosign": ("POST", "login 403 403 ok 403 403"),
    "sessions:cosign_queue": ("GET", "login 403 403 ok 403 403"),
    "sessions:followups": ("GET", "login 403 ok ok ok 403"),
    "sessions:clinical_settings": ("GET", "login 403 ok ok ok 403"),
    "sessions:group_note": ("GET", "login 403 ok ok ok 403"),
    "sessions:group_note_edit": ("GET", "login 403 ok ok 403 403"),
    "sessions:group_note_open": ("POST", "login 403 ok ok 403 403"),
    "sessions:my_notes": ("GET", "login 403 ok ok 403 403"),
    "sessions:patient_followup": ("GET", "login 403 ok ok ok 404"),
    "sessions:patient_group_note": ("GET", "login 403 ok ok ok 404"),
    "sessions:patient_hours": ("GET", "login 403 ok ok ok 404"),
    "sessions:patient_notes": ("GET", "login 403 ok ok ok 404"),
    "sessions:progress_note": ("GET", "login 403 ok ok ok 403"),
    "sessions:progress_note_edit": ("GET", "login 403 ok 403 403 403"),
    "sessions:progress_note_new": ("POST", "login 403 ok ok 403 403"),
    "sessions:rollcall": ("GET", "login 403 ok ok ok 403"),
    "sessions:rollcall_row": ("POST", "login 403 ok ok 403 403"),
    # The screen lock (users/lock.py): every signed-in person's own session, no record. The
    # keep-alive and the lock status answer anyone (nothing to show; a signed-out caller reads
    # as locked).
    "users:alive": ("GET", "ok ok ok ok ok ok"),
    "users:lock": ("POST", "login ok ok ok ok ok"),
    "users:lock_status": ("GET", "ok ok ok ok ok ok"),
    "users:locked": ("GET", "login ok ok ok ok ok"),
    "users:unlock": ("GET", "login ok ok ok ok ok"),
    "users:unlocked": ("GET", "login ok ok ok ok ok"),
    "users:api_token_create": ("POST", "login ok ok ok ok ok"),
    # The probed token is the clinician's: only its owner reaches it.
    "users:api_token_revoke": ("POST", "login 404 ok 404 404 404"),
    "users:api_tokens": ("GET", "login ok ok ok ok ok"),
    "users:invitation_accept": ("GET", "ok ok ok ok ok ok"),
    "users:invitation_revoke": ("POST", "login 403 403 403 403 ok"),
    "users:membership_edit": ("GET", "login 403 403 403 403 ok"),
    "users:site_detail": ("GET", "login ok ok ok ok ok"),
    "users:site_edit": ("GET", "login 403 403 403 403 ok"),
    "users:site_switch": ("POST", "login 404 404 404 404 404"),
    "users:staff": ("GET", "login 403 403 403 403 ok"),
    # Added as the reports pages and scheduling availability landed.
    "caseload": ("GET", "ok ok ok ok ok ok"),
    "reports:caseload": ("GET", "login 403 ok ok ok 403"),
    "reports:dashboard": ("GET", "login 403 403 ok ok ok"),
    "reports:per_diem": ("GET", "login 403 403 ok ok 403"),
    "scheduling:my_availability": ("GET", "login ok ok ok ok ok"),
    # An empty POST names no roster entry: 404 for those who may book, 403 for those who may not.
    "scheduling:roster_remove": ("POST", "login 404 404 404 403 403"),
    "scheduling:staff_availability": ("GET", "login 403 ok ok ok ok"),
    "scheduling:track_deactivate": ("GET", "login 403 403 ok ok ok"),
    # Group notes, co-signatures, addenda and placement writes over the API. The probed group
    # note, progress note and placement are drafts written by the clinician: co-signing them
    # is 409 ("ok") for a supervisor, adding an addendum 409 for those who may write, signing
    # 400 (parts missing) for the author and 403 for anyone else; decide/sign with an empty
    # body are 400 for those who may write; PATCH without If-Match on a group note is 428.
    "api:cosign-queue": ("GET", "login 403 403 ok 403 403"),
    "api:group-note-addendum": ("POST", "login 403 ok ok 403 403"),
    "api:group-note-cosign": ("POST", "login 403 403 ok 403 403"),
    "api:group-note-create": ("POST", "login ok ok ok ok ok"),
    "api:group-note-detail": ("GET", "login 403 ok ok ok 403"),
    "api:group-note-list": ("GET", "login 403 ok ok ok 403"),
    "api:group-note-sign": ("POST", "login 403 ok 403 403 403"),
    "api:group-note-update": ("PATCH", "login 403 ok ok 403 403"),
    "api:note-addendum": ("POST", "login 403 ok ok 403 403"),
    "api:note-cosign": ("POST", "login 403 403 ok 403 403"),
    "api:placement-cosign": ("POST", "login 404 403 ok 403 404"),
    "api:placement-create": ("POST", "login ok ok ok ok ok"),
    "api:placement-decide": ("POST", "login 404 ok ok 403 404"),
    "api:placement-sign": ("POST", "login 404 ok ok 403 404"),
    "api:placement-update": ("PATCH", "login 404 ok ok 403 404"),
}
