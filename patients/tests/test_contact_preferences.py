"""Per-patient contact preferences (DOMAIN.md §13): a text opt-in belongs to the exact number agreed
to, and a confidential-communications request sends messages only to the alternate address or
number (the outbox's ``patient_address`` reads them at send time)."""

from datetime import date

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from notifications import outbox
from notifications.models import MessageStatus, MessageTemplate, OutboundMessage
from patients.models import Patient
from patients.selectors import chart_header
from patients.services import patient_update
from users.models import Role

pytestmark = pytest.mark.django_db

AGREED = date(2026, 1, 5)


@pytest.fixture
def texting(patient):
    Patient.objects.filter(pk=patient.pk).update(
        preferred_channel="sms",
        sms_opt_in=True,
        sms_opt_in_on=AGREED,
        sms_opt_in_source="intake_form",
        sms_number="+12125550143",
    )
    patient.refresh_from_db()
    return patient


def test_a_new_number_without_a_new_opt_in_is_refused(texting, intake):
    with pytest.raises(ValidationError) as exc:
        patient_update(patient=texting, by=intake, sms_number="212-555-0199")
    assert "previous number only" in exc.value.message_dict["sms_opt_in_on"][0]
    assert "sms_opt_in_source" in exc.value.message_dict
    texting.refresh_from_db()
    assert texting.sms_number == "+12125550143"
    # The same date resubmitted with the whole form is not a new agreement either.
    with pytest.raises(ValidationError) as exc:
        patient_update(
            patient=texting, by=intake, sms_number="212-555-0199", sms_opt_in_on=AGREED, sms_opt_in_source="verbal"
        )
    assert "sms_opt_in_on" in exc.value.message_dict


def test_a_new_number_with_its_own_opt_in_is_saved(texting, intake):
    patient_update(
        patient=texting,
        by=intake,
        sms_number="212-555-0199",
        sms_opt_in_on=date(2026, 2, 1),
        sms_opt_in_source="verbal",
    )
    texting.refresh_from_db()
    assert (texting.sms_number, texting.sms_opt_in_on, texting.sms_opt_in_source) == (
        "+12125550199",
        date(2026, 2, 1),
        "verbal",
    )


def test_a_new_number_with_the_opt_in_withdrawn_is_saved(texting, intake):
    patient_update(patient=texting, by=intake, sms_number="212-555-0199", sms_opt_in=False)
    texting.refresh_from_db()
    assert texting.sms_number == "+12125550199" and not texting.sms_opt_in


def test_the_edit_page_puts_the_reason_on_the_opt_in_date(client_as, texting):
    client = client_as(Role.INTAKE)
    url = reverse("patients:edit", args=[texting.public_id])
    data = {
        "legal_first_name": texting.legal_first_name,
        "legal_last_name": texting.legal_last_name,
        "date_of_birth": f"{texting.date_of_birth:%Y-%m-%d}",
        "language": "English",
        "preferred_channel": "sms",
        "sms_opt_in": "on",
        "sms_opt_in_on": "2026-01-05",
        "sms_opt_in_source": "intake_form",
        "sms_number": "212-555-0199",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "previous number only" in " ".join(response.context["form"].errors["sms_opt_in_on"])


def _email_template() -> None:
    template = MessageTemplate(
        key="portal_message",
        channel="email",
        audience="patient",
        subject="You have a new message",
        body="Hi {{ first_name }}, you have a new message. Sign in to read it.",
    )
    template.full_clean()
    template.save()


def _send_email(patient, cause: str) -> OutboundMessage:
    _email_template()
    mail.outbox.clear()
    message, _ = outbox.enqueue(
        site=patient.site, channel="email", template_key="portal_message", cause=cause, kind="k", patient=patient
    )
    outbox.outbox_dispatch_due()
    message.refresh_from_db()
    return message


@pytest.fixture
def emailing(patient):
    Patient.objects.filter(pk=patient.pk).update(
        preferred_channel="email", email="home.shared@example.org", email_opt_in=True, email_opt_in_on=AGREED
    )
    patient.refresh_from_db()
    return patient


def test_email_goes_to_the_confidential_address(emailing, intake):
    patient_update(
        patient=emailing,
        by=intake,
        confidential_contact="Not the shared home email.",
        confidential_email="Work@Example.org",
    )
    emailing.refresh_from_db()
    message = _send_email(emailing, "test:1")
    assert message.status == MessageStatus.SENT
    assert [m.to for m in mail.outbox] == [["work@example.org"]]


def test_a_request_without_an_alternate_address_sends_nothing(emailing):
    Patient.objects.filter(pk=emailing.pk).update(confidential_contact="Do not use the home email.")
    emailing.refresh_from_db()
    message = _send_email(emailing, "test:2")
    assert (message.status, message.last_error) == (MessageStatus.SUPPRESSED, "CONFIDENTIAL_NO_ADDRESS")
    assert mail.outbox == []
    assert any("none recorded: no reminders" in a.text for a in chart_header(emailing).alerts)


def test_texts_go_only_when_the_agreed_number_is_the_confidential_one(texting):
    Patient.objects.filter(pk=texting.pk).update(confidential_phone="+12125550177")
    texting.refresh_from_db()
    with pytest.raises(outbox.Skip) as skip:
        outbox.patient_address(texting, "sms")
    assert skip.value.code == "CONFIDENTIAL_NO_ADDRESS"
    Patient.objects.filter(pk=texting.pk).update(confidential_phone="+12125550143")
    texting.refresh_from_db()
    assert outbox.patient_address(texting, "sms") == "+12125550143"


def test_without_a_request_messages_go_to_the_usual_address(emailing, texting):
    assert outbox.patient_address(Patient.objects.get(pk=emailing.pk), "email") == "home.shared@example.org"
    assert outbox.patient_address(Patient.objects.get(pk=texting.pk), "sms") == "+12125550143"
