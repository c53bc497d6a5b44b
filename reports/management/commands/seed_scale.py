"""``manage.py seed_scale``: a large multi-site provider for benchmarks (issue 11, item 2).

Fake people only. Bulk inserts: PostgreSQL ``COPY`` for every table (``bulk_create`` with a
batch size on other databases), ids assigned here so children can point at parents without a
round trip, and each table's identity sequence moved past them afterwards.

Defaults (``--scale 1``): 50 sites, 100,000 patients of whom 4,000 active, 600 staff and a year
of sessions at 5,000 a week → about 2 million attendance rows, 500,000 notes and 300,000
assessment responses. ``--scale 0.01`` multiplies every count (sites at least 1).

The rows keep the database's rules: one open episode per patient (each track seat holds a
succession of episodes, the last one open), no bookings (so no overlap constraint to break),
signed notes with a correct content hash, assessment responses scored by ``instruments.score``.
Audit rows are not written.

A few bench accounts (intake, clinicians, supervisors) get a TOTP authenticator; their
emails, password, TOTP secrets and useful ids are written to ``--accounts`` (JSON) for the
load test. Refuses to run with DEBUG off unless ``--force``.
"""

from __future__ import annotations

import io
import json
import math
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone

from assessments.instruments import score
from assessments.models import AssessmentResponse
from patients.models import Episode, Patient
from scheduling.models import Enrollment, Room, RosterAddition, TherapySession, Track
from sessions.models import Attendance, GroupNote, ProgressNote, content_hash
from users.models import Membership, Role, Site, User

BENCH_PASSWORD = "bench-password-2026"
FIRST = (
    "Avery Blake Casey Dana Emery Finley Gray Harper Indigo Jordan Kai Logan Morgan Noel Oakley Parker Quinn "
    "Reese Sage Taylor Umber Val Wren Xen Yael Zion Ari Bo Cam Dell Eli Fay Gus Hal Ivy Jo Kit Lee Max Ned"
).split()
LAST = (
    "Alder Birch Cedar Dogwood Elm Fir Ginkgo Hazel Ironwood Juniper Kapok Larch Maple Nutmeg Oak Pine Quince "
    "Rowan Spruce Teak Umbrella Vine Willow Yew Zelkova Ash Beech Cherry Date Ebony Fig Gum Holly Ilex Jacaranda"
).split()
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
MRN_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SEATS_PER_TRACK = 8
WEEKDAYS = [0, 1, 2, 3, 4]
WEEKEND_DAYS = [4, 5, 6]
# Answer sets per instrument (none raises a safety flag, so every response is recorded closed).
ANSWERS = {
    "PHQ-9": [[0, 1, 1, 0, 1, 0, 1, 0, 0, 1], [2, 2, 1, 1, 2, 1, 1, 0, 0, 2], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
    "GAD-7": [[1, 1, 2, 1, 0, 1, 1], [3, 2, 2, 2, 1, 1, 2], [0, 0, 0, 1, 0, 0, 0]],
    "AUDIT-C": [[1, 1, 0], [3, 2, 2], [0, 0, 0]],
}
ATTENDANCE_MIX = [("present", 82), ("late", 4), ("left_early", 2), ("telehealth", 4), ("no_show", 5), ("excused", 3)]


def _mrn(i: int) -> str:
    # A bijection of i over 32^8 (odd multiplier), written in Crockford base32: unique, not sequential.
    n = (i * 0x2545F491 + 0x9E3779B) % (32**8)
    chars = []
    for _ in range(8):
        n, r = divmod(n, 32)
        chars.append(MRN_ALPHABET[r])
    return "P" + "".join(chars)


def _copy_value(v) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, dict | list):
        v = json.dumps(v, separators=(",", ":"))
    s = str(v)
    if any(c in s for c in "\\\t\n\r"):
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


