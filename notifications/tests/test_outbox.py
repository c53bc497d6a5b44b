"""The outbox: enqueue in the caller's transaction, idempotency, claiming, retries, final failure,
reclaiming stuck rows, consent re-checked at send time, ids only in task arguments."""

from __future__ import annotations

from datetime import time, timedelta
from unittest import mock

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications import outbox
from notifications.backends import PermanentDeliveryError, TransientDeliveryError
from notifications.models import MessageStatus, OutboundMessage
from patients.models import Patient

pytestmark = pytest.mark.django_db


def _enqueue(patient, *, cause="test:1", kind="reminder-2h", channel="sms", **extra):
    message, created = outbox.enqueue(
        site=patient.site,
        channel=channel,
        template_key=extra.pop("template_key", "sms_help"),
        cause=cause,
        kind=kind,
        patient=patient,
        **extra,
    )
    return message, created


def test_the_idempotency_key_is_cause_recipient_channel_kind(sms_patient):
    message, created = _enqueue(sms_patient)
    assert created
    assert message.idempotency_key == f"test:1:patient:{sms_patient.public_id}:sms:reminder-2h"


def test_enqueueing_twice_returns_the_same_row(sms_patient):
    first, _ = _enqueue(sms_patient)
    second, created = _enqueue(sms_patient)
    assert not created and second.pk == first.pk
    assert OutboundMessage.objects.count() == 1


