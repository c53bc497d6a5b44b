"""Patient texts in the patient's language (DOMAIN.md §13 "Language"): an administrator adds a
version of a patient message in a language; patients with that language get it, everyone else
the default text; the log records which version went out; the linter reads Spanish too."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from notifications import outbox
from notifications.models import MessageStatus, MessageTemplate, OutboundMessage
from notifications.privacy import lint_patient_template
from patients.models import Patient

pytestmark = pytest.mark.django_db

SPANISH = "{{ sender_name }}: Hola {{ first_name }}, le recordamos su cita. Responda STOP para no recibir más mensajes."


def _send(patient) -> OutboundMessage:
    message, _ = outbox.enqueue(
        site=patient.site,
        channel="sms",
        template_key="sms_help",
        cause=f"test:{patient.pk}",
        kind="help",
        patient=patient,
    )
    outbox.outbox_dispatch_due()
    message.refresh_from_db()
    return message


def _spanish_template(**changes) -> MessageTemplate:
    template = MessageTemplate(key="sms_help", channel="sms", language="Spanish", body=SPANISH, **changes)
    template.full_clean()
    template.save()
    return template


def test_a_patient_gets_the_text_in_their_language_and_others_the_default(make_patient, sms_outbox):
    _spanish_template()
    spanish, english = make_patient(), make_patient()
    for patient, language, number in ((spanish, "  spanish ", "+12125550101"), (english, "English", "+12125550102")):
        Patient.objects.filter(pk=patient.pk).update(
            language=language,
            preferred_channel="sms",
            sms_opt_in=True,
            sms_opt_in_on=date(2026, 1, 5),
            sms_opt_in_source="intake_form",
            sms_number=number,
        )
        patient.refresh_from_db()
    sent_es, sent_en = _send(spanish), _send(english)
    assert sent_es.status == sent_en.status == MessageStatus.SENT
    assert sent_es.template_language == "Spanish" and sent_en.template_language == ""
    bodies = {line["to"]: line["body"] for line in sms_outbox.lines()}
    assert bodies[spanish.sms_number].startswith(f"{spanish.site.sender_name}: Hola ")
    assert "appointment reminders" in bodies[english.sms_number]  # the built-in default


def test_the_linter_refuses_a_revealing_spanish_text_with_or_without_accents():
    for body, word in (
        ("Hola {{ first_name }}, su grupo de recuperación es mañana.", "recuperacion"),
        ("Hola {{ first_name }}, su grupo de recuperacion es mañana.", "recuperacion"),
        ("Programa ambulatorio intensivo: su cita {{ when }}.", "ambulatorio intensivo"),
        ("Recuerde su prueba de orina.", "orina"),
        ("Su dosis de metadona.", "metadona"),
    ):
        with pytest.raises(ValidationError) as refused:
            MessageTemplate(key="sms_help", channel="sms", language="Spanish", body=body).full_clean()
        assert word in str(refused.value.message_dict["body"]), body
        assert lint_patient_template(body)
    assert lint_patient_template(SPANISH) == []
    assert not MessageTemplate.objects.exists()


def test_one_text_per_message_channel_and_language(db):
    _spanish_template()
    with pytest.raises(ValidationError) as refused:
        MessageTemplate(key="sms_help", channel="sms", language="SPANISH ", body=SPANISH).full_clean()
    assert "language" in refused.value.message_dict


def test_staff_messages_have_no_language_versions(db):
    with pytest.raises(ValidationError) as refused:
        MessageTemplate(
            key="staff_urgent_alert", channel="email", audience="staff", language="Spanish", body="Hay una alerta."
        ).full_clean()
    assert "language" in refused.value.message_dict


def test_only_languages_the_privacy_check_reads_have_versions(db):
    with pytest.raises(ValidationError) as refused:
        MessageTemplate(key="sms_help", channel="sms", language="French", body="Bonjour {{ first_name }}.").full_clean()
    assert "privacy check" in refused.value.message_dict["language"][0]