class Table:
    """Rows of one model written with COPY (PostgreSQL) or bulk_create (elsewhere).

    ``add(**values)`` takes attnames; fields not given get their default (callable defaults per
    row: uuid4 gives each row its own public id). Returns the id assigned to the row.
    """

    def __init__(self, model: type[models.Model], stats: dict, *, chunk: int = 100_000, through: bool = False):
        self.model = model
        self.stats = stats
        self.chunk = chunk
        self.fields = [f for f in model._meta.concrete_fields]
        self.pk = model._meta.pk
        self.columns = [f.column for f in self.fields]
        self.attnames = [f.attname for f in self.fields]
        now = timezone.now()
        self.defaults = {}
        for f in self.fields:
            if f.primary_key:
                continue
            if f.has_default():
                d = f.default
                if d is uuid.uuid4:
                    self.defaults[f.attname] = uuid.uuid4
                elif callable(d):
                    value = d()
                    self.defaults[f.attname] = now if isinstance(value, datetime) else value
                else:
                    self.defaults[f.attname] = d
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                self.defaults[f.attname] = now
            elif f.null:
                self.defaults[f.attname] = None
            elif f.blank and isinstance(f, models.CharField | models.TextField):
                self.defaults[f.attname] = ""
        self.postgres = connection.vendor == "postgresql"
        with connection.cursor() as cur:
            qn = connection.ops.quote_name  # identifiers come from model metadata, quoted
            cur.execute(f"SELECT COALESCE(MAX({qn(self.pk.column)}), 0) FROM {qn(model._meta.db_table)}")  # noqa: S608  # nosec B608
            self.next_id = cur.fetchone()[0] + 1
        self.rows: list = []
        self.count = 0
        self.seconds = 0.0

    def add(self, **values) -> int:
        pk = self.next_id
        self.next_id += 1
        values[self.pk.attname] = pk
        row = []
        for name in self.attnames:
            if name in values:
                v = values[name]
            else:
                try:
                    v = self.defaults[name]
                except KeyError:
                    raise CommandError(f"{self.model.__name__}.{name} needs a value") from None
                if v is uuid.uuid4:
                    v = uuid.uuid4()
            row.append(v)
        self.rows.append(row)
        if len(self.rows) >= self.chunk:
            self.flush()
        return pk

    def flush(self) -> None:
        if not self.rows:
            return
        started = time.perf_counter()
        table = self.model._meta.db_table
        if self.postgres:
            buf = io.StringIO()
            for row in self.rows:
                buf.write("\t".join(_copy_value(v) for v in row))
                buf.write("\n")
            buf.seek(0)
            with connection.cursor() as cur:
                cur.cursor.copy_expert(f"COPY {table} ({', '.join(self.columns)}) FROM STDIN", buf)
        else:
            objs = [self.model(**dict(zip(self.attnames, row, strict=True))) for row in self.rows]
            self.model.objects.bulk_create(objs, batch_size=2000)
        self.count += len(self.rows)
        self.rows = []
        self.seconds += time.perf_counter() - started

    def finish(self) -> None:
        self.flush()
        if self.postgres and self.count:
            table = self.model._meta.db_table
            with connection.cursor() as cur:
                qn = connection.ops.quote_name  # identifiers come from model metadata, quoted
                sql = f"SELECT setval(pg_get_serial_sequence(%s, %s), (SELECT MAX({qn(self.pk.column)}) FROM {qn(table)}))"  # noqa: S608,E501  # nosec B608
                cur.execute(sql, [table, self.pk.column])
        count, seconds = self.stats.get(self.model._meta.db_table, (0, 0.0))
        self.stats[self.model._meta.db_table] = (count + self.count, seconds + self.seconds)


