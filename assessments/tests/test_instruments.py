"""Scoring rules for every instrument (DOMAIN.md §4). Pure Python: no database."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError

from assessments.instruments import (
    BAM_LAYOUT,
    BAND_SETS,
    INSTRUMENTS,
    BamThresholds,
    Band,
    BandSet,
    ScoreResult,
    bam_days_to_score,
    instrument,
    score,
    urica_stage,
)

# --- Helpers ----------------------------------------------------------------------------


def answers_for_total(code: str, total: int) -> list[int]:
    """A fully answered numeric sheet with exactly ``total`` points.

    Fills items front to back with the largest allowed value that still lets the remaining
    items reach the target, so trailing items (PHQ-9 item 9) stay 0 when possible.
    """
    items = [item for item in INSTRUMENTS[code].items if not item.optional]
    reachable: list[set[int]] = [set() for _ in range(len(items) + 1)]
    reachable[-1] = {0}
    for index in range(len(items) - 1, -1, -1):
        reachable[index] = {v + rest for v in items[index].allowed_values for rest in reachable[index + 1]}
    assert total in reachable[0], f"{code} cannot total {total}"
    answers, remaining = [], total
    for index, item in enumerate(items):
        value = max(v for v in item.allowed_values if remaining - v in reachable[index + 1])
        answers.append(value)
        remaining -= value
    return answers


def dast_answers(total: int) -> list[bool]:
    """DAST-10 answers scoring ``total`` (item 3 scores 1 for No)."""
    answers = [False] * 10
    answers[2] = True  # "able to stop": Yes scores 0
    others = [i for i in range(10) if i != 2]
    if total == 10:
        answers[2] = False
        total -= 1
    for i in others[:total]:
        answers[i] = True
    return answers


def cssrs(q1=False, q2=False, q3=None, q4=None, q5=None, q6=False, recent=None):
    if q2 is True:
        q3, q4, q5 = (False if q is None else q for q in (q3, q4, q5))
    return [q1, q2, q3, q4, q5, q6, recent]


def bam(**by_number: int | None) -> list[int | None]:
    """23 BAM answers, all 0 unless given; skip rules applied to unset dependents."""
    values: dict[str, int | None] = dict.fromkeys(BAM_LAYOUT, 0)
    values["14"] = 0
    if by_number.get("4", 0) == 0:
        values["5"] = None
    if by_number.get("6", 0) == 0:
        for letter in "ABCDEFG":
            values[f"7{letter}"] = None
    values.update({key.upper(): value for key, value in by_number.items()})
    return [values[n] for n in BAM_LAYOUT]


def urica(pc: int, c: int, a: int, m: int, unscored: int = 3) -> list[int]:
    """32 URICA answers with one value per subscale."""
    answers = [unscored] * 32
    for value, numbers in (
        (pc, (1, 5, 11, 13, 23, 26, 29)),
        (c, (2, 8, 12, 15, 19, 21, 24)),
        (a, (3, 7, 10, 14, 17, 25, 30)),
        (m, (6, 16, 18, 22, 27, 28, 32)),
    ):
        for n in numbers:
            answers[n - 1] = value
    return answers


def baseline(code: str) -> list:
    """A valid, lowest-scoring answer sheet for ``code``."""
    special = {"DAST-10": [False] * 10, "C-SSRS": cssrs(), "URICA": [1] * 32, "BAM": bam()}
    return special.get(code) or answers_for_total(code, 0)


@contextmanager
def raises_on(field: str, *fragments: str) -> Iterator[pytest.ExceptionInfo[ValidationError]]:
    """Expect a ValidationError whose dict names ``field`` with every fragment."""
    with pytest.raises(ValidationError) as info:
        yield info
    errors = info.value.message_dict
    assert field in errors, errors
    text = " ".join(errors[field])
    for fragment in fragments:
        assert fragment in text, text


# --- Registry ---------------------------------------------------------------------------

ALL_CODES = ["PHQ-9", "GAD-7", "AUDIT", "AUDIT-C", "DAST-10", "CIWA-Ar", "COWS", "C-SSRS", "BAM", "URICA"]


def test_it_registers_every_instrument_and_the_readiness_ruler():
    assert set(INSTRUMENTS) == {*ALL_CODES, "READINESS-RULER"}


@pytest.mark.parametrize(
    ("code", "count", "yes_no"),
    [
        ("PHQ-9", 10, False),
        ("GAD-7", 7, False),
        ("AUDIT", 10, False),
        ("AUDIT-C", 3, False),
        ("DAST-10", 10, True),
        ("CIWA-Ar", 10, False),
        ("COWS", 11, False),
        ("C-SSRS", 7, True),
        ("BAM", 23, False),
        ("URICA", 32, False),
        ("READINESS-RULER", 1, False),
    ],
)
def test_it_describes_items_for_forms(code, count, yes_no):
    inst = INSTRUMENTS[code]
    assert inst.code == code and inst.name
    assert len(inst.items) == count
    assert [item.position for item in inst.items] == list(range(1, count + 1))
    assert all(item.yes_no is yes_no for item in inst.items)
    assert all(item.label and item.choices for item in inst.items)
    assert all(choice.label for item in inst.items for choice in item.choices)
    assert len({item.field_name for item in inst.items}) == count
    assert all(band_set in BAND_SETS for band_set in inst.band_sets)


def test_it_lists_yes_no_choices_as_bools():
    assert INSTRUMENTS["DAST-10"].items[0].allowed_values == (True, False)


@pytest.mark.parametrize(
    ("given", "code"),
    [("phq-9", "PHQ-9"), ("PHQ9", "PHQ-9"), (" phq 9 ", "PHQ-9"), ("ciwa-ar", "CIWA-Ar"), ("cssrs", "C-SSRS")],
)
def test_it_looks_up_codes_ignoring_case_and_punctuation(given, code):
    assert instrument(given).code == code


@pytest.mark.parametrize("code", ["PHQ-2", "", "AUDITX", None, 9])
def test_it_rejects_an_unknown_instrument_code(code):
    with raises_on("code", "Unknown instrument code"):
        instrument(code)
    with pytest.raises(ValidationError):
        score(code, [0])


def test_it_exposes_score_on_the_instrument_definition():
    assert INSTRUMENTS["GAD-7"].score([1] * 7) == score("GAD-7", [1] * 7)


def test_it_returns_a_frozen_result_with_a_json_ready_dict():
    result = score("PHQ-9", [1] * 9)
    assert isinstance(result, ScoreResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.total = 0  # type: ignore[misc]
    assert result.to_dict() == {
        "code": "PHQ-9",
        "total": 9,
        "subscales": {},
        "band": "mild",
        "band_label": "Mild",
        "flags": ["SUICIDE_RISK", "CSSRS_PROMPT"],
        "band_set": "PHQ-9:2001",
        "item_scores": [1] * 9,
        "action": "",
    }


@pytest.mark.parametrize(
    ("band_set_id", "low", "high"),
    [(bs_id, *INSTRUMENTS[bs.instrument].total_range) for bs_id, bs in BAND_SETS.items() if isinstance(bs, BandSet)],
)
def test_it_ships_band_sets_covering_the_whole_score_range(band_set_id, low, high):
    assert BAND_SETS[band_set_id].covers(low, high)


# --- Generic validation -----------------------------------------------------------------


@pytest.mark.parametrize("code", [*ALL_CODES, "READINESS-RULER"])
def test_it_rejects_too_few_answers(code):
    inst = INSTRUMENTS[code]
    with pytest.raises(ValidationError) as info:
        score(code, [None] * (inst.required_count - 1))
    assert info.value.code == "wrong_count"
    assert "incomplete" in info.value.messages[0]
    assert inst.items[inst.required_count - 1].display in info.value.messages[0]


@pytest.mark.parametrize("code", [*ALL_CODES, "READINESS-RULER"])
def test_it_rejects_too_many_answers(code):
    with pytest.raises(ValidationError) as info:
        score(code, [None] * (len(INSTRUMENTS[code].items) + 1))
    assert info.value.code == "wrong_count"


@pytest.mark.parametrize("answers", [{1: 0}, "000000000", b"0", {0, 1}, 5, None])
def test_it_rejects_answers_that_are_not_an_ordered_list(answers):
    with pytest.raises(ValidationError, match="list of item values"):
        score("PHQ-9", answers)


def test_it_accepts_a_tuple_of_answers():
    assert score("GAD-7", (3,) * 7).total == 21


@pytest.mark.parametrize(
    ("code", "position", "value", "fragment"),
    [
        ("PHQ-9", 1, True, "expected a whole number, got True (bool)"),
        ("PHQ-9", 9, False, "expected a whole number, got False (bool)"),
        ("GAD-7", 2, 2.0, "expected a whole number, got 2.0 (float)"),
        ("AUDIT", 1, "2", "expected a whole number, got '2' (str)"),
        ("COWS", 11, True, "expected a whole number"),
        ("CIWA-Ar", 10, Decimal("1"), "expected a whole number"),
        ("URICA", 4, True, "expected a whole number"),
        ("READINESS-RULER", 1, 7.5, "expected a whole number"),
        ("DAST-10", 1, 1, "expected Yes/No (True or False), got 1"),
        ("DAST-10", 3, 0, "expected Yes/No"),
        ("DAST-10", 10, "yes", "expected Yes/No"),
        ("C-SSRS", 1, 0, "expected Yes/No"),
    ],
)
def test_it_rejects_values_of_the_wrong_type(code, position, value, fragment):
    inst = INSTRUMENTS[code]
    answers = baseline(code)
    answers[position - 1] = value
    with raises_on(inst.items[position - 1].field_name, f"Item {position}: {fragment}"):
        score(code, answers)


@pytest.mark.parametrize(
    ("code", "position", "value", "allowed"),
    [
        ("PHQ-9", 1, 4, "0, 1, 2, 3"),
        ("PHQ-9", 9, -1, "0, 1, 2, 3"),
        ("PHQ-9", 10, 4, "0, 1, 2, 3"),
        ("GAD-7", 7, 4, "0, 1, 2, 3"),
        ("AUDIT", 1, 5, "0, 1, 2, 3, 4"),
        ("AUDIT", 8, -1, "0, 1, 2, 3, 4"),
        ("AUDIT", 9, 1, "0, 2, 4"),
        ("AUDIT", 9, 3, "0, 2, 4"),
        ("AUDIT", 10, 1, "0, 2, 4"),
        ("AUDIT", 10, 5, "0, 2, 4"),
        ("AUDIT-C", 3, 5, "0, 1, 2, 3, 4"),
        ("CIWA-Ar", 1, 8, "0, 1, 2, 3, 4, 5, 6, 7"),
        ("CIWA-Ar", 9, -1, "0, 1, 2, 3, 4, 5, 6, 7"),
        ("CIWA-Ar", 10, 5, "0, 1, 2, 3, 4"),
        ("COWS", 1, 3, "0, 1, 2, 4"),
        ("COWS", 1, 5, "0, 1, 2, 4"),
        ("COWS", 2, 5, "0, 1, 2, 3, 4"),
        ("COWS", 3, 2, "0, 1, 3, 5"),
        ("COWS", 3, 4, "0, 1, 3, 5"),
        ("COWS", 4, 3, "0, 1, 2, 5"),
        ("COWS", 4, 4, "0, 1, 2, 5"),
        ("COWS", 5, 3, "0, 1, 2, 4"),
        ("COWS", 6, 3, "0, 1, 2, 4"),
        ("COWS", 7, 4, "0, 1, 2, 3, 5"),
        ("COWS", 8, 3, "0, 1, 2, 4"),
        ("COWS", 9, 3, "0, 1, 2, 4"),
        ("COWS", 10, 3, "0, 1, 2, 4"),
        ("COWS", 11, 1, "0, 3, 5"),
        ("COWS", 11, 2, "0, 3, 5"),
        ("COWS", 11, 4, "0, 3, 5"),
        ("URICA", 1, 0, "1, 2, 3, 4, 5"),
        ("URICA", 31, 6, "1, 2, 3, 4, 5"),
        ("READINESS-RULER", 1, 11, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"),
        ("READINESS-RULER", 1, -1, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"),
    ],
)
def test_it_rejects_values_that_are_not_allowed_and_never_clamps(code, position, value, allowed):
    inst = INSTRUMENTS[code]
    answers = baseline(code)
    if code == "PHQ-9" and position == 10:
        answers.append(0)
    answers[position - 1] = value
    with raises_on(
        inst.items[position - 1].field_name,
        f"Item {position}: {value} is not an allowed value (allowed: {allowed})",
    ):
        score(code, answers)


def test_it_reports_every_bad_item_at_once():
    with pytest.raises(ValidationError) as info:
        score("PHQ-9", [0, 4, 0, 0, True, 0, 0, 0, 0])
    assert set(info.value.message_dict) == {"item_2", "item_5"}


@pytest.mark.parametrize("code", ["PHQ-9", "GAD-7", "AUDIT-C", "CIWA-Ar", "COWS", "URICA", "READINESS-RULER"])
@pytest.mark.parametrize("where", ["first", "last"])
def test_it_treats_none_on_an_item_without_skip_logic_as_incomplete(code, where):
    inst = INSTRUMENTS[code]
    answers = baseline(code)
    index = 0 if where == "first" else inst.required_count - 1
    answers[index] = None
    with raises_on(inst.items[index].field_name, f"Item {index + 1}: missing answer", "incomplete"):
        score(code, answers)


def test_it_requires_unscored_urica_items_too():
    answers = [3] * 32
    answers[3] = None
    with raises_on("item_4", "missing answer"):
        score("URICA", answers)


def test_it_rejects_a_missing_dast_item():
    answers: list = [False] * 10
    answers[4] = None
    with raises_on("item_5", "Item 5: missing answer"):
        score("DAST-10", answers)


# --- PHQ-9 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_it_bands_phq9_at_every_edge(total, band):
    result = score("PHQ-9", answers_for_total("PHQ-9", total))
    assert (result.total, result.band, result.band_set) == (total, band, "PHQ-9:2001")
    assert ("POSITIVE_SCREEN" in result.flags) is (total >= 10)


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_it_flags_suicide_risk_on_phq9_item9_whatever_the_total(item9):
    result = score("PHQ-9", [0] * 8 + [item9])
    assert result.band == "minimal"
    assert result.flags == ("SUICIDE_RISK", "CSSRS_PROMPT")


def test_it_does_not_flag_suicide_risk_when_item9_is_zero():
    result = score("PHQ-9", [3] * 8 + [0])
    assert result.total == 24
    assert result.flags == ("POSITIVE_SCREEN",)


@pytest.mark.parametrize("item10", [0, 3, None])
def test_it_accepts_but_never_scores_phq9_item10(item10):
    result = score("PHQ-9", [1] * 9 + [item10])
    assert result.total == 9
    assert result.item_scores == (1,) * 9 + (0,)


def test_it_aligns_item_scores_with_the_answers_given():
    assert len(score("PHQ-9", [1] * 9).item_scores) == 9


# --- GAD-7 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_it_bands_gad7_at_every_edge(total, band):
    result = score("GAD-7", answers_for_total("GAD-7", total))
    assert (result.total, result.band, result.band_set) == (total, band, "GAD-7:2006")
    assert result.flags == (("POSITIVE_SCREEN",) if total >= 10 else ())


# --- AUDIT ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "zone"),
    [(0, "I"), (7, "I"), (8, "II"), (15, "II"), (16, "III"), (19, "III"), (20, "IV"), (40, "IV")],
)
def test_it_puts_audit_totals_in_who_zones(total, zone):
    result = score("AUDIT", answers_for_total("AUDIT", total))
    assert (result.total, result.band, result.band_set) == (total, zone, "AUDIT:WHO")
    assert result.action
    assert ("POSITIVE_SCREEN" in result.flags) is (total >= 8)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "low"),
        (1, "low"),
        (7, "low"),
        (8, "hazardous_harmful"),
        (14, "hazardous_harmful"),
        (15, "likely_dependence"),
        (40, "likely_dependence"),
    ],
)
def test_it_offers_the_auditscreen_cut_offs(total, band):
    result = score("AUDIT", answers_for_total("AUDIT", total), band_set="AUDIT:AUDITSCREEN")
    assert (result.band, result.band_set) == (band, "AUDIT:AUDITSCREEN")


def test_it_scores_audit_items_9_and_10_as_0_2_or_4():
    assert score("AUDIT", [1, 0, 0, 0, 0, 0, 0, 0, 4, 2]).total == 7


def test_it_lets_audit_skip_to_item_9_when_item_1_is_zero():
    result = score("AUDIT", [0] + [None] * 7 + [2, 4])
    assert result.total == 6
    assert result.item_scores == (0, 0, 0, 0, 0, 0, 0, 0, 2, 4)


def test_it_lets_audit_skip_items_4_to_8_when_items_2_and_3_total_zero():
    result = score("AUDIT", [1, 0, 0] + [None] * 5 + [0, 2])
    assert result.total == 3


def test_it_accepts_a_fully_answered_audit_sheet_even_where_a_skip_was_possible():
    assert score("AUDIT", [0, 1, 1, 1, 1, 1, 1, 1, 0, 0]).total == 7


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ([1, None, 1, 0, 0, 0, 0, 0, 0, 0], "item_2"),
        ([1, 1, None, 0, 0, 0, 0, 0, 0, 0], "item_3"),
        ([1, 1, 0, None, 0, 0, 0, 0, 0, 0], "item_4"),
        ([1, 0, 1, 0, 0, 0, 0, None, 0, 0], "item_8"),
        ([0] + [None] * 7 + [None, 0], "item_9"),
        ([0] + [None] * 7 + [0, None], "item_10"),
        ([1, 0, 0] + [None] * 5 + [None, 0], "item_9"),
        ([None, 0, 0, 0, 0, 0, 0, 0, 0, 0], "item_1"),
    ],
)
def test_it_rejects_audit_blanks_the_skip_logic_does_not_allow(answers, field):
    with raises_on(field, "missing answer", "incomplete"):
        score("AUDIT", answers)


def test_it_accepts_a_custom_audit_band_set():
    women_65 = BandSet(
        id="AUDIT:PROGRAM-7",
        instrument="AUDIT",
        bands=(Band(0, 6, "I", "Low risk"), Band(7, 40, "II+", "At risk")),
        positive_from=7,
    )
    result = score("AUDIT", answers_for_total("AUDIT", 7), band_set=women_65)
    assert (result.band, result.band_set, result.flags) == ("II+", "AUDIT:PROGRAM-7", ("POSITIVE_SCREEN",))


# --- AUDIT-C ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "total", "band", "flags", "band_set"),
    [
        ("male", 0, "negative", (), "AUDIT-C:MEN"),
        ("male", 3, "negative", (), "AUDIT-C:MEN"),
        ("male", 4, "positive", ("POSITIVE_SCREEN",), "AUDIT-C:MEN"),
        ("male", 12, "positive", ("POSITIVE_SCREEN",), "AUDIT-C:MEN"),
        ("female", 2, "negative", (), "AUDIT-C:WOMEN"),
        ("female", 3, "positive", ("POSITIVE_SCREEN",), "AUDIT-C:WOMEN"),
        ("F", 3, "positive", ("POSITIVE_SCREEN",), "AUDIT-C:WOMEN"),
        (None, 0, "negative", (), "AUDIT-C:UNSPECIFIED"),
        (None, 2, "negative", (), "AUDIT-C:UNSPECIFIED"),
        (None, 3, "positive", ("POSITIVE_SCREEN_WOMEN",), "AUDIT-C:UNSPECIFIED"),
        (None, 4, "positive", ("POSITIVE_SCREEN_MEN", "POSITIVE_SCREEN_WOMEN"), "AUDIT-C:UNSPECIFIED"),
        (None, 12, "positive", ("POSITIVE_SCREEN_MEN", "POSITIVE_SCREEN_WOMEN"), "AUDIT-C:UNSPECIFIED"),
    ],
)
def test_it_applies_the_audit_c_cut_off_for_the_patients_sex(sex, total, band, flags, band_set):
    result = score("AUDIT-C", answers_for_total("AUDIT-C", total), sex=sex)
    assert (result.total, result.band, result.flags, result.band_set) == (total, band, flags, band_set)


@pytest.mark.parametrize("sex", ["other", 1, True, "x"])
def test_it_rejects_an_unrecognised_sex(sex):
    with raises_on("sex", "sex must be"):
        score("AUDIT-C", [0, 0, 0], sex=sex)


def test_it_ignores_sex_for_instruments_that_do_not_use_it():
    assert score("GAD-7", [0] * 7, sex="female") == score("GAD-7", [0] * 7)


# --- DAST-10 ----------------------------------------------------------------------------


def test_it_scores_an_all_no_dast10_sheet_as_1():
    result = score("DAST-10", [False] * 10)
    assert (result.total, result.band) == (1, "low")
    assert result.item_scores == (0, 0, 1, 0, 0, 0, 0, 0, 0, 0)


def test_it_scores_an_all_yes_dast10_sheet_as_9():
    result = score("DAST-10", [True] * 10)
    assert (result.total, result.band) == (9, "severe")
    assert result.item_scores == (1, 1, 0, 1, 1, 1, 1, 1, 1, 1)


@pytest.mark.parametrize(
    ("total", "band", "action"),
    [
        (0, "none", "None"),
        (1, "low", "Monitor"),
        (2, "low", "Monitor"),
        (3, "moderate", "Further investigation"),
        (5, "moderate", "Further investigation"),
        (6, "substantial", "Intensive assessment"),
        (8, "substantial", "Intensive assessment"),
        (9, "severe", "Intensive assessment"),
        (10, "severe", "Intensive assessment"),
    ],
)
def test_it_bands_dast10_with_a_suggested_action(total, band, action):
    result = score("DAST-10", dast_answers(total))
    assert (result.total, result.band, result.action, result.band_set) == (total, band, action, "DAST-10:SKINNER-1982")
    assert result.flags == ()


# --- CIWA-Ar ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "mild"), (9, "mild"), (10, "moderate"), (18, "moderate"), (19, "severe"), (67, "severe")],
)
def test_it_bands_ciwa_ar_with_the_asam_default(total, band):
    result = score("CIWA-Ar", answers_for_total("CIWA-Ar", total))
    assert (result.total, result.band, result.band_set) == (total, band, "CIWA-Ar:ASAM-2020")


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (9, "minimal"), (10, "moderate"), (15, "moderate"), (16, "severe"), (67, "severe")],
)
def test_it_offers_the_sullivan_ciwa_ar_bands(total, band):
    result = score("CIWA-Ar", answers_for_total("CIWA-Ar", total), band_set="CIWA-Ar:SULLIVAN-1989")
    assert (result.band, result.band_set) == (band, "CIWA-Ar:SULLIVAN-1989")


def test_it_caps_ciwa_ar_at_67_with_orientation_scored_0_to_4():
    assert score("CIWA-Ar", [7] * 9 + [4]).total == 67


# --- COWS -------------------------------------------------------------------------------


def test_it_allows_exactly_the_published_cows_values():
    assert [item.allowed_values for item in INSTRUMENTS["COWS"].items] == [
        (0, 1, 2, 4),
        (0, 1, 2, 3, 4),
        (0, 1, 3, 5),
        (0, 1, 2, 5),
        (0, 1, 2, 4),
        (0, 1, 2, 4),
        (0, 1, 2, 3, 5),
        (0, 1, 2, 4),
        (0, 1, 2, 4),
        (0, 1, 2, 4),
        (0, 3, 5),
    ]


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (12, "mild"),
        (13, "moderate"),
        (24, "moderate"),
        (25, "moderately_severe"),
        (36, "moderately_severe"),
        (37, "severe"),
        (48, "severe"),
    ],
)
def test_it_bands_cows_at_every_edge(total, band):
    result = score("COWS", answers_for_total("COWS", total))
    assert (result.total, result.band, result.band_set) == (total, band, "COWS:WESSON-LING-2003")


def test_it_reaches_48_on_cows_with_every_maximum():
    assert score("COWS", [4, 4, 5, 5, 4, 4, 5, 4, 4, 4, 5]).total == 48


# --- C-SSRS -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "risk", "flags"),
    [
        (cssrs(), "none", ()),
        (cssrs(q1=True), "low", ()),
        (cssrs(q2=True), "low", ()),
        (cssrs(q1=True, q2=True), "low", ()),
        (cssrs(q2=True, q3=True), "moderate", ("SAFETY_ALERT",)),
        (cssrs(q6=True, recent=False), "moderate", ("SAFETY_ALERT",)),
        (cssrs(q1=True, q6=True, recent=False), "moderate", ("SAFETY_ALERT",)),
        (cssrs(q2=True, q4=True), "high", ("IMMINENT_DANGER", "SAFETY_ALERT")),
        (cssrs(q2=True, q5=True), "high", ("IMMINENT_DANGER", "SAFETY_ALERT")),
        (cssrs(q6=True, recent=True), "high", ("IMMINENT_DANGER", "SAFETY_ALERT")),
        (cssrs(q2=True, q3=True, q6=True, recent=True), "high", ("IMMINENT_DANGER", "SAFETY_ALERT")),
        (cssrs(q2=True, q3=True, q4=True, q5=True, q6=True, recent=False), "high", ("IMMINENT_DANGER", "SAFETY_ALERT")),
    ],
)
def test_it_triages_the_cssrs_screener_highest_level_first(answers, risk, flags):
    result = score("C-SSRS", answers)
    assert (result.total, result.band, result.flags) == (None, risk, flags)
    assert result.band_set == "C-SSRS:SCREENER-TRIAGE"
    assert result.item_scores == tuple(int(a is True) for a in answers)


@pytest.mark.parametrize(
    ("answers", "field", "fragment"),
    [
        # A No where the flow skips is what the skip scores (DOMAIN.md 4.8 "None: all No"), so
        # only a Yes there contradicts the flow (test_domain_audit_instruments.py).
        ([True, False, True, None, None, False, None], "item_3", "item 2 was answered No"),
        ([True, False, None, None, True, False, None], "item_5", "must be left blank"),
        ([False, True, False, False, False, False, True], "item_6_recent", "item 6 was answered No"),
        ([False, False, None, None, None, False, True], "item_6_recent", "Item 6-recent (answer 7)"),
    ],
)
def test_it_rejects_cssrs_answers_the_flow_should_have_skipped(answers, field, fragment):
    with raises_on(field, fragment, "skip logic"):
        score("C-SSRS", answers)


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ([None, False, None, None, None, False, None], "item_1"),
        ([False, None, None, None, None, False, None], "item_2"),
        ([False, True, None, False, False, False, None], "item_3"),
        ([False, True, False, False, None, False, None], "item_5"),
        ([False, False, None, None, None, None, None], "item_6"),
        ([False, False, None, None, None, True, None], "item_6_recent"),
    ],
)
def test_it_rejects_cssrs_questions_the_flow_requires_but_are_blank(answers, field):
    with raises_on(field, "missing answer"):
        score("C-SSRS", answers)


# --- BAM --------------------------------------------------------------------------------


def test_it_lays_out_bam_answers_as_items_1_to_6_then_7a_to_7g_then_8_to_17():
    assert [item.number for item in INSTRUMENTS["BAM"].items] == [
        *"123456",
        "7A",
        "7B",
        "7C",
        "7D",
        "7E",
        "7F",
        "7G",
        *(str(n) for n in range(8, 18)),
    ]


def test_it_computes_bam_subscales_from_their_items_only():
    answers = bam(
        **{"1": 1, "2": 2, "3": 3, "4": 4, "5": 3, "6": 2, "8": 4, "11": 1, "15": 2},
        **{"9": 1, "10": 2, "12": 3, "13": 4, "14": 4, "16": 1},
        **{"7A": 4, "7B": 4, "7C": 4, "7D": 4, "7E": 4, "7F": 4, "7G": 4, "17": 4},
    )
    result = score("BAM", answers)
    assert result.total is None and result.band == ""
    assert result.subscales == {"use": 9, "risk": 13, "protective": 15}
    assert result.flags == ("USE_FLAG", "RISK_FLAG")
    assert result.band_set == "BAM:VA-DEFAULT"
    assert result.item_scores == tuple(answers)


def test_it_scores_skipped_bam_items_as_zero():
    result = score("BAM", bam(**{"13": 4, "14": 4, "16": 4, "10": 1}))
    assert result.subscales == {"use": 0, "risk": 0, "protective": 13}
    assert result.item_scores[BAM_LAYOUT.index("5")] == 0
    assert result.flags == ()


@pytest.mark.parametrize(
    ("by_number", "flag", "expected"),
    [
        ({"16": 4, "13": 4, "14": 4, "10": 1}, "USE_FLAG", False),
        ({"16": 4, "13": 4, "14": 4, "10": 1, "4": 1, "5": 0}, "USE_FLAG", True),
        (
            {
                "16": 4,
                "13": 4,
                "14": 4,
                "10": 1,
                "6": 1,
                **dict.fromkeys(["7A", "7B", "7C", "7D", "7E", "7F", "7G"], 0),
            },
            "USE_FLAG",
            True,
        ),
        ({"1": 4, "2": 4, "3": 3}, "RISK_FLAG", False),
        ({"1": 4, "2": 4, "3": 4}, "RISK_FLAG", True),
        ({"9": 4, "10": 4, "12": 4}, "PROTECTIVE_FLAG", True),
        ({"9": 4, "10": 4, "12": 4, "13": 1}, "PROTECTIVE_FLAG", False),
        ({"14": 4, "16": 4, "13": 4}, "PROTECTIVE_FLAG", True),
    ],
)
def test_it_raises_bam_flags_at_the_default_thresholds(by_number, flag, expected):
    assert (flag in score("BAM", bam(**by_number)).flags) is expected


def test_it_accepts_custom_bam_thresholds():
    strict = BamThresholds("BAM:PROGRAM", use_flag_min=2, risk_flag_min=4, protective_flag_max=-1)
    result = score("BAM", bam(**{"1": 4, "4": 1, "5": 0}), band_set=strict)
    assert result.flags == ("RISK_FLAG",)
    assert result.band_set == "BAM:PROGRAM"


@pytest.mark.parametrize(
    ("by_number", "field", "fragment"),
    [
        # 0 on a skipped item is what the skip scores (DOMAIN.md 4.9 "score it 0"): accepted.
        ({"4": 0, "5": 1}, "item_5", "item 4 is 0"),
        ({"4": 0, "5": 2}, "item_5", "Item 5: must be left blank"),
        ({"6": 0, "7C": 1}, "item_7c", "Item 7C (answer 9): must be left blank"),
        ({"6": 0, "7G": 4}, "item_7g", "item 6 is 0"),
    ],
)
def test_it_rejects_bam_answers_the_skip_logic_should_have_skipped(by_number, field, fragment):
    with raises_on(field, fragment):
        score("BAM", bam(**by_number))


@pytest.mark.parametrize(
    ("by_number", "field"),
    [
        ({"4": 1, "5": None}, "item_5"),
        ({"6": 2, "7A": None, **dict.fromkeys(["7B", "7C", "7D", "7E", "7F", "7G"], 0)}, "item_7a"),
        ({"6": 2, "7G": None}, "item_7g"),
        ({"4": None}, "item_4"),
        ({"17": None}, "item_17"),
    ],
)
def test_it_rejects_bam_items_left_blank_without_a_skip(by_number, field):
    with raises_on(field, "missing answer"):
        score("BAM", bam(**by_number))


@pytest.mark.parametrize("value", [1, 2, 3])
def test_it_allows_only_no_or_yes_codes_for_bam_income(value):
    with raises_on("item_14", "Item 14 (answer 20)", "(allowed: 0, 4)"):
        score("BAM", bam(**{"14": value}))


@pytest.mark.parametrize(
    ("days", "code"),
    [(0, 0), (1, 1), (3, 1), (4, 2), (8, 2), (9, 3), (15, 3), (16, 4), (30, 4)],
)
def test_it_codes_bam_day_counts(days, code):
    assert bam_days_to_score(days) == code


@pytest.mark.parametrize("days", [-1, 31, True, 2.0, "3", None])
def test_it_rejects_bam_day_counts_outside_0_to_30(days):
    with pytest.raises(ValidationError):
        bam_days_to_score(days)


# --- URICA ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pc", "c", "a", "m", "readiness", "stage"),
    [
        (5, 1, 1, 1, -2.0, "precontemplation"),
        (3, 3, 3, 3, 6.0, "precontemplation"),
        (2, 4, 4, 4, 10.0, "precontemplation"),
        (1, 4, 4, 4, 11.0, "contemplation"),
        (2, 5, 5, 5, 13.0, "action"),
        (1, 5, 5, 5, 14.0, "action"),
    ],
)
def test_it_scores_urica_readiness_and_nearest_stage(pc, c, a, m, readiness, stage):
    result = score("URICA", urica(pc, c, a, m))
    assert (result.total, result.band, result.band_set) == (readiness, stage, "URICA:MA-ATTC")
    assert result.subscales == {
        "precontemplation": float(pc),
        "contemplation": float(c),
        "action": float(a),
        "maintenance": float(m),
    }


def test_it_keeps_urica_means_and_readiness_exact():
    # DOMAIN.md 4.10 gives the formula and no rounding: readiness = C + A + M - PC (means).
    answers = urica(1, 4, 4, 4)
    answers[0] = 3  # PC item 1: PC mean 9/7 = 1.2857...
    answers[1] = 5  # C item 2: C mean 29/7 = 4.1428...
    result = score("URICA", answers)
    assert result.subscales["precontemplation"] == float(Fraction(9, 7))
    assert result.subscales["contemplation"] == float(Fraction(29, 7))
    assert result.total == float(Fraction(29, 7) + 8 - Fraction(9, 7)) == float(Fraction(76, 7))  # 10.857...
    assert result.band == "contemplation"


@pytest.mark.parametrize("unscored", [1, 5])
def test_it_validates_but_ignores_urica_items_4_9_20_31(unscored):
    result = score("URICA", urica(2, 4, 4, 4, unscored=unscored))
    assert result.total == 10.0
    assert [result.item_scores[n - 1] for n in (4, 9, 20, 31)] == [0, 0, 0, 0]


@pytest.mark.parametrize(
    ("readiness", "stage"),
    [
        (Fraction(203, 20), "contemplation"),  # 10.15: exactly halfway, goes up
        ("10.15", "contemplation"),
        (10.15, "contemplation"),
        (Decimal("10.1499"), "precontemplation"),
        (10.14, "precontemplation"),
        (9.3, "precontemplation"),
        (11, "contemplation"),
        (Fraction(59, 5), "action"),  # 11.8: exactly halfway, goes up
        (11.8, "action"),
        (11.79, "contemplation"),
        (12.6, "action"),
        (-2, "precontemplation"),
        (14, "action"),
    ],
)
def test_it_breaks_urica_stage_ties_toward_the_higher_stage(readiness, stage):
    assert urica_stage(readiness) == stage


@pytest.mark.parametrize("readiness", [True, None, "high", float("nan"), float("inf")])
def test_it_rejects_a_non_numeric_urica_readiness(readiness):
    with pytest.raises(ValidationError):
        urica_stage(readiness)


# --- Readiness ruler --------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 10])
def test_it_stores_the_readiness_ruler_value_without_a_band(value):
    result = score("READINESS-RULER", [value])
    assert (result.total, result.band, result.band_label, result.flags) == (value, "", "", ())


# --- Band set selection -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "band_set"),
    [
        ("PHQ-9", "AUDIT:WHO"),
        ("AUDIT", "AUDIT:NOPE"),
        ("CIWA-Ar", "COWS:WESSON-LING-2003"),
        ("BAM", "PHQ-9:2001"),
        ("PHQ-9", 10),
    ],
)
def test_it_rejects_a_band_set_that_does_not_belong_to_the_instrument(code, band_set):
    with raises_on("band_set"):
        score(code, baseline(code), band_set=band_set)


def test_it_rejects_a_custom_band_set_for_another_instrument():
    with raises_on("band_set", "does not apply"):
        score("GAD-7", [0] * 7, band_set=BAND_SETS["PHQ-9:2001"])


def test_it_rejects_a_custom_band_set_that_does_not_cover_the_range():
    partial = BandSet("GAD-7:PARTIAL", "GAD-7", (Band(0, 9, "low", "Low"),))
    with raises_on("band_set", "must cover"):
        score("GAD-7", [0] * 7, band_set=partial)


@pytest.mark.parametrize(
    "bands",
    [
        (Band(0, 4, "a", "A"), Band(6, 27, "b", "B")),  # gap
        (Band(0, 5, "a", "A"), Band(5, 27, "b", "B")),  # overlap
        (Band(4, 0, "a", "A"),),  # reversed
        (),
    ],
)
def test_it_refuses_to_build_a_band_set_with_gaps_or_overlaps(bands):
    with pytest.raises(ValidationError):
        BandSet("PHQ-9:BAD", "PHQ-9", bands)
