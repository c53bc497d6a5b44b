"""Django admin: every change page opened, saved or deleted is audited (Action.ADMIN), and a
site admin who is staff sees only their own sites' rows."""

from __future__ import annotations

from datetime import time

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEvent
from scheduling.models import Room, TrackBlock
from tests.fixtures import sign_in
from users.admin_audit import AuditedAdminMixin, site_path_for
from users.models import Role, User
from users.tests.factories import MembershipFactory, UserFactory

from .test_api_world import staff_member

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    sign_in(client, user)
    return client


def test_every_registered_admin_is_audited():
    missing = [
        f"{model._meta.label}: {type(model_admin).__name__}"
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, AuditedAdminMixin)
        and model._meta.app_label not in {"auth", "account", "mfa"}
        and model._meta.app_label not in {"django_celery_beat", "sites", "socialaccount", "usersessions"}
    ]
    assert not missing, missing


def test_opening_and_saving_a_change_page_is_audited(site):
    superuser = UserFactory(mfa=True, is_staff=True, is_superuser=True)
    room = Room.objects.create(site=site, name="Oak", capacity=10)
    client = _client(superuser)
    url = reverse("admin:scheduling_room_change", args=[room.pk])
    assert client.get(url).status_code == 200
    event = AuditEvent.objects.filter(action=Action.ADMIN).first()
    assert event.object_type == "scheduling.Room" and event.reason == "viewed in admin"
    assert event.site_id == site.pk


def test_a_site_admin_sees_only_their_sites_rows(site, other_site):
    admin_user = staff_member(site, Role.SITE_ADMIN, is_staff=True)
    Room.objects.create(site=site, name="Mine", capacity=10)
    theirs = Room.objects.create(site=other_site, name="Theirs", capacity=10)
    client = _client(admin_user)
    body = client.get(reverse("admin:scheduling_room_changelist")).content.decode()
    assert "Mine" in body and "Theirs" not in body
    assert client.get(reverse("admin:scheduling_room_change", args=[theirs.pk])).status_code in (302, 404)


def test_site_paths_are_inferred():
    from patients.models import Consent, Patient
    from sessions.models import Attendance
    from users.models import Site, User

    assert site_path_for(Site) == "pk"
    assert site_path_for(User) == "memberships__site"
    assert site_path_for(Patient) == "site"
    assert site_path_for(Consent) == "patient__site"
    assert site_path_for(Attendance) == "patient__site"


# --- a site admin's admin comes from their role ------------------------------------------------------


def _site_admin(*sites):
    """Like the demo site admin: staff, no Django permission rows."""
    user = staff_member(sites[0], Role.SITE_ADMIN, is_staff=True)
    for extra in sites[1:]:
        MembershipFactory(user=user, site=extra, role=Role.SITE_ADMIN)
    assert not user.user_permissions.exists() and not user.groups.exists()
    return user


SITE_ADMIN_MODELS = {
    "assessments": {"instrumentsetting"},
    "billing": {"payer", "payerrate", "servicecode"},
    "notifications": {"messagetemplate"},
    "patients": {"part2noticetemplate"},
    "scheduling": {"closure", "room", "staffavailability", "track"},
    "users": {"apitoken", "invitation", "membership", "site", "user"},
}


def test_a_site_admin_without_permission_rows_sees_exactly_the_configuration(site, other_site):
    client = _client(_site_admin(site))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    seen = {app["app_label"]: {m["object_name"].lower() for m in app["models"]} for app in response.context["app_list"]}
    assert seen == SITE_ADMIN_MODELS


