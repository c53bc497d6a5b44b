"""The HTTP SMS adapter against a local fake provider, its configuration guard, and the signed
delivery-status and inbound (STOP/START/HELP) webhooks."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from audit.models import AuditEvent
from notifications import backends, outbox, sms
from notifications.backends import HttpSmsBackend, PermanentDeliveryError, TransientDeliveryError
from notifications.models import OutboundMessage
from patients.models import Patient

SECRET = "webhook-secret-for-tests"


class FakeProvider:
    """A tiny JSON SMS API on 127.0.0.1: records texts, honours Idempotency-Key, can be told to fail."""

    def __init__(self):
        self.received: list[dict] = []
        self.by_key: dict[str, str] = {}
        self.fail_with: int | None = None
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.headers.get("Authorization") != "Bearer test-token":
                    return self._reply(401, {"error": "unauthorized"})
                if provider.fail_with:
                    return self._reply(provider.fail_with, {"error": "nope"})
                key = self.headers.get("Idempotency-Key", "")
                if key in provider.by_key:
                    return self._reply(200, {"id": provider.by_key[key]})
                message_id = f"fake-{len(provider.received) + 1}"
                provider.by_key[key] = message_id
                provider.received.append(body)
                return self._reply(201, {"id": message_id})

            def _reply(self, code, data):
                payload = json.dumps(data).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(settings):
    with FakeProvider() as fake:
        settings.SMS_BACKEND = "notifications.backends.HttpSmsBackend"
        settings.SMS_HTTP_URL = fake.url
        settings.SMS_HTTP_TOKEN = "test-token"
        settings.SMS_ALLOWED_HOSTS = ["127.0.0.1"]
        settings.SMS_HTTP_TIMEOUT_SECONDS = 2
        backends.reset_backends()
        yield fake
    backends.reset_backends()


def test_it_posts_json_with_a_bearer_token_and_returns_the_provider_id(provider):
    backend = HttpSmsBackend()
    assert backend.send(to="+12125550143", body="hello", idempotency_key="k1") == "fake-1"
    assert provider.received == [{"to": "+12125550143", "body": "hello", "idempotency_key": "k1"}]
    # A retry with the same key is not a second text.
    assert backend.send(to="+12125550143", body="hello", idempotency_key="k1") == "fake-1"
    assert len(provider.received) == 1


@pytest.mark.parametrize(
    "code, error",
    [
        (500, TransientDeliveryError),
        (503, TransientDeliveryError),
        (429, TransientDeliveryError),
        (400, PermanentDeliveryError),
    ],
)
def test_it_maps_http_errors(provider, code, error):
    provider.fail_with = code
    with pytest.raises(error) as exc:
        HttpSmsBackend().send(to="+12125550143", body="x", idempotency_key="k")
    assert exc.value.code == f"http_{code}"


def test_a_dead_provider_is_a_transient_error(settings):
    # Nothing listens on port 9 of the loopback.
    backend = HttpSmsBackend(url="http://127.0.0.1:9/x", token="t", allowed_hosts=["127.0.0.1"], timeout=1)
    with pytest.raises(TransientDeliveryError):
        backend.send(to="+12125550143", body="x", idempotency_key="k")


def test_a_host_outside_the_allow_list_is_refused_at_configuration():
    with pytest.raises(ImproperlyConfigured, match="SMS_ALLOWED_HOSTS"):
        HttpSmsBackend(url="https://sms.evil.example/send", token="t", allowed_hosts=["api.sms.example"])
    with pytest.raises(ImproperlyConfigured, match="https"):
        HttpSmsBackend(url="http://api.sms.example/send", token="t", allowed_hosts=["api.sms.example"])
    HttpSmsBackend(url="https://api.sms.example/send", token="t", allowed_hosts=["api.sms.example"])


def test_the_system_check_reports_a_bad_sms_configuration(settings):
    from notifications.checks import check_outbox_settings

    settings.SMS_BACKEND = "notifications.backends.HttpSmsBackend"
    settings.SMS_HTTP_URL = "https://sms.evil.example/send"
    settings.SMS_HTTP_TOKEN = "t"
    settings.SMS_ALLOWED_HOSTS = []
    assert [e.id for e in check_outbox_settings()] == ["notifications.E001"]


@pytest.mark.django_db
def test_a_reminder_goes_end_to_end_through_the_provider(provider, sms_patient):
    message, _ = outbox.enqueue(
        site=sms_patient.site, channel="sms", template_key="sms_help", cause="t", kind="k", patient=sms_patient
    )
    outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert message.status == "sent" and message.provider_message_id == "fake-1"
    assert provider.received[0]["idempotency_key"] == str(message.public_id)


@pytest.mark.django_db
def test_a_provider_outage_is_retried_later(provider, sms_patient):
    provider.fail_with = 503
    message, _ = outbox.enqueue(
        site=sms_patient.site, channel="sms", template_key="sms_help", cause="t", kind="k", patient=sms_patient
    )
    outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert (message.status, message.last_error, message.attempts) == ("pending", "http_503", 1)


# --- Webhooks -------------------------------------------------------------------------------------


@pytest.fixture
def secret(settings):
    settings.SMS_WEBHOOK_SECRET = SECRET
    return SECRET


def _post(client, name, data, *, signature=None, secret=SECRET):
    body = json.dumps(data).encode()
    header = signature if signature is not None else sms.sign(body, secret=secret)
    return client.post(reverse(f"notifications:{name}"), body, content_type="application/json", HTTP_X_SIGNATURE=header)


def test_the_signature_is_checked_in_constant_time_with_a_timestamp_window(secret):
    body = b'{"a": 1}'
    assert sms.signature_valid(body, sms.sign(body, secret=secret))
    assert not sms.signature_valid(body + b" ", sms.sign(body, secret=secret))
    assert not sms.signature_valid(body, sms.sign(body, secret="other"))
    assert not sms.signature_valid(body, sms.sign(body, secret=secret, timestamp=1_000_000))  # replayed
    assert not sms.signature_valid(body, "garbage")
    assert not sms.signature_valid(body, sms.sign(body, secret=secret), secret="")  # no secret: refuse


@pytest.mark.django_db
def test_an_unsigned_or_badly_signed_webhook_is_refused(client, secret, sms_patient):
    assert (
        _post(client, "sms_inbound", {"from": sms_patient.sms_number, "body": "STOP"}, signature="").status_code == 403
    )
    assert (
        _post(client, "sms_inbound", {"from": sms_patient.sms_number, "body": "STOP"}, secret="wrong").status_code
        == 403
    )
    assert Patient.objects.get(pk=sms_patient.pk).sms_opt_in is True


@pytest.mark.django_db
def test_stop_records_an_opt_out_and_suppresses_pending_texts(client, secret, sms_patient):
    message, _ = outbox.enqueue(
        site=sms_patient.site, channel="sms", template_key="sms_help", cause="t", kind="k", patient=sms_patient
    )
    response = _post(client, "sms_inbound", {"id": "in-1", "from": "(212) 555-0143", "body": "stop"})
    assert response.status_code == 200 and response.json()["action"] == "stop"
    patient = Patient.objects.get(pk=sms_patient.pk)
    assert patient.sms_opt_in is False and patient.sms_number == "+12125550143"
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("suppressed", "SMS_STOP")
    event = AuditEvent.objects.filter(object_type="patients.Patient", reason="Patient texted STOP").get()
    assert event.changes == {"before": {"sms_opt_in": True}, "after": {"sms_opt_in": False}}
    # START at the same number opts back in, recorded as a texted keyword.
    assert (
        _post(client, "sms_inbound", {"id": "in-2", "from": "+12125550143", "body": "START"}).json()["action"]
        == "start"
    )
    patient.refresh_from_db()
    assert patient.sms_opt_in is True and patient.sms_opt_in_source == "text_keyword"


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("Stop.", "STOP"),
        ("STOP!", "STOP"),
        (" stop ", "STOP"),
        ("stop\n", "STOP"),
        ("¡Stop!", "STOP"),
        ("Stop please", "STOP"),
        ("Stop all", "STOPALL"),
        ("Opt out", "OPTOUT"),
        ("opt-out.", "OPTOUT"),
        ("Unsubscribe!!", "UNSUBSCRIBE"),
        ("Cancel.", "CANCEL"),
        ("quit", "QUIT"),
        ("Start!", "START"),
        ("Yes.", "YES"),
        ("help?", "HELP"),
        ("Info...", "INFO"),
        ("", ""),
        ("...", ""),
    ],
)
def test_a_keyword_is_read_whatever_its_case_spacing_and_punctuation(text, keyword):
    assert sms.keyword_of(text) == keyword


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("Stop.", "stop"),
        ("STOP!", "stop"),
        (" stop ", "stop"),
        ("Opt out", "stop"),
        ("Start!", "start"),
        ("Help?", "help"),
        ("Don't stop", "ignored"),
        ("Stopping by later", "ignored"),
        ("Thanks!", "ignored"),
    ],
)
def test_keywords_with_punctuation_are_honoured_through_the_webhook(client, secret, sms_patient, text, action):
    if action == "start":
        Patient.objects.filter(pk=sms_patient.pk).update(sms_opt_in=False)
    response = _post(client, "sms_inbound", {"id": "in-p", "from": "+12125550143", "body": text})
    assert response.status_code == 200 and response.json()["action"] == action
    opted_in = Patient.objects.get(pk=sms_patient.pk).sms_opt_in
    assert opted_in is (action != "stop")


@pytest.mark.django_db
def test_help_answers_with_the_neutral_help_text(client, secret, sms_patient, sms_outbox):
    assert (
        _post(client, "sms_inbound", {"id": "in-3", "from": "+12125550143", "body": "HELP"}).json()["action"] == "help"
    )
    _post(client, "sms_inbound", {"id": "in-3", "from": "+12125550143", "body": "HELP"})  # provider retry
    assert OutboundMessage.objects.filter(template_key="sms_help").count() == 1
    outbox.outbox_dispatch_due()
    (line,) = sms_outbox.lines()
    assert "Reply STOP to opt out" in line["body"]


@pytest.mark.django_db
def test_delivery_status_is_recorded_and_a_late_failure_shows(client, secret, sms_patient, sms_outbox):
    message, _ = outbox.enqueue(
        site=sms_patient.site, channel="sms", template_key="sms_help", cause="t", kind="k", patient=sms_patient
    )
    outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert _post(client, "sms_status", {"id": message.provider_message_id, "status": "delivered"}).json()["known"]
    message.refresh_from_db()
    assert (message.status, message.provider_status) == ("sent", "delivered")
    _post(client, "sms_status", {"id": message.provider_message_id, "status": "undelivered", "error_code": "30003"})
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("failed", "PROVIDER_30003")
