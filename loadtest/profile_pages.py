# ruff: noqa: E402 - Django is set up before the app imports
"""Per-page cost on a seeded database, without load: median ms, query count, SQL ms, slowest SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_scale_bench DJANGO_DEBUG=false \\
        DJANGO_SECRET_KEY=... DJANGO_ALLOWED_HOSTS=127.0.0.1 .venv/bin/python loadtest/profile_pages.py [--cprofile]
"""

import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iop.settings")
import django

django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from users.models import User

ACCOUNTS = json.loads(
    Path(os.environ.get("BENCH_ACCOUNTS", Path(__file__).with_name("bench_accounts.json"))).read_text()
)


def run(account, urls, profile=False):
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(pk=account["user_id"]))
    for name, url in urls:
        times = []
        for _ in range(4):
            with CaptureQueriesContext(connection) as q:
                started = time.perf_counter()
                r = client.post(url[1], url[2]) if isinstance(url, tuple) else client.get(url)
                times.append((time.perf_counter() - started) * 1000)
        sql_ms = sum(float(x["time"]) for x in q.captured_queries) * 1000
        print(
            f"{name:28s} {r.status_code} median {statistics.median(times[1:]):7.1f} ms  queries {len(q):3d}  sql {sql_ms:6.1f} ms"
        )
        for s in sorted(q.captured_queries, key=lambda x: -float(x["time"]))[:2]:
            print(f"    {float(s['time']) * 1000:6.1f} ms  {s['sql'][:200]}")
        if profile:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(3):
                client.post(url[1], url[2]) if isinstance(url, tuple) else client.get(url)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(r"/work/main/(?!\.venv)", 12)


def main():
    profile = "--cprofile" in sys.argv
    cl, it, sup = ACCOUNTS["clinician"][0], ACCOUNTS["intake"][0], ACCOUNTS["supervisor"][0]
    s15 = max(cl["sessions"], key=lambda x: x["roster"])
    run(
        cl,
        [
            ("my day", "/schedule/my-day/"),
            ("roll-call page", f"/sessions/{s15['public_id']}/rollcall/"),
            ("patient chart (long stay)", f"/patients/{cl['patients'][0]}/"),
            ("patient hours", f"/sessions/patients/{cl['patients'][0]}/hours/"),
            ("home (caseload counts)", "/"),
            ("caseload, own patients", "/reports/caseload/"),
        ],
        profile,
    )
    run(
        it,
        [
            # Searches are POSTed (criteria never travel in the URL).
            ("patient search 'Ced'", ("POST", "/patients/", {"q": "Ced"})),
            ("patient search 'Maple'", ("POST", "/patients/", {"q": "Maple"})),
            ("intake chart", f"/patients/{it['patients'][0]}/"),
        ],
        profile,
    )
    run(
        sup,
        [
            ("co-sign queue", "/sessions/cosign/"),
            ("audit", "/audit/"),
            ("placement review", "/assessments/placements/review/"),
            ("caseload, whole site", "/reports/caseload/?scope=site"),
            ("program dashboard", "/reports/dashboard/"),
        ],
        profile,
    )


if __name__ == "__main__":
    main()
