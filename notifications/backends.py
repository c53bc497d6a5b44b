"""Channel backends: how a rendered message reaches a phone or a mailbox.

Every backend takes the rendered text plus the message's idempotency key and returns the
provider's message id. It raises ``TransientDeliveryError`` for what is worth retrying (a 5xx,
a timeout, a refused connection) and ``PermanentDeliveryError`` for what is not (a 4xx, a bad
number). Error ``code`` values are short and PHI-free: they end up in the message log.

SMS backends (setting ``SMS_BACKEND``, a dotted path):
- ``ConsoleSmsBackend``: prints to the worker's log (development).
- ``FileSmsBackend``: one JSON line per text in ``SMS_FILE_PATH``/sms.jsonl (development,
  benchmarks). Like most real providers it honours the idempotency key: a retry of an
  already-accepted message returns the first id and is counted in ``dedup.jsonl``.
- ``HttpSmsBackend``: a generic JSON API (POST ``SMS_HTTP_URL`` with a bearer token); the host
  must be in ``SMS_ALLOWED_HOSTS`` or the backend refuses to be configured.
Use only a provider that signs a Business Associate Agreement (DOMAIN.md §13).
"""

from __future__ import annotations

import abc
import hashlib
import json
import logging
import os
import socket
import urllib.error
import urllib.request
import uuid
from email.utils import make_msgid
from pathlib import Path
from smtplib import SMTPException
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code[:80]


class TransientDeliveryError(DeliveryError):
    """Worth retrying later (the outbox moves ``due_at`` forward with backoff)."""


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help: the message is marked failed and shown to staff."""


# The named errors the outbox retries; anything else fails the message at once.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientDeliveryError,
    SMTPException,
    urllib.error.URLError,
    socket.timeout,
    TimeoutError,
    ConnectionError,
)
try:  # requests is an optional dependency of some providers' SDKs
    import requests

    TRANSIENT_ERRORS += (requests.ConnectionError, requests.Timeout)
except ImportError:  # pragma: no cover
    pass


def error_code(exc: BaseException) -> str:
    """A short, PHI-free code for the message log."""
    return getattr(exc, "code", None) or type(exc).__name__


# --- SMS ----------------------------------------------------------------------------------------


class SmsBackend(abc.ABC):
    @abc.abstractmethod
    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        """Hand one text to the channel; return the provider's message id."""


class ConsoleSmsBackend(SmsBackend):
    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        message_id = f"console-{uuid.uuid4()}"
        print(f"SMS to {to} [{message_id}]: {body}", flush=True)  # noqa: T201 - development only
        return message_id


class FileSmsBackend(SmsBackend):
    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder or settings.SMS_FILE_PATH)
        # Texts carry a first name and a time: keep the folder readable by this user only.
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.folder / "keys").mkdir(mode=0o700, parents=True, exist_ok=True)

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        marker = self.folder / "keys" / hashlib.sha256(idempotency_key.encode()).hexdigest()
        message_id = f"file-{uuid.uuid4()}"
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            # A retry of an accepted message. If the sender died between accepting it and writing
            # its line (killed mid-send), finish the delivery now: accepted means delivered once.
            first = marker.read_text() or message_id
            if not self._delivered(idempotency_key):
                self._append("sms.jsonl", {"id": first, "key": idempotency_key, "to": to, "body": body})
            else:
                self._append("dedup.jsonl", {"id": first, "key": idempotency_key})
            return first
        with os.fdopen(fd, "w") as f:
            f.write(message_id)
        self._append("sms.jsonl", {"id": message_id, "key": idempotency_key, "to": to, "body": body})
        return message_id

    def _delivered(self, idempotency_key: str) -> bool:
        path = self.folder / "sms.jsonl"
        needle = json.dumps(idempotency_key)
        return path.exists() and any(f'"key": {needle}' in line for line in path.open())

    def _append(self, name: str, row: dict) -> None:
        # One write() per line with O_APPEND: lines from several worker processes never interleave.
        line = (json.dumps(row) + "\n").encode()
        fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class HttpSmsBackend(SmsBackend):
    """A generic JSON SMS API::

        POST <SMS_HTTP_URL>   Authorization: Bearer <SMS_HTTP_TOKEN>   Idempotency-Key: <key>
        {"to": "+15551234567", "body": "...", "idempotency_key": "..."}
        → 2xx {"id": "<provider message id>"}

    5xx, 429 and network errors are transient; other 4xx are permanent.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        allowed_hosts: list[str] | None = None,
        timeout: float | None = None,
    ):
        self.url = url if url is not None else settings.SMS_HTTP_URL
        self.token = token if token is not None else settings.SMS_HTTP_TOKEN
        self.timeout = timeout if timeout is not None else settings.SMS_HTTP_TIMEOUT_SECONDS
        allowed = [h.lower() for h in (allowed_hosts if allowed_hosts is not None else settings.SMS_ALLOWED_HOSTS)]
        parts = urlsplit(self.url or "")
        host = (parts.hostname or "").lower()
        if not host:
            raise ImproperlyConfigured("SMS_HTTP_URL: set the provider's URL for HttpSmsBackend.")
        if host not in allowed:
            raise ImproperlyConfigured(f"SMS_HTTP_URL: host {host!r} is not in SMS_ALLOWED_HOSTS.")
        if parts.scheme != "https" and not (parts.scheme == "http" and host in _LOOPBACK):
            raise ImproperlyConfigured("SMS_HTTP_URL: use https (plain http only to a local test provider).")
        if not self.token:
            raise ImproperlyConfigured("SMS_HTTP_TOKEN: the provider's token is required for HttpSmsBackend.")

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        payload = json.dumps({"to": to, "body": body, "idempotency_key": idempotency_key}).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url,
            data=payload,
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key,
            },
        )
        try:
            # The scheme (https, or http to loopback) and host (SMS_ALLOWED_HOSTS) are checked in __init__.
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310
                data = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise TransientDeliveryError(f"http_{exc.code}") from None
            raise PermanentDeliveryError(f"http_{exc.code}") from None
        except TimeoutError:
            raise TransientDeliveryError("timeout") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError | socket.timeout):
                raise TransientDeliveryError("timeout") from None
            raise TransientDeliveryError("connection") from None
        except (ConnectionError, json.JSONDecodeError):
            raise TransientDeliveryError("bad_response") from None
        message_id = str(data.get("id") or "")
        if not message_id:
            raise TransientDeliveryError("no_message_id")
        return message_id


_sms_backend: SmsBackend | None = None


def get_sms_backend() -> SmsBackend:
    """The configured SMS backend (built once per process; ``reset_backends()`` in tests)."""
    global _sms_backend
    if _sms_backend is None:
        _sms_backend = import_string(settings.SMS_BACKEND)()
    return _sms_backend


def reset_backends() -> None:
    global _sms_backend
    _sms_backend = None


# --- Email --------------------------------------------------------------------------------------


def send_email(*, to: str, subject: str, body: str, sender_name: str, idempotency_key: str) -> str:
    """Through Django's email backend (``EMAIL_URL``). The From name is the site's neutral sender
    name; the address is ``DEFAULT_FROM_EMAIL``'s. Returns the Message-ID."""
    from email.utils import formataddr, parseaddr

    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "no-reply@localhost"
    message_id = make_msgid(domain=address.rsplit("@", 1)[-1])
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=formataddr((sender_name, address)) if sender_name else address,
        to=[to],
        headers={"Message-ID": message_id, "X-Idempotency-Key": idempotency_key},
    )
    message.send(fail_silently=False)
    return message_id