def test_the_database_refuses_a_second_row_with_the_same_key(sms_patient):
    first, _ = _enqueue(sms_patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundMessage.objects.create(
            site=first.site,
            recipient_kind="patient",
            patient=sms_patient,
            channel="sms",
            template_key="x",
            cause="c",
            kind="k",
            idempotency_key=first.idempotency_key,
            due_at=timezone.now(),
        )


def test_the_context_holds_ids_only(sms_patient):
    with pytest.raises(ValueError, match="ids only"):
        _enqueue(sms_patient, context={"name": "Sam Placeholder"})
    with pytest.raises(ValueError, match="ids only"):
        _enqueue(sms_patient, context={"note": "feeling low since Tuesday"})
    _enqueue(sms_patient, context={"session": 12, "starts_at": timezone.now().isoformat(), "code": "PHQ9_ITEM9"})


def test_a_rolled_back_cause_leaves_no_message(sms_patient):
    with pytest.raises(RuntimeError), transaction.atomic():
        _enqueue(sms_patient)
        raise RuntimeError("the change that caused it failed")
    assert not OutboundMessage.objects.exists()


def test_only_ids_reach_the_task_arguments(sms_patient, sms_outbox):
    _enqueue(sms_patient)
    _enqueue(sms_patient, cause="test:2")
    with mock.patch("notifications.tasks.outbox_send_task.delay") as delay:
        outbox.outbox_dispatch_due()
    assert delay.call_count == 2
    for call in delay.call_args_list:
        assert call.kwargs == {}
        assert len(call.args) == 1 and type(call.args[0]) is int


def test_a_due_message_is_claimed_then_sent_once(sms_patient, sms_outbox):
    message, _ = _enqueue(sms_patient)
    totals = outbox.outbox_dispatch_due()
    assert totals["claimed"] == totals["published"] == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 1 and message.sent_at
    assert len(sms_outbox.lines()) == 1
    # A redelivered task (or a second worker) does nothing.
    assert outbox.outbox_send(message.pk) == "skipped"
    assert outbox.outbox_dispatch_due()["claimed"] == 0
    assert len(sms_outbox.lines()) == 1


def test_a_claimed_message_is_sent_by_one_worker_only(sms_patient, sms_outbox):
    message, _ = _enqueue(sms_patient)
    with mock.patch("notifications.tasks.outbox_send_task.delay"):
        outbox.outbox_dispatch_due()
    results = [outbox.outbox_send(message.pk), outbox.outbox_send(message.pk)]
    assert sorted(results) == ["sent", "skipped"]
    assert len(sms_outbox.lines()) == 1


def test_a_message_not_yet_due_waits(sms_patient, sms_outbox):
    _enqueue(sms_patient, due_at=timezone.now() + timedelta(minutes=5))
    assert outbox.outbox_dispatch_due()["claimed"] == 0


def test_a_transient_error_retries_later_with_backoff_not_a_countdown(sms_patient, settings):
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 60
    message, _ = _enqueue(sms_patient)
    backend = mock.Mock()
    backend.send.side_effect = TransientDeliveryError("http_503")
    with mock.patch("notifications.backends.get_sms_backend", return_value=backend):
        before = timezone.now()
        outbox.outbox_dispatch_due()
        message.refresh_from_db()
        assert message.status == "pending" and message.attempts == 1 and message.last_error == "http_503"
        assert before + timedelta(seconds=59) <= message.due_at <= timezone.now() + timedelta(seconds=61)
        OutboundMessage.objects.filter(pk=message.pk).update(due_at=timezone.now())
        outbox.outbox_dispatch_due()
        message.refresh_from_db()
        assert message.attempts == 2 and message.due_at >= timezone.now() + timedelta(seconds=110)


def test_after_the_last_attempt_the_failure_is_final_and_recorded(sms_patient, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    message, _ = _enqueue(sms_patient)
    backend = mock.Mock()
    backend.send.side_effect = TransientDeliveryError("timeout")
    with mock.patch("notifications.backends.get_sms_backend", return_value=backend):
        for _ in range(3):
            OutboundMessage.objects.filter(pk=message.pk).update(due_at=timezone.now())
            outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("failed", 3, "timeout")
    assert backend.send.call_count == 3


def test_a_permanent_error_fails_at_once(sms_patient):
    message, _ = _enqueue(sms_patient)
    backend = mock.Mock()
    backend.send.side_effect = PermanentDeliveryError("http_400")
    with mock.patch("notifications.backends.get_sms_backend", return_value=backend):
        outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("failed", 1, "http_400")


def test_consent_withdrawn_between_enqueue_and_send_suppresses_and_logs(sms_patient, sms_outbox, caplog):
    message, _ = _enqueue(sms_patient)
    Patient.objects.filter(pk=sms_patient.pk).update(sms_opt_in=False)
    with caplog.at_level("INFO", logger="notifications.outbox"):
        outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("suppressed", "NO_SMS_CONSENT")
    assert sms_outbox.lines() == []
    assert any(str(message.public_id) in r.getMessage() and "NO_SMS_CONSENT" in r.getMessage() for r in caplog.records)
    assert "Placeholder" not in caplog.text


def test_outside_safe_hours_at_send_time_the_message_is_deferred(sms_patient, sms_outbox):
    now = timezone.now().astimezone(sms_patient.site.zone)
    # A one-hour window that opens two hours from now (site time).
    start = (now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    end = (now + timedelta(hours=3)).time().replace(second=0, microsecond=0)
    Patient.objects.filter(pk=sms_patient.pk).update(safe_hours_start=start, safe_hours_end=end)
    message, _ = _enqueue(sms_patient)
    outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert message.status == "pending" and message.attempts == 0 and message.last_error == "SAFE_HOURS"
    assert message.due_at > timezone.now() + timedelta(minutes=110)
    assert sms_outbox.lines() == []


def test_a_row_stuck_in_sending_is_reclaimed_and_sent_once(sms_patient, sms_outbox, settings):
    settings.OUTBOX_RECLAIM_MINUTES = 10
    message, _ = _enqueue(sms_patient)
    # A worker claimed it and died before sending: the row sits in "sending".
    with mock.patch("notifications.tasks.outbox_send_task.delay"):
        outbox.outbox_dispatch_due()
    OutboundMessage.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - timedelta(minutes=5))
    assert outbox.outbox_dispatch_due()["reclaimed"] == 0  # not yet past the window
    OutboundMessage.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - timedelta(minutes=11))
    totals = outbox.outbox_dispatch_due()
    assert totals["reclaimed"] == 1 and totals["published"] == 1
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 2
    assert len(sms_outbox.lines()) == 1


def test_a_row_stuck_after_reaching_the_provider_is_not_delivered_twice(sms_patient, sms_outbox):
    """The worker died after the provider accepted the text but before recording it: the retry
    carries the same provider idempotency key, so the provider does not deliver it again."""
    message, _ = _enqueue(sms_patient)
    with mock.patch("notifications.outbox._finish", return_value=True):
        outbox.outbox_dispatch_due()  # sent to the provider; the result was never written
    message.refresh_from_db()
    assert message.status == "sending" and message.started_at is not None
    OutboundMessage.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert message.status == "sent"
    assert len(sms_outbox.lines()) == 1
    assert len(sms_outbox.lines("dedup.jsonl")) == 1
    assert message.provider_message_id == sms_outbox.lines()[0]["id"]


def test_a_broker_outage_leaves_claimed_rows_pending(sms_patient):
    from kombu.exceptions import OperationalError

    first, _ = _enqueue(sms_patient)
    second, _ = _enqueue(sms_patient, cause="test:2")
    with mock.patch("notifications.tasks.outbox_send_task.delay", side_effect=OperationalError("down")):
        totals = outbox.outbox_dispatch_due()
    assert totals["released"] == 2
    assert set(OutboundMessage.objects.values_list("status", "attempts")) == {("pending", 0)}


def test_an_unknown_template_fails_without_sending(sms_patient, sms_outbox):
    message, _ = _enqueue(sms_patient, template_key="nope")
    outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("failed", "NO_TEMPLATE")


def test_a_sender_name_that_reveals_treatment_is_not_sent(sms_patient, sms_outbox):
    from users.models import Site

    Site.objects.filter(pk=sms_patient.site_id).update(sender_name="Oak St. Recovery")
    message, _ = _enqueue(sms_patient)
    outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("failed", "PRIVACY_LINT")
    assert sms_outbox.lines() == []


def test_a_patient_email_is_not_sent_from_a_revealing_sender_name(patient, mailoutbox):
    """The email's From name is the sender name even when the text never prints it."""
    from notifications.models import MessageTemplate
    from users.models import Site

    Site.objects.filter(pk=patient.site_id).update(sender_name="Oak St. Rehab")
    Patient.objects.filter(pk=patient.pk).update(
        preferred_channel="email", email="sam@example.org", email_opt_in=True, email_opt_in_on="2026-01-05"
    )
    MessageTemplate.objects.create(
        key="portal_message", channel="email", subject="You have a new message", body="Hi {{ first_name }}."
    )
    message, _ = _enqueue(patient, channel="email", template_key="portal_message")
    outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("failed", "PRIVACY_LINT")
    assert mailoutbox == []


def test_a_neutral_sender_name_is_the_emails_from_name(patient, mailoutbox):
    from notifications.models import MessageTemplate

    Patient.objects.filter(pk=patient.pk).update(
        preferred_channel="email", email="sam@example.org", email_opt_in=True, email_opt_in_on="2026-01-05"
    )
    MessageTemplate.objects.create(
        key="portal_message", channel="email", subject="You have a new message", body="Hi {{ first_name }}."
    )
    message, _ = _enqueue(patient, channel="email", template_key="portal_message")
    outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert message.status == "sent"
    (sent,) = mailoutbox
    assert sent.from_email.startswith(f"{patient.site.sender_name} <")


def test_safe_hours_window_over_midnight(sms_patient):
    from notifications.timing import safe_hours_next

    zone = sms_patient.site.zone
    at = timezone.now().astimezone(zone).replace(hour=12, minute=0, second=0, microsecond=0)
    nxt = safe_hours_next(at, time(20, 0), time(8, 0), zone)
    assert nxt.astimezone(zone).hour == 20 and nxt.astimezone(zone).date() == at.date()
    assert safe_hours_next(at.replace(hour=23), time(20, 0), time(8, 0), zone) is None
    assert safe_hours_next(at.replace(hour=3), time(20, 0), time(8, 0), zone) is None
