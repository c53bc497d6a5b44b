"""The audit trail is append-only and hash-chained; verification names the first broken row."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from audit.models import Action, AppendOnlyError, AuditEvent
from audit.services import GENESIS, record, verify_chain

pytestmark = pytest.mark.django_db


def _three_events(user, site):
    return [
        record(Action.VIEW, actor=user, site=site, patient="11111111-1111-1111-1111-111111111111"),
        record(Action.UPDATE, actor=user, site=site, changes={"before": {"phone": "1"}, "after": {"phone": "2"}}),
        record(Action.EXPORT, actor=user, site=site, reason="quarterly report"),
    ]


def test_it_links_each_event_to_the_previous_one(clinician, site):
    first, second, third = _three_events(clinician, site)
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert verify_chain().ok
    assert verify_chain().checked == 3


def test_it_keeps_a_snapshot_of_who_acted(clinician, site):
    event = record(Action.VIEW, actor=clinician, site=site)
    assert event.actor_label == clinician.email


def test_it_refuses_unknown_actions(clinician):
    with pytest.raises(ValueError):
        record("peek", actor=clinician)


def test_the_orm_refuses_to_change_or_delete_events(clinician, site):
    event = record(Action.VIEW, actor=clinician, site=site)
    event.reason = "edited"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="edited")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_even_in_raw_sql(clinician, site):
    if connection.vendor != "postgresql":
        pytest.skip("The database trigger exists on PostgreSQL only.")
    event = record(Action.VIEW, actor=clinician, site=site)
    for sql in (
        "UPDATE audit_auditevent SET reason = 'x' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])


def _tamper(sql: str, params: list) -> None:
    """Change a row behind the application's back, as an attacker with database access could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A database superuser can switch ordinary triggers off for their session.
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_verification_names_a_changed_row(clinician, site):
    _, second, _ = _three_events(clinician, site)
    _tamper("UPDATE audit_auditevent SET reason = %s WHERE id = %s", ["nothing to see", second.pk])
    report = verify_chain()
    assert not report.ok
    assert report.broken_id == second.pk
    assert "content" in report.problem
    with pytest.raises(CommandError, match=f"event id {second.pk}"):
        call_command("audit_verify")


def test_verification_names_the_row_after_a_removed_one(clinician, site):
    _, second, third = _three_events(clinician, site)
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [second.pk])
    report = verify_chain()
    assert report.broken_id == third.pk
    assert "link" in report.problem


def test_the_command_reports_an_intact_chain(clinician, site, capsys):
    _three_events(clinician, site)
    call_command("audit_verify")
    assert "3 events verified" in capsys.readouterr().out


def test_the_stored_row_is_what_was_hashed(clinician, site):
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT="Tablet")
    request.user = clinician
    event = record(
        Action.UPDATE,
        request=request,
        site=site,
        patient="22222222-2222-2222-2222-222222222222",
        object_type="patients.Patient",
        object_id="abc",
        reason="correction",
        changes={"before": {"phone": "1"}, "after": {"phone": "2", "when": "2026-12-01"}},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.hash == event.hash == stored.compute_hash()
    assert (stored.ip, stored.user_agent, stored.actor_id, stored.site_id) == (
        "192.0.2.7",
        "Tablet",
        clinician.pk,
        site.pk,
    )
    assert stored.created_at == event.created_at and stored.changes == event.changes
    assert not event._state.adding


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_unbroken_chain(clinician, site):
    """Every page with PHI appends: eight writers at once still give one linear chain."""
    import threading

    if connection.vendor != "postgresql":
        pytest.skip("the chain lock is PostgreSQL's advisory lock")
    errors = []

    def writer(n):
        try:
            for i in range(25):
                record(Action.VIEW, actor=clinician, site=site, object_type="t", object_id=f"{n}-{i}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify_chain()
    assert report.ok and report.checked == 200
    assert AuditEvent.objects.values("prev_hash").distinct().count() == 200
