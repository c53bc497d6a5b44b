"""IOP-RS-1 placement rules (DOMAIN.md §3.1). Pure Python: no database."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from django.core.exceptions import ValidationError

from assessments.placement import (
    IOP_FIT_CHOICES,
    IOP_RS_1,
    LEVELS,
    OVERRIDE_REASONS,
    RULES,
    Recommendation,
    describe_rule,
    normalize_ratings,
    recommend,
    suggest_d1_from_ciwa,
    suggest_d1_from_cows,
    suggest_d6_from_housing,
)


def ratings(**overrides: int) -> dict[int, int]:
    """All six dimensions at 0 unless overridden, e.g. ratings(d5=3)."""
    values = dict.fromkeys(range(1, 7), 0)
    values.update({int(key[1:]): value for key, value in overrides.items()})
    return values


# --- Ratings validation -----------------------------------------------------------------


@pytest.mark.parametrize("dimension", range(1, 7))
def test_it_requires_all_six_dimensions(dimension):
    given = ratings()
    del given[dimension]
    with pytest.raises(ValidationError) as info:
        recommend(given)
    assert info.value.message_dict == {
        f"D{dimension}": [f"D{dimension}: rating is required (all six dimensions must be rated)."]
    }


@pytest.mark.parametrize("dimension", range(1, 7))
@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (-1, "rating -1 is out of range (0-4)"),
        (5, "rating 5 is out of range (0-4)"),
        (True, "must be a whole number 0-4, got True"),
        (False, "must be a whole number 0-4, got False"),
        (2.0, "must be a whole number 0-4, got 2.0"),
        ("2", "must be a whole number 0-4, got '2'"),
        (None, "rating is required"),
    ],
)
def test_it_rejects_a_bad_rating_naming_the_dimension(dimension, value, fragment):
    given = ratings()
    given[dimension] = value
    with pytest.raises(ValidationError) as info:
        recommend(given)
    errors = info.value.message_dict
    assert list(errors) == [f"D{dimension}"]
    assert errors[f"D{dimension}"][0].startswith(f"D{dimension}: ")
    assert fragment in errors[f"D{dimension}"][0]


@pytest.mark.parametrize("key", [0, 7, "D7", "D0", "X", "", True, 1.0, None])
def test_it_rejects_an_unknown_dimension_key(key):
    # Build without D1: True and 1.0 hash like 1 and would otherwise just overwrite it.
    given: dict = {key: 1, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0}
    with pytest.raises(ValidationError) as info:
        recommend(given)
    assert "Unknown dimension" in info.value.message_dict["ratings"][0]


@pytest.mark.parametrize(
    "given",
    [
        {"1": 0, "2": 0, "3": 0, "4": 0, "5": 2, "6": 0},
        {"D1": 0, "D2": 0, "D3": 0, "D4": 0, "D5": 2, "D6": 0},
        {"d1": 0, "d2": 0, "d3": 0, "d4": 0, "d5": 2, "d6": 0},
        {1: 0, "2": 0, "D3": 0, 4: 0, "d5": 2, 6: 0},
    ],
)
def test_it_accepts_int_digit_string_and_d_prefixed_keys(given):
    result = recommend(given)
    assert result.ratings == ratings(d5=2)
    assert result.treatment_level == "2.1"


def test_it_rejects_a_dimension_given_twice():
    given: dict = ratings()
    given["D3"] = 1
    with pytest.raises(ValidationError) as info:
        recommend(given)
    assert "D3: rated more than once" in info.value.message_dict["D3"][0]


@pytest.mark.parametrize("given", [[0, 0, 0, 0, 0, 0], "000000", None])
def test_it_rejects_ratings_that_are_not_a_mapping(given):
    with pytest.raises(ValidationError):
        recommend(given)


@pytest.mark.parametrize("flag", [1, 0, "yes", None])
def test_it_requires_imminent_danger_to_be_a_bool(flag):
    with pytest.raises(ValidationError) as info:
        recommend(ratings(), imminent_danger=flag)
    assert "imminent_danger" in info.value.message_dict


def test_it_normalizes_ratings_in_dimension_order():
    assert list(normalize_ratings({"D6": 1, 5: 1, "4": 1, 3: 1, 2: 1, "d1": 1})) == [1, 2, 3, 4, 5, 6]


# --- 1. Safety gate ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "imminent_danger"),
    [
        (ratings(), True),
        (ratings(d3=4), False),
        (ratings(d3=4), True),
        (ratings(d1=3, d3=4), False),
        (ratings(d1=4, d2=4, d5=4, d6=4), True),
        (ratings(d2=2, d3=2, d4=2, d5=2, d6=2), True),
    ],
)
def test_it_sends_imminent_danger_or_d3_of_4_to_emergency_evaluation(given, imminent_danger):
    result = recommend(given, imminent_danger=imminent_danger)
    assert result.iop_fit == "EMERGENCY"
    assert (result.treatment_level, result.treatment_level_4th) == ("4", "4.0")
    assert (result.withdrawal_step, result.withdrawal_step_4th) == (None, None)
    assert result.rules_fired == ("SAFETY_GATE",)
    # DOMAIN.md §3.1 rule 1: "result = EMERGENCY_EVAL"; D3 = 4 sets the imminent_danger flag.
    assert result.flags == ("EMERGENCY_EVAL", "IMMINENT_DANGER")
    assert result.imminent_danger is True


def test_it_does_not_fire_the_safety_gate_at_d3_of_3():
    result = recommend(ratings(d3=3))
    assert result.iop_fit != "EMERGENCY"
    assert "SAFETY_GATE" not in result.rules_fired


# --- 2. Withdrawal gate -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("d1", "step", "step_4th", "rule"),
    [
        (0, None, None, None),
        (1, None, None, None),
        (2, "2-WM", "2.7", "WM_GATE:D1=2"),
        (3, "3.7-WM", "3.7", "WM_GATE:D1=3"),
        (4, "4-WM", "4.0", "WM_GATE:D1=4"),
    ],
)
def test_it_attaches_a_withdrawal_step_from_d1(d1, step, step_4th, rule):
    result = recommend(ratings(d1=d1, d5=2))
    assert (result.withdrawal_step, result.withdrawal_step_4th) == (step, step_4th)
    assert result.treatment_level == "2.1"  # D1 never changes the treatment level
    assert result.iop_fit == ("DEFER_FOR_WM" if step else "IOP")
    assert (rule in result.rules_fired) if rule else not any(r.startswith("WM_GATE") for r in result.rules_fired)


@pytest.mark.parametrize("given", [ratings(d1=2), ratings(d1=3, d2=3), ratings(d1=2, d5=4)])
def test_it_defers_for_withdrawal_management_whatever_the_treatment_level(given):
    assert recommend(given).iop_fit == "DEFER_FOR_WM"


# --- 3. Dimensional floors --------------------------------------------------------------

FLOOR_TABLE = {
    2: {0: "1", 1: "1", 2: "2.1", 3: "3.7", 4: "4"},
    3: {0: "1", 1: "1", 2: "2.1", 3: "3.5"},
    4: {0: "1", 1: "1", 2: "2.1", 3: "2.1", 4: "2.1"},
    5: {0: "1", 1: "1", 2: "2.1", 3: "2.5", 4: "3.5"},
    6: {0: "1", 1: "1", 2: "2.1", 3: "3.1", 4: "3.5"},
}


@pytest.mark.parametrize(
    ("dimension", "rating", "level"),
    [(d, r, level) for d, row in FLOOR_TABLE.items() for r, level in row.items()],
)
def test_it_applies_every_floor_cell(dimension, rating, level):
    result = recommend(ratings(**{f"d{dimension}": rating}))
    assert result.treatment_level == level
    floor_rules = [r for r in result.rules_fired if r.startswith("FLOOR:")]
    assert floor_rules == ([f"FLOOR:D{dimension}={rating}->{level}"] if rating >= 2 else [])
    assert "MULTIDIMENSIONAL_INSTABILITY" not in result.rules_fired


def test_it_ships_the_floor_table_from_the_specification():
    assert {d: dict(row) for d, row in IOP_RS_1.floors.items()} == FLOOR_TABLE


@pytest.mark.parametrize("d4", [3, 4])
def test_it_never_raises_the_level_above_2_1_for_low_readiness_alone(d4):
    result = recommend(ratings(d4=d4))
    assert (result.treatment_level, result.iop_fit) == ("2.1", "IOP")
    assert result.flags == ("MOTIVATIONAL_ENHANCEMENT",)


@pytest.mark.parametrize("d4", [0, 1, 2])
def test_it_does_not_flag_motivational_enhancement_below_d4_of_3(d4):
    assert recommend(ratings(d4=d4)).flags == ()


def test_it_keeps_the_motivational_flag_when_another_floor_sets_the_level():
    result = recommend(ratings(d4=4, d6=3))
    assert result.treatment_level == "3.1"
    assert result.flags == ("MOTIVATIONAL_ENHANCEMENT",)


def test_it_gives_2_5_for_d5_of_3_without_the_instability_rule():
    result = recommend(ratings(d5=3))
    assert (result.treatment_level, result.treatment_level_4th, result.iop_fit) == ("2.5", "2.5", "STEP_UP")
    assert result.rules_fired == ("FLOOR:D5=3->2.5",)


@pytest.mark.parametrize(
    ("overrides", "level"),
    [
        ({"d2": 3, "d6": 3}, "3.7"),
        ({"d5": 3, "d6": 3}, "3.1"),
        ({"d3": 3, "d5": 4}, "3.5"),
        ({"d5": 3, "d4": 4}, "2.5"),
        ({"d2": 4, "d3": 3}, "4"),
        ({"d2": 1, "d3": 1, "d4": 1, "d5": 1, "d6": 1}, "1"),
    ],
)
def test_it_takes_the_highest_floor(overrides, level):
    assert recommend(ratings(**overrides)).treatment_level == level


def test_it_lists_each_fired_floor_in_dimension_order():
    result = recommend(ratings(d6=3, d2=2, d5=3))
    assert result.rules_fired == ("FLOOR:D2=2->2.1", "FLOOR:D5=3->2.5", "FLOOR:D6=3->3.1")


# --- 4. Multidimensional instability ----------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "level", "unstable"),
    [
        ({"d2": 2, "d3": 2, "d4": 2}, "2.1", False),  # exactly 3 dimensions >= 2
        ({"d3": 2, "d5": 2, "d6": 2}, "2.1", False),
        ({"d2": 2, "d3": 2, "d4": 2, "d5": 2}, "2.5", True),  # exactly 4
        ({"d3": 2, "d4": 2, "d5": 2, "d6": 2}, "2.5", True),
        ({"d2": 2, "d3": 2, "d4": 2, "d5": 2, "d6": 2}, "2.5", True),  # all 5
        ({"d2": 2, "d3": 2, "d4": 4, "d5": 2}, "2.5", True),  # low readiness counts as >= 2
        ({"d2": 2, "d3": 2, "d4": 2, "d5": 1, "d6": 1}, "2.1", False),  # ratings of 1 do not count
        ({"d1": 3, "d2": 2, "d3": 2, "d4": 2}, "2.1", False),  # D1 does not count
    ],
)
def test_it_raises_2_1_to_2_5_when_four_or_more_dimensions_are_unstable(overrides, level, unstable):
    result = recommend(ratings(**overrides))
    assert result.treatment_level == level
    assert ("MULTIDIMENSIONAL_INSTABILITY" in result.rules_fired) is unstable


@pytest.mark.parametrize(
    ("overrides", "level"),
    [
        ({"d2": 2, "d3": 2, "d4": 2, "d5": 3}, "2.5"),  # already 2.5 from the D5 floor
        ({"d2": 2, "d3": 2, "d4": 2, "d6": 3}, "3.1"),
        ({"d2": 3, "d3": 2, "d4": 2, "d5": 2, "d6": 2}, "3.7"),
    ],
)
def test_it_applies_the_instability_rule_only_to_a_level_of_2_1(overrides, level):
    result = recommend(ratings(**overrides))
    assert result.treatment_level == level
    assert "MULTIDIMENSIONAL_INSTABILITY" not in result.rules_fired


def test_it_records_instability_after_the_floors():
    result = recommend(ratings(d2=2, d3=2, d4=2, d5=2))
    assert result.rules_fired[-1] == "MULTIDIMENSIONAL_INSTABILITY"
    assert result.iop_fit == "STEP_UP"


# --- 5. Output: 4th edition and IOP fit -------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "level", "level_4th"),
    [
        ({}, "1", "1.5"),
        ({"d5": 2}, "2.1", "2.1"),
        ({"d5": 3}, "2.5", "2.5"),
        ({"d6": 3}, "3.1", "3.1"),
        ({"d6": 4}, "3.5", "3.5"),
        ({"d2": 3}, "3.7", "3.7"),
        ({"d2": 4}, "4", "4.0"),
    ],
)
def test_it_maps_every_level_to_4th_edition_numbering(overrides, level, level_4th):
    result = recommend(ratings(**overrides))
    assert (result.treatment_level, result.treatment_level_4th) == (level, level_4th)


@pytest.mark.parametrize(
    ("overrides", "iop_fit"),
    [
        ({}, "STEP_DOWN"),
        ({"d2": 1, "d6": 1}, "STEP_DOWN"),
        ({"d6": 2}, "IOP"),
        ({"d4": 3}, "IOP"),
        ({"d5": 3}, "STEP_UP"),
        ({"d2": 4}, "STEP_UP"),
        ({"d1": 2, "d5": 2}, "DEFER_FOR_WM"),
        ({"d1": 1, "d5": 2}, "IOP"),
    ],
)
def test_it_reports_how_the_recommendation_fits_iop(overrides, iop_fit):
    assert recommend(ratings(**overrides)).iop_fit == iop_fit


def test_it_returns_a_frozen_recommendation_with_a_json_ready_dict():
    result = recommend({"D1": 2, "D2": 0, "D3": 1, "D4": 3, "D5": 2, "D6": 0})
    assert isinstance(result, Recommendation)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.treatment_level = "4"  # type: ignore[misc]
    assert result.to_dict() == {
        "rule_set": "IOP-RS-1",
        "ratings": {"D1": 2, "D2": 0, "D3": 1, "D4": 3, "D5": 2, "D6": 0},
        "imminent_danger": False,
        "withdrawal_step": "2-WM",
        "withdrawal_step_4th": "2.7",
        "treatment_level": "2.1",
        "treatment_level_4th": "2.1",
        "iop_fit": "DEFER_FOR_WM",
        "rules_fired": ["WM_GATE:D1=2", "FLOOR:D4=3->2.1", "FLOOR:D5=2->2.1"],
        "explanations": [RULES["WM_GATE:D1=2"], RULES["FLOOR:D4=3->2.1"], RULES["FLOOR:D5=2->2.1"]],
        "flags": ["MOTIVATIONAL_ENHANCEMENT"],
    }


def test_it_holds_consistent_invariants_over_every_rating_profile():
    fits = {code for code, _ in IOP_FIT_CHOICES}
    for profile in itertools.product(range(5), repeat=6):
        given = dict(zip(range(1, 7), profile, strict=True))
        result = recommend(given)
        assert result.rule_set == "IOP-RS-1"
        assert result.iop_fit in fits
        assert all(rule_id in RULES for rule_id in result.rules_fired)
        if given[3] == 4:
            assert result.iop_fit == "EMERGENCY"
            continue
        floors = [FLOOR_TABLE[d][given[d]] for d in range(2, 7)]
        highest = max(floors, key=LEVELS.index)
        unstable = sum(given[d] >= 2 for d in range(2, 7)) >= 4
        expected = "2.5" if highest == "2.1" and unstable else highest
        assert result.treatment_level == expected, given
        assert (result.withdrawal_step is None) is (given[1] <= 1)
        assert ("MOTIVATIONAL_ENHANCEMENT" in result.flags) is (given[4] >= 3)


# --- Rule texts and override reasons ----------------------------------------------------


@pytest.mark.parametrize(
    "rule_id",
    ["SAFETY_GATE", "WM_GATE:D1=3", "FLOOR:D5=3->2.5", "FLOOR:D4=4->2.1", "MULTIDIMENSIONAL_INSTABILITY"],
)
def test_it_has_human_text_for_fired_rules(rule_id):
    assert describe_rule(rule_id) == RULES[rule_id]
    assert len(RULES[rule_id]) > 20


def test_it_falls_back_to_the_base_rule_text_for_an_unlisted_detail():
    assert describe_rule("FLOOR:D9=9->9") == RULES["FLOOR"]


def test_it_offers_the_override_reason_codes():
    assert OVERRIDE_REASONS == (
        ("LEVEL_NOT_AVAILABLE", "Level not available"),
        ("PATIENT_PREFERENCE", "Patient preference"),
        ("PAYER_DECISION", "Payer decision"),
        ("CLINICAL_JUDGMENT", "Clinical judgment"),
        ("WAITLIST", "Waitlist"),
        ("GEOGRAPHY/TRANSPORT", "Geography/transport"),  # DOMAIN.md §3.1 rule 6 spelling
        ("LEGAL_MANDATE", "Legal mandate"),
        ("OTHER", "Other"),
    )


# --- Decision-support helpers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "history", "current", "d1"),
    [
        (0, False, False, 0),
        (1, False, False, 1),
        (9, False, False, 1),
        (10, False, False, 2),
        (18, False, False, 2),
        (19, False, False, 3),
        (67, False, False, 3),
        (5, True, False, 3),
        (12, True, False, 3),
        (0, False, True, 4),
        (25, True, True, 4),
    ],
)
def test_it_suggests_d1_from_ciwa_ar(total, history, current, d1):
    assert suggest_d1_from_ciwa(total, complicated_history=history, current_delirium_or_seizure=current) == d1


@pytest.mark.parametrize(
    ("total", "d1"),
    [(0, 0), (4, 0), (5, 1), (12, 1), (13, 2), (24, 2), (25, 3), (48, 3)],
)
@pytest.mark.parametrize("on_stable_moud", [True, False])
def test_it_suggests_d1_from_cows(total, d1, on_stable_moud):
    assert suggest_d1_from_cows(total, on_stable_moud=on_stable_moud) == d1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: suggest_d1_from_ciwa(68), "total"),
        (lambda: suggest_d1_from_ciwa(-1), "total"),
        (lambda: suggest_d1_from_ciwa(True), "total"),
        (lambda: suggest_d1_from_ciwa(9.5), "total"),
        (lambda: suggest_d1_from_ciwa(5, complicated_history="no"), "complicated_history"),
        (lambda: suggest_d1_from_ciwa(5, current_delirium_or_seizure=1), "current_delirium_or_seizure"),
        (lambda: suggest_d1_from_cows(49), "total"),
        (lambda: suggest_d1_from_cows(False), "total"),
        (lambda: suggest_d1_from_cows(5, on_stable_moud=None), "on_stable_moud"),
        (lambda: suggest_d6_from_housing(no_stable_housing=1), "no_stable_housing"),
    ],
)
def test_it_rejects_bad_decision_support_inputs(call, field):
    with pytest.raises(ValidationError) as info:
        call()
    assert field in info.value.message_dict


@pytest.mark.parametrize(
    ("facts", "d6"),
    [
        ({}, None),
        ({"no_stable_housing": True}, 3),
        ({"others_use_at_home": True}, 3),
        ({"unsafe_home_without_alternative": True}, 4),
        ({"no_stable_housing": True, "unsafe_home_without_alternative": True}, 4),
    ],
)
def test_it_suggests_d6_from_housing_facts(facts, d6):
    assert suggest_d6_from_housing(**facts) == d6
