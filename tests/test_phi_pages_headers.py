"""Every HTML page a signed-in member of staff can reach carries the security headers.

The pages are enumerated from the URL resolver, not listed by hand, so a route added later is
walked too. Parameterised routes are filled from the demo clinic (``seed_demo``, which each app
extends through its ``demo.py``) plus a few objects made here: a UUID parameter is matched to a
model by the parameter's name or the path segment before it (``consents/<uuid:consent_id>`` →
``Consent``), nested objects are taken from their parent's foreign key, and each route is tried
with several roles until one of them gets the page. Routes that cannot be filled are listed
with the reason in ``test-artifacts/phi-pages-walk.txt`` (and in the failure message when too
few pages were reached).

``walk_pages`` is shared with ``tests/test_session_and_csrf.py``.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch

from tests.fixtures import sign_in

pytestmark = pytest.mark.django_db

ARTIFACT = Path(__file__).resolve().parents[1] / "test-artifacts" / "phi-pages-walk.txt"

# Pages that may relax the CSP, and exactly how: the API reference viewers inject <style>
# elements at run time; they show the schema only, never patient data, and scripts stay 'self'.
CSP_STYLE_EXCEPTIONS = {"api:docs", "api:redoc"}

# Routes that are not pages of a signed-in user, with the reason.
NOT_STAFF_PAGES = {
    "users:invitation_accept": "anonymous invitation page reached with a one-time token (users/tests cover it)",
    "scheduling:ical_feed": "calendar feed (text/calendar) reached with a secret token, not an HTML page",
    "account_confirm_email": "email confirmation is off (staff are invited); needs a mailed key",
    "account_reset_password_from_key": "needs a mailed reset key; an anonymous page",
    "admin:view_on_site": "redirect helper to an object's page, not a page itself",
}

# Values for parameters that are not object ids.
VOCABULARY: dict[str, list] = {
    "code": ["PHQ-9", "AUDIT", "GAD-7"],
    "index": [0],
    "kind": ["progress", "group"],
}

# Roles tried in this order: the first that gets a page checks it.
DEMO_LOGINS = [
    "supervisor@demo.test",
    "clinician@demo.test",
    "intake@demo.test",
    "director@demo.test",
    "siteadmin@demo.test",
    "admin@demo.test",
]
MAX_TRIES_PER_ROUTE = 8
_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>")


@dataclass
class Route:
    name: str
    route: str  # the full route string, include prefixes and all
    params: list[tuple[str, str, str]]  # (name, converter, path segment before it)


@dataclass
class Page:
    name: str
    url: str
    login: str
    response: object


@dataclass
class Walk:
    pages: list[Page] = field(default_factory=list)
    post_only: list[str] = field(default_factory=list)
    not_html: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: list = field(default_factory=list)  # 403/404 responses met on the way
    seconds: dict[str, float] = field(default_factory=dict)

    def report(self) -> str:
        slow = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:15]
        lines = [
            f"walk took {sum(self.seconds.values()):.1f} s; slowest: " + ", ".join(f"{n} {t:.2f}" for n, t in slow)
        ]
        lines.append(f"checked {len(self.pages)} HTML pages:")
        lines += [f"  {p.name:<45} {p.url}  (as {p.login})" for p in self.pages]
        lines.append(f"POST-only (405 on GET), {len(self.post_only)}:")
        lines += [f"  {n}" for n in self.post_only]
        lines.append(f"not HTML, {len(self.not_html)}:")
        lines += [f"  {n:<45} {why}" for n, why in sorted(self.not_html.items())]
        lines.append(f"not checked, {len(self.skipped)}:")
        lines += [f"  {n:<45} {why}" for n, why in sorted(self.skipped.items())]
        return "\n".join(lines)


def iter_routes(patterns=None, prefix: str = "", namespace: str | None = None):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            ns = ":".join(x for x in (namespace, pattern.namespace) if x) or None
            yield from iter_routes(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            full = prefix + str(pattern.pattern)
            params = []
            for match in _PARAM.finditer(full):
                name = match.group("name") or match.group("rname")
                conv = match.group("conv") or ("str" if match.group("name") else "regex")
                before = [s for s in re.split(r"[/^$]", full[: match.start()]) if s and "<" not in s and "(" not in s]
                params.append((name, conv, before[-1] if before else ""))
            yield Route(f"{namespace}:{pattern.name}" if namespace else pattern.name, full, params)


# --- the clinic the walk runs against ---------------------------------------------------


def _stem(word: str) -> str:
    word = word.lower().replace("-", "").replace("_", "")
    for suffix in ("ies", "s"):
        if word.endswith(suffix) and len(word) > 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _models_for(hint: str, *, uuid_only: bool) -> list[type[models.Model]]:
    """Models whose name fits ``hint`` best: exact name, then name ending with it, then containing it."""
    stem = _stem(hint)
    if not stem:
        return []
    ranked: dict[int, list] = {3: [], 2: [], 1: []}
    for model in apps.get_models():
        if uuid_only and not any(f.name == "public_id" for f in model._meta.fields):
            continue
        name = model._meta.model_name
        score = 3 if name == stem else 2 if name.endswith(stem) else 1 if stem in name else 0
        if score:
            ranked[score].append(model)
    return ranked[3] or ranked[2] or ranked[1]


def _param_models(name: str, conv: str, segment: str) -> list[type[models.Model]]:
    uuid_only = conv == "uuid"
    hint = re.sub(r"_?(public_)?id$|^pk$", "", name)
    found = _models_for(hint, uuid_only=uuid_only) if hint else []
    return found or _models_for(segment, uuid_only=uuid_only)


def _value(obj, conv: str):
    return obj.public_id if conv == "uuid" else obj.pk


def _parents(obj, depth: int = 3):
    """Objects reachable from ``obj`` through foreign keys, nearest first (a problem's plan, the
    plan's episode, the episode's patient, …)."""
    frontier, seen = [obj], set()
    for _ in range(depth):
        following = []
        for item in frontier:
            for f in item._meta.fields:
                if f.is_relation and f.related_model is not None:
                    parent = getattr(item, f.name)
                    if parent is not None and (type(parent), parent.pk) not in seen:
                        seen.add((type(parent), parent.pk))
                        following.append(parent)
                        yield parent
        frontier = following


def _fk_to(obj, model) -> object | None:
    return next((parent for parent in _parents(obj) if isinstance(parent, model)), None)


def _admin_model(route_name: str):
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if route_name.startswith(prefix):
            return model
    return None


def candidate_kwargs(route: Route) -> tuple[list[dict], str]:
    """Keyword sets to try for ``route`` (at most MAX_TRIES_PER_ROUTE), or ([], why not)."""
    if not route.params:
        return [{}], ""
    if route.name.startswith("admin:"):
        names = [p[0] for p in route.params]
        if names == ["app_label"]:
            labels = sorted({m._meta.app_label for m in admin.site._registry})
            return [{"app_label": label} for label in labels[:MAX_TRIES_PER_ROUTE]], ""
        if names == ["object_id"] and (model := _admin_model(route.name)):
            pks = list(model._default_manager.order_by("pk").values_list("pk", flat=True)[:2])
            return ([{"object_id": str(pk)} for pk in pks], "") if pks else ([], f"no {model.__name__} row")
        return [], f"admin parameters {names} not filled"

    # Fill from the most specific (last) object parameter; earlier ones come from its parents.
    object_params = [p for p in route.params if p[0] not in VOCABULARY]
    vocab_params = [p for p in route.params if p[0] in VOCABULARY]
    if any(conv not in {"uuid", "int"} for _, conv, _ in object_params):
        return [], "parameters " + ", ".join(f"{n} ({c})" for n, c, _ in object_params if c not in {"uuid", "int"})
    if not object_params:
        return [{n: v for (n, _, _) in vocab_params for v in VOCABULARY[n][:1]}], ""

    last_name, last_conv, last_seg = object_params[-1]
    last_models = _param_models(last_name, last_conv, last_seg)
    if not last_models:
        return [], f"no model matches parameter {last_name!r} (after {last_seg!r})"
    combos: list[dict] = []
    reasons = []
    for model in last_models:
        for obj in model._default_manager.order_by("pk")[:MAX_TRIES_PER_ROUTE]:
            kwargs = {last_name: _value(obj, last_conv)}
            for name, conv, seg in object_params[:-1]:
                parent_models = _param_models(name, conv, seg)
                for parent_model in parent_models:
                    parent = obj if parent_model is model else _fk_to(obj, parent_model)
                    if parent is not None:
                        kwargs[name] = _value(parent, conv)
                        break
                if not parent_models and conv == "uuid":
                    # No model named after the parameter (``discharge/<uuid:public_id>``): the
                    # nearest parent with a public id (an episode's patient).
                    parent = next((p for p in _parents(obj) if hasattr(p, "public_id")), None)
                    if parent is not None:
                        kwargs[name] = parent.public_id
            if len(kwargs) < len(object_params):
                reasons.append(f"{model.__name__} has no link to {[p[0] for p in object_params[:-1]]}")
                continue
            base = dict(kwargs)
            for values in _vocab_combos(vocab_params):
                combos.append({**base, **values})
            if len(combos) >= MAX_TRIES_PER_ROUTE:
                return combos[:MAX_TRIES_PER_ROUTE], ""
    if combos:
        return combos, ""
    return [], reasons[0] if reasons else f"no {', '.join(m.__name__ for m in last_models)} row in the test clinic"


def _vocab_combos(vocab_params) -> list[dict]:
    combos: list[dict] = [{}]
    for name, _, _ in vocab_params:
        combos = [{**c, name: v} for c in combos for v in VOCABULARY[name]]
    return combos


def build_clinic(settings) -> dict[str, Client]:
    """The demo clinic, every demo login MFA-enrolled and signed in; returns clients by email."""
    from users.models import User

    settings.DEBUG = True  # seed_demo refuses to run with DEBUG off
    call_command("seed_demo", stdout=io.StringIO())
    settings.DEBUG = False
    _extra_objects()
    clients = {}
    for email in DEMO_LOGINS:
        user = User.objects.filter(email=email).first()
        if user is None:
            continue
        TOTP.activate(user, generate_totp_secret())
        # A server error is reported as the route's outcome (500 pages carry the headers too).
        client = Client(raise_request_exception=False)
        sign_in(client, user)
        client.is_staff_login = user.is_staff
        clients[email] = client
    return clients


def _extra_objects() -> None:
    """Objects the demo may not have yet, made through the apps' own test helpers when they exist."""
    from patients.models import Patient

    patient = Patient.objects.filter(episodes__discharge_date__isnull=True).order_by("pk").first()
    if patient is None:
        return
    episode = patient.episodes.filter(discharge_date__isnull=True).first()
    by = getattr(episode, "primary_counselor", None)
    if by is None:
        return
    try:  # a draft placement: the placement pages to walk (the demo may not make one)
        from assessments import services as assessment_services

        assessment_services.placement_create(patient=patient, by=by, placement_type="initial")
    except Exception:  # noqa: BLE001,S110 - optional: the walk then lists those routes as not checked
        pass


