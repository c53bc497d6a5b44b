"""Faults (issue 11, item 3): gunicorn against a private PostgreSQL cluster and a private Redis.

* PostgreSQL stopped → every request answers a clean 500/503 quickly (no hang, no traceback in
  the body); started again → requests succeed without restarting gunicorn.
* PostgreSQL restarted *under load* (threads requesting pages without pause) → requests during
  the outage fail cleanly (500/503, no hang, no traceback), and every request after it succeeds
  with the same gunicorn process.
* Redis (the Celery broker, and the cache as in production: ``rediscache://``) stopped → home and
  a patient chart still answer 200 and enqueueing a reminder (an outbox row) still works.
* Redis down for two minutes (``FAULT_REDIS_OUTAGE_SECONDS``, default 120) while a clinician keeps
  working (pages read, roll-call saved, texts queued) and another signs in afresh (password and
  TOTP) → every request answers, and once Redis is back a real Celery worker delivers every
  queued text exactly once.

Nothing shared is touched: the cluster (initdb into a temporary directory, its own port and
socket directory) and redis-server run on free ports and are removed at teardown. The private
database is migrated and filled by ``manage.py seed_scale`` at a tiny scale; the test signs in
over HTTP with a bench account's password and TOTP code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = shutil.which("redis-server")
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, *, up: bool, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} did not come {'up' if up else 'down'}")


def _totp(secret: str) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**6:06d}"


class Cluster:
    """initdb into a private directory; the server runs as ``postgres`` when the tests run as root."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="iop-faults-pg-"))
        self.data, self.sock, self.port = self.root / "pgdata", self.root / "pgsock", _free_port()
        self.sock.mkdir()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            import pwd

            pw = pwd.getpwnam("postgres")
            for path in (self.root, self.sock):
                os.chown(path, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/faults"

    def init(self) -> None:
        subprocess.run(
            [*self.as_user, PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync",
             "-E", "UTF8"],
            check=True, capture_output=True,
        )  # fmt: skip

    def pg_ctl(self, *args) -> None:
        subprocess.run(
            [*self.as_user, PG_BIN / "pg_ctl", "-D", self.data, *args], check=True, capture_output=True, timeout=60
        )

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self.pg_ctl("-o", opts, "-l", str(self.root / "pg.log"), "-w", "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "-w", "stop")


class Redis:
    def __init__(self, tmp: Path):
        self.port, self.tmp = _free_port(), tmp
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        subprocess.run(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "yes", "--dir", str(self.tmp), "--pidfile", str(self.tmp / "redis.pid")],
            check=True, capture_output=True,
        )  # fmt: skip
        _wait_port(self.port, up=True)

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        _wait_port(self.port, up=False)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Private PostgreSQL + Redis, migrated and seeded, and gunicorn on them. Torn down after."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        pytest.skip(f"initdb/pg_ctl not found under {PG_BIN} (set PG_BIN): the fault tests start their own cluster")
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: the fault tests start their own Redis")
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed in this virtualenv")
    tmp = tmp_path_factory.mktemp("faults")
    pg, redis = Cluster(), Redis(tmp)
    pg.init()
    pg.start()
    gunicorn = None
    try:
        redis.start()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_"))},
            "DJANGO_SETTINGS_MODULE": "iop.settings",
            "DATABASE_URL": pg.url,
            "CELERY_BROKER_URL": redis.url,
            "DJANGO_DEBUG": "true",
        }
        subprocess.run(
            [PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "faults"],
            check=True, capture_output=True,
        )  # fmt: skip
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=240)
        accounts = tmp / "bench.json"
        subprocess.run(
            [*manage, "seed_scale", "--scale", "0.001", "--weeks", "1", "--bench-accounts", "3",
             "--accounts", str(accounts)],
            env=env, cwd=ROOT, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        port = _free_port()
        env |= {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_COOKIES": "false",
            "DJANGO_SECURE_HSTS_SECONDS": "0",
            "STATIC_MANIFEST": "false",
            # The production cache setting (iop/cache.py falls back to memory while Redis is down).
            "CACHE_URL": f"rediscache://127.0.0.1:{redis.port}/1",
            # Fail fast while the database is away instead of waiting out the OS connect timeout.
            "PGCONNECT_TIMEOUT": "3",
        }
        gunicorn = subprocess.Popen(
            [GUNICORN, "iop.wsgi", "-w", "1", "--threads", "4", "-b", f"127.0.0.1:{port}", "--timeout", "60"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(tmp / "gunicorn.log", "wb"),
        )  # fmt: skip
        _wait_port(port, up=True, timeout=30)
        yield {
            "pg": pg,
            "redis": redis,
            "base": f"http://127.0.0.1:{port}",
            "accounts": json.loads(accounts.read_text()),
            "env": env,
            "log": tmp / "gunicorn.log",
            "gunicorn": gunicorn,
            "tmp": tmp,
        }
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
        redis.stop()
        try:
            pg.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(pg.root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def _signed_in(stack):
    """One sign-in per module: a TOTP code is accepted once per 30 s window."""
    if "session" not in stack:
        stack["session"] = _sign_in(stack)
    return stack["session"]


def _sign_in(stack, acct=None):
    import requests

    acct = acct or stack["accounts"]["clinician"][0]
    s = requests.Session()
    base = stack["base"]

    def token(html):
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    r = s.get(f"{base}/accounts/login/", timeout=60)
    r = s.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": token(r.text), "login": acct["email"], "password": stack["accounts"]["password"]},
        timeout=60,
    )
    assert "/accounts/2fa/authenticate/" in r.url, r.url
    if 30 - time.time() % 30 < 2:
        time.sleep(2.5)
    r = s.post(
        f"{base}/accounts/2fa/authenticate/",
        data={"csrfmiddlewaretoken": token(r.text), "code": _totp(acct["totp_secret"])},
        timeout=60,
    )
    assert r.status_code == 200 and "/accounts/" not in r.url, r.url
    return s, acct


def _timed_get(session, url):
    started = time.monotonic()
    r = session.get(url, timeout=10, allow_redirects=False)
    return r, time.monotonic() - started


def test_postgres_down_fails_cleanly_and_recovers_without_restart(stack):
    s, acct = _signed_in(stack)
    base = stack["base"]
    pages = [f"{base}/", f"{base}/patients/{acct['patients'][0]}/", f"{base}/schedule/my-day/"]
    for url in pages:
        r, _ = _timed_get(s, url)
        assert r.status_code == 200, (url, r.status_code)

    stack["pg"].stop()
    try:
        for url in pages * 2:
            r, took = _timed_get(s, url)
            assert r.status_code in (500, 503), (url, r.status_code)
            assert took < 10, (url, took)
            assert "Traceback" not in r.text and "OperationalError" not in r.text and "psycopg" not in r.text
    finally:
        stack["pg"].start()

    # Back without restarting gunicorn: the first request may still meet a dead pooled connection.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _timed_get(s, pages[1])[0].status_code == 200:
            break
        time.sleep(0.5)
    for url in pages:
        r, _ = _timed_get(s, url)
        assert r.status_code == 200, (url, r.status_code)


def test_redis_down_ui_stays_usable_and_reminders_are_still_enqueued(stack):
    s, acct = _signed_in(stack)
    base = stack["base"]
    stack["redis"].stop()
    try:
        for url in (f"{base}/", f"{base}/patients/{acct['patients'][0]}/", f"{base}/schedule/my-day/"):
            r, took = _timed_get(s, url)
            assert r.status_code == 200, (url, r.status_code)
            assert took < 10
        # Enqueueing a reminder with the broker down: a pending outbox row, and the "sweep now"
        # kick does not raise or hang (the web path calls the same functions).
        script = (
            "from notifications import outbox\n"
            "from notifications.models import OutboundMessage\n"
            "from patients.models import Patient\n"
            f"p = Patient.objects.get(public_id='{acct['patients'][0]}')\n"
            "outbox.enqueue(site=p.site, channel='sms', template_key='sms_help', cause='faults:redis-down',"
            " kind='k', patient=p, dispatch_now=True)\n"
            "print(OutboundMessage.objects.filter(cause='faults:redis-down', status='pending').count())\n"
        )
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "shell", "-c", script],
            env=stack["env"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip().splitlines()[-1] == "1", out.stdout
        assert time.monotonic() - started < 30
    finally:
        stack["redis"].start()
    r, _ = _timed_get(s, f"{base}/")
    assert r.status_code == 200


CLEAN_FAILURE = (500, 503)
LEAKS = ("Traceback", "OperationalError", "psycopg", "InterfaceError")


class Load:
    """Threads that request pages back to back with the signed-in session's cookies and log
    (started, finished, status, clean body) for each request."""

    def __init__(self, stack, urls, threads: int = 6):
        import requests

        s, _ = _signed_in(stack)
        self.urls, self.results, self.stop = urls, [], threading.Event()
        self.lock = threading.Lock()
        self.sessions = []
        for _ in range(threads):
            session = requests.Session()
            session.cookies.update(s.cookies)
            self.sessions.append(session)
        self.threads = [threading.Thread(target=self._run, args=(x,), daemon=True) for x in self.sessions]

    def _run(self, session) -> None:
        i = 0
        while not self.stop.is_set():
            url = self.urls[i % len(self.urls)]
            i += 1
            started = time.monotonic()
            try:
                r = session.get(url, timeout=15, allow_redirects=False)
                status, clean = r.status_code, not any(word in r.text for word in LEAKS)
            except Exception as exc:  # a connection refused by gunicorn itself would be a failure
                status, clean = f"error: {type(exc).__name__}", False
            with self.lock:
                self.results.append((started, time.monotonic(), status, clean))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def between(self, start: float, end: float) -> list[tuple]:
        with self.lock:
            return [r for r in self.results if r[0] >= start and r[1] <= end]


def test_postgres_restarted_under_load_fails_cleanly_and_recovers_without_restart(stack):
    s, acct = _signed_in(stack)
    base = stack["base"]
    urls = [f"{base}/", f"{base}/patients/{acct['patients'][0]}/", f"{base}/schedule/my-day/"]
    gunicorn_pid = stack["gunicorn"].pid
    with Load(stack, urls) as load:
        _until(lambda: len(load.results) >= 12, "12 requests before the restart")
        before_end = time.monotonic()
        pg = stack["pg"]
        pg.pg_ctl("-m", "fast", "-w", "restart", "-o", _pg_opts(pg), "-l", str(pg.root / "pg.log"))
        # A pooled connection that died is replaced on its next use: give in-flight requests a moment.
        after_start = time.monotonic() + 3
        _until(lambda: sum(r[0] >= after_start for r in load.results) >= 12, "12 requests after the restart")
    results = load.results
    before = [r for r in results if r[1] <= before_end]
    during = [r for r in results if before_end < r[1] and r[0] < after_start]
    after = [r for r in results if r[0] >= after_start]
    assert len(before) >= 10 and len(after) >= 10, (len(before), len(after))
    assert {r[2] for r in before} == {200}, Counter(r[2] for r in before)
    # During the restart: only clean failures (or successes), each answered quickly.
    assert {r[2] for r in during} <= {200, *CLEAN_FAILURE}, Counter(r[2] for r in during)
    assert all(r[3] for r in results), "a response body leaked a database error"
    assert max(r[1] - r[0] for r in during or before) < 10
    # After: every request succeeds, and it is the same gunicorn (nobody restarted the app).
    assert {r[2] for r in after} == {200}, Counter(r[2] for r in after)
    assert stack["gunicorn"].poll() is None and stack["gunicorn"].pid == gunicorn_pid


def _until(predicate, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _pg_opts(pg) -> str:
    return f"-p {pg.port} -k {pg.sock} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"


def _shell(stack, script: str) -> str:
    out = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", script],
        env=stack["env"], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _enqueue_texts(stack, batch: str, n: int = 10) -> None:
    """Queue ``n`` texts the way the web app does (an outbox row plus a best-effort "sweep now")."""
    patients = stack["accounts"]["clinician"][0]["patients"][:3]
    _shell(
        stack,
        "from notifications import outbox\n"
        "from patients.models import Patient\n"
        f"ids = {patients!r}\n"
        "Patient.objects.filter(public_id__in=ids).update(preferred_channel='sms', sms_opt_in=True,"
        " sms_opt_in_on='2026-01-05', sms_opt_in_source='intake_form', sms_number='+12125552000',"
        " safe_hours_start=None, safe_hours_end=None)\n"
        "ps = list(Patient.objects.filter(public_id__in=ids))\n"
        f"for i in range({n}):\n"
        "    p = ps[i % len(ps)]\n"
        f"    outbox.enqueue(site=p.site, channel='sms', template_key='sms_help', cause=f'faults:{batch}:{{i}}',"
        " kind='k', patient=p, dispatch_now=True)\n",
    )


def _outbox_counts(stack, prefix: str) -> Counter:
    import psycopg2

    with psycopg2.connect(stack["pg"].url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT status, count(*) FROM notifications_outboundmessage WHERE cause LIKE %s GROUP BY status",
            [prefix + "%"],
        )
        return Counter(dict(cur.fetchall()))


def _outbox_keys(stack, prefix: str) -> set[str]:
    import psycopg2

    with psycopg2.connect(stack["pg"].url) as conn, conn.cursor() as cur:
        cur.execute("SELECT public_id FROM notifications_outboundmessage WHERE cause LIKE %s", [prefix + "%"])
        return {str(row[0]) for row in cur.fetchall()}  # the provider's idempotency key


def _last_past_session(stack, user_id: int) -> str:
    """The clinician's most recent group that has ended (its roll can be taken any day of the week)."""
    import psycopg2

    with psycopg2.connect(stack["pg"].url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT s.public_id FROM scheduling_therapysession s"
            " JOIN scheduling_therapysession_facilitators f ON f.therapysession_id = s.id"
            " WHERE f.user_id = %s AND s.ends_at < now() AND s.status = 'scheduled'"
            " ORDER BY s.starts_at DESC LIMIT 1",
            [user_id],
        )
        return str(cur.fetchone()[0])


def _rollcall_form(html: str) -> dict:
    data = {"csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)}
    for name, value in re.findall(r'name="(r\d+-patient)" value="([^"]+)"', html):
        data[name] = value
        data[name.replace("-patient", "-status")] = "present"
    return data


def test_redis_down_two_minutes_ui_usable_and_every_text_delivered_once_after(stack):
    s, acct = _signed_in(stack)
    base = stack["base"]
    outage = float(os.environ.get("FAULT_REDIS_OUTAGE_SECONDS", "120"))
    rollcall = f"{base}/sessions/{_last_past_session(stack, acct['user_id'])}/rollcall/"
    pages = [f"{base}/", f"{base}/patients/{acct['patients'][0]}/", f"{base}/schedule/my-day/", rollcall]

    stack["redis"].stop()
    statuses, saves, slowest = Counter(), Counter(), 0.0
    try:
        started = time.monotonic()
        _enqueue_texts(stack, "redis2m-a")
        batches = 1
        # A fresh sign-in (password + TOTP) with Redis, the cache behind the sign-in rate limits
        # and TOTP replay checks, down; another account than the session's, whose code is spent.
        fresh, fresh_acct = _sign_in(stack, stack["accounts"]["intake"][0])
        for url in (f"{base}/", f"{base}/patients/{fresh_acct['patients'][0]}/"):
            r, took = _timed_get(fresh, url)
            assert r.status_code == 200, (url, r.status_code)
            slowest = max(slowest, took)
        # The outage lasts at least ``outage`` seconds and until the third batch of texts is queued.
        while time.monotonic() - started < outage or batches < 3:
            for url in pages:
                r, took = _timed_get(s, url)
                statuses[r.status_code] += 1
                slowest = max(slowest, took)
            # A write: the whole roll saved (one POST), as a clinician does at the end of group.
            page = s.get(rollcall, timeout=10)
            r = s.post(rollcall, data=_rollcall_form(page.text), timeout=10, allow_redirects=False)
            saves[r.status_code] += 1  # 302: saved and sent back to the page
            if time.monotonic() - started >= outage * batches / 3 and batches < 3:
                _enqueue_texts(stack, f"redis2m-{'abc'[batches]}")
                batches += 1
            time.sleep(1)
        assert batches == 3
    finally:
        stack["redis"].start()
    assert set(statuses) <= {200, 302}, statuses
    assert set(saves) == {302} and saves[302] >= 2, saves
    assert slowest < 10, slowest
    assert _outbox_counts(stack, "faults:redis2m-") == Counter({"pending": 30})
    # The cache's outage warning names no key (keys can hold the e-mail address signing in).
    log = stack["log"].read_text(errors="replace")
    assert "Redis is unreachable" in log and fresh_acct["email"] not in log

    # Redis is back (empty): a worker and the periodic sweep deliver what waited, once each.
    sms = stack["tmp"] / "sms-redis2m"
    env = {
        **stack["env"],
        "DJANGO_DEBUG": "true",
        "SMS_BACKEND": "notifications.backends.FileSmsBackend",
        "SMS_FILE_PATH": str(sms),
    }
    celery = str(Path(sys.executable).with_name("celery"))
    worker = subprocess.Popen(
        [celery, "-A", "iop", "worker", "-c", "2", "-P", "prefork", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=open(stack["tmp"] / "worker.log", "wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            # What beat does every few seconds: publish the sweep.
            _shell(
                stack, "from notifications.tasks import outbox_dispatch_due_task\noutbox_dispatch_due_task.delay()\n"
            )
            if _outbox_counts(stack, "faults:redis2m-") == Counter({"sent": 30}):
                break
            time.sleep(2)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    assert _outbox_counts(stack, "faults:redis2m-") == Counter({"sent": 30})
    lines = [json.loads(x) for x in (sms / "sms.jsonl").read_text().splitlines()]
    keys = Counter(line["key"] for line in lines)
    # The worker also sends whatever else was due (the roll-call saves can queue messages of
    # their own): every one of the 30 texts is in the provider's log exactly once, and nothing
    # at all was delivered twice.
    ours = _outbox_keys(stack, "faults:redis2m-")
    assert len(ours) == 30 and all(keys[key] == 1 for key in ours), {k: keys[k] for k in ours}
    assert set(keys.values()) == {1}
    assert not (sms / "dedup.jsonl").exists()
