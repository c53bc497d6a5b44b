"""Two sweepers and two senders at once on PostgreSQL: SKIP LOCKED hands each due message to one
sweeper, the conditional claim lets one sender deliver it; every message exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from unittest import mock

import pytest
from django.db import connection

from notifications import outbox
from notifications.models import OutboundMessage

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED needs PostgreSQL (SQLite serialises sweepers with its IMMEDIATE transactions)")


def _run_in_threads(target, n=2):
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i):
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


def test_two_sweepers_and_two_senders_deliver_each_message_exactly_once(make_patient, sms_outbox, settings):
    from patients.models import Patient

    patients = []
    for i in range(4):
        p = make_patient()
        Patient.objects.filter(pk=p.pk).update(
            preferred_channel="sms",
            sms_opt_in=True,
            sms_opt_in_on="2026-01-05",
            sms_opt_in_source="intake_form",
            sms_number=f"+1212555{1000 + i}",
        )
        patients.append(Patient.objects.get(pk=p.pk))
    for i in range(120):
        outbox.enqueue(
            site=patients[0].site,
            channel="sms",
            template_key="sms_help",
            cause=f"bulk:{i}",
            kind="k",
            patient=patients[i % 4],
        )
    published: list[int] = []
    lock = threading.Lock()

    def fake_delay(message_id):
        with lock:
            published.append(message_id)

    with mock.patch("notifications.tasks.outbox_send_task.delay", side_effect=fake_delay):
        _run_in_threads(lambda i: outbox.outbox_dispatch_due(batch_size=10))
    counts = Counter(published)
    assert len(counts) == 120 and set(counts.values()) == {1}
    assert set(OutboundMessage.objects.values_list("status", "attempts")) == {("sending", 1)}

    # Both senders try every message (as if each task had been delivered twice).
    ids = sorted(counts)
    _run_in_threads(lambda i: [outbox.outbox_send(m) for m in (ids if i == 0 else reversed(ids))])
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}
    keys = Counter(line["key"] for line in sms_outbox.lines())
    assert len(keys) == 120 and set(keys.values()) == {1}
    assert sms_outbox.lines("dedup.jsonl") == []
