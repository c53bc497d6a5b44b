# ruff: noqa: S311 - random picks of fake load, not secrets
"""Load mix for IOP Clinic (issue 11, item 3): intake 30 %, clinicians 60 %, supervisors 10 %.

Accounts come from ``manage.py seed_scale`` (``loadtest/bench_accounts.json``, or
``BENCH_ACCOUNTS``): each simulated user signs in through allauth with its password and a TOTP
code, then repeats its role's tasks. Forms are read from the page (CSRF token, hidden fields,
current values) and posted back, so the load test follows the real form contracts.

    locust -f loadtest/locustfile.py --headless -u 50 -r 10 -t 2m --host http://127.0.0.1:8001 \
        --csv docs/bench/run50
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import struct
import time
from html.parser import HTMLParser
from pathlib import Path

from geventhttpclient.url import URL
from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

ACCOUNTS = json.loads(
    Path(os.environ.get("BENCH_ACCOUNTS", Path(__file__).with_name("bench_accounts.json"))).read_text()
)
# Each run signs drafts in a new random order, so a later run on the same seed still finds
# unsigned ones (each seeded draft can be signed once; the editor shows a signed note read-only).
for _account in ACCOUNTS["clinician"]:
    random.shuffle(_account["draft_notes"])
_next = {role: itertools.count() for role in ("intake", "clinician", "supervisor")}
_source_ips = itertools.count(2)
_signed_in = itertools.count(1)
SIGN_IN_TIMES: list[float] = []


@events.quitting.add_listener
def _report_sign_ins(environment, **_kwargs):
    if SIGN_IN_TIMES:
        ordered = sorted(SIGN_IN_TIMES)
        print(
            f"sign-ins: {len(ordered)}, p50 {ordered[len(ordered) // 2]:.1f} s,"
            f" p95 {ordered[int(len(ordered) * 0.95) - 1]:.1f} s (password + TOTP, incl. waiting for a fresh code)"
        )


def _signed_in_now(environment) -> None:
    """Steady state is measured: once every simulated user has signed in (PBKDF2 password
    hashing and waits for a fresh TOTP window dominate the ramp), the statistics start again.
    ``BENCH_KEEP_RAMP=1`` keeps the ramp in the figures."""
    target = getattr(environment.parsed_options, "num_users", None)
    if next(_signed_in) == target and os.environ.get("BENCH_KEEP_RAMP") != "1":
        environment.runner.stats.reset_all()
        print(f"all {target} users signed in: statistics reset, steady state from here")


def connect_from(client, host: str, source: str) -> None:
    """Open this simulated user's connections from ``source`` (its own 127.0.0.N).

    allauth limits sign-ins to 30 a minute per client IP (``login: 30/m/ip``, its default); with
    every simulated user on 127.0.0.1 a 50-user ramp would be answered 429. Linux routes all of
    127.0.0.0/8 to loopback, so a distinct source address per user makes each one look like its
    own workstation, as in a clinic, while the rate limit stays on. geventhttpclient has no
    source-address option: its connection pool's socket factory is wrapped to bind first.
    """
    pool = client.client.clientpool.get_client(URL(host))._connection_pool
    create = pool._create_tcp_socket

    def bound(*args):
        sock = create(*args)
        sock.bind((source, 0))
        return sock

    pool._create_tcp_socket = bound


class FormParser(HTMLParser):
    """The fields of every <form method=post> on a page: {action: {name: value}} (last form wins per action)."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict, list]] = []
        self._form = None
        self._textarea = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._form = (a.get("action") or "", {}, [])
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            name, kind = a.get("name"), (a.get("type") or "text").lower()
            if not name or kind in ("submit", "button"):
                return
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self._form[1][name] = a.get("value", "on")
                else:
                    self._form[2].append((name, a.get("value")))
            else:
                self._form[1][name] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select:
            # The selected option, else the first one (what a browser submits).
            if "selected" in a or self._select not in self._form[1]:
                self._form[1][self._select] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form[1][self._textarea] = ""

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form[1][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None


def forms_of(html: str) -> list[tuple[str, dict, list]]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


def first_error(html: str) -> str:
    """The first form error on a page (Django's errorlist), to name why a post was refused."""
    m = re.search(r'class="[^"]*errorlist[^"]*"[^>]*>\s*<li[^>]*>([^<]{0,160})', html)
    return m.group(1).strip() if m else "no form error shown"


def hotp(secret: str, counter: int) -> str:
    """RFC 4226 over allauth's base32 secret (6 digits, SHA-1), without importing Django."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**6:06d}"


def totp_now(secret: str, used: set) -> str:
    while True:
        counter = int(time.time()) // 30
        if counter not in used and 30 - time.time() % 30 > 1.5:
            used.add(counter)
            return hotp(secret, counter)
        time.sleep(30 - time.time() % 30 + 0.2)


class ClinicUser(FastHttpUser):
    """A member of staff at a workstation. FastHttpUser (geventhttpclient) rather than HttpUser
    (requests): it costs the load generator a fraction of the CPU per request, and the load
    generator shares the machine's two cores with the server it measures."""

    abstract = True
    role = ""
    wait_time = between(1, 3)

    def on_start(self):
        pool = ACCOUNTS[self.role]
        self.account = pool[next(_next[self.role]) % len(pool)]
        self.account.setdefault("_used", set())
        host = (self.host or "").split("://")[-1].split(":")[0]
        if host in ("127.0.0.1", "localhost") and os.environ.get("BENCH_SOURCE_IPS", "1") != "0":
            ip = next(_source_ips)
            connect_from(self.client, self.host, f"127.0.{ip // 250}.{ip % 250 + 2}")
        started = time.monotonic()
        for _attempt in range(3):
            if self.sign_in():
                SIGN_IN_TIMES.append(time.monotonic() - started)
                _signed_in_now(self.environment)
                return
            time.sleep(5)
        _signed_in_now(self.environment)  # gave up: counts as done, so the reset still happens
        raise StopUser()

    def csrf_post(self, url, data, name, page_html=None, **kw):
        if page_html is None:
            page_html = self.client.get(url, name=name + " [form]").text
        # The token of the form posted to (the login page also holds the passkey form).
        forms = [f for f in forms_of(page_html) if "csrfmiddlewaretoken" in f[1]]
        form = next((f for f in forms if f[0] in ("", url)), forms[0] if forms else None)
        token = form[1]["csrfmiddlewaretoken"] if form else ""
        return self.client.post(url, data={"csrfmiddlewaretoken": token, **data}, name=name, **kw)

    def sign_in(self) -> bool:
        """Password, then the TOTP code; each step checked so a failure names its step."""
        self.client.cookiejar.clear()
        r = self.client.get("/accounts/login/", name="login [form]")
        with self.csrf_post(
            "/accounts/login/",
            {"login": self.account["email"], "password": ACCOUNTS["password"]},
            "login",
            page_html=r.text,
            catch_response=True,
        ) as resp:
            if "/accounts/2fa/authenticate/" not in resp.url:
                resp.failure(f"password step refused for {self.account['email']} ({resp.status_code} {resp.url})")
                return False
            page = resp.text
        code = totp_now(self.account["totp_secret"], self.account["_used"])
        with self.csrf_post(
            "/accounts/2fa/authenticate/", {"code": code}, "login totp", page_html=page, catch_response=True
        ) as resp:
            if resp.status_code != 200 or "/accounts/" in resp.url:
                resp.failure(f"TOTP step refused for {self.account['email']} ({resp.status_code} {resp.url})")
                return False
        return True


class IntakeUser(ClinicUser):
    role = "intake"
    weight = 30

    @task(5)
    def search(self):
        # Criteria travel in a POST body, never in the URL (the page refuses GET searches).
        q = random.choice(self.account["last_names"])[: random.randint(3, 6)]
        if not getattr(self, "_search_page", None):
            self._search_page = self.client.get("/patients/", name="patient search [form]").text
        with self.csrf_post(
            "/patients/", {"q": q}, "patient search (POST)", page_html=self._search_page, catch_response=True
        ) as resp:
            if resp.status_code != 200 or "found</caption>" not in resp.text:
                resp.failure(f"search refused ({resp.status_code}): {first_error(resp.text)}")
            else:
                self._search_page = resp.text

    @task(4)
    def chart(self):
        self.client.get(f"/patients/{random.choice(self.account['patients'])}/", name="patient chart")

    @task(1)
    def register(self):
        n = random.randrange(10**9)
        r = self.client.get("/patients/register/", name="patient register [form]")
        data = {
            "legal_first_name": "Bench",
            "legal_last_name": f"Person{n}",
            "date_of_birth": f"19{random.randint(50, 99)}-0{random.randint(1, 9)}-1{random.randint(0, 9)}",
            "language": "English",
            "preferred_channel": "phone",
            "confirm_different_person": "on",
        }
        with self.csrf_post(
            "/patients/register/", data, "patient register", page_html=r.text, catch_response=True
        ) as resp:
            if "/patients/register/" in resp.url:
                resp.failure("registration refused (form errors)")


class ClinicianUser(ClinicUser):
    role = "clinician"
    weight = 60

    @task(4)
    def my_day(self):
        self.client.get("/schedule/my-day/", name="my day")

    @task(3)
    def rollcall_page(self):
        s = random.choice(self.account["sessions"])
        self.client.get(f"/sessions/{s['public_id']}/rollcall/", name="roll-call page")

    @task(2)
    def rollcall_save(self):
        # Roll can be taken on the session's day or later: today's sessions (seed_scale marks them).
        open_now = [x for x in self.account["sessions"] if x.get("roll_open", True)]
        if not open_now:
            raise RuntimeError("no session of today in the bench accounts: run seed_scale on a weekday")
        s = max(open_now, key=lambda x: x["roster"])
        url = f"/sessions/{s['public_id']}/rollcall/"
        html = self.client.get(url, name="roll-call page").text
        form = next(
            (f for f in forms_of(html) if any(k.endswith("-status") for k in (*f[1], *(n for n, _ in f[2])))), None
        )
        if form is None:
            return
        data = dict(form[1])
        statuses = {n for n, _ in form[2] if n.endswith("-status")} | {k for k in data if k.endswith("-status")}
        # Everyone present, bar one to three people whose status changes from the last save
        # (excused or by telehealth), so every save writes and audits rows, as a first roll does.
        changed = set(random.sample(sorted(statuses), min(len(statuses), random.randint(1, 3))))
        for name in statuses:
            data[name] = random.choice(("excused", "telehealth")) if name in changed else "present"
            data[name.replace("-status", "-minutes")] = ""
        with self.client.post(url, data=data, name=f"roll-call save ({len(statuses)} rows)", catch_response=True) as r:
            if r.status_code != 200 or "Roll saved" not in r.text:
                r.failure(f"roll not saved ({r.status_code})")

    @task(3)
    def chart(self):
        p = random.choice(self.account["patients"])
        self.client.get(f"/patients/{p}/", name="patient chart")
        self.client.get(f"/sessions/patients/{p}/hours/", name="patient hours (attendance)")

    @task(1)
    def caseload(self):
        self.client.get("/reports/caseload/", name="caseload")

    @task(1)
    def sign_note(self):
        if not self.account["draft_notes"]:
            return
        note = self.account["draft_notes"].pop()
        url = f"/sessions/notes/{note}/edit/"
        html = self.client.get(url, name="note editor").text
        form = next((f for f in forms_of(html) if "version" in f[1]), None)
        if form is None:
            return
        data = dict(form[1])
        data["action"] = "sign"
        with self.client.post(url, data=data, name="note sign", catch_response=True) as r:
            if "/reauthenticate/" in r.url:
                # Signing asks for the password again once the last sign-in is older than
                # REAUTHENTICATION_MINUTES: the draft was saved; confirm, then sign again.
                r.success()
                self.csrf_post(r.url, {"password": ACCOUNTS["password"]}, "re-authenticate", page_html=r.text)
                html = self.client.get(url, name="note editor").text
                form = next((f for f in forms_of(html) if "version" in f[1]), None)
                if form is None:
                    return
                data = dict(form[1]) | {"action": "sign"}
                with self.client.post(url, data=data, name="note sign", catch_response=True) as again:
                    if again.status_code != 200 or "/edit/" in again.url:
                        again.failure(f"note not signed ({again.status_code}: {first_error(again.text)})")
            elif r.status_code != 200 or "/edit/" in r.url:
                r.failure(f"note not signed ({r.status_code}: {first_error(r.text)})")


class SupervisorUser(ClinicUser):
    role = "supervisor"
    weight = 10

    @task(2)
    def cosign_queue(self):
        self.client.get("/sessions/cosign/", name="co-sign queue")

    @task(1)
    def dashboard(self):
        self.client.get("/reports/dashboard/", name="program dashboard")

    @task(1)
    def site_caseload(self):
        self.client.get("/reports/caseload/?scope=site", name="caseload (whole site)")

    @task(2)
    def audit(self):
        self.client.get("/audit/", name="audit trail")

    @task(1)
    def placements(self):
        self.client.get("/assessments/placements/review/", name="placement review")
