"""Reminder dispatch benchmark: 10,000 due reminders through real Celery workers on Redis and
PostgreSQL, with one worker and then two; throughput and duplicates (must be 0).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/7 \\
    .venv/bin/python loadtest/dispatch_bench.py --messages 10000

It creates (or reuses) a database of fake patients (sites "Bench …"): groups of 12 patients on
one-off group sessions starting just under two hours from now, with ``REMINDER_OFFSETS=-2h`` so
the planning sweep makes one due text reminder per patient. Each run resets those rows to
pending, empties the broker database and the file backend's folder, starts the workers
(``celery -A iop worker -c 1``; for "2 workers", two such processes), acts as beat (publishes
the sweep task every 5 s) and times from the first sweep to the last ``sent`` row. Every send
goes through the whole path: conditional claim, consent and safe-hours check, session and
roster check, template render, privacy lint, file backend (one JSON line per text), result.

Duplicates are counted where a patient would see them: keys appearing on more than one line of
the file backend's ``sms.jsonl`` (and, separately, repeated send calls the backend's idempotency
key absorbed, ``dedup.jsonl``). Not a test: run it by hand; the README keeps the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iop.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ["REMINDER_OFFSETS"] = "-2h"
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from notifications.models import OutboundMessage  # noqa: E402
from patients.models import Episode, Patient  # noqa: E402
from scheduling.models import RosterAddition, TherapySession  # noqa: E402
from users.models import Membership, Role, Site, User  # noqa: E402

GROUP = 12


def build(n: int) -> Site:
    """Fake patients, episodes and group sessions for ``n`` reminders (bulk inserts: bench data)."""
    site, _ = Site.objects.get_or_create(
        name=f"Bench {n}", defaults={"time_zone": "America/New_York", "sender_name": "Bench Health"}
    )
    staff, _ = User.objects.get_or_create(email="bench-counselor@example.test", defaults={"full_name": "Bench"})
    Membership.objects.get_or_create(user=staff, site=site, defaults={"role": Role.CLINICIAN})
    have = Patient.objects.filter(site=site).count()
    if have < n:
        Patient.objects.bulk_create(
            [
                Patient(
                    site=site,
                    mrn=f"B{n % 1000:03d}{i:06d}"[:12],
                    legal_first_name="Pat",
                    legal_last_name=f"Bench{i}",
                    date_of_birth=date(1980, 1, 1),
                    preferred_channel="sms",
                    sms_opt_in=True,
                    sms_opt_in_on=date(2026, 1, 1),
                    sms_opt_in_source="intake_form",
                    sms_number=f"+1212{5550000 + i:07d}",
                )
                for i in range(have, n)
            ],
            batch_size=2000,
        )
        patients = list(Patient.objects.filter(site=site, episodes__isnull=True))
        Episode.objects.bulk_create(
            [Episode(patient=p, site=site, admission_date=date(2026, 1, 1), admitted_by=staff) for p in patients],
            batch_size=2000,
        )
    return site


def schedule(site: Site, n: int) -> None:
    """Fresh sessions just under two hours ahead, 12 patients each, and their planned reminders."""
    from scheduling.reminders import reminders_plan

    # Earlier runs' sessions and rows stay as history, cancelled.
    TherapySession.objects.filter(site=site, status="scheduled").update(status="cancelled", cancel_reason="staff")
    OutboundMessage.objects.filter(site=site).update(status="cancelled")
    start = timezone.now() + timedelta(hours=1, minutes=58)
    episodes = list(Episode.objects.filter(site=site).order_by("id")[:n])
    sessions = TherapySession.objects.bulk_create(
        [
            TherapySession(site=site, kind="group", starts_at=start, ends_at=start + timedelta(hours=3))
            for _ in range(0, len(episodes), GROUP)
        ]
    )
    RosterAddition.objects.bulk_create(
        [RosterAddition(session=sessions[i // GROUP], episode=e) for i, e in enumerate(episodes)], batch_size=2000
    )
    t = time.perf_counter()
    totals = reminders_plan()
    print(
        f"planning sweep: {totals['planned']} reminders for {totals['sessions']} sessions in {time.perf_counter() - t:.1f} s"
    )


def reset(site: Site, folder: Path, broker: str) -> list[int]:
    import redis

    redis.Redis.from_url(broker).flushdb()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rows = OutboundMessage.objects.filter(site=site, template_key="session_reminder", cause__in=current_causes(site))
    OutboundMessage.objects.filter(site=site).exclude(pk__in=rows).update(status="cancelled")
    rows.update(
        status="pending", attempts=0, claimed_at=None, started_at=None, sent_at=None, provider_message_id="",
        last_error="", due_at=timezone.now(),
    )  # fmt: skip
    return list(rows.values_list("id", flat=True))


def current_causes(site: Site) -> set[str]:
    from scheduling.reminders import session_cause

    now = timezone.now()
    return {session_cause(s) for s in TherapySession.objects.filter(site=site, starts_at__gt=now, status="scheduled")}


def start_workers(count: int, folder: Path, logs: Path) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "SMS_BACKEND": "notifications.backends.FileSmsBackend",
        "SMS_FILE_PATH": str(folder),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    celery = str(Path(sys.executable).with_name("celery"))
    workers = []
    for i in range(count):
        workers.append(
            subprocess.Popen(  # noqa: S603 - our own celery binary, fixed arguments
                [
                    celery,
                    "-A",
                    "iop",
                    "worker",
                    "-c",
                    "1",
                    "-n",
                    f"bench{i}@%h",
                    "-l",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=ROOT,
                env=env,
                stdout=(logs / f"worker{i}.log").open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        )
    return workers


def wait_ready(broker: str, count: int, timeout: float = 60) -> None:
    from iop.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= count:
            return
    raise SystemExit("workers did not start; see the worker logs")


def run(site: Site, workers: int, folder: Path, broker: str, logs: Path) -> dict:
    from notifications.tasks import outbox_dispatch_due_task

    ids = reset(site, folder, broker)
    n = len(ids)
    procs = start_workers(workers, folder, logs)
    try:
        wait_ready(broker, workers)
        t0 = time.perf_counter()
        last_sweep = 0.0
        rows = OutboundMessage.objects.filter(site=site).exclude(status="cancelled")  # this run's rows only
        while True:
            now = time.perf_counter()
            if now - last_sweep >= 5:  # what beat does (every 15 s in production)
                outbox_dispatch_due_task.delay()
                last_sweep = now
            if rows.filter(status="sent").count() == n:
                break
            if now - t0 > 1800:
                raise SystemExit("gave up after 30 minutes")
            time.sleep(0.25)
        elapsed = time.perf_counter() - t0
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(60)
    lines = [json.loads(x) for x in (folder / "sms.jsonl").read_text().splitlines()]
    dedup = folder / "dedup.jsonl"
    keys = Counter(line["key"] for line in lines)
    provider_ids = set(rows.values_list("provider_message_id", flat=True))
    return {
        "workers": workers,
        "messages": n,
        "seconds": elapsed,
        "per_second": n / elapsed,
        "texts": len(lines),
        "duplicates": sum(c - 1 for c in keys.values()),
        "dedup_calls": len(dedup.read_text().splitlines()) if dedup.exists() else 0,
        "provider_ids": len(provider_ids),
        "not_sent": rows.exclude(status="sent").count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to run")
    args = parser.parse_args()
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if connection.vendor != "postgresql" or not broker.startswith("redis://"):
        raise SystemExit("Set DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://… (see the docstring).")
    call_command("migrate", verbosity=0)
    site = build(args.messages)
    schedule(site, args.messages)
    work = Path(tempfile.mkdtemp(prefix="iop-bench-"))
    results = [run(site, int(w), work / f"sms-{w}", broker, work) for w in args.workers.split(",") if w.strip()]
    print(f"\nmachine: {os.cpu_count()} cores; PostgreSQL + Redis on localhost; file SMS backend; logs in {work}")
    print(f"{'workers':>7} | {'messages':>8} | {'seconds':>7} | {'msg/s':>7} | {'texts':>6} | {'duplicates':>10} | "
          f"{'dedup calls':>11} | {'not sent':>8}")  # fmt: skip
    for r in results:
        print(
            f"{r['workers']:>7} | {r['messages']:>8} | {r['seconds']:>7.1f} | {r['per_second']:>7.0f} | "
            f"{r['texts']:>6} | {r['duplicates']:>10} | {r['dedup_calls']:>11} | {r['not_sent']:>8}"
        )


if __name__ == "__main__":
    main()
