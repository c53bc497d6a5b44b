"""IOP-RS-1: the open, versioned level-of-care rule set the product ships by default.

Pure Python (no models). ``recommend(ratings, imminent_danger=False)`` turns six
3rd-edition-style dimensional risk ratings into a recommendation and records which rules
fired, so a reviewer can see exactly why a level was suggested. The rules are our own
(DOMAIN.md §3.1), not ASAM's copyrighted decision matrices; the clinician confirms every
rating and may override the result with a reason code from ``OVERRIDE_REASONS``.

The rules, in order
-------------------
1. Safety gate: ``imminent_danger`` or D3 = 4 -> result ``EMERGENCY_EVAL`` at Level 4 (4th
   edition 4.0), ``iop_fit`` ``EMERGENCY``, flags ``EMERGENCY_EVAL`` and ``IMMINENT_DANGER``
   (D3 = 4 sets the flag, so the output's ``imminent_danger`` is true); nothing else is
   evaluated, so the withdrawal step is None.
2. Withdrawal gate from D1: 0-1 none, 2 -> 2-WM (2.7), 3 -> 3.7-WM (3.7), 4 -> 4-WM (4.0).
3. Floors from D2-D6 (``IOP_RS_1.floors``); the treatment level is the highest floor in
   the order 1 < 2.1 < 2.5 < 3.1 < 3.5 < 3.7 < 4. D4 = 3 or 4 floors at 2.1 only and adds
   the ``MOTIVATIONAL_ENHANCEMENT`` flag: low readiness alone never raises the level.
4. Multidimensional instability: a level of 2.1 with four or more of D2-D6 rated >= 2
   becomes 2.5.
5. 4th-edition numbering: 1 -> 1.5, 4 -> 4.0, others unchanged.
6. Clinician override (enforced by the placement services): an actual level other than the
   recommended one needs a reason code from ``OVERRIDE_REASONS`` and a note; so does plain
   Level 2.1 while a withdrawal step is attached (``holds_back_plain_iop``, rule 2).
7. Recovery residence: "2.1 services plus a recovery residence" is an override with reason
   ``CLINICAL_JUDGMENT`` and a housing plan, allowed only where D6 = 3 is the only reason for a
   level above 2.1 (``recovery_residence_allowed``); never the recommendation itself.

Decisions where DOMAIN.md leaves room
-------------------------------------
* ``iop_fit`` precedence: ``EMERGENCY`` (gate) > ``DEFER_FOR_WM`` (any withdrawal step,
  i.e. D1 >= 2, whatever the treatment level: plain IOP waits until D1 <= 1) >
  ``IOP`` (level 2.1) / ``STEP_DOWN`` (level 1) / ``STEP_UP`` (above 2.1).
* ``rules_fired`` holds stable ids: ``SAFETY_GATE``, ``WM_GATE:D1=<r>``,
  ``FLOOR:D<n>=<r>-><level>`` (only for floors above Level 1; ratings 0-1 fire nothing) and
  ``MULTIDIMENSIONAL_INSTABILITY``. ``RULES`` maps every id (and each base id) to text.
* Ratings are keyed by dimension: ints 1-6, digit strings "1"-"6", or "D1"-"D6". All six
  are required; values must be ints 0-4 (bools rejected). Errors are keyed "D1".."D6".
* The decision-support helpers return a suggested rating only; they never feed
  ``recommend`` automatically. CIWA-Ar 1-9 suggests 1 (the upper end of "D1 <= 1"),
  0 suggests 0. COWS 5-12 suggests 1 with or without stable MOUD (DOMAIN.md only states
  the MOUD case; without MOUD the clinician watches for progression).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from django.core.exceptions import ValidationError

RULE_SET_ID = "IOP-RS-1"
# The id is the version: any change to the rule table ships under a new id, and every placement
# stores the id (and the full recommendation) it was decided with.
RULE_SET_VERSION = RULE_SET_ID
DIMENSIONS = (1, 2, 3, 4, 5, 6)
MIN_RATING, MAX_RATING = 0, 4

# 3rd-edition treatment levels, least to most intensive.
LEVELS: tuple[str, ...] = ("1", "2.1", "2.5", "3.1", "3.5", "3.7", "4")
LEVEL_TO_4TH: Mapping[str, str] = MappingProxyType(
    {"1": "1.5", "2.1": "2.1", "2.5": "2.5", "3.1": "3.1", "3.5": "3.5", "3.7": "3.7", "4": "4.0"}
)
WITHDRAWAL_STEP_TO_4TH: Mapping[str, str] = MappingProxyType({"2-WM": "2.7", "3.7-WM": "3.7", "4-WM": "4.0"})

IOP = "IOP"
STEP_DOWN = "STEP_DOWN"
STEP_UP = "STEP_UP"
DEFER_FOR_WM = "DEFER_FOR_WM"
EMERGENCY = "EMERGENCY"
IOP_FIT_CHOICES: tuple[tuple[str, str], ...] = (
    (IOP, "Fits IOP (Level 2.1)"),
    (STEP_DOWN, "Step down: Level 1 outpatient"),
    (STEP_UP, "Step up: a more intensive level than IOP"),
    (DEFER_FOR_WM, "Withdrawal management first; IOP once D1 <= 1"),
    (EMERGENCY, "Emergency: same-day crisis or psychiatric evaluation"),
)

IMMINENT_DANGER = "IMMINENT_DANGER"
MOTIVATIONAL_ENHANCEMENT = "MOTIVATIONAL_ENHANCEMENT"

OVERRIDE_REASONS: tuple[tuple[str, str], ...] = (
    ("LEVEL_NOT_AVAILABLE", "Level not available"),
    ("PATIENT_PREFERENCE", "Patient preference"),
    ("PAYER_DECISION", "Payer decision"),
    ("CLINICAL_JUDGMENT", "Clinical judgment"),
    ("WAITLIST", "Waitlist"),
    ("GEOGRAPHY/TRANSPORT", "Geography/transport"),
    ("LEGAL_MANDATE", "Legal mandate"),
    ("OTHER", "Other"),
)
"""Reason codes for a clinician override, as Django ``choices`` pairs (DOMAIN.md §3.1 rule 6,
spelled exactly as published, slash included)."""
LEGACY_OVERRIDE_REASONS: Mapping[str, str] = MappingProxyType({"GEOGRAPHY_TRANSPORT": "GEOGRAPHY/TRANSPORT"})
"""Earlier spellings still understood on input, mapped to the DOMAIN.md code."""

EMERGENCY_EVAL = "EMERGENCY_EVAL"
PLAIN_IOP = "2.1"


@dataclass(frozen=True)
class RuleSet:
    """A versioned placement rule table the medical director signs off.

    ``floors[d][r]`` is the minimum level dimension ``d`` (2-6) rated ``r`` sets; a rating
    missing from ``floors[3]`` is handled by the safety gate instead. ``floor_flags``
    attaches a flag to a (dimension, rating) cell.
    """

    id: str
    withdrawal_steps: Mapping[int, str | None]
    floors: Mapping[int, Mapping[int, str]]
    floor_flags: Mapping[tuple[int, int], str] = field(default_factory=dict)
    safety_gate_d3: int = 4
    instability_level: str = "2.1"
    instability_raise_to: str = "2.5"
    instability_min_dimensions: int = 4
    instability_min_rating: int = 2

    def rule_texts(self) -> dict[str, str]:
        """Human text for every rule id this rule set can fire, plus the base ids."""
        texts = {
            "SAFETY_GATE": (
                "Safety gate: imminent danger (C-SSRS high risk, documented homicidal intent) "
                f"or D3 = {self.safety_gate_d3}. Same-day crisis or psychiatric evaluation "
                "(Level 4); IOP is not appropriate now."
            ),
            "WM_GATE": (
                "Withdrawal gate: D1 sets a withdrawal-management step before or alongside "
                "treatment; plain IOP waits until D1 <= 1."
            ),
            "FLOOR": "Dimensional floor: a dimension's rating sets a minimum level of care.",
            "MULTIDIMENSIONAL_INSTABILITY": (
                f"Multidimensional instability: the level was {self.instability_level} and "
                f"{self.instability_min_dimensions} or more of D2-D6 are rated "
                f">= {self.instability_min_rating}, so it is raised to "
                f"{self.instability_raise_to}."
            ),
        }
        for rating, step in self.withdrawal_steps.items():
            if step:
                texts[f"WM_GATE:D1={rating}"] = (
                    f"Withdrawal gate: D1 = {rating} -> {step} "
                    f"(4th edition {WITHDRAWAL_STEP_TO_4TH[step]}); do not admit to plain "
                    "IOP until D1 <= 1."
                )
        for dimension, by_rating in self.floors.items():
            for rating, level in by_rating.items():
                if level == LEVELS[0]:
                    continue  # Level 1 is the baseline, not a fired floor
                text = f"Dimensional floor: D{dimension} = {rating} sets a minimum level of {level}."
                flag = self.floor_flags.get((dimension, rating))
                if flag == MOTIVATIONAL_ENHANCEMENT:
                    text += f" Low readiness alone never raises the level above {level}; flag {flag}."
                texts[_floor_id(dimension, rating, level)] = text
        return texts


def _floor_id(dimension: int, rating: int, level: str) -> str:
    return f"FLOOR:D{dimension}={rating}->{level}"


def _floor_row(low: str, two: str, three: str, four: str | None) -> Mapping[int, str]:
    row = {0: low, 1: low, 2: two, 3: three}
    if four is not None:
        row[4] = four
    return MappingProxyType(row)


IOP_RS_1 = RuleSet(
    id=RULE_SET_ID,
    withdrawal_steps=MappingProxyType({0: None, 1: None, 2: "2-WM", 3: "3.7-WM", 4: "4-WM"}),
    floors=MappingProxyType(
        {
            2: _floor_row("1", "2.1", "3.7", "4"),
            3: _floor_row("1", "2.1", "3.5", None),  # D3 = 4 is the safety gate
            4: _floor_row("1", "2.1", "2.1", "2.1"),
            5: _floor_row("1", "2.1", "2.5", "3.5"),
            6: _floor_row("1", "2.1", "3.1", "3.5"),
        }
    ),
    floor_flags=MappingProxyType({(4, 3): MOTIVATIONAL_ENHANCEMENT, (4, 4): MOTIVATIONAL_ENHANCEMENT}),
)

RULES: dict[str, str] = IOP_RS_1.rule_texts()
"""Rule id -> human text for IOP-RS-1 (every concrete id plus the base ids)."""


def describe_rule(rule_id: str) -> str:
    """Human text for a fired rule id; falls back to its base id's text."""
    return RULES.get(rule_id) or RULES.get(rule_id.split(":")[0], rule_id)


