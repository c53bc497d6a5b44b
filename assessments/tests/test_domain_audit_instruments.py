"""DOMAIN.md §4 audit: each test states the published rule it checks.

Found by reading §4 against ``assessments.instruments`` and how the services, forms and API
use it. The rest of §4 is covered in ``test_instruments.py`` and ``test_safety_escalation.py``.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from assessments import services
from assessments.charts import patient_charts
from assessments.forms import InstrumentForm
from assessments.instruments import BAM_LAYOUT, INSTRUMENTS, RULER_TYPES, URICA_SUBSCALES, score
from assessments.models import AssessmentResponse
from tests.fixtures import sign_in
from users.models import Role

# --- C-SSRS: "None: all No." / "Low: only Q1 and/or Q2 yes." --------------------------------


def test_cssrs_an_all_no_answer_sheet_scores_none():
    """DOMAIN.md 4.8: "None: all No." An answer sheet where every question is No is valid."""
    result = score("C-SSRS", [False] * 7)
    assert (result.band, result.flags) == ("none", ())


def test_cssrs_the_follow_up_may_be_left_off_when_q6_is_no():
    """DOMAIN.md 4.8: Q6 has a follow-up "within the past 3 months?", asked only after a Yes."""
    assert score("C-SSRS", [False] * 6).band == "none"
    assert score("C-SSRS", [True, False, None, None, None, False]).band == "low"


def test_cssrs_only_q1_yes_with_the_skipped_questions_answered_no_is_low():
    """DOMAIN.md 4.8: "Low: only Q1 and/or Q2 yes" (Q3-Q5 skipped when Q2 = No)."""
    result = score("C-SSRS", [True, False, False, False, False, False, False])
    assert (result.band, result.flags) == ("low", ())
    assert result.item_scores == (1, 0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ([False, False, False, True, False, False, None], "item_4"),
        ([True, False, None, None, True, False, None], "item_5"),
        ([False, False, None, None, None, False, True], "item_6_recent"),
    ],
)
def test_cssrs_a_yes_on_a_question_the_flow_skips_is_still_refused(answers, field):
    """DOMAIN.md 4.8: "If Q2 = No, skip Q3-Q5": a Yes there contradicts the flow; the
    clinician must correct it rather than have it silently ignored or guessed at."""
    with pytest.raises(ValidationError) as info:
        score("C-SSRS", answers)
    assert field in info.value.message_dict
    assert "skip logic" in " ".join(info.value.message_dict[field])


def test_cssrs_the_follow_up_is_required_after_a_yes_to_q6():
    """DOMAIN.md 4.8: high vs moderate depends on whether the behaviour was in the past 3 months."""
    with pytest.raises(ValidationError) as info:
        score("C-SSRS", [False, False, None, None, None, True])
    assert "Item 6-recent (answer 7): missing answer" in info.value.message_dict["item_6_recent"][0]


# --- BAM: "Item 4 = 0 -> skip item 5 (score it 0). Item 6 = 0 -> skip item 7." ----------------


def test_bam_an_all_zero_answer_sheet_is_accepted():
    """DOMAIN.md 4.9: each item 0-4; a skipped item 5 scores 0, so an explicit 0 is the same."""
    result = score("BAM", [0] * 23)
    assert result.subscales == {"use": 0, "risk": 0, "protective": 0}
    assert result.flags == ("PROTECTIVE_FLAG",)  # Protective <= 12


def test_bam_item_5_given_as_0_after_item_4_is_0_scores_0():
    answers: list = [0] * 23
    answers[BAM_LAYOUT.index("6")] = 2
    answers[BAM_LAYOUT.index("7E")] = 2
    result = score("BAM", answers)
    assert result.subscales["use"] == 2
    assert result.item_scores[BAM_LAYOUT.index("5")] == 0


@pytest.mark.parametrize(("item", "gate"), [("5", "4"), ("7A", "6"), ("7G", "6")])
def test_bam_a_nonzero_answer_on_an_item_the_skip_rule_removes_is_still_refused(item, gate):
    answers: list = [0] * 23
    answers[BAM_LAYOUT.index(item)] = 1
    with pytest.raises(ValidationError) as info:
        score("BAM", answers)
    assert f"item {gate} is 0" in " ".join(info.value.message_dict[f"item_{item.lower()}"])


# --- URICA: "Readiness score = mean(C) + mean(A) + mean(M) - mean(PC)." ----------------------


def _urica_with_sevenths() -> list[int]:
    answers = [3] * 32
    answers[0] = 4  # PC item 1: PC mean 22/7
    answers[1] = 5  # C item 2: C mean 23/7
    answers[2] = 1  # A item 3: A mean 19/7
    return answers


def test_urica_readiness_is_the_exact_sum_of_subscale_means_not_rounded():
    answers = _urica_with_sevenths()
    means = {name: Fraction(sum(answers[n - 1] for n in items), len(items)) for name, items in URICA_SUBSCALES.items()}
    readiness = means["contemplation"] + means["action"] + means["maintenance"] - means["precontemplation"]
    result = score("URICA", answers)
    assert result.total == pytest.approx(float(readiness), rel=1e-12)  # 41/7 = 5.857142...
    for name, mean in means.items():
        assert result.subscales[name] == pytest.approx(float(mean), rel=1e-12)
    assert result.band == "precontemplation"


# --- Readiness ruler: "Store the raw number and the type of ruler; show a trend." -----------


def test_ruler_types_are_importance_confidence_and_readiness():
    assert set(RULER_TYPES) == {"importance", "confidence", "readiness"}


@pytest.mark.parametrize("ruler_type", ["importance", "confidence", "readiness"])
def test_ruler_the_service_stores_the_raw_number_and_the_type(patient, counselor, ruler_type):
    response = services.assessment_record(
        patient=patient, instrument_code="READINESS-RULER", answers=[7], ruler_type=ruler_type, by=counselor
    )
    response.refresh_from_db()
    assert (response.total, response.ruler_type, response.band) == (7, ruler_type, "")


@pytest.mark.parametrize("ruler_type", ["", "motivation", None])
def test_ruler_the_service_refuses_a_missing_or_unknown_type(patient, counselor, ruler_type):
    with pytest.raises(ValidationError) as info:
        services.assessment_record(
            patient=patient, instrument_code="READINESS-RULER", answers=[7], ruler_type=ruler_type, by=counselor
        )
    assert "ruler_type" in info.value.message_dict
    assert not AssessmentResponse.objects.exists()


def test_ruler_type_is_refused_for_another_instrument(patient, counselor):
    with pytest.raises(ValidationError) as info:
        services.assessment_record(
            patient=patient, instrument_code="GAD-7", answers=[0] * 7, ruler_type="importance", by=counselor
        )
    assert "ruler_type" in info.value.message_dict


def test_ruler_the_form_asks_for_the_type_with_exactly_the_allowed_choices():
    form = InstrumentForm(definition=INSTRUMENTS["READINESS-RULER"])
    assert "ruler_type" in form.item_fields
    assert [value for value, _ in form.fields["ruler_type"].choices] == list(RULER_TYPES)
    assert "ruler_type" not in InstrumentForm(definition=INSTRUMENTS["GAD-7"]).fields


def test_ruler_posting_the_form_stores_the_type(client_as, patient):
    url = reverse("assessments:administer", args=[patient.public_id, "readiness-ruler"])
    client = client_as(Role.CLINICIAN)
    missing = client.post(url, {"item_1": "6", "context": "weekly"})
    assert missing.status_code == 200 and 'id="id_ruler_type_error"' in missing.content.decode()
    assert not AssessmentResponse.objects.exists()
    response = client.post(url, {"item_1": "6", "ruler_type": "confidence", "context": "weekly"})
    assert response.status_code == 302
    saved = AssessmentResponse.objects.get()
    assert (saved.total, saved.ruler_type) == (6, "confidence")


def test_ruler_the_api_records_and_returns_the_type(patient, counselor):
    client = APIClient()
    sign_in(client, counselor)
    url = reverse("api:assessment-create")
    body = {"patient": str(patient.public_id), "instrument": "READINESS-RULER", "answers": [8]}
    refused = client.post(url, body, format="json")
    assert refused.status_code == 400 and "ruler_type" in refused.json()
    created = client.post(url, {**body, "ruler_type": "importance"}, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["total"], created.json()["ruler_type"], created.json()["band"]) == (8, "importance", "")


def test_ruler_values_show_as_a_trend_per_type_without_a_category(patient, counselor):
    for value, ruler_type in ((3, "importance"), (5, "confidence"), (6, "importance")):
        services.assessment_record(
            patient=patient, instrument_code="READINESS-RULER", answers=[value], ruler_type=ruler_type, by=counselor
        )
    charts = {chart.slug: chart for chart in patient_charts(list(AssessmentResponse.objects.all()), None)}
    chart = charts["readinessruler"]
    series = {s.key: [p.value for p in s.points] for s in chart.series}
    assert series == {"importance": ["3", "6"], "confidence": ["5"], "readiness": []}
    assert chart.thresholds == []  # no validated bands: no category lines


def test_no_ruler_chart_without_ruler_responses(patient, counselor):
    services.assessment_record(patient=patient, instrument_code="GAD-7", answers=[0] * 7, by=counselor)
    charts = patient_charts(list(AssessmentResponse.objects.all()), None)
    assert "readinessruler" not in {chart.slug for chart in charts}


# --- CIWA-Ar / AUDIT: "make them configurable and store the band-set id with every score" ---


def test_a_program_can_choose_the_ciwa_ar_band_set_for_recorded_scores(patient, counselor, settings):
    settings.ASSESSMENT_BAND_SETS = {"CIWA-Ar": "CIWA-Ar:SULLIVAN-1989", "AUDIT": "AUDIT:AUDITSCREEN"}
    ciwa = services.assessment_record(
        patient=patient, instrument_code="CIWA-Ar", answers=[2] * 8 + [0, 0], by=counselor
    )
    assert (ciwa.total, ciwa.band, ciwa.band_set) == (16, "severe", "CIWA-Ar:SULLIVAN-1989")
    audit = services.assessment_record(
        patient=patient, instrument_code="AUDIT", answers=[4, 4, 4, 3, 0, 0, 0, 0, 0, 0], by=counselor
    )
    assert (audit.total, audit.band, audit.band_set) == (15, "likely_dependence", "AUDIT:AUDITSCREEN")


def test_without_configuration_the_defaults_apply(patient, counselor):
    ciwa = services.assessment_record(
        patient=patient, instrument_code="CIWA-Ar", answers=[2] * 8 + [0, 0], by=counselor
    )
    assert (ciwa.band, ciwa.band_set) == ("moderate", "CIWA-Ar:ASAM-2020")


def test_a_misconfigured_band_set_is_refused_naming_it(patient, counselor, settings):
    settings.ASSESSMENT_BAND_SETS = {"CIWA-Ar": "COWS:WESSON-LING-2003"}
    with pytest.raises(ValidationError) as info:
        services.assessment_record(patient=patient, instrument_code="CIWA-Ar", answers=[0] * 10, by=counselor)
    assert "COWS:WESSON-LING-2003" in info.value.message_dict["band_set"][0]
    assert not AssessmentResponse.objects.exists()


def test_ruler_pages_show_the_type_and_urica_means_display_rounded(client_as, patient, counselor):
    ruler = services.assessment_record(
        patient=patient, instrument_code="READINESS-RULER", answers=[4], ruler_type="readiness", by=counselor
    )
    urica = services.assessment_record(
        patient=patient, instrument_code="URICA", answers=_urica_with_sevenths(), by=counselor
    )
    client = client_as(user=counselor)
    page = client.get(reverse("assessments:response_detail", args=[ruler.public_id])).content.decode()
    assert "<dt>Type of ruler</dt><dd>Readiness</dd>" in page
    page = client.get(reverse("assessments:patient", args=[patient.public_id])).content.decode()
    assert "READINESS-RULER (readiness)" in page
    assert "<caption>Readiness ruler: values by date</caption>" in page
    page = client.get(reverse("assessments:response_detail", args=[urica.public_id])).content.decode()
    assert "<dt>Total</dt><dd>5.86</dd>" in page  # stored exactly (41/7), shown to 2 decimals
    assert "<dt>Precontemplation</dt><dd>3.14</dd>" in page


def test_ruler_type_travels_with_the_fhir_questionnaire_response(patient, counselor):
    from assessments.fhir import questionnaire_response_resource

    ruler = services.assessment_record(
        patient=patient, instrument_code="READINESS-RULER", answers=[9], ruler_type="confidence", by=counselor
    )
    items = {item["linkId"]: item for item in questionnaire_response_resource(ruler)["item"]}
    assert items["ruler_type"]["answer"] == [{"valueString": "confidence"}]
    assert items["total"]["answer"] == [{"valueInteger": 9}]