def walk_pages(clients: dict[str, Client]) -> Walk:
    walk = Walk()
    for route in iter_routes():
        if route.name in NOT_STAFF_PAGES:
            walk.skipped[route.name] = NOT_STAFF_PAGES[route.name]
            continue
        tries, why = candidate_kwargs(route)
        if not tries:
            walk.skipped[route.name] = why
            continue
        statuses = []
        done = False
        started = time.monotonic()
        for kwargs in tries:
            try:
                url = reverse(route.name, kwargs=kwargs)
            except NoReverseMatch:
                statuses.append("no reverse")
                continue
            for login, client in clients.items():
                if route.name.startswith("admin:") and not client.is_staff_login:
                    continue  # the admin answers everyone else with a redirect to sign in
                response = client.get(url)
                status = response.status_code
                ctype = response.get("Content-Type", "")
                if status == 405:
                    walk.post_only.append(route.name)
                    done = True
                elif status == 200 and not ctype.startswith("text/html"):
                    walk.not_html[route.name] = ctype
                    done = True
                elif status == 200:
                    walk.pages.append(Page(route.name, url, login, response))
                    done = True
                else:
                    statuses.append(f"{status} as {login.split('@')[0]}")
                    if status in (403, 404, 500):
                        walk.errors.append((route.name, url, response))
                if done:
                    break
            if done:
                break
        if not done:
            walk.skipped[route.name] = "no role got a page: " + ", ".join(dict.fromkeys(statuses))
        walk.seconds[route.name] = time.monotonic() - started
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(walk.report() + "\n")
    return walk


