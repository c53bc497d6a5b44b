"""Staff notices: a PHI-free email for safety alerts (in-app first) and the daily digest.

The due-work alerts and the digest's counts of plans, re-assessments and notes are tested with
their code in ``reports/tests/test_due_work.py``."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from notifications import outbox, staff
from notifications.models import Alert, AlertKind, OutboundMessage, Severity
from notifications.services import alert_raise

pytestmark = pytest.mark.django_db


def test_a_safety_alert_is_in_app_and_emails_each_recipient_without_phi(
    patient, counselor, supervisor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alert = alert_raise(
            site=patient.site,
            kind=AlertKind.SAFETY,
            severity=Severity.CRITICAL,
            title_code="PHQ9_ITEM9",
            patient=patient,
            object_type="assessments.AssessmentResponse",
            object_id="0b8f2a8e-0000-4000-8000-000000000001",
            by=counselor,
        )
    assert Alert.objects.open().filter(pk=alert.pk).exists()  # in the application first
    rows = OutboundMessage.objects.filter(cause=f"alert:{alert.public_id}")
    assert set(rows.values_list("staff_id", flat=True)) == {counselor.pk, supervisor.pk}
    assert set(rows.values_list("status", flat=True)) == {"sent"}  # the commit hook swept at once
    assert sorted(m.to[0] for m in mail.outbox) == sorted([counselor.email, supervisor.email])
    for m in mail.outbox:
        assert m.subject == "New urgent alert"
        assert m.body.startswith("You have a new urgent alert in IOP Clinic. Sign in to review.")
        text = m.subject + m.body
        for secret in (patient.legal_first_name, patient.legal_last_name, patient.mrn, "PHQ", "self-harm"):
            assert secret not in text


def test_an_urgent_email_is_not_sent_twice_for_the_same_alert(patient, counselor):
    kwargs = dict(
        site=patient.site,
        kind=AlertKind.SAFETY,
        title_code="CSSRS_HIGH",
        patient=patient,
        object_type="x.Y",
        object_id="abc",
    )
    alert_raise(**kwargs)
    alert_raise(**kwargs)
    # The site has one counselor and no supervisor: one email, however often the alert is raised.
    assert list(OutboundMessage.objects.values_list("staff_id", flat=True)) == [counselor.pk]


def test_other_alerts_send_no_email(patient):
    alert_raise(
        site=patient.site,
        kind=AlertKind.NO_SHOW,
        title_code="NO_SHOW",
        patient=patient,
        object_type="a.B",
        object_id="1",
    )
    assert not OutboundMessage.objects.exists()


def test_the_digest_goes_out_at_the_local_hour_with_counts_only(patient, counselor, settings, site):
    settings.STAFF_DIGEST_HOUR = 7
    alert_raise(
        site=site,
        kind=AlertKind.NO_SHOW,
        title_code="NO_SHOW",
        patient=patient,
        object_type="a.B",
        object_id="1",
        recipients=[counselor],
    )
    local_now = timezone.now().astimezone(site.zone)
    not_seven = local_now.replace(hour=9)
    assert staff.digest_plan(now=not_seven) == 0
    assert staff.digest_plan(now=local_now.replace(hour=7)) == 1
    assert staff.digest_plan(now=local_now.replace(hour=7, minute=30)) == 0  # once a day
    OutboundMessage.objects.update(context={"site": site.pk, "date": local_now.date().isoformat()})
    outbox.outbox_dispatch_due()
    (email,) = mail.outbox
    assert email.to == [counselor.email]
    assert "Open alerts for you: 1" in email.body
    assert patient.legal_last_name not in email.body and patient.legal_first_name not in email.body


def test_a_digest_with_nothing_to_report_is_not_sent(counselor, site):
    staff.digest_plan(force=True)
    outbox.outbox_dispatch_due()
    assert mail.outbox == []
    assert set(OutboundMessage.objects.values_list("status", "last_error")) == {("cancelled", "NOTHING_TO_REPORT")}
