"""Security headers on every page: a strict CSP, no framing, no sniffing, no caching of PHI."""

import pytest
from django.urls import reverse

from users.models import Role

pytestmark = pytest.mark.django_db


def _csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.parametrize("url", ["/accounts/login/", "/"])
def test_pages_carry_a_strict_content_security_policy(client_as, url):
    response = client_as(Role.CLINICIAN).get(url)
    csp = _csp(response)
    assert csp["script-src"] == "script-src 'self'"
    assert csp["style-src"] == "style-src 'self'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def test_pages_refuse_framing_and_sniffing(client_as):
    response = client_as(Role.CLINICIAN).get(reverse("home"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


def test_templates_carry_no_inline_script_or_style(client_as):
    body = client_as(Role.SUPERVISOR).get(reverse("home")).content.decode()
    assert "<script>" not in body
    assert " style=" not in body
    assert "<style" not in body


def test_forms_carry_a_csrf_token(client_as, site):
    body = client_as(Role.SITE_ADMIN).get(reverse("users:site_edit", args=[site.public_id])).content.decode()
    assert 'name="csrfmiddlewaretoken"' in body
