"""``record(...)``: the one way to write to the audit trail, and chain verification."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.http import HttpRequest

from users.middleware import current_request
from users.permissions import emergency_grant_used

from .models import Action, AuditEvent

GENESIS = "0" * 64
# Arbitrary constant key for the PostgreSQL advisory lock that serialises chain appends.
_CHAIN_LOCK_KEY = 0x10A0D17


def _client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR is the proxy's address behind a load balancer; the first X-Forwarded-For
    # hop is trusted only when the deployment says a proxy sets it.
    from django.conf import settings

    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def _plain(value) -> dict:
    """JSON-safe copy (dates, decimals and UUIDs become strings) so the hash survives a round trip."""
    return json.loads(json.dumps(value or {}, default=str))


def record(
    action: str,
    *,
    actor=None,
    request: HttpRequest | None = None,
    site=None,
    patient=None,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    reason: str = "",
    changes: dict | None = None,
) -> AuditEvent:
    """Append one audit event and link it to the chain.

    Call it inside the transaction of the write it describes, so the event and the change
    commit or roll back together. ``patient`` may be a patient object (its ``public_id`` is
    stored) or the public id itself. ``obj`` fills ``object_type``/``object_id`` from a model
    instance (its ``public_id`` when it has one, never a name).

    An event about a patient the actor sees only under a break-glass grant carries the grant's
    reason (unless a reason is given) and the grant's public id in ``changes["emergency_access"]``,
    so every page seen during emergency access is on the record with why.

    Where from (IP, user agent): the ``request`` given, else the request being served
    (``users.middleware.current_request``), so a service that records ``actor=by`` from a page or
    the API still says where the write came from. Outside a request (Celery, commands) both stay
    empty. Only the origin is taken from the current request, never the actor.
    """
    if action not in Action.values:
        raise ValueError(f"Unknown audit action {action!r}.")
    if request is not None and actor is None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(getattr(obj, "public_id", None) or obj.pk)
    if patient is not None and not isinstance(patient, str):
        patient = str(getattr(patient, "public_id", patient))
    site_id = getattr(site, "pk", site)
    origin = request if request is not None else current_request()
    grant = emergency_grant_used(actor, patient) if actor is not None and patient else None
    if grant is not None:
        reason = reason or grant.reason
        changes = {**(changes or {}), "emergency_access": grant.ref}
    event = AuditEvent(
        actor=actor,
        actor_label=(getattr(actor, "email", "") or "")[:254],
        action=action,
        site_id=site_id,
        patient_ref=patient or "",
        object_type=object_type[:60],
        object_id=str(object_id)[:64],
        ip=_client_ip(origin) if origin is not None else None,
        user_agent=(origin.META.get("HTTP_USER_AGENT", "") if origin is not None else "")[:300],
        reason=reason,
        changes=_plain(changes),
    )
    _append(event)
    return event


@functools.cache
def _append_sql(vendor: str) -> tuple[list, str, str]:
    """The fields, the last-hash read and the INSERT, built once per database vendor."""
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    table = quote(AuditEvent._meta.db_table)
    last_hash = f"SELECT {quote('hash')} FROM {table} ORDER BY {quote('id')} DESC LIMIT 1"  # noqa: S608  # nosec B608 - model names only
    insert = (
        f"INSERT INTO {table} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608  # nosec B608 - model names only
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote('id')}"
    )
    return fields, last_hash, insert


def _append(event: AuditEvent) -> None:
    """Link the event to the newest one and insert it, holding the chain lock as briefly as
    possible: every page with PHI appends, so the statements are prepared once and run as plain
    SQL (the ORM's query building would run while other appends wait)."""
    fields, last_hash, insert = _append_sql(connection.vendor)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        cursor.execute(last_hash)
        row = cursor.fetchone()
        event.prev_hash = row[0] if row else GENESIS
        event.hash = event.compute_hash()
        cursor.execute(insert, [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields])
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the chain oldest first; report the first row whose content or link does not match."""
    expected_prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            return ChainReport(checked=checked)
        for event in batch:
            if event.prev_hash != expected_prev:
                return ChainReport(
                    checked, event.id, "its link to the previous event does not match (a row was removed or reordered)"
                )
            if event.compute_hash() != event.hash:
                return ChainReport(checked, event.id, "its content does not match its hash (the row was changed)")
            expected_prev = event.hash
            checked += 1
            last_id = event.id