def test_a_site_admin_adds_a_room_changes_a_track_and_sets_an_instrument(site, other_site):
    from assessments.models import InstrumentSetting
    from sessions.tests.factories import make_track

    admin_user = _site_admin(site)
    client = _client(admin_user)
    response = client.post(
        reverse("admin:scheduling_room_add"), {"site": site.pk, "name": "Cedar", "capacity": 12, "is_active": "on"}
    )
    assert response.status_code == 302, response.content
    room = Room.objects.get(name="Cedar")
    assert room.site == site
    assert AuditEvent.objects.filter(action=Action.ADMIN, reason="added in admin", actor=admin_user).exists()

    track = make_track(site, name="Morning IOP")
    for weekday in track.meeting_days:
        TrackBlock.objects.create(track=track, weekday=weekday, start_time=time(9), end_time=time(12), title="Group")
    data = {
        "name": "Morning IOP (adults)",
        "capacity": 30,
        "start_date": track.start_date.isoformat(),
        "end_date": "",
        "topics": "[]",
        "is_active": "on",
        "blocks-TOTAL_FORMS": 0,
        "blocks-INITIAL_FORMS": 0,
    }
    response = client.post(reverse("admin:scheduling_track_change", args=[track.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    track.refresh_from_db()
    assert track.name == "Morning IOP (adults)"
    assert AuditEvent.objects.filter(action=Action.ADMIN, reason="changed in admin", object_type="scheduling.Track")

    response = client.post(
        reverse("admin:assessments_instrumentsetting_add"),
        {"site": site.pk, "instrument": "AUDIT", "enabled": "on", "reassessment_interval_days": 90},
    )
    assert response.status_code == 302, response.content
    setting = InstrumentSetting.objects.get(site=site, instrument="AUDIT")
    assert setting.reassessment_interval_days == 90
    assert AuditEvent.objects.filter(action=Action.ADMIN, object_type="assessments.InstrumentSetting").exists()


def test_another_sites_rows_and_clinical_records_are_out_of_reach(site, other_site):
    from sessions.tests.factories import make_track

    client = _client(_site_admin(site))
    theirs = make_track(other_site, name="Their track")
    assert client.get(reverse("admin:scheduling_track_change", args=[theirs.pk])).status_code == 302
    assert client.post(
        reverse("admin:scheduling_track_change", args=[theirs.pk]), {"name": "Mine now"}
    ).status_code in (
        302,
        403,
    )
    theirs.refresh_from_db()
    assert theirs.name == "Their track"
    assert client.get(reverse("admin:users_site_change", args=[other_site.pk])).status_code == 302
    for name in [
        "admin:patients_patient_changelist",
        "admin:patients_episode_changelist",
        "admin:clinical_sessions_progressnote_changelist",
        "admin:clinical_sessions_attendance_changelist",
        "admin:assessments_assessmentresponse_changelist",
        "admin:assessments_placement_changelist",
        "admin:plans_treatmentplan_changelist",
        "admin:scheduling_enrollment_changelist",
        "admin:notifications_alert_changelist",
        "admin:audit_auditevent_changelist",
    ]:
        assert client.get(reverse(name)).status_code == 403, name


def test_site_choices_and_filters_list_only_their_sites(site, other_site):
    client = _client(_site_admin(site))
    form = client.get(reverse("admin:scheduling_room_add")).content.decode()
    assert site.name in form and other_site.name not in form
    Room.objects.create(site=site, name="Mine", capacity=10)
    Room.objects.create(site=other_site, name="Theirs", capacity=10)
    listing = client.get(reverse("admin:scheduling_room_changelist")).content.decode()
    assert site.name in listing and other_site.name not in listing
    memberships = client.get(reverse("admin:users_membership_changelist")).content.decode()
    assert other_site.name not in memberships


def test_a_forged_post_for_another_site_is_refused_naming_the_field(site, other_site):
    client = _client(_site_admin(site))
    response = client.post(
        reverse("admin:scheduling_room_add"),
        {"site": other_site.pk, "name": "Forged", "capacity": 5, "is_active": "on"},
    )
    assert response.status_code == 200
    assert "site" in response.context["adminform"].form.errors
    assert not Room.objects.filter(name="Forged").exists()
    response = client.post(
        reverse("admin:assessments_instrumentsetting_add"),
        {"site": other_site.pk, "instrument": "AUDIT", "enabled": "on", "reassessment_interval_days": 90},
    )
    assert "site" in response.context["adminform"].form.errors


def test_a_site_admin_cannot_grant_superuser_permissions_or_set_passwords(site, other_site):
    admin_user = _site_admin(site)
    client = _client(admin_user)
    colleague = staff_member(site, Role.CLINICIAN)
    page = client.get(reverse("admin:users_user_change", args=[colleague.pk])).content.decode()
    assert 'name="is_superuser"' not in page and 'name="user_permissions"' not in page
    assert client.get(reverse("admin:auth_user_password_change", args=[colleague.pk])).status_code == 403
    # Someone who also works at a site they do not administer, or a superuser, is read-only.
    MembershipFactory(user=colleague, site=other_site, role=Role.CLINICIAN)
    response = client.post(reverse("admin:users_user_change", args=[colleague.pk]), {"full_name": "Changed"})
    assert response.status_code == 403
    colleague.refresh_from_db()
    assert colleague.full_name != "Changed"


def test_program_wide_templates_need_an_admin_of_every_site_and_pass_the_privacy_linter(site, other_site):
    from notifications.models import MessageTemplate

    data = {"key": "session_reminder", "channel": "sms", "audience": "patient", "subject": "", "body": "x"}
    one_site = _client(_site_admin(site))
    assert one_site.get(reverse("admin:notifications_messagetemplate_changelist")).status_code == 200
    assert one_site.post(reverse("admin:notifications_messagetemplate_add"), data).status_code == 403
    every_site = _client(_site_admin(site, other_site))
    data["body"] = "Reminder: your methadone group at {{ time }}."
    response = every_site.post(reverse("admin:notifications_messagetemplate_add"), data)
    assert response.status_code == 200 and "body" in response.context["adminform"].form.errors
    assert not MessageTemplate.objects.exists()
    data["body"] = "Reminder: you have an appointment at {{ time }}."
    assert every_site.post(reverse("admin:notifications_messagetemplate_add"), data).status_code == 302
    assert AuditEvent.objects.filter(action=Action.ADMIN, object_type="notifications.MessageTemplate").exists()


def test_a_superuser_sees_clinical_records_read_only(site):
    from patients.models import Patient
    from patients.tests.factories import PatientFactory

    superuser = UserFactory(mfa=True, is_staff=True, is_superuser=True)
    client = _client(superuser)
    assert client.get(reverse("admin:patients_patient_changelist")).status_code == 403  # the flag alone
    MembershipFactory(user=superuser, site=site, role=Role.CLINICIAN)
    patient = PatientFactory(site=site)
    response = client.get(reverse("admin:patients_patient_changelist"))
    assert response.status_code == 200
    assert "delete_selected" not in response.content.decode()
    assert response.context["has_add_permission"] is False
    assert client.get(reverse("admin:patients_patient_add")).status_code == 403
    assert client.get(reverse("admin:patients_patient_delete", args=[patient.pk])).status_code == 403
    page = client.get(reverse("admin:patients_patient_change", args=[patient.pk]))
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert client.post(reverse("admin:patients_patient_change", args=[patient.pk]), {"mrn": "X"}).status_code == 403
    response = client.post(
        reverse("admin:patients_patient_changelist"),
        {"action": "delete_selected", "_selected_action": [patient.pk], "post": "yes"},
    )
    assert Patient.objects.filter(pk=patient.pk, deleted_at__isnull=True).exists()
    for name in ["admin:assessments_assessmentresponse_changelist", "admin:clinical_sessions_progressnote_changelist"]:
        response = client.get(reverse(name))
        assert response.status_code == 200 and "delete_selected" not in response.content.decode()


def test_the_site_admin_role_lets_one_sign_in_to_the_admin(site):
    from users.services import membership_set_role

    director = UserFactory(mfa=True)
    membership = MembershipFactory(user=director, site=site, role=Role.CLINICIAN)
    by = staff_member(site, Role.SITE_ADMIN)
    membership_set_role(membership=membership, role=Role.SITE_ADMIN, is_active=True, by=by)
    director.refresh_from_db()
    assert director.is_staff
    membership_set_role(membership=membership, role=Role.DIRECTOR, is_active=True, by=by)
    director.refresh_from_db()
    assert not director.is_staff
    superuser = UserFactory(mfa=True, is_staff=True, is_superuser=True)
    membership = MembershipFactory(user=superuser, site=site, role=Role.SITE_ADMIN)
    membership_set_role(membership=membership, role=Role.CLINICIAN, is_active=True, by=by)
    superuser.refresh_from_db()
    assert superuser.is_staff


def test_closing_a_site_ends_its_site_admins_admin_access(site, other_site):
    from users.services import site_update

    only_here = UserFactory(mfa=True)
    MembershipFactory(user=only_here, site=site, role=Role.SITE_ADMIN)
    also_elsewhere = UserFactory(mfa=True)
    MembershipFactory(user=also_elsewhere, site=site, role=Role.SITE_ADMIN)
    MembershipFactory(user=also_elsewhere, site=other_site, role=Role.SITE_ADMIN)
    by = UserFactory(mfa=True, is_staff=True, is_superuser=True)
    for user in (only_here, also_elsewhere):
        User.objects.filter(pk=user.pk).update(is_staff=True)

    site_update(site=site, by=by, is_active=False)
    only_here.refresh_from_db()
    also_elsewhere.refresh_from_db()
    assert not only_here.is_staff  # their one site is closed
    assert also_elsewhere.is_staff  # still a site admin of an open site
    site_update(site=site, by=by, is_active=True)
    only_here.refresh_from_db()
    assert only_here.is_staff


def test_a_service_refusal_in_admin_is_a_message_not_a_server_error(site):
    """A track without time blocks (made outside the app's editor) cannot be saved by the track
    service; the admin says so and keeps the track as it was."""
    from sessions.tests.factories import make_track

    client = _client(_site_admin(site))
    track = make_track(site, name="No blocks yet")
    TrackBlock.objects.filter(track=track).delete()
    data = {
        "name": "Renamed",
        "capacity": 12,
        "start_date": track.start_date.isoformat(),
        "end_date": "",
        "topics": "[]",
        "is_active": "on",
        "blocks-TOTAL_FORMS": 0,
        "blocks-INITIAL_FORMS": 0,
    }
    url = reverse("admin:scheduling_track_change", args=[track.pk])
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    track.refresh_from_db()
    assert track.name == "No blocks yet"