class Command(BaseCommand):
    help = "Build a large multi-site provider with bulk inserts (benchmarks). Fake people only."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="Multiply every count (e.g. 0.01).")
        parser.add_argument("--sites", type=int, default=50)
        parser.add_argument("--patients", type=int, default=100_000)
        parser.add_argument("--active", type=int, default=4_000)
        parser.add_argument("--staff", type=int, default=600)
        parser.add_argument("--weeks", type=int, default=52)
        parser.add_argument("--sessions-per-week", type=int, default=5_000)
        parser.add_argument("--notes", type=int, default=500_000)
        parser.add_argument("--responses", type=int, default=300_000)
        parser.add_argument("--bench-accounts", type=int, default=40, help="TOTP-enrolled accounts for the load test.")
        parser.add_argument("--accounts", default="loadtest/bench_accounts.json", help="Where to write them.")
        parser.add_argument("--seed", type=int, default=11)
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args, **opts):
        if not settings.DEBUG and not opts["force"]:
            raise CommandError("seed_scale writes a very large fake data set: run with DEBUG on, or pass --force.")
        s = opts["scale"]
        self.rng = random.Random(opts["seed"])  # noqa: S311 - fake data, not secrets
        self.n_sites = max(1, round(opts["sites"] * s))
        self.n_patients = max(10 * self.n_sites, round(opts["patients"] * s))
        self.n_active = max(SEATS_PER_TRACK * self.n_sites, round(opts["active"] * s))
        self.n_staff = max(6 * self.n_sites, round(opts["staff"] * s))
        self.weeks = max(1, opts["weeks"])
        self.spw = max(2 * self.n_sites, round(opts["sessions_per_week"] * s))
        self.n_notes = round(opts["notes"] * s)
        self.n_responses = round(opts["responses"] * s)
        self.n_bench = opts["bench_accounts"]
        self.stats: dict[str, tuple[int, float]] = {}
        self._episode_pids: dict[int, uuid.UUID] = {}
        started = time.perf_counter()
        self.stdout.write(
            f"seed_scale: {self.n_sites} sites, {self.n_patients} patients ({self.n_active} active), "
            f"{self.n_staff} staff, {self.weeks} weeks at {self.spw} sessions a week"
        )
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL synchronous_commit TO OFF")
                    # Check foreign keys row by row: deferred, 2 million rows would queue ~8
                    # million trigger events in memory until the commit.
                    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            accounts = self._build()
        if connection.vendor == "postgresql":
            t = time.perf_counter()
            with connection.cursor() as cur:
                cur.execute("ANALYZE")
            self.stats["(analyze)"] = (0, time.perf_counter() - t)
        path = Path(opts["accounts"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(accounts, indent=1, default=str))
        for table, (count, seconds) in self.stats.items():
            rate = f"{count / seconds:,.0f} rows/s" if seconds and count else ""
            self.stdout.write(f"  {table:<40} {count:>10,} rows {seconds:8.1f} s  {rate}")
        self.stdout.write(f"seed_scale done in {time.perf_counter() - started:.1f} s; bench accounts in {path}")

    # --- the build ----------------------------------------------------------------------------

    def _table(self, model, **kw) -> Table:
        return Table(model, self.stats, **kw)

    def _build(self) -> dict:
        rng = self.rng
        now = timezone.now()
        today = now.date()
        run = uuid.uuid4().hex[:6]

        # Sites, staff, memberships.
        sites = self._table(Site)
        site_ids, site_zones = [], []
        for i in range(self.n_sites):
            zone = ZONES[i % len(ZONES)]
            site_ids.append(
                sites.add(name=f"Scale {run} site {i + 1:03d}", time_zone=zone, sender_name=f"Health Center {i + 1}")
            )
            site_zones.append(zone)
        sites.finish()

        password = make_password(BENCH_PASSWORD)  # one hash for all: hashing 600 times would take minutes
        users = self._table(User)
        members = self._table(Membership)
        per_site = self.n_staff // self.n_sites
        staff: dict[int, dict[str, list[int]]] = {}
        user_info: dict[int, tuple[str, str]] = {}
        n = 0
        for sid in site_ids:
            roles = {Role.INTAKE: 1, Role.SUPERVISOR: 1, Role.DIRECTOR: 1, Role.SITE_ADMIN: 1}
            roles[Role.CLINICIAN] = max(2, per_site - sum(roles.values()))
            staff[sid] = {}
            for role, count in roles.items():
                for _ in range(count):
                    n += 1
                    email = f"{role.value}{n}.{run}@scale.test"
                    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                    public_id = uuid.uuid4()
                    uid = users.add(
                        email=email,
                        password=password,
                        full_name=name,
                        credentials="LADC" if role == Role.CLINICIAN else "",
                        public_id=public_id,
                        is_staff=role == Role.SITE_ADMIN,
                        last_login=None,
                    )
                    user_info[uid] = (public_id, name)
                    members.add(user_id=uid, site_id=sid, role=role.value)
                    staff[sid].setdefault(role.value, []).append(uid)
        users.finish()
        members.finish()

        # Rooms and tracks: one room per track, so a track's sessions never share a room.
        tracks_per_site = math.ceil(self.n_active / self.n_sites / SEATS_PER_TRACK)
        rooms = self._table(Room)
        track_t = self._table(Track)
        tracks = []  # (track_id, site_id, room_id, facilitator_id, site index)
        meeting_days: dict[int, list[int]] = {}
        start = today - timedelta(weeks=self.weeks + 2)
        for si, sid in enumerate(site_ids):
            clinicians = staff[sid][Role.CLINICIAN.value]
            for t in range(tracks_per_site):
                # A site with several tracks runs one of them Friday to Sunday for patients who
                # work weekdays, so every day of the week has groups (and the load test has a
                # roll to take whatever day it runs).
                weekend = tracks_per_site > 1 and t == tracks_per_site - 1
                days = WEEKEND_DAYS if weekend else WEEKDAYS
                room = rooms.add(site_id=sid, name=f"Group room {t + 1}", capacity=SEATS_PER_TRACK + 10)
                track = track_t.add(
                    site_id=sid,
                    name=f"Weekend IOP track {t + 1}" if weekend else f"IOP track {t + 1}",
                    level_of_care="2.1",
                    age_group="adult",
                    meeting_days=days,
                    capacity=SEATS_PER_TRACK + 10,
                    start_date=start,
                    topics=[],
                )
                tracks.append((track, sid, room, clinicians[t % len(clinicians)], si))
                meeting_days[track] = days
        rooms.finish()
        track_t.finish()

        # Sessions: spread the weekly count over tracks, their meeting days and daily slots.
        per_track_week = max(1, round(self.spw / len(tracks)))
        first_day = today - timedelta(weeks=self.weeks)
        sessions_t = self._table(TherapySession)
        facil_t = self._table(TherapySession.facilitators.through)
        sessions_by_track: dict[int, list[tuple[int, datetime, datetime, uuid.UUID]]] = {}
        slots = [dtime(9), dtime(13), dtime(17), dtime(10, 30), dtime(15)]
        for track, sid, room, facilitator, _si in tracks:
            zone = Site(time_zone=site_zones[site_ids.index(sid)]).zone
            rows = []
            day = first_day
            days = meeting_days[track]
            while day <= today + timedelta(days=7):
                week_start = day - timedelta(days=day.weekday())
                for k in range(per_track_week):
                    d = week_start + timedelta(days=days[k % len(days)])
                    slot = slots[(k // len(days)) % len(slots)]
                    if d < first_day or d > today + timedelta(days=7):
                        continue
                    starts = datetime.combine(d, slot, tzinfo=zone).astimezone(UTC)
                    ends = starts + timedelta(minutes=90)
                    pid = uuid.uuid4()
                    sess = sessions_t.add(
                        site_id=sid,
                        track_id=track,
                        kind="group",
                        topic="Relapse prevention",
                        starts_at=starts,
                        ends_at=ends,
                        room_id=room,
                        occurrence_date=d,
                        public_id=pid,
                    )
                    facil_t.add(therapysession_id=sess, user_id=facilitator)
                    rows.append((sess, starts, ends, pid))
                day = week_start + timedelta(days=7)
            sessions_by_track[track] = rows
        sessions_t.finish()
        self._sessions_by_track = sessions_by_track
        facil_t.finish()

        # Patients; seats hold a succession of episodes, the last one open (the active patients).
        patients_t = self._table(Patient)
        episodes_t = self._table(Episode)
        enroll_t = self._table(Enrollment)
        per_site_patients = self.n_patients // self.n_sites
        pool: dict[int, list[tuple[int, uuid.UUID]]] = {}
        patient_no = 0
        for si, sid in enumerate(site_ids):
            counselors = staff[sid][Role.CLINICIAN.value]
            pool[sid] = []
            for _ in range(per_site_patients if si else self.n_patients - per_site_patients * (self.n_sites - 1)):
                patient_no += 1
                pid = uuid.uuid4()
                pk = patients_t.add(
                    public_id=pid,
                    mrn=_mrn(patient_no),
                    site_id=sid,
                    legal_first_name=rng.choice(FIRST),
                    legal_last_name=rng.choice(LAST) + ("" if patient_no % 3 else f"-{rng.choice(LAST)}"),
                    date_of_birth=date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55)),
                    primary_counselor_id=rng.choice(counselors),
                    phone=f"+1555{patient_no % 10_000_000:07d}",
                )
                pool[sid].append((pk, pid))
        patients_t.finish()

        seats = []  # per seat: list of (episode_id, patient_id, patient_public_id, admit, discharge|None)
        used: dict[int, int] = {sid: 0 for sid in site_ids}
        active_left = self.n_active
        for track, sid, _room, facilitator, _si in tracks:
            intake = staff[sid][Role.INTAKE.value][0]
            for _seat in range(SEATS_PER_TRACK):
                if active_left <= 0:
                    break
                active_left -= 1
                timeline = []
                day = first_day - timedelta(days=rng.randrange(0, 60))
                while True:
                    length = timedelta(weeks=rng.randint(6, 14))
                    is_last = day + length >= today or used[sid] >= len(pool[sid]) - 1
                    pk, ppid = pool[sid][used[sid]]
                    used[sid] += 1
                    discharge = None if is_last else day + length
                    ep_pid = uuid.uuid4()
                    ep = episodes_t.add(
                        public_id=ep_pid,
                        patient_id=pk,
                        site_id=sid,
                        admission_date=day,
                        level_of_care="2.1",
                        primary_counselor_id=facilitator,
                        admitted_by_id=intake,
                        discharge_date=discharge,
                        discharge_type="" if discharge is None else "completed",
                        discharged_by_id=None if discharge is None else facilitator,
                    )
                    self._episode_pids[ep] = ep_pid
                    enroll_t.add(track_id=track, episode_id=ep, start_date=day, end_date=discharge)
                    timeline.append((ep, pk, ppid, day, discharge))
                    if is_last:
                        break
                    day = discharge + timedelta(days=1)
                seats.append((track, sid, facilitator, timeline))
        episodes_t.finish()
        enroll_t.finish()

        # Attendance for every past session; group notes signed for those sessions; progress notes
        # on a sample of attended rows; responses spread over the episodes.
        att_t = self._table(Attendance, chunk=200_000)
        gn_t = self._table(GroupNote)
        pn_t = self._table(ProgressNote)
        statuses = [s for s, w in ATTENDANCE_MIX for _ in range(w)]
        seats_by_track: dict[int, list] = {}
        for track, _sid, _f, timeline in seats:
            seats_by_track.setdefault(track, []).append(timeline)
        past_sessions = sum(1 for rows in sessions_by_track.values() for r in rows if r[2] < now)
        n_group = min(past_sessions, self.n_notes)
        n_progress = max(0, self.n_notes - n_group)
        group_every = past_sessions / n_group if n_group else math.inf
        est_attended = past_sessions * SEATS_PER_TRACK * 0.9
        progress_p = min(1.0, n_progress / est_attended) if est_attended else 0
        made_progress = 0
        session_no = 0
        bench_today: dict[int, list] = {}
        # Sessions of today (in the site's zone) and later have no roll yet: today's roll is
        # open for the load test's roll-call saves, later ones are shown on my day.
        self._roll_open: set[int] = set()
        zones = {sid: Site(time_zone=z).zone for sid, z in zip(site_ids, site_zones, strict=True)}
        for track, sid, _room, facilitator, _si in tracks:
            fac_pid, fac_name = user_info[facilitator]
            timelines = seats_by_track.get(track, [])
            local_today = now.astimezone(zones[sid]).date()
            for sess, starts, ends, spid in sessions_by_track[track]:
                day = starts.date()
                local_day = starts.astimezone(zones[sid]).date()
                roster = []
                for timeline in timelines:
                    for ep, pk, ppid, admit, discharge in timeline:
                        if admit <= day and (discharge is None or day <= discharge):
                            roster.append((ep, pk, ppid))
                            break
                if ends >= now or local_day >= local_today:
                    self._roll_open.add(sess)
                    if local_day <= local_today + timedelta(days=1):
                        bench_today.setdefault(facilitator, []).append(
                            (sess, spid, sid, track, roster, local_day <= local_today)
                        )
                    continue
                session_no += 1
                recorded = ends + timedelta(minutes=5)
                for ep, pk, ppid in roster:
                    status = rng.choice(statuses)
                    attended = status in ("present", "late", "left_early", "telehealth")
                    minutes = 90 if status in ("present", "telehealth") else (60 if attended else 0)
                    att_t.add(
                        session_id=sess,
                        patient_id=pk,
                        episode_id=ep,
                        status=status,
                        minutes_attended=minutes,
                        recorded_by_id=facilitator,
                        recorded_at=recorded,
                        created_at=recorded,
                    )
                    if attended and made_progress < n_progress and rng.random() < progress_p:
                        made_progress += 1
                        self._progress_note(pn_t, sid, sess, spid, pk, ppid, ep, facilitator, fac_pid, fac_name, ends)
                if n_group and (session_no % max(1, round(group_every)) == 0):
                    self._group_note(gn_t, sid, sess, spid, facilitator, fac_pid, fac_name, starts, ends)
        att_t.finish()
        gn_t.finish()
        pn_t.finish()

        self._responses(seats, staff)
        bench = self._bench_accounts(staff, site_ids, bench_today, pool, seats, user_info)
        return bench

    def _sign(self, content: dict, fac_pid, fac_name, signed_at) -> dict:
        signature = {
            "signed_by": str(fac_pid),
            "signer_name": fac_name,
            "signer_credential": "LADC",
            "signed_at": signed_at.isoformat(),
            "late_entry": False,
        }
        return {**content, **signature}

    def _group_note(self, table, sid, sess, spid, fac, fac_pid, fac_name, starts, ends):
        public_id = uuid.uuid4()
        signed_at = ends + timedelta(hours=2)
        shared = {
            "topic": "Relapse prevention",
            "curriculum_module": "",
            "facilitators": [],
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
            "interventions": "CBT; motivational interviewing",
        }
        content = self._sign(
            {
                "type": "group_note",
                "public_id": str(public_id),
                "session": str(spid),
                "author": str(fac_pid),
                **shared,
                "entries": [],
                "requires_cosign": False,
            },
            fac_pid,
            fac_name,
            signed_at,
        )
        table.add(
            public_id=public_id,
            site_id=sid,
            author_id=fac,
            status="signed",
            signed_by_id=fac,
            signer_name=fac_name,
            signer_credential="LADC",
            signed_at=signed_at,
            content_hash=content_hash(content),
            session_id=sess,
            topic=shared["topic"],
            starts_at=starts,
            ends_at=ends,
            interventions=shared["interventions"],
            created_at=ends,
        )

    def _progress_note(self, table, sid, sess, spid, pk, ppid, ep, fac, fac_pid, fac_name, ends, *, draft=False):
        public_id = uuid.uuid4()
        sections = {
            "subjective": "Reports fewer cravings this week.",
            "objective": "Alert, engaged, on time.",
            "assessment": "Progressing toward objective 1.",
            "plan": "Continue group three times a week.",
        }
        values = {
            "public_id": public_id,
            "site_id": sid,
            "author_id": fac,
            "session_id": sess,
            "patient_id": pk,
            "episode_id": ep,
            "format": "soap",
            "sections": sections,
            "created_at": ends,
        }
        if not draft:
            signed_at = ends + timedelta(hours=3)
            content = self._sign(
                {
                    "type": "progress_note",
                    "public_id": str(public_id),
                    "patient": str(ppid),
                    "episode": str(self._episode_pids[ep]),
                    "session": str(spid),
                    "author": str(fac_pid),
                    "format": "soap",
                    "sections": dict(sorted(sections.items())),
                    "requires_cosign": False,
                },
                fac_pid,
                fac_name,
                signed_at,
            )
            values.update(
                status="signed",
                signed_by_id=fac,
                signer_name=fac_name,
                signer_credential="LADC",
                signed_at=signed_at,
                content_hash=content_hash(content),
            )
        return table.add(**values)

    def _responses(self, seats, staff) -> None:
        rng = self.rng
        table = self._table(AssessmentResponse)
        scored = {}
        for code, sets in ANSWERS.items():
            for answers in sets:
                data = score(code, list(answers), sex=None).to_dict()
                scored.setdefault(code, []).append((answers, data))
        episodes = [
            (ep, pk, admit, discharge, sid, fac) for _t, sid, fac, tl in seats for ep, pk, _p, admit, discharge in tl
        ]
        if not episodes or not self.n_responses:
            table.finish()
            return
        per_episode = self.n_responses / len(episodes)
        made = 0
        codes = list(scored)
        for i, (ep, pk, admit, discharge, sid, fac) in enumerate(episodes):
            due = round(per_episode * (i + 1)) - made
            end = discharge or timezone.now().date()
            span = max(1, (end - admit).days)
            for _ in range(due):
                code = codes[rng.randrange(len(codes))]
                answers, data = scored[code][rng.randrange(len(scored[code]))]
                at = datetime.combine(admit + timedelta(days=rng.randrange(span)), dtime(15), tzinfo=UTC)
                table.add(
                    patient_id=pk,
                    episode_id=ep,
                    site_id=sid,
                    instrument=code,
                    context="weekly",
                    answers=answers,
                    total=data["total"],
                    subscales=data["subscales"],
                    band=data["band"],
                    band_label=data["band_label"],
                    flags=list(data["flags"]),
                    band_set=data["band_set"],
                    item_scores=data["item_scores"],
                    action=data["action"][:200],
                    imminent_danger=False,
                    administered_by_id=fac,
                    administered_at=at,
                    status="closed",
                    closed_by_id=fac,
                    closed_at=at,
                    created_at=at,
                )
                made += 1
        table.finish()

    def _bench_accounts(self, staff, site_ids, bench_today, pool, seats, user_info) -> dict:
        """TOTP for a few accounts per role at the first sites; the ids the load test needs."""
        from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

        rng = self.rng
        started = time.perf_counter()
        n_intake = max(1, round(self.n_bench * 0.3))
        n_clin = max(1, round(self.n_bench * 0.6))
        n_sup = max(1, self.n_bench - n_intake - n_clin)
        out = {"password": BENCH_PASSWORD, "intake": [], "clinician": [], "supervisor": []}
        by_site_seats: dict[int, list] = {}
        for _t, sid, _f, tl in seats:
            by_site_seats.setdefault(sid, []).append(tl)
        users = {
            u.pk: u for u in User.objects.filter(pk__in=[uid for s in staff.values() for r in s.values() for uid in r])
        }

        def enrol(uid) -> dict:
            secret = generate_totp_secret()
            TOTP.activate(users[uid], secret)
            return {"email": users[uid].email, "totp_secret": secret, "user_id": uid}

        def site_patients(sid, k=40):
            return [str(ppid) for _pk, ppid in rng.sample(pool[sid], min(k, len(pool[sid])))]

        for i in range(n_intake):
            sid = site_ids[i % len(site_ids)]
            uid = staff[sid][Role.INTAKE.value][0]
            if any(a["user_id"] == uid for a in out["intake"]):
                continue
            acct = enrol(uid) | {"site_id": sid, "patients": site_patients(sid), "last_names": LAST}
            out["intake"].append(acct)

        pn_t = self._table(ProgressNote)
        ra_t = self._table(RosterAddition)
        clinicians = [(sid, uid) for sid in site_ids for uid in staff[sid][Role.CLINICIAN.value] if uid in bench_today]
        # Clinicians with a roll to take today first (on a weekend, the weekend tracks' facilitators).
        clinicians.sort(key=lambda c: not any(today_ for *_x, today_ in bench_today[c[1]]))
        for sid, uid in clinicians[:n_clin]:
            fac_pid, fac_name = user_info[uid]
            sessions = []
            for sess, spid, _s, _track, roster, roll_open in bench_today[uid]:
                # Roll-call of 15: the track's 8 seats plus 7 patients from other tracks of the site.
                others = [
                    (ep, pk, ppid)
                    for tl in by_site_seats[sid]
                    for ep, pk, ppid, _a, discharge in tl[-1:]
                    if discharge is None and (ep, pk, ppid) not in roster
                ]
                extra = others[: max(0, 15 - len(roster))]
                for ep, _pk, _ppid in extra:
                    ra_t.add(session_id=sess, episode_id=ep, reason="Bench: make-up group")
                sessions.append({"public_id": str(spid), "roster": len(roster) + len(extra), "roll_open": roll_open})
            # Patients with the longest attendance history at the site (the chart with many rows).
            long_stay = sorted(
                ((track, tl[-1]) for track, s2, _f, tl in seats if s2 == sid and tl[-1][4] is None),
                key=lambda e: e[1][3],
            )[:10]
            # Draft notes the load test signs (one sign per note).
            drafts = []
            for track, (ep, pk, ppid, admit, _d) in long_stay[:5]:
                past = [
                    r
                    for r in self._sessions_by_track[track]
                    if r[1].date() >= admit and r[2] < timezone.now() and r[0] not in self._roll_open
                ][-40:]
                for sess, _starts, ends, spid in past:
                    drafts.append(
                        self._progress_note(
                            pn_t, sid, sess, spid, pk, ppid, ep, uid, fac_pid, fac_name, ends, draft=True
                        )
                    )
            acct = enrol(uid) | {
                "site_id": sid,
                "sessions": sessions,
                "patients": [str(e[1][2]) for e in long_stay],
                "draft_note_ids": drafts,
            }
            out["clinician"].append(acct)
        pn_t.finish()
        ra_t.finish()
        # Draft note ids → public ids for URLs.
        ids = [n for a in out["clinician"] for n in a["draft_note_ids"]]
        pids = dict(ProgressNote.objects.filter(pk__in=ids).values_list("pk", "public_id"))
        for a in out["clinician"]:
            a["draft_notes"] = [str(pids[x]) for x in a.pop("draft_note_ids")]

        for i in range(n_sup):
            sid = site_ids[i % len(site_ids)]
            uid = staff[sid][Role.SUPERVISOR.value][0]
            if any(a["user_id"] == uid for a in out["supervisor"]):
                continue
            out["supervisor"].append(enrol(uid) | {"site_id": sid})
        self.stats["(bench accounts + TOTP)"] = (
            len(out["intake"]) + len(out["clinician"]) + len(out["supervisor"]),
            time.perf_counter() - started,
        )
        return out
