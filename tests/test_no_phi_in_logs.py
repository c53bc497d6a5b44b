"""No PHI in logs or URLs (DOMAIN.md §12 (e)).

Every log record emitted while staff register a patient, make mistakes on the form, search,
open the chart, fail to sign in, hit another site's patient and release records is captured
(pytest's caplog at DEBUG on the root and ``django`` loggers, plus a plain StreamHandler on the
root logger), and none of the fake patient's identifiers may appear in it. The URLs of those
pages carry the patient's UUID only.
"""

from __future__ import annotations

import io
import logging
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from patients.models import Patient
from patients.tests.factories import ConsentFactory
from users.models import Role

pytestmark = pytest.mark.django_db

FIRST, LAST = "Zephyrine", "Quillonby"
DOB = date(1979, 8, 23)
PHONE_TYPED, PHONE_E164 = "212-555-0199", "+12125550199"
EMAIL = "zephyrine.q@example.org"
REGISTRATION = {
    "legal_first_name": FIRST,
    "legal_last_name": LAST,
    "date_of_birth": DOB.isoformat(),
    "language": "English",
    "preferred_channel": "phone",
    "phone": PHONE_TYPED,
    "email": EMAIL,
}


def _phi(patient: Patient) -> list[str]:
    return [
        FIRST,
        LAST,
        EMAIL,
        PHONE_TYPED,
        PHONE_E164,
        PHONE_E164[2:],  # 2125550199
        DOB.isoformat(),
        DOB.strftime("%m/%d/%Y"),
        DOB.strftime("%B %-d, %Y"),
        DOB.strftime("%b. %-d, %Y"),
        patient.mrn,
    ]


class _Recorder:
    """Every URL the test requests, and every redirect target it is sent to."""

    def __init__(self):
        self.urls: list[str] = []

    def __call__(self, client: Client):
        recorder = self

        for method in ("get", "post"):
            original = getattr(client, method)

            def wrapped(path, *args, _original=original, **kwargs):
                recorder.urls.append(path)
                response = _original(path, *args, **kwargs)
                if response.has_header("Location"):
                    recorder.urls.append(response["Location"])
                return response

            setattr(client, method, wrapped)
        return client


@pytest.fixture
def captured_logs(caplog):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)  # root
    for name in ("django", "django.request", "django.server", "django.security", "allauth", "celery"):
        caplog.set_level(logging.DEBUG, logger=name)
    try:
        yield (
            lambda: (
                caplog.text
                + "\n"
                + stream.getvalue()
                + "\n"
                + "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
            )
        )
    finally:
        root.removeHandler(handler)


def test_no_patient_identifier_reaches_the_logs_or_a_url(captured_logs, make_staff, client_as, other_site):
    record_urls = _Recorder()
    intake = record_urls(client_as(Role.INTAKE))

    # Registration, with a validation error first (a birth date in the future) and the
    # duplicate warning after it (the same person registered twice).
    response = intake.post(reverse("patients:register"), {**REGISTRATION, "date_of_birth": "2999-01-01"})
    assert response.status_code == 200 and response.context["form"].errors
    response = intake.post(reverse("patients:register"), {**REGISTRATION, "email": "not-an-email"})
    assert response.status_code == 200 and "email" in response.context["form"].errors
    response = intake.post(reverse("patients:register"), REGISTRATION)
    assert response.status_code == 302
    patient = Patient.objects.get(legal_last_name=LAST)
    response = intake.post(reverse("patients:register"), REGISTRATION)
    assert response.status_code == 200  # possible duplicate: asks to confirm

    # Search by name, by MRN and by birth date; the chart.
    search = reverse("patients:search")
    for criteria in ({"q": LAST}, {"q": f"{FIRST} {LAST}"}, {"q": patient.mrn}, {"date_of_birth": DOB.isoformat()}):
        response = intake.post(search, criteria)
        assert response.status_code == 200
    assert intake.get(reverse("patients:detail", args=[patient.public_id])).status_code == 200

    # A failed sign-in (as someone typing a patient's email into the wrong box) and a 404 on
    # another site's patient.
    stranger = record_urls(Client())
    stranger.post(reverse("account_login"), {"login": EMAIL, "password": "wrong password, long enough"})
    elsewhere = record_urls(client_as(Role.SUPERVISOR, at=other_site))
    assert elsewhere.get(reverse("patients:detail", args=[patient.public_id])).status_code == 404

    # A disclosure: one refused (recipient not on the consent), one made, and its packet.
    ConsentFactory(patient=patient, signer_name=f"{FIRST} {LAST}")
    disclose = reverse("patients:disclosure_create", args=[patient.public_id])
    data = {"recipient": "Dr. Quinn Example", "purpose": "treatment", "categories": ["attendance"], "channel": "print"}
    response = intake.post(disclose, {**data, "recipient": f"{LAST} family"})
    assert response.status_code == 200
    response = intake.post(disclose, data)
    assert response.status_code == 302
    assert intake.get(response["Location"]).status_code == 200

    logs = captured_logs()
    assert "Not Found" in logs, "the capture saw nothing: the 404 above should have been logged"
    leaked = [value for value in _phi(patient) if value.lower() in logs.lower()]
    assert not leaked, f"PHI in the logs: {leaked}\n{logs}"

    urls = record_urls.urls
    in_urls = [(value, url) for url in urls for value in _phi(patient) if value.lower() in url.lower()]
    assert not in_urls, f"PHI in URLs: {in_urls}"
    patient_urls = [url for url in urls if str(patient.public_id) in url]
    assert patient_urls, urls
