"""Signing a discharge (DOMAIN.md §6): a clinician's decision, and an administrative discharge
needs "a discharge summary, referral and re-admission information, and a letter to the patient
if contact is allowed"."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import Action, AuditEvent
from patients.models import Episode, site_today
from plans import services
from plans.models import AftercarePlan, AftercareReferral, FollowUpCheckIn
from users.models import Role

pytestmark = pytest.mark.django_db

SUMMARY = "Three consecutive unexcused absences; outreach by phone and letter unsuccessful."


def _administrative(episode, by, **fields):
    return services.discharge_sign(
        episode=episode,
        by=by,
        discharge_date=site_today(episode.site),
        discharge_type="administrative",
        summary=SUMMARY,
        **fields,
    )


def _unchanged(episode) -> bool:
    return (
        Episode.objects.get(pk=episode.pk).is_open
        and not FollowUpCheckIn.objects.filter(episode=episode).exists()
        and not AftercareReferral.objects.exists()
        and not AftercarePlan.objects.filter(episode=episode).exclude(readmission_info="", patient_letter="").exists()
    )


def test_an_administrative_discharge_names_everything_it_lacks(episode, counselor):
    with pytest.raises(ValidationError) as exc:
        _administrative(episode, counselor)
    errors = exc.value.message_dict
    assert sorted(errors) == ["patient_letter", "readmission_info", "referral_provider"]
    assert "aftercare referral" in errors["referral_provider"][0]
    assert "how the patient can come back" in errors["readmission_info"][0]
    assert "Contact not allowed because" in errors["patient_letter"][0]
    assert _unchanged(episode)


def test_an_administrative_discharge_with_referral_readmission_and_letter_is_signed(episode, counselor):
    _administrative(
        episode,
        counselor,
        referral_provider="Harbor Outpatient Clinic",
        referral_contact="555-0142",
        readmission_info="Call the intake line; re-entry within 30 days without a new referral.",
        patient_letter="Dear patient, we have closed your episode. You can come back at any time …",
        patient_letter_on=site_today(episode.site),
    )
    episode.refresh_from_db()
    assert episode.discharge_type == "administrative" and episode.discharged_by == counselor
    aftercare = AftercarePlan.objects.get(episode=episode)
    assert aftercare.readmission_info.startswith("Call the intake line") and aftercare.has_letter
    assert [(r.provider, r.contact) for r in aftercare.referrals.all()] == [("Harbor Outpatient Clinic", "555-0142")]
    assert FollowUpCheckIn.objects.filter(episode=episode).count() == 3


def test_the_reason_contact_is_not_allowed_replaces_the_letter(episode, counselor):
    _administrative(
        episode,
        counselor,
        referral_provider="Harbor Outpatient Clinic",
        readmission_info="Call the intake line.",
        no_contact_reason="The patient asked in writing not to be contacted by the program.",
    )
    assert not Episode.objects.get(pk=episode.pk).is_open


def test_what_the_aftercare_plan_already_records_counts(episode, counselor):
    services.aftercare_referral_add(episode=episode, by=counselor, provider="Harbor Outpatient Clinic")
    services.aftercare_update(
        episode=episode,
        by=counselor,
        readmission_info="Call the intake line.",
        patient_letter_on=site_today(episode.site),
    )
    _administrative(episode, counselor)  # blank fields keep what the plan says
    aftercare = AftercarePlan.objects.get(episode=episode)
    assert aftercare.readmission_info == "Call the intake line." and aftercare.patient_letter_on is not None


def test_a_withdrawn_referral_does_not_count(episode, counselor):
    referral = services.aftercare_referral_add(episode=episode, by=counselor, provider="Harbor Outpatient Clinic")
    services.aftercare_referral_withdraw(referral=referral, by=counselor)
    with pytest.raises(ValidationError) as exc:
        _administrative(episode, counselor, readmission_info="Call us.", patient_letter="Dear patient …")
    assert list(exc.value.message_dict) == ["referral_provider"]
    assert Episode.objects.get(pk=episode.pk).is_open


def test_a_letter_and_a_reason_not_to_contact_contradict(episode, counselor):
    with pytest.raises(ValidationError) as exc:
        _administrative(
            episode,
            counselor,
            referral_provider="Harbor Outpatient Clinic",
            readmission_info="Call us.",
            patient_letter="Dear patient …",
            no_contact_reason="Asked not to be contacted.",
        )
    assert "not both" in exc.value.message_dict["no_contact_reason"][0]
    assert _unchanged(episode)


def test_other_discharge_types_need_no_letter(episode, counselor):
    services.discharge_sign(
        episode=episode,
        by=counselor,
        discharge_date=site_today(episode.site),
        discharge_type="completed",
        summary="Completed the program.",
    )
    assert not Episode.objects.get(pk=episode.pk).is_open


@pytest.mark.parametrize("role", [Role.INTAKE, Role.DIRECTOR, Role.SITE_ADMIN, "other site", None])
def test_only_a_counselor_or_supervisor_at_the_site_signs(episode, make_staff, other_site, role):
    """DOMAIN.md §6: "Never auto-discharge. The system proposes; a clinician signs." The
    service checks ``episode.discharge`` itself, as the page and the API do."""
    if role == "other site":
        by = make_staff(Role.CLINICIAN, at=other_site)
    else:
        by = make_staff(role) if role else None
    with pytest.raises(PermissionDenied):
        services.discharge_sign(
            episode=episode,
            by=by,
            discharge_date=site_today(episode.site),
            discharge_type="completed",
            summary="Done.",
        )
    assert _unchanged(episode) and not AuditEvent.objects.filter(action=Action.UPDATE).exists()


def test_a_supervisor_signs_an_administrative_discharge(episode, supervisor):
    _administrative(
        episode,
        supervisor,
        referral_provider="Harbor Outpatient Clinic",
        readmission_info="Call us.",
        patient_letter="Dear patient …",
    )
    assert Episode.objects.get(pk=episode.pk).discharged_by == supervisor


# --- pages ------------------------------------------------------------------------------------------


def test_the_discharge_page_asks_for_what_an_administrative_discharge_needs(client_as, episode, counselor):
    client = client_as(user=counselor)
    url = reverse("reports:discharge", args=[episode.patient.public_id, episode.public_id])
    data = {"discharge_date": site_today(episode.site).isoformat(), "discharge_type": "administrative"}
    data["summary"] = SUMMARY
    bad = client.post(url, data)
    assert bad.status_code == 200
    form = bad.context["form"]
    assert {"referral_provider", "readmission_info", "patient_letter"} <= set(form.errors)
    assert Episode.objects.get(pk=episode.pk).is_open
    data.update(
        referral_provider="Harbor Outpatient Clinic",
        readmission_info="Call the intake line.",
        no_contact_reason="Asked not to be contacted.",
    )
    assert client.post(url, data).status_code == 302
    assert Episode.objects.get(pk=episode.pk).discharge_type == "administrative"


def test_the_chart_discharge_page_sends_an_administrative_discharge_to_the_full_discharge(
    client_as, episode, counselor
):
    client = client_as(user=counselor)
    url = reverse("patients:episode_discharge", args=[episode.patient.public_id, episode.public_id])
    page = client.get(url).content.decode()
    assert reverse("reports:discharge", args=[episode.patient.public_id, episode.public_id]) in page
    response = client.post(
        url, {"discharge_date": site_today(episode.site).isoformat(), "discharge_type": "administrative"}
    )
    assert response.status_code == 200 and "re-admission" in response.context["form"].errors["discharge_type"][0]
    assert Episode.objects.get(pk=episode.pk).is_open


def test_the_api_refuses_an_administrative_discharge_without_the_aftercare(client_as, episode, counselor):
    client = client_as(user=counselor)
    url = reverse("api:episode-discharge", args=[episode.patient.public_id, episode.public_id])
    response = client.post(
        url,
        {"discharge_date": site_today(episode.site).isoformat(), "discharge_type": "administrative"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "discharge_type" in response.json()
    assert Episode.objects.get(pk=episode.pk).is_open


def test_the_aftercare_page_records_readmission_and_the_letter(client_as, episode, counselor, patient):
    client = client_as(user=counselor)
    url = reverse("plans:aftercare", args=[patient.public_id])
    base = {"recommendations": "Weekly outpatient counselling.", "readmission_info": "Call the intake line."}
    bad = client.post(url, {**base, "patient_letter": "Dear patient …", "no_contact_reason": "Asked not to be."})
    assert bad.status_code == 200 and "not both" in bad.content.decode()
    assert not AftercarePlan.objects.exists()
    assert client.post(url, {**base, "patient_letter": "Dear patient …"}).status_code == 302
    aftercare = AftercarePlan.objects.get(episode=episode)
    assert aftercare.readmission_info == "Call the intake line." and aftercare.patient_letter == "Dear patient …"
    page = client.get(url).content.decode()
    assert "Call the intake line." in page and "Re-admission information" in page