# --- the checks -------------------------------------------------------------------------


def header_problems(name: str, response) -> list[str]:
    problems = []
    csp = response.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in (x.strip() for x in csp.split(";")) if d}
    if not csp:
        problems.append("no Content-Security-Policy")
    else:
        if "'unsafe-eval'" in csp:
            problems.append("CSP allows unsafe-eval")
        if directives.get("script-src") != ["'self'"]:
            problems.append(f"script-src is {directives.get('script-src')}")
        if directives.get("frame-ancestors") != ["'none'"]:
            problems.append(f"frame-ancestors is {directives.get('frame-ancestors')}")
        inline = [d for d, values in directives.items() if "'unsafe-inline'" in values]
        allowed = ["style-src"] if name in CSP_STYLE_EXCEPTIONS else []
        if inline != allowed and inline:
            problems.append(f"CSP allows unsafe-inline in {inline}")
    expected = {
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    for header, value in expected.items():
        if response.get(header) != value:
            problems.append(f"{header} is {response.get(header)!r}, not {value!r}")
    if "no-store" not in response.get("Cache-Control", ""):
        problems.append(f"Cache-Control is {response.get('Cache-Control')!r} (no no-store)")
    return problems


_WALKS: list[Walk] = []


@pytest.fixture
def clinic_walk(settings):
    """The walk, done once per test process: it is slow (every route, several roles) and only
    its responses are read afterwards, so ``tests/test_session_and_csrf.py`` reuses it."""
    if not _WALKS:
        _WALKS.append(walk_pages(build_clinic(settings)))
    return _WALKS[0]


def test_every_staff_page_carries_the_security_headers(clinic_walk):
    walk = clinic_walk
    failures = [
        f"{p.name} {p.url}: {'; '.join(probs)}" for p in walk.pages if (probs := header_problems(p.name, p.response))
    ]
    failures += [
        f"{name} {url} ({response.status_code}): {'; '.join(probs)}"
        for name, url, response in walk.errors
        if (probs := header_problems(name, response))
    ]
    assert not failures, "\n".join(failures)
    # The walk must really reach the clinical pages, not pass by checking nothing.
    checked = {p.name for p in walk.pages}
    assert {"home", "patients:search", "patients:detail", "patients:consent_list", "audit:list"} <= checked, (
        walk.report()
    )
    assert len(checked) >= 40, walk.report()


def test_api_reference_pages_relax_only_style_src(clinic_walk):
    pages = {p.name: p for p in clinic_walk.pages}
    for name in CSP_STYLE_EXCEPTIONS & pages.keys():
        csp = pages[name].response["Content-Security-Policy"]
        assert "style-src 'self' 'unsafe-inline'" in csp
        assert "script-src 'self';" in csp + ";"


def test_error_pages_for_another_sites_patient_carry_the_headers(client_as, other_site):
    from patients.tests.factories import PatientFactory

    theirs = PatientFactory(site=other_site)
    client = client_as()
    for url in (reverse("patients:detail", args=[theirs.public_id]), reverse("patients:detail", args=[uuid.uuid4()])):
        response = client.get(url)
        assert response.status_code == 404
        assert header_problems("patients:detail", response) == []
