"""Per-site instrument settings: which instruments are offered at a site and how often each is
due again. No row means the defaults; scoring and safety rules are never settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from assessments import services
from assessments.instruments import INSTRUMENTS
from assessments.models import AssessmentResponse, InstrumentSetting
from assessments.selectors import assessments_due, offered_instruments, site_cadences
from audit.models import Action, AuditEvent
from patients.models import site_today
from tests.fixtures import sign_in
from users.models import Role
from users.tests.factories import UserFactory

from .answers import GAD7, PHQ9_CLEAN, phq9_post

pytestmark = pytest.mark.django_db


def _set(site, code, *, enabled=True, interval=None, by=None):
    return services.instrument_setting_save(
        site=site, instrument_code=code, enabled=enabled, reassessment_interval_days=interval, by=by
    )


def _administer_url(patient, code="phq-9"):
    return reverse("assessments:administer", args=[patient.public_id, code])


# --- the model and the service ------------------------------------------------------------------


def test_no_row_means_every_instrument_on_the_built_in_cadence(site):
    assert offered_instruments(site.pk) == list(INSTRUMENTS)
    assert site_cadences([site.pk]) == {site.pk: {"PHQ-9": 30, "GAD-7": 30, "BAM": 7}}


@pytest.mark.parametrize("days", [0, 366, 1000])
def test_the_interval_must_be_1_to_365_days(site, site_admin, days):
    with pytest.raises(ValidationError) as excinfo:
        _set(site, "PHQ-9", interval=days, by=site_admin)
    assert excinfo.value.message_dict == {
        "reassessment_interval_days": ["The re-administration interval is a whole number of days from 1 to 365."]
    }
    assert not InstrumentSetting.objects.exists()


@pytest.mark.parametrize("days", [1, 365])
def test_the_interval_limits_are_allowed(site, site_admin, days):
    assert _set(site, "PHQ-9", interval=days, by=site_admin).reassessment_interval_days == days


def test_the_safety_follow_up_screen_cannot_be_turned_off(site, site_admin):
    with pytest.raises(ValidationError) as excinfo:
        _set(site, "C-SSRS", enabled=False, by=site_admin)
    assert "positive PHQ-9 item 9" in excinfo.value.message_dict["enabled"][0]


def test_saving_is_audited_with_before_and_after(site, site_admin):
    setting = _set(site, "GAD-7", interval=14, by=site_admin)
    created = AuditEvent.objects.get(action=Action.CREATE, object_type="assessments.InstrumentSetting")
    assert created.actor == site_admin and created.site_id == site.pk
    assert created.changes["after"] == {"enabled": True, "reassessment_interval_days": 14}
    _set(site, "GAD-7", enabled=False, interval=14, by=site_admin)
    updated = AuditEvent.objects.get(action=Action.UPDATE, object_type="assessments.InstrumentSetting")
    assert updated.object_id == str(setting.pk)
    assert updated.changes == {"instrument": "GAD-7", "before": {"enabled": True}, "after": {"enabled": False}}
    # Saving the same values again changes nothing and records nothing.
    _set(site, "GAD-7", enabled=False, interval=14, by=site_admin)
    assert AuditEvent.objects.filter(object_type="assessments.InstrumentSetting").count() == 2


# --- offering ----------------------------------------------------------------------------------------


def test_a_turned_off_instrument_is_not_offered_on_the_patient_page(client_as, patient, site, site_admin):
    client = client_as(Role.CLINICIAN)
    page = client.get(reverse("assessments:patient", args=[patient.public_id])).content.decode()
    assert _administer_url(patient) in page
    _set(site, "PHQ-9", enabled=False, by=site_admin)
    page = client.get(reverse("assessments:patient", args=[patient.public_id])).content.decode()
    assert _administer_url(patient) not in page
    assert _administer_url(patient, "gad-7") in page


def test_other_sites_keep_their_own_choice(patient, site, other_site, site_admin):
    _set(other_site, "PHQ-9", enabled=False, by=site_admin)
    assert "PHQ-9" in offered_instruments(site.pk)
    assert "PHQ-9" not in offered_instruments(other_site.pk)


def test_opening_a_turned_off_instrument_says_so(client_as, patient, site, site_admin):
    _set(site, "PHQ-9", enabled=False, by=site_admin)
    response = client_as(Role.CLINICIAN).get(_administer_url(patient))
    assert response.status_code == 200
    page = response.content.decode()
    assert "PHQ-9 is not offered at" in page and "turned it off in the instrument settings" in page
    assert 'type="radio"' not in page


def test_a_direct_post_for_a_turned_off_instrument_is_refused(client_as, patient, site, site_admin):
    _set(site, "PHQ-9", enabled=False, by=site_admin)
    response = client_as(Role.CLINICIAN).post(_administer_url(patient), phq9_post(PHQ9_CLEAN))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was saved." in page and "PHQ-9 is not offered at" in page
    assert not AssessmentResponse.objects.exists()


def test_the_service_and_the_api_refuse_it_naming_the_instrument(patient, counselor, site, site_admin):
    _set(site, "GAD-7", enabled=False, by=site_admin)
    with pytest.raises(ValidationError) as excinfo:
        services.assessment_record(patient=patient, instrument_code="GAD-7", answers=GAD7, by=counselor)
    assert "GAD-7 is not offered at" in excinfo.value.message_dict["instrument"][0]
    client = APIClient()
    sign_in(client, counselor)
    response = client.post(
        reverse("api:assessment-create"),
        {"patient": str(patient.public_id), "instrument": "GAD-7", "answers": GAD7},
        format="json",
    )
    assert response.status_code == 400
    assert "GAD-7 is not offered at" in response.json()["instrument"][0]
    assert not AssessmentResponse.objects.exists()


def test_responses_already_recorded_stay_visible(client_as, patient, counselor, site, site_admin):
    recorded = services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_CLEAN, by=counselor)
    _set(site, "PHQ-9", enabled=False, by=site_admin)
    client = client_as(user=counselor)
    page = client.get(reverse("assessments:patient", args=[patient.public_id])).content.decode()
    assert reverse("assessments:response_detail", args=[recorded.public_id]) in page
    assert client.get(reverse("assessments:response_detail", args=[recorded.public_id])).status_code == 200


# --- re-assessments due ------------------------------------------------------------------------------


def test_changing_the_interval_moves_the_due_date(patient, counselor, site, site_admin):
    services.assessment_record(
        patient=patient,
        instrument_code="GAD-7",
        answers=GAD7,
        by=counselor,
        administered_at=timezone.now() - timedelta(days=2),
    )
    today = site_today(site)

    def gad7_due_on():
        items = assessments_due([site.pk], today, include_upcoming=True)
        return next(i for i in items if i.instrument == "GAD-7").due_on

    assert gad7_due_on() == today + timedelta(days=28)  # the built-in 30 days
    _set(site, "GAD-7", interval=14, by=site_admin)
    assert gad7_due_on() == today + timedelta(days=12)
    assert {i.instrument for i in assessments_due([site.pk], today)} == {"PHQ-9", "BAM"}
    _set(site, "GAD-7", interval=1, by=site_admin)
    assert "GAD-7" in {i.instrument for i in assessments_due([site.pk], today)}
    # Back to empty: the built-in cadence again.
    _set(site, "GAD-7", interval=None, by=site_admin)
    assert gad7_due_on() == today + timedelta(days=28)


def test_an_interval_schedules_an_instrument_the_defaults_leave_out(patient, site, site_admin):
    today = site_today(site)
    assert "AUDIT" not in {i.instrument for i in assessments_due([site.pk], today)}
    _set(site, "AUDIT", interval=90, by=site_admin)
    audit_item = next(i for i in assessments_due([site.pk], today) if i.instrument == "AUDIT")
    assert audit_item.cadence_days == 90 and audit_item.due_on == patient.episodes.get().admission_date


def test_a_turned_off_instrument_is_never_due(client_as, patient, counselor, site, other_site, site_admin):
    _set(site, "BAM", enabled=False, by=site_admin)
    today = site_today(site)
    assert {i.instrument for i in assessments_due([site.pk], today)} == {"PHQ-9", "GAD-7"}
    page = client_as(user=counselor).get(reverse("assessments:due")).content.decode()
    assert _administer_url(patient, "bam") not in page
    assert _administer_url(patient, "phq-9") in page


def test_several_sites_each_use_their_own_cadence(make_patient, site, other_site, site_admin):
    here = make_patient()
    there = make_patient(at=other_site)
    _set(other_site, "PHQ-9", enabled=False, by=site_admin)
    _set(site, "BAM", interval=3, by=site_admin)
    items = assessments_due([site.pk, other_site.pk], site_today(site))
    assert {i.instrument for i in items if i.patient == here} == {"PHQ-9", "GAD-7", "BAM"}
    assert {i.instrument for i in items if i.patient == there} == {"GAD-7", "BAM"}
    assert {i.cadence_days for i in items if i.instrument == "BAM"} == {3, 7}


def test_the_due_page_query_count_stays_constant_with_settings(client_as, make_patient, counselor, site, site_admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _set(site, "PHQ-9", interval=10, by=site_admin)
    _set(site, "AUDIT", interval=60, by=site_admin)
    client = client_as(user=counselor)
    make_patient()
    client.get(reverse("assessments:due"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("assessments:due"))
    for _ in range(4):
        make_patient()
    with CaptureQueriesContext(connection) as five:
        client.get(reverse("assessments:due"))
    assert len(one.captured_queries) == len(five.captured_queries)


# --- Django admin -----------------------------------------------------------------------------------


def _site_admin_in_django_admin(make_staff, at):
    user = make_staff(Role.SITE_ADMIN, at=at, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="assessments",
            codename__in=["view_instrumentsetting", "add_instrumentsetting", "change_instrumentsetting"],
        )
    )
    return user


def _signed_in(user) -> Client:
    client = Client()
    sign_in(client, user)
    return client


def test_the_admin_explains_that_scoring_and_safety_are_fixed(make_staff, site):
    client = _signed_in(_site_admin_in_django_admin(make_staff, site))
    page = client.get(reverse("admin:assessments_instrumentsetting_add")).content.decode()
    assert "fixed by the instrument and cannot be changed here" in page
    assert "Leave empty for the built-in cadence" in page


def test_a_site_admin_sees_and_edits_only_their_sites_rows(make_staff, site, other_site, site_admin):
    ours = _set(site, "AUDIT", interval=90, by=site_admin)
    theirs = _set(other_site, "DAST-10", interval=60, by=site_admin)
    client = _signed_in(_site_admin_in_django_admin(make_staff, site))
    listing = client.get(reverse("admin:assessments_instrumentsetting_changelist")).content.decode()
    assert reverse("admin:assessments_instrumentsetting_change", args=[ours.pk]) in listing
    assert reverse("admin:assessments_instrumentsetting_change", args=[theirs.pk]) not in listing
    assert other_site.name not in listing  # not even in the site filter
    assert client.get(reverse("admin:assessments_instrumentsetting_change", args=[ours.pk])).status_code == 200
    # Another site's row is as absent as in the rest of the admin: sent back with "does not exist".
    for response in (
        client.get(reverse("admin:assessments_instrumentsetting_change", args=[theirs.pk])),
        client.post(
            reverse("admin:assessments_instrumentsetting_change", args=[theirs.pk]),
            {"enabled": "on", "reassessment_interval_days": "1"},
        ),
    ):
        assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    theirs.refresh_from_db()
    assert theirs.reassessment_interval_days == 60
    # And another site is not among the sites a new row can be made for.
    response = client.post(
        reverse("admin:assessments_instrumentsetting_add"),
        {"site": other_site.pk, "instrument": "COWS", "enabled": "on", "reassessment_interval_days": ""},
    )
    assert response.status_code == 200
    assert "site" in response.context["adminform"].form.errors
    assert not InstrumentSetting.objects.filter(instrument="COWS").exists()


def test_an_admin_change_is_saved_through_the_service_and_audited(make_staff, site, site_admin):
    setting = _set(site, "PHQ-9", interval=30, by=site_admin)
    admin_user = _site_admin_in_django_admin(make_staff, site)
    client = _signed_in(admin_user)
    url = reverse("admin:assessments_instrumentsetting_change", args=[setting.pk])
    assert client.get(url).status_code == 200
    viewed = AuditEvent.objects.filter(action=Action.ADMIN, actor=admin_user).first()
    assert viewed.reason == "viewed in admin" and viewed.site_id == site.pk
    response = client.post(url, {"enabled": "", "reassessment_interval_days": "21"})
    assert response.status_code == 302
    setting.refresh_from_db()
    assert not setting.enabled and setting.reassessment_interval_days == 21
    event = AuditEvent.objects.get(action=Action.UPDATE, actor=admin_user, object_type="assessments.InstrumentSetting")
    assert event.changes["before"] == {"enabled": True, "reassessment_interval_days": 30}
    assert event.changes["after"] == {"enabled": False, "reassessment_interval_days": 21}


def test_an_admin_add_is_audited(make_staff, site):
    admin_user = _site_admin_in_django_admin(make_staff, site)
    response = _signed_in(admin_user).post(
        reverse("admin:assessments_instrumentsetting_add"),
        {"site": site.pk, "instrument": "URICA", "enabled": "on", "reassessment_interval_days": "60"},
    )
    assert response.status_code == 302
    setting = InstrumentSetting.objects.get(site=site, instrument="URICA")
    assert setting.reassessment_interval_days == 60
    assert AuditEvent.objects.filter(
        action=Action.CREATE, actor=admin_user, object_type="assessments.InstrumentSetting", site=site
    ).exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"enabled": "on", "reassessment_interval_days": "0"}, "reassessment_interval_days", "from 1 to 365"),
        ({"enabled": "on", "reassessment_interval_days": "366"}, "reassessment_interval_days", "from 1 to 365"),
        ({"enabled": "on", "reassessment_interval_days": "soon"}, "reassessment_interval_days", "whole number"),
    ],
)
def test_admin_errors_name_the_field(make_staff, site, site_admin, data, field, message):
    setting = _set(site, "BAM", by=site_admin)
    client = _signed_in(_site_admin_in_django_admin(make_staff, site))
    response = client.post(reverse("admin:assessments_instrumentsetting_change", args=[setting.pk]), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field] and message in errors[field][0]
    setting.refresh_from_db()
    assert setting.reassessment_interval_days is None


def test_admin_refuses_turning_off_the_safety_screen_on_its_field(make_staff, site):
    client = _signed_in(_site_admin_in_django_admin(make_staff, site))
    response = client.post(
        reverse("admin:assessments_instrumentsetting_add"),
        {"site": site.pk, "instrument": "C-SSRS", "enabled": "", "reassessment_interval_days": ""},
    )
    assert response.status_code == 200
    assert "positive PHQ-9 item 9" in response.context["adminform"].form.errors["enabled"][0]
    assert not InstrumentSetting.objects.exists()


def test_admin_refuses_a_second_row_for_the_same_instrument(make_staff, site, site_admin):
    _set(site, "COWS", interval=7, by=site_admin)
    client = _signed_in(_site_admin_in_django_admin(make_staff, site))
    response = client.post(
        reverse("admin:assessments_instrumentsetting_add"),
        {"site": site.pk, "instrument": "COWS", "enabled": "on", "reassessment_interval_days": "3"},
    )
    assert response.status_code == 200
    assert "already has a setting for this instrument" in str(response.context["adminform"].form.errors)


def test_settings_are_never_deleted_in_the_admin(site, site_admin):
    setting = _set(site, "COWS", by=site_admin)
    superuser = UserFactory(mfa=True, is_staff=True, is_superuser=True)
    client = _signed_in(superuser)
    assert client.get(reverse("admin:assessments_instrumentsetting_delete", args=[setting.pk])).status_code == 403
