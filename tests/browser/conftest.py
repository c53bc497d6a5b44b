"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Pages are opened at ``http://localhost:<port>`` (not 127.0.0.1): WebAuthn only accepts a
domain as the relying-party id, and ``localhost`` counts as a secure context on plain http.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
AXE = REPO / "tests" / "assets" / "axe-4.min.js"
# How long Playwright waits for a page or an element before failing (ms); the pages are local.
TIMEOUT_MS = 30_000  # generous: CI shares 2 cores with PostgreSQL, Redis and the live server


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason=f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if not CHROMIUM.exists():
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ],
    }


# ReDoc always renders its maker's logo from the maker's CDN (no option turns it off); the CSP
# blocks that image, which is exactly what should happen, so it is not counted as a breakage.
EXPECTED_CSP_BLOCKS = ("https://cdn.redoc.ly/redoc/logo-mini.svg",)


def _expected_block(text: str) -> bool:
    return any(url in text for url in EXPECTED_CSP_BLOCKS)


@pytest.fixture
def page(page):
    """Every browser test also fails on a Content-Security-Policy violation or a script error."""
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)
    problems: list[str] = []

    def on_console(msg) -> None:
        if msg.type == "error" and "Content Security Policy" in msg.text and not _expected_block(msg.text):
            problems.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    yield page
    assert not problems, "The page broke its Content-Security-Policy or raised:\n" + "\n".join(problems)


@pytest.fixture
def app_url(live_server):
    """The live server's address with ``localhost`` as host (WebAuthn needs a domain origin)."""
    parts = urlsplit(live_server.url)
    return urlunsplit(parts._replace(netloc=f"localhost:{parts.port}"))


def totp_code(secret: str) -> str:
    """The current authenticator code; waits out the last second of a 30 s window to avoid a race."""
    if 30 - time.time() % 30 < 1.5:
        time.sleep(30 - time.time() % 30 + 0.1)
    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(secret, counter))


def sign_in(page, app_url: str, email: str, password: str, totp_secret: str | None) -> None:
    """Sign in through allauth's login form, then its authenticator-code page when a secret is given."""
    page.goto(f"{app_url}/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(password)
    with page.expect_navigation():
        page.locator("main form[action='/accounts/login/'] button[type=submit]").click()
    if totp_secret is None:
        return
    assert page.url.endswith("/accounts/2fa/authenticate/"), page.url
    page.locator("#id_code").fill(totp_code(totp_secret))
    with page.expect_navigation():
        page.get_by_role("button", name="Sign In").click()


def confirm_password(page, app_url: str, password: str) -> None:
    """allauth asks for the password again before MFA changes, even right after signing in."""
    assert page.url.startswith(f"{app_url}/accounts/reauthenticate/"), page.url
    page.locator("#id_password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot to ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # Generous: a full-page capture of a long page is slow on a busy 2-core machine.
    page.screenshot(path=str(path), full_page=True, timeout=60_000)
    return path


def axe_check(page) -> list[dict]:
    """Run axe-core on the current page; return its violations.

    axe is evaluated through the DevTools protocol rather than added as a <script> tag: the
    pages' strict CSP rightly refuses inline scripts, and the test must not weaken it. For the
    same reason its CSSOM preload is off: it re-imports each stylesheet through an injected
    <style> element, which the CSP refuses (seen on the admin's add forms). The one rule that
    needs it, css-orientation-lock, is then not evaluated; no stylesheet of the app or of the
    admin locks the orientation (no ``orientation`` media query in their CSS).
    """
    page.evaluate(AXE.read_text() + "\n;undefined")
    return page.evaluate("async () => (await axe.run(document, {preload: false})).violations")


def assert_no_serious_violations(page) -> None:
    violations = axe_check(page)
    bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
    summary = [{"id": v["id"], "impact": v["impact"], "targets": [n["target"] for n in v["nodes"]][:10]} for v in bad]
    assert not bad, f"axe found serious/critical violations on {page.url}:\n{json.dumps(summary, indent=2)}"
