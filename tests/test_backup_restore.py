"""Restore drill (docs/backups.md): dump → restore into a new database → same rows, chain intact.

Runs the same tools as the runbook: ``pg_dump -Fc`` of the test database, ``pg_restore`` into a
fresh database, then every table's row count is compared and the audit trail's hash chain is
walked on the restored copy through a second Django connection alias.
"""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404 - runs pg_dump/pg_restore with fixed arguments, no shell
import uuid
from datetime import date, timedelta

import psycopg2
import pytest
from django.db import connection, connections

from audit.models import Action, AuditEvent
from audit.services import GENESIS, record, verify_chain
from patients import services as patient_services
from patients.models import site_today
from users.models import Role

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _require_postgres_tools():
    if connection.vendor != "postgresql":
        pytest.skip("The restore drill uses pg_dump/pg_restore: PostgreSQL only (the SQLite default has none).")
    for tool in ("pg_dump", "pg_restore"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not on PATH (apt-get install postgresql-client).")


def _conn_args(settings_dict, dbname: str) -> dict:
    return {
        "dbname": dbname,
        "host": settings_dict["HOST"] or None,
        "port": settings_dict["PORT"] or None,
        "user": settings_dict["USER"] or None,
        "password": settings_dict["PASSWORD"] or None,
    }


def _pg_env(settings_dict) -> dict:
    env = dict(os.environ)
    if settings_dict["PASSWORD"]:
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return env


def _pg_args(settings_dict) -> list[str]:
    args = []
    if settings_dict["HOST"]:
        args += ["-h", settings_dict["HOST"]]
    if settings_dict["PORT"]:
        args += ["-p", str(settings_dict["PORT"])]
    if settings_dict["USER"]:
        args += ["-U", settings_dict["USER"]]
    return args


def _row_counts(**conn_args) -> dict[str, int]:
    with psycopg2.connect(**conn_args) as conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        tables = [row[0] for row in cur.fetchall()]
        counts = {}
        for table in tables:
            cur.execute(f'SELECT count(*) FROM "{table}"')  # nosec B608 - names from pg_tables
            counts[table] = cur.fetchone()[0]
    conn.close()
    return counts


def _admin_sql(settings_dict, sql: str) -> None:
    conn = psycopg2.connect(**_conn_args(settings_dict, "postgres"))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def _verify_chain_on(alias: str) -> tuple[int, str]:
    """``audit.services.verify_chain`` against another database alias: the same walk, oldest first."""
    expected_prev = GENESIS
    checked = 0
    for event in AuditEvent.objects.using(alias).order_by("id").iterator(chunk_size=2000):
        assert event.prev_hash == expected_prev, f"event {event.id}: link to the previous event does not match"
        assert event.compute_hash() == event.hash, f"event {event.id}: content does not match its hash"
        expected_prev = event.hash
        checked += 1
    return checked, expected_prev


def _make_clinic(make_staff, site, other_site) -> None:
    clinician = make_staff(Role.CLINICIAN, full_name="Casey Counselor")
    make_staff(Role.SUPERVISOR)
    make_staff(Role.CLINICIAN, at=other_site)
    for n in range(5):
        patient = patient_services.patient_register(
            site=site,
            by=clinician,
            allow_duplicate=True,
            legal_first_name="Drill",
            legal_last_name=f"Example{n}",
            date_of_birth=date(1980 + n, 1, 15),
            primary_counselor=clinician,
        )
        patient_services.episode_admit(
            patient=patient, admission_date=site_today(site) - timedelta(days=3), by=clinician
        )
        record(Action.VIEW, actor=clinician, site=site, patient=patient, obj=patient)
    record(Action.EXPORT, actor=clinician, site=site, reason="restore drill")


def test_a_dump_restores_into_a_new_database_with_the_same_rows_and_an_intact_audit_chain(
    make_staff, site, other_site, tmp_path
):
    _require_postgres_tools()
    _make_clinic(make_staff, site, other_site)
    source = connection.settings_dict
    assert verify_chain().ok
    source_counts = _row_counts(**_conn_args(source, source["NAME"]))
    assert source_counts["patients_patient"] == 5 and source_counts["audit_auditevent"] >= 10
    source_last_hash = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()

    dump = tmp_path / "clinic.dump"
    subprocess.run(  # nosec B603 B607 - fixed tool and arguments
        ["pg_dump", "-Fc", *_pg_args(source), "-d", source["NAME"], "-f", str(dump)],
        check=True,
        env=_pg_env(source),
        capture_output=True,
    )
    assert dump.stat().st_size > 0

    restored = f"{source['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    alias = "restore_drill"
    _admin_sql(source, f'CREATE DATABASE "{restored}"')
    try:
        result = subprocess.run(  # nosec B603 B607 - fixed tool and arguments
            ["pg_restore", "--exit-on-error", "--no-owner", *_pg_args(source), "-d", restored, str(dump)],
            env=_pg_env(source),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr

        assert _row_counts(**_conn_args(source, restored)) == source_counts

        # A connection to the restored copy, registered for this thread only (not in DATABASES).
        connections[alias] = connections["default"].__class__({**source, "NAME": restored}, alias)
        try:
            checked, last_hash = _verify_chain_on(alias)
            assert checked == source_counts["audit_auditevent"]
            assert last_hash == source_last_hash
            # The walk does catch a change: the same row with one field altered no longer matches.
            event = AuditEvent.objects.using(alias).order_by("id").last()
            event.reason = "altered after the backup"
            assert event.compute_hash() != event.hash
        finally:
            connections[alias].close()
            del connections[alias]
    finally:
        _admin_sql(source, f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
