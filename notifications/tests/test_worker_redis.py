"""Real Celery workers on a real Redis (its own redis-server on a free port, nothing on disk):
reminders delivered end to end; Redis stopped mid-run and restarted loses nothing and sends
nothing twice; a worker process killed mid-batch leaves no duplicates."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone

import notifications.tasks  # noqa: F401 - registers the tasks with every Celery app
from notifications import outbox
from notifications.backends import FileSmsBackend
from notifications.models import OutboundMessage
from patients.models import Patient
from scheduling import reminders  # reminders are planned by scheduling, sent by the outbox

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

REDIS_SERVER = shutil.which("redis-server")
# The embedded default (SQLite) runs tasks in-process; pytest's SQLite test database is an
# in-memory shared cache whose table locks make a worker thread and the test thread collide.
SQLITE_THREADS = "concurrent worker threads need PostgreSQL (SQLite's in-memory test database locks tables)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """``redis-server`` on its own port, nothing kept on disk; ``stop()`` and ``start()`` again."""

    def __init__(self, tmp: Path):
        self.port = _free_port()
        self.tmp = tmp
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        subprocess.run(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "yes", "--dir", str(self.tmp), "--pidfile", str(self.tmp / "redis.pid")],
            check=True, capture_output=True,
        )  # fmt: skip
        self._wait(up=True)

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        self._wait(up=False)

    def _wait(self, *, up: bool) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                if up:
                    return
            except OSError:
                if not up:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis on port {self.port} did not come {'up' if up else 'down'}")


@pytest.fixture
def redis_server(tmp_path):
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: the Redis tests need it to start their own Redis")
    server = RedisServer(tmp_path)
    try:
        server.start()
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        pytest.skip(f"Redis is unreachable: could not start redis-server ({exc})")
    yield server
    server.stop()


@pytest.fixture
def broker_app(redis_server, monkeypatch):
    """A Celery app on the test Redis, current for the test (so ``task.delay`` publishes there)."""
    from celery import Celery

    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)

    from iop.celery import app as project_app

    app = Celery("iop-test", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(
        broker_url=redis_server.url,
        task_always_eager=False,
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        broker_transport_options={"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2},
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2},
        worker_hijack_root_logger=False,
    )
    app.set_current()
    yield app
    project_app.set_current()


@contextmanager
def running_worker(app, concurrency: int = 2):
    from celery.contrib.testing.worker import start_worker

    with start_worker(app, pool="threads", concurrency=concurrency, perform_ping_check=False, shutdown_timeout=15):
        yield


class SlowFileSmsBackend(FileSmsBackend):
    """The file backend with a little latency, so some texts are in flight when Redis stops."""

    def send(self, **kwargs) -> str:
        time.sleep(0.03)
        return super().send(**kwargs)


def _sms_patients(make_patient, n: int) -> list[Patient]:
    patients = []
    for i in range(n):
        p = make_patient()
        Patient.objects.filter(pk=p.pk).update(
            preferred_channel="sms",
            sms_opt_in=True,
            sms_opt_in_on="2026-01-05",
            sms_opt_in_source="intake_form",
            sms_number=f"+1212555{2000 + i}",
        )
        patients.append(Patient.objects.get(pk=p.pk))
    return patients


def _wait_for(predicate, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _sent() -> int:
    return OutboundMessage.objects.filter(status="sent").count()


def _publish_sweep(timeout: float = 20) -> None:
    """What beat does every 15 s: publish the sweep task (retried while Redis comes back)."""
    from notifications.tasks import outbox_dispatch_due_task

    deadline = time.monotonic() + timeout
    while True:
        try:
            outbox_dispatch_due_task.delay()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.postgres
def test_a_real_worker_delivers_reminders_end_to_end(broker_app, make_patient, make_session, sms_outbox):
    if connection.vendor != "postgresql":
        pytest.skip(SQLITE_THREADS)
    patients = _sms_patients(make_patient, 5)
    session = make_session(timezone.now() + timedelta(hours=1, minutes=55), patients=patients)
    assert reminders.reminders_plan_for_session(session)["planned"] == 5  # -2h is due now
    with running_worker(broker_app):
        _publish_sweep()
        _wait_for(lambda: _sent() == 5, what="5 reminders sent")
    lines = sms_outbox.lines()
    assert sorted(line["to"] for line in lines) == sorted(p.sms_number for p in patients)
    assert all("appointment" in line["body"] for line in lines)


@pytest.mark.postgres
def test_redis_stopped_mid_run_and_restarted_delivers_every_message_once(
    broker_app, redis_server, make_patient, sms_outbox, tmp_path
):
    """A real worker process (prefork, as deployed) sends while Redis stops and comes back.

    On losing its broker a Celery worker either reconnects or exits ("Unrecoverable error", seen
    with kombu's Redis transport when unacknowledged messages are being restored); deployments
    run workers under a supervisor (docker-compose ``restart: unless-stopped``) that starts a new
    one. The test plays that supervisor. Either way nothing may be lost or sent twice.
    """
    if connection.vendor != "postgresql":
        pytest.skip("a worker process shares the test database only on PostgreSQL")
    patients = _sms_patients(make_patient, 4)
    site = patients[0].site

    def enqueue(prefix: str, n: int) -> None:
        for i in range(n):
            outbox.enqueue(
                site=site, channel="sms", template_key="sms_help", cause=f"{prefix}:{i}", kind="k",
                patient=patients[i % 4],
            )  # fmt: skip

    enqueue("before", 60)
    db_name = connection.settings_dict["NAME"]
    slow = f"{__name__}.SlowFileSmsBackend"
    worker = _subprocess_worker(db_name, sms_outbox.folder, redis_server.url, tmp_path / "w1.log", backend=slow)
    try:
        _publish_sweep()
        _wait_for(lambda: _sent() >= 5, timeout=60, what="the first texts")
        redis_server.stop()  # mid-run: the queued send tasks vanish with it (nothing on disk)

        # The web app keeps working: enqueueing is a row, asking for a sweep never raises.
        with transaction.atomic():
            enqueue("while-down", 10)
        outbox.kick_dispatch()
        # A sweep that cannot publish puts its claims back.
        totals = outbox.outbox_dispatch_due()
        assert totals["published"] == 0
        assert set(
            OutboundMessage.objects.filter(cause__startswith="while-down").values_list("status", "attempts")
        ) == {("pending", 0)}

        # Redis comes back (empty). Let the worker finish what it had already taken.
        redis_server.start()
        last = -1
        while (now := _sent()) != last:
            last = now
            time.sleep(2)
        if worker.poll() is not None:  # it exited on the broker loss: the supervisor restarts it
            worker = _subprocess_worker(
                db_name, sms_outbox.folder, redis_server.url, tmp_path / "w2.log", backend=slow
            )  # fmt: skip
        # The send tasks lost with Redis left their rows in "sending": past the reclaim window
        # the sweep takes them back.
        outbox.outbox_reclaim_stuck(older_than=timedelta(0))
        _publish_sweep()
        _wait_for(lambda: _sent() == 70, timeout=90, what="all 70 texts after the restart")
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(20)

    keys = Counter(line["key"] for line in sms_outbox.lines())
    assert len(keys) == 70 and set(keys.values()) == {1}
    assert sms_outbox.lines("dedup.jsonl") == []


def _subprocess_worker(
    db_name: str, sms_folder: Path, broker_url: str, log: Path, backend: str = "notifications.backends.FileSmsBackend"
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "iop.settings_test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}",
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SMS_BACKEND": backend,
        "SMS_FILE_PATH": str(sms_folder),
    }
    celery = str(Path(sys.executable).with_name("celery"))
    return subprocess.Popen(
        [celery, "-A", "iop", "worker", "-c", "2", "-P", "prefork", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-l", "WARNING"],
        cwd=django_settings.BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


@pytest.mark.postgres
def test_a_worker_killed_mid_batch_leaves_no_duplicates(broker_app, redis_server, make_patient, sms_outbox, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("a worker process shares the test database only on PostgreSQL")  # in-memory on SQLite
    patients = _sms_patients(make_patient, 4)
    for i in range(200):
        outbox.enqueue(
            site=patients[0].site, channel="sms", template_key="sms_help", cause=f"kill:{i}", kind="k",
            patient=patients[i % 4],
        )  # fmt: skip
    db_name = connection.settings_dict["NAME"]
    worker = _subprocess_worker(db_name, sms_outbox.folder, redis_server.url, tmp_path / "worker1.log")
    try:
        _publish_sweep()
        _wait_for(lambda: _sent() >= 30, timeout=60, what="the first worker to send")
        os.killpg(worker.pid, signal.SIGKILL)  # mid-batch, no warm shutdown
        worker.wait(10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert _sent() < 200, "the worker finished before it was killed; the test proves nothing"
    # Its reserved and running tasks died with it: past the reclaim window the sweep takes them back.
    outbox.outbox_reclaim_stuck(older_than=timedelta(0))
    worker = _subprocess_worker(db_name, sms_outbox.folder, redis_server.url, tmp_path / "worker2.log")
    try:
        _publish_sweep()
        _wait_for(lambda: _sent() == 200, timeout=60, what="all 200 texts after the restart")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(20)
    keys = Counter(line["key"] for line in sms_outbox.lines())
    assert len(keys) == 200 and set(keys.values()) == {1}