@dataclass(frozen=True)
class Recommendation:
    """The outcome of IOP-RS-1 for one set of ratings. Store it next to the decision."""

    withdrawal_step: str | None
    withdrawal_step_4th: str | None
    treatment_level: str
    treatment_level_4th: str
    iop_fit: str
    rules_fired: tuple[str, ...]
    flags: tuple[str, ...]
    rule_set: str = RULE_SET_ID
    ratings: Mapping[int, int] = field(default_factory=dict)
    imminent_danger: bool = False

    @property
    def explanations(self) -> tuple[str, ...]:
        """Human text for each fired rule, in firing order."""
        return tuple(describe_rule(rule_id) for rule_id in self.rules_fired)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation, with ratings keyed "D1".."D6"."""
        return {
            "rule_set": self.rule_set,
            "ratings": {f"D{d}": r for d, r in sorted(self.ratings.items())},
            "imminent_danger": self.imminent_danger,
            "withdrawal_step": self.withdrawal_step,
            "withdrawal_step_4th": self.withdrawal_step_4th,
            "treatment_level": self.treatment_level,
            "treatment_level_4th": self.treatment_level_4th,
            "iop_fit": self.iop_fit,
            "rules_fired": list(self.rules_fired),
            "explanations": list(self.explanations),
            "flags": list(self.flags),
        }


def _parse_dimension(key: object) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, numbers.Integral):
        return int(key) if int(key) in DIMENSIONS else None
    if isinstance(key, str):
        text = key.strip().upper()
        if text.startswith("D"):
            text = text[1:]
        if text.isdecimal() and int(text) in DIMENSIONS:
            return int(text)
    return None


def normalize_ratings(ratings: Mapping[Any, Any]) -> dict[int, int]:
    """Validate ``ratings`` and return them keyed by dimension number 1-6.

    Guarantees: all six dimensions present exactly once, each an int 0-4. Otherwise raises
    ValidationError keyed "D1".."D6" (or "ratings" for an unknown key) naming the dimension.
    """
    if not isinstance(ratings, Mapping):
        raise ValidationError({"ratings": "Ratings must be a mapping of dimension (1-6) to rating (0-4)."})
    errors: dict[str, list[str]] = {}
    seen: dict[int, object] = {}
    clean: dict[int, int] = {}
    for key, value in ratings.items():
        dimension = _parse_dimension(key)
        if dimension is None:
            errors.setdefault("ratings", []).append(f"Unknown dimension {key!r}: expected 1-6 or 'D1'-'D6'.")
            continue
        label = f"D{dimension}"
        if dimension in seen:
            errors.setdefault(label, []).append(
                f"{label}: rated more than once (keys {seen[dimension]!r} and {key!r})."
            )
            continue
        seen[dimension] = key
        if value is None:
            continue  # reported as missing below
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            errors.setdefault(label, []).append(
                f"{label}: rating must be a whole number {MIN_RATING}-{MAX_RATING}, got {value!r}."
            )
        elif not MIN_RATING <= int(value) <= MAX_RATING:
            errors.setdefault(label, []).append(
                f"{label}: rating {int(value)} is out of range ({MIN_RATING}-{MAX_RATING})."
            )
        else:
            clean[dimension] = int(value)
    for dimension in DIMENSIONS:
        label = f"D{dimension}"
        if dimension not in clean and label not in errors:
            errors[label] = [f"{label}: rating is required (all six dimensions must be rated)."]
    if errors:
        raise ValidationError(errors)
    return dict(sorted(clean.items()))


def recommend(
    ratings: Mapping[Any, Any],
    imminent_danger: bool = False,
    *,
    rule_set: RuleSet = IOP_RS_1,
) -> Recommendation:
    """Apply IOP-RS-1 (or another ``RuleSet``) to six dimensional ratings.

    Guarantees: deterministic; every input is validated first (ValidationError naming the
    dimension otherwise); ``rules_fired`` lists every rule that shaped the result, in order.
    """
    if not isinstance(imminent_danger, bool):
        raise ValidationError({"imminent_danger": f"imminent_danger must be True or False, got {imminent_danger!r}."})
    clean = normalize_ratings(ratings)

    if imminent_danger or clean[3] >= rule_set.safety_gate_d3:
        # "result = EMERGENCY_EVAL (...; Level 4). Stop." D3 = 4 sets the imminent_danger flag
        # itself (DOMAIN.md §3.1 inputs), so both paths carry it and report it as set.
        return Recommendation(
            withdrawal_step=None,
            withdrawal_step_4th=None,
            treatment_level=LEVELS[-1],
            treatment_level_4th=LEVEL_TO_4TH[LEVELS[-1]],
            iop_fit=EMERGENCY,
            rules_fired=("SAFETY_GATE",),
            flags=(EMERGENCY_EVAL, IMMINENT_DANGER),
            rule_set=rule_set.id,
            ratings=clean,
            imminent_danger=True,
        )

    fired: list[str] = []
    flags: list[str] = []

    withdrawal_step = rule_set.withdrawal_steps[clean[1]]
    if withdrawal_step:
        fired.append(f"WM_GATE:D1={clean[1]}")

    level = LEVELS[0]
    for dimension in sorted(rule_set.floors):
        rating = clean[dimension]
        floor = rule_set.floors[dimension][rating]
        if floor != LEVELS[0]:
            fired.append(_floor_id(dimension, rating, floor))
        flag = rule_set.floor_flags.get((dimension, rating))
        if flag and flag not in flags:
            flags.append(flag)
        if LEVELS.index(floor) > LEVELS.index(level):
            level = floor

    unstable = sum(1 for d in (2, 3, 4, 5, 6) if clean[d] >= rule_set.instability_min_rating)
    if level == rule_set.instability_level and unstable >= rule_set.instability_min_dimensions:
        level = rule_set.instability_raise_to
        fired.append("MULTIDIMENSIONAL_INSTABILITY")

    if withdrawal_step:
        iop_fit = DEFER_FOR_WM
    elif level == "2.1":
        iop_fit = IOP
    elif LEVELS.index(level) < LEVELS.index("2.1"):
        iop_fit = STEP_DOWN
    else:
        iop_fit = STEP_UP

    return Recommendation(
        withdrawal_step=withdrawal_step,
        withdrawal_step_4th=WITHDRAWAL_STEP_TO_4TH[withdrawal_step] if withdrawal_step else None,
        treatment_level=level,
        treatment_level_4th=LEVEL_TO_4TH[level],
        iop_fit=iop_fit,
        rules_fired=tuple(fired),
        flags=tuple(flags),
        rule_set=rule_set.id,
        ratings=clean,
        imminent_danger=imminent_danger,
    )


def holds_back_plain_iop(recommendation: Mapping[str, Any], actual_level: str) -> bool:
    """Rule 2: "do not admit to plain IOP until D1 <= 1". True when ``actual_level`` is plain
    Level 2.1 while the stored recommendation (``Recommendation.to_dict()``) attaches a
    withdrawal step; deciding it is then an override that needs a reason and a note."""
    return actual_level == PLAIN_IOP and bool(recommendation.get("withdrawal_step"))


def recovery_residence_allowed(
    ratings: Mapping[Any, Any],
    imminent_danger: bool = False,
    *,
    rule_set: RuleSet = IOP_RS_1,
) -> bool:
    """Rule 7: "Where D6 = 3 only", Level 2.1 services plus a recovery residence may be chosen
    as an override (never the default). True when D6 = 3 and D6 is the only reason the level is
    above 2.1: with D6 at its 2.1 floor the rule set would recommend plain 2.1 (no safety gate,
    no withdrawal step, no multidimensional instability)."""
    clean = normalize_ratings(ratings)
    if clean[6] != 3:
        return False
    without_d6 = recommend({**clean, 6: 2}, imminent_danger, rule_set=rule_set)
    return without_d6.treatment_level == PLAIN_IOP and without_d6.iop_fit == IOP


# --- Decision support: facts that usually map to ratings (the clinician confirms) ------


def _check_total(name: str, total: object, high: int) -> int:
    if isinstance(total, bool) or not isinstance(total, numbers.Integral):
        raise ValidationError({"total": f"{name} total must be a whole number, got {total!r}."})
    if not 0 <= int(total) <= high:
        raise ValidationError({"total": f"{name} total must be 0-{high}, got {int(total)}."})
    return int(total)


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError({name: f"{name} must be True or False, got {value!r}."})
    return value


def suggest_d1_from_ciwa(
    total: int,
    complicated_history: bool = False,
    current_delirium_or_seizure: bool = False,
) -> int:
    """Suggested D1 rating from a CIWA-Ar total (0-67) and withdrawal history.

    Current delirium, hallucinations with disorientation, or a seizure -> 4; CIWA-Ar >= 19
    or a history of withdrawal seizures or delirium -> 3; 10-18 -> 2; 1-9 -> 1; 0 -> 0.
    """
    total = _check_total("CIWA-Ar", total, 67)
    if _check_flag("current_delirium_or_seizure", current_delirium_or_seizure):
        return 4
    if _check_flag("complicated_history", complicated_history) or total >= 19:
        return 3
    if total >= 10:
        return 2
    return 1 if total > 0 else 0


def suggest_d1_from_cows(total: int, on_stable_moud: bool = False) -> int:
    """Suggested D1 rating from a COWS total (0-48).

    0-4 -> 0; 5-12 -> 1 (on stable MOUD per DOMAIN.md; the same default without MOUD);
    13-24 -> 2; >= 25 -> 3.
    """
    total = _check_total("COWS", total, 48)
    _check_flag("on_stable_moud", on_stable_moud)
    if total >= 25:
        return 3
    if total >= 13:
        return 2
    if total >= 5:
        return 1
    return 0


def suggest_d6_from_housing(
    *,
    no_stable_housing: bool = False,
    others_use_at_home: bool = False,
    unsafe_home_without_alternative: bool = False,
) -> int | None:
    """Suggested D6 rating from housing facts, or None when no default applies.

    Violence or trafficking at home, or a partner who supplies drugs, with no safe
    alternative -> 4; shelter or no stable housing, or others actively using at home -> 3.
    """
    if _check_flag("unsafe_home_without_alternative", unsafe_home_without_alternative):
        return 4
    no_stable_housing = _check_flag("no_stable_housing", no_stable_housing)
    if _check_flag("others_use_at_home", others_use_at_home) or no_stable_housing:
        return 3
    return None
