"""Scoring library for the screening and assessment instruments used in the IOP.

Pure Python: no models, no database, no settings. Forms, the API and services all score
through this module so that a given answer set always gets the same result.

Public interface
----------------
``score(code, answers, band_set=None, *, sex=None) -> ScoreResult``
    Validate a complete answer set and score it.
``instrument(code) -> Instrument`` and ``INSTRUMENTS`` (code -> Instrument)
    Item definitions (number, short paraphrased label, allowed values with labels,
    yes/no or numeric) that HTML forms and the API build their fields from.
``BAND_SETS`` (id -> cut-off set), ``BandSet``, ``Band``, ``BamThresholds``
    Configurable cut-offs; the id of the set used is stored with every score.
``bam_days_to_score(days)`` and ``urica_stage(readiness)``
    Helpers for the BAM day-count coding and the URICA stage rule.

Answer conventions
------------------
* ``answers`` is a sequence in item order. Numeric items take ``int`` values (``bool`` is
  rejected even though it is an ``int`` subclass, and so are floats and strings: callers
  coerce form input first). Yes/no items (DAST-10, C-SSRS) take ``True``/``False`` only.
* ``None`` marks an item skipped by the instrument's own skip logic. It is accepted only
  where that logic allows a skip; anywhere else it makes the answer set incomplete.
  Missing items are never prorated and values are never clamped.
* Every problem raises ``django.core.exceptions.ValidationError``. Item problems are
  reported as a dict keyed by ``Item.field_name`` (``"item_9"``, ``"item_7a"``) and every
  message starts with the item it concerns, e.g.
  ``"Item 9: 1 is not an allowed value (allowed: 0, 2, 4)"``. Where the item number differs
  from its position in the list (BAM, the C-SSRS follow-up) the position is added:
  ``"Item 8 (answer 14): ..."``.

Decisions where the specification leaves room
---------------------------------------------
* ``item_scores`` is aligned with the answers given: one entry per answer, holding the
  points that answer contributed. Skipped items and items that carry no points (PHQ-9
  item 10, URICA items 4, 9, 20, 31) are 0; C-SSRS answers are 1 for Yes and 0 for No.
* AUDIT skips are *permissive*: ``None`` is allowed for items 2-8 when item 1 is 0 and for
  items 4-8 when items 2 + 3 are 0, but a fully answered (self-report) sheet is accepted
  too and every provided number is validated and scored. Items 9 and 10 are always asked.
* C-SSRS and BAM skips are *mandatory*: an item the flow skips (C-SSRS Q3-Q5 after Q2 = No,
  the Q6 follow-up after Q6 = No, BAM item 5 after item 4 = 0, BAM 7A-7G after item 6 = 0)
  is left as ``None`` or given its "nothing" answer (No, or 0), which is what a skipped item
  scores (DOMAIN.md 4.8 "None: all No", 4.9 "score it 0"). A Yes or a non-zero value there
  contradicts the flow and is rejected, so the clinician corrects it instead of it being
  silently dropped. The C-SSRS follow-up may also be left off the end of the list when
  Q6 = No (six answers).
* PHQ-9 accepts 9 or 10 answers; item 10 (functional difficulty) is validated (0-3 or
  ``None``) but never scored.
* AUDIT-C: with ``sex="male"``/``"female"`` the band and ``POSITIVE_SCREEN`` use that
  cut-off (4 / 3). With no sex the band is "positive" from 3 (the lower cut-off, so no
  positive screen is missed) and the flags say which cut-off was met:
  ``POSITIVE_SCREEN_WOMEN`` at >= 3 and ``POSITIVE_SCREEN_MEN`` at >= 4. An explicit
  ``band_set`` wins over ``sex``. Every other instrument validates ``sex`` and otherwise
  ignores it, so a caller can pass it uniformly.
* ``POSITIVE_SCREEN`` is raised where a band set defines a positive cut-off: PHQ-9 and
  GAD-7 >= 10, AUDIT >= 8 (zone II and above), AUDIT-C as above. DOMAIN.md gives no
  screening cut-off for DAST-10, CIWA-Ar or COWS, so they raise no such flag.
* CIWA-Ar ``SULLIVAN-1989`` uses the edges <= 9 / 10-15 / >= 16 (sources disagree; pass a
  custom ``BandSet`` for other edges). COWS 0-4 has the band code ``"minimal"``.
* BAM has no total (``total=None``) and no band (``band=""``); its flags come from
  ``BamThresholds`` (default ``"BAM:VA-DEFAULT"``: use >= 1, risk >= 12, protective <= 12).
* URICA subscale keys are ``precontemplation``, ``contemplation``, ``action`` and
  ``maintenance``. Means and readiness are the exact values as floats (DOMAIN.md gives the
  formula and no rounding; pages round for display). The stage is computed from the exact
  readiness value with ``fractions.Fraction``, so the "exactly halfway goes to the higher
  stage" rule is exact (midpoints 10.15 and 11.8).
* READINESS-RULER is one 0-10 value: ``total`` is that value, with no band. The type of
  ruler (``RULER_TYPES``) is not an answer: the service stores it beside the response.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.core.exceptions import ValidationError

Answer = int | bool | None

# --- Flag codes -------------------------------------------------------------------------

POSITIVE_SCREEN = "POSITIVE_SCREEN"
POSITIVE_SCREEN_MEN = "POSITIVE_SCREEN_MEN"
POSITIVE_SCREEN_WOMEN = "POSITIVE_SCREEN_WOMEN"
SUICIDE_RISK = "SUICIDE_RISK"
CSSRS_PROMPT = "CSSRS_PROMPT"
IMMINENT_DANGER = "IMMINENT_DANGER"
SAFETY_ALERT = "SAFETY_ALERT"
USE_FLAG = "USE_FLAG"
RISK_FLAG = "RISK_FLAG"
PROTECTIVE_FLAG = "PROTECTIVE_FLAG"

# Skip states an instrument's skip logic can assign to an item.
REQUIRED = "required"  # an answer must be given
OPTIONAL = "optional"  # an answer may be given or left as None
SKIPPED = "skipped"  # the flow skipped the item: it must be None

SkipRule = tuple[str, str]  # (state, reason shown in the error message)


# --- Definitions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One allowed answer value and its short display label."""

    value: int | bool
    label: str


@dataclass(frozen=True)
class Item:
    """One question of an instrument, as forms and the API need to render it.

    ``number`` is the item's printed number ("9", "7A", "6-recent"); ``position`` is its
    1-based place in the ``answers`` list. Labels are short paraphrases, not the licensed
    wording.
    """

    position: int
    number: str
    label: str
    choices: tuple[Choice, ...]
    yes_no: bool = False
    scored: bool = True
    optional: bool = False

    @property
    def allowed_values(self) -> tuple[int | bool, ...]:
        return tuple(choice.value for choice in self.choices)

    @property
    def field_name(self) -> str:
        """Form/API field name and ValidationError key, e.g. ``item_7a``."""
        return "item_" + self.number.lower().replace("-", "_")

    @property
    def display(self) -> str:
        """How error messages name the item."""
        name = f"Item {self.number}"
        if self.number != str(self.position):
            name += f" (answer {self.position})"
        return name


@dataclass(frozen=True)
class Band:
    """An inclusive score range ``low..high`` and what it means."""

    low: int
    high: int
    code: str
    label: str
    action: str = ""


@dataclass(frozen=True)
class BandSet:
    """A named, versionable set of contiguous bands for one instrument's total.

    ``positive_from`` is the total at which ``POSITIVE_SCREEN`` is raised (None: never).
    Construction fails on gaps, overlaps or reversed ranges so a misconfigured set can
    never silently leave a total without a band.
    """

    id: str
    instrument: str
    bands: tuple[Band, ...]
    positive_from: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.bands:
            raise ValidationError(f"Band set {self.id}: at least one band is required.")
        for band in self.bands:
            if band.low > band.high:
                raise ValidationError(f"Band set {self.id}: band {band.code!r} has low > high.")
        for prev, nxt in zip(self.bands, self.bands[1:], strict=False):
            if nxt.low != prev.high + 1:
                raise ValidationError(
                    f"Band set {self.id}: bands must be contiguous ({prev.high} is followed by {nxt.low})."
                )

    def covers(self, low: int, high: int) -> bool:
        return self.bands[0].low <= low and self.bands[-1].high >= high

    def band_for(self, total: int) -> Band:
        """The band containing ``total``; ValidationError if none does."""
        for band in self.bands:
            if band.low <= total <= band.high:
                return band
        raise ValidationError(f"Band set {self.id}: no band covers a total of {total}.")


@dataclass(frozen=True)
class BamThresholds:
    """BAM subscale flag thresholds (DOMAIN.md marks the defaults "verify")."""

    id: str
    use_flag_min: int = 1
    risk_flag_min: int = 12
    protective_flag_max: int = 12
    instrument: str = "BAM"
    description: str = ""


@dataclass(frozen=True)
class FixedRules:
    """Id of a rule-based result (C-SSRS triage, URICA stage, raw ruler): not editable."""

    id: str
    instrument: str
    description: str = ""


ScoringRules = BandSet | BamThresholds | FixedRules


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of scoring one answer set.

    ``total`` is an int, a float (URICA readiness, 2 decimals) or None (BAM, C-SSRS).
    ``band`` is a stable code and ``band_label`` its human text ("" when the instrument has
    no band). ``band_set`` is the id of the cut-offs used; store it with the score.
    ``item_scores`` is aligned with the answers given (see the module docstring).
    """

    code: str
    total: int | float | None
    subscales: dict[str, int | float]
    band: str
    band_label: str
    flags: tuple[str, ...]
    band_set: str
    item_scores: tuple[int, ...]
    action: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation (tuples become lists)."""
        return {
            "code": self.code,
            "total": self.total,
            "subscales": dict(self.subscales),
            "band": self.band,
            "band_label": self.band_label,
            "flags": list(self.flags),
            "band_set": self.band_set,
            "item_scores": list(self.item_scores),
            "action": self.action,
        }


Scorer = Callable[["Instrument", tuple[Answer, ...], Any, "str | None"], ScoreResult]
SkipLogic = Callable[[tuple[Answer, ...]], dict[int, SkipRule]]


@dataclass(frozen=True)
class Instrument:
    """An instrument definition: items, skip logic, band sets and its scorer."""

    code: str
    name: str
    items: tuple[Item, ...]
    band_sets: tuple[str, ...]
    scorer: Scorer = field(repr=False, compare=False)
    skip_logic: SkipLogic | None = field(default=None, repr=False, compare=False)
    total_range: tuple[int, int] | None = None
    description: str = ""

    @property
    def default_band_set(self) -> str:
        return self.band_sets[0]

    @property
    def required_count(self) -> int:
        """Answers that must be present; only trailing optional items may be left off."""
        count = len(self.items)
        while count and self.items[count - 1].optional:
            count -= 1
        return count

    def validate(self, answers: Sequence[Answer]) -> tuple[Answer, ...]:
        """Return the answers cleaned and padded to ``len(items)``, or raise.

        Guarantees on return: every value is allowed for its item, yes/no items hold bools,
        numeric items hold ints, and ``None`` appears only where skip logic or an optional
        item permits it.
        """
        # A set or dict has no item order, and a string is never an answer list.
        if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
            raise ValidationError(
                f"{self.code}: answers must be a list of item values in item order.",
                code="invalid",
            )
        values = list(answers)
        self._check_count(len(values))
        values += [None] * (len(self.items) - len(values))

        errors: dict[str, list[ValidationError]] = {}
        cleaned: list[Answer] = []
        for item, value in zip(self.items, values, strict=True):
            if value is None:
                cleaned.append(None)
                continue
            problem = _value_problem(item, value)
            if problem:
                errors.setdefault(item.field_name, []).append(problem)
                cleaned.append(None)
            else:
                cleaned.append(value if item.yes_no else int(value))  # type: ignore[arg-type]
        if errors:
            raise ValidationError(errors)

        # Skip logic is evaluated on valid values only, so a bad gate item is reported
        # once instead of cascading into its dependents.
        rules = self.skip_logic(tuple(cleaned)) if self.skip_logic else {}
        for index, (item, value) in enumerate(zip(self.items, cleaned, strict=True)):
            state, reason = rules.get(index, (OPTIONAL if item.optional else REQUIRED, ""))
            if value is None and state == REQUIRED:
                errors.setdefault(item.field_name, []).append(
                    ValidationError(
                        f"{item.display}: missing answer; the {self.code} is incomplete "
                        "(missing items are not prorated).",
                        code="incomplete",
                    )
                )
            elif value is not None and state == SKIPPED and not _is_nothing(item, value):
                nothing = "No" if item.yes_no else "0"
                errors.setdefault(item.field_name, []).append(
                    ValidationError(
                        f"{item.display}: must be left blank (None) or {nothing} because {reason} "
                        f"(skip logic), got {value!r}.",
                        code="skip_violation",
                    )
                )
        if errors:
            raise ValidationError(errors)
        return tuple(cleaned)

    def resolve_rules(self, band_set: str | ScoringRules | None = None, sex: str | None = None) -> ScoringRules:
        """The cut-off set to use: an explicit one, else the (sex-aware) default."""
        if band_set is None:
            if self.code == "AUDIT-C":
                return BAND_SETS[_AUDIT_C_BY_SEX[sex]]
            return BAND_SETS[self.default_band_set]
        if isinstance(band_set, str):
            if band_set not in self.band_sets:
                raise ValidationError(
                    {
                        "band_set": (
                            f"Unknown band set {band_set!r} for {self.code} (known: {', '.join(self.band_sets)})."
                        )
                    }
                )
            return BAND_SETS[band_set]
        if isinstance(band_set, BandSet | BamThresholds):
            expected = type(BAND_SETS[self.default_band_set])
            if band_set.instrument != self.code or not isinstance(band_set, expected):
                raise ValidationError({"band_set": f"Band set {band_set.id!r} does not apply to {self.code}."})
            if isinstance(band_set, BandSet) and self.total_range and not band_set.covers(*self.total_range):
                low, high = self.total_range
                raise ValidationError(
                    {"band_set": f"Band set {band_set.id!r} must cover the whole {self.code} range {low}-{high}."}
                )
            return band_set
        raise ValidationError({"band_set": f"{self.code}: band_set must be an id or a band set object."})

    def score(
        self,
        answers: Sequence[Answer],
        band_set: str | ScoringRules | None = None,
        *,
        sex: str | None = None,
    ) -> ScoreResult:
        """Validate ``answers`` and score them; see the module docstring for the rules."""
        sex = _normalize_sex(sex)
        rules = self.resolve_rules(band_set, sex)
        values = self.validate(answers)
        result = self.scorer(self, values, rules, sex)
        # Trailing optional items that were left off get no item_scores entry.
        return dataclasses.replace(result, item_scores=result.item_scores[: len(answers)])

    def _check_count(self, count: int) -> None:
        low, high = self.required_count, len(self.items)
        if low <= count <= high:
            return
        expected = f"{high} answers"
        if low != high:
            optional = ", ".join(item.number for item in self.items[low:])
            expected = f"{low} answers ({high} with the optional item {optional})"
        if count < low:
            missing = self.items[count]
            detail = (
                f"{missing.display} onward is missing; the answer set is incomplete (missing items are not prorated)"
            )
        else:
            detail = f"there is no item after {self.items[-1].number}"
        raise ValidationError(f"{self.code} expects {expected}, got {count}: {detail}.", code="wrong_count")


def _value_problem(item: Item, value: object) -> ValidationError | None:
    """Why ``value`` is not acceptable for ``item``, or None if it is."""
    if item.yes_no:
        if not isinstance(value, bool):
            return ValidationError(
                f"{item.display}: expected Yes/No (True or False), got {value!r}.",
                code="wrong_type",
            )
        return None
    # bool is an int subclass, but True/False on a numeric item is a wiring mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return ValidationError(
            f"{item.display}: expected a whole number, got {value!r} ({type(value).__name__}).",
            code="wrong_type",
        )
    if int(value) not in item.allowed_values:
        allowed = ", ".join(str(v) for v in item.allowed_values)
        return ValidationError(
            f"{item.display}: {int(value)} is not an allowed value (allowed: {allowed}).",
            code="not_allowed",
        )
    return None


def _is_nothing(item: Item, value: Answer) -> bool:
    """The answer a skipped item scores: No for a yes/no item, 0 for a numeric one."""
    return value is False if item.yes_no else value == 0


def _normalize_sex(sex: object) -> str | None:
    if sex is None:
        return None
    if isinstance(sex, str):
        key = sex.strip().lower()
        if key in ("male", "m"):
            return "male"
        if key in ("female", "f"):
            return "female"
    raise ValidationError({"sex": f"sex must be None, 'male' or 'female', got {sex!r}."})


# --- Item-building helpers --------------------------------------------------------------

YES_NO: tuple[Choice, ...] = (Choice(True, "Yes"), Choice(False, "No"))


def _coded(*labels: str, start: int = 0) -> tuple[Choice, ...]:
    """Consecutive integer codes from ``start`` with the given labels."""
    return tuple(Choice(start + i, label) for i, label in enumerate(labels))


def _valued(*pairs: tuple[int, str]) -> tuple[Choice, ...]:
    return tuple(Choice(value, label) for value, label in pairs)


def _scale(low: int, high: int, anchors: Mapping[int, str]) -> tuple[Choice, ...]:
    """A numeric scale where only some points carry a word anchor."""
    return tuple(Choice(v, f"{v} - {anchors[v]}" if v in anchors else str(v)) for v in range(low, high + 1))


def _items(
    rows: Sequence[tuple[str, str, tuple[Choice, ...]]],
    *,
    yes_no: bool = False,
    unscored: Iterable[str] = (),
    optional: Iterable[str] = (),
) -> tuple[Item, ...]:
    unscored_numbers, optional_numbers = set(unscored), set(optional)
    return tuple(
        Item(
            position=index,
            number=number,
            label=label,
            choices=choices,
            yes_no=yes_no,
            scored=number not in unscored_numbers,
            optional=number in optional_numbers,
        )
        for index, (number, label, choices) in enumerate(rows, start=1)
    )


def _numbered(labels: Sequence[str], choices: tuple[Choice, ...]) -> list[tuple[str, str, tuple[Choice, ...]]]:
    return [(str(i), label, choices) for i, label in enumerate(labels, start=1)]


# --- Shared scoring helpers -------------------------------------------------------------


def _points(values: Sequence[Answer]) -> list[int]:
    """Numeric points with skipped (None) items as 0."""
    return [0 if v is None else int(v) for v in values]


def _banded(
    inst: Instrument,
    rules: ScoringRules,
    total: int,
    item_scores: Sequence[int],
    extra_flags: Iterable[str] = (),
) -> ScoreResult:
    assert isinstance(rules, BandSet)  # guaranteed by Instrument.resolve_rules
    band = rules.band_for(total)
    flags: list[str] = []
    if rules.positive_from is not None and total >= rules.positive_from:
        flags.append(POSITIVE_SCREEN)
    flags.extend(extra_flags)
    return ScoreResult(
        code=inst.code,
        total=total,
        subscales={},
        band=band.code,
        band_label=band.label,
        flags=tuple(flags),
        band_set=rules.id,
        item_scores=tuple(item_scores),
        action=band.action,
    )


def _score_sum(inst: Instrument, values: tuple[Answer, ...], rules: Any, sex: str | None) -> ScoreResult:
    points = [p if item.scored else 0 for item, p in zip(inst.items, _points(values), strict=True)]
    return _banded(inst, rules, sum(points), points)


# --- PHQ-9 ------------------------------------------------------------------------------

_PHQ_FREQUENCY = _coded("Not at all", "Several days", "More than half the days", "Nearly every day")


def _score_phq9(inst: Instrument, values: tuple[Answer, ...], rules: Any, sex: str | None) -> ScoreResult:
    points = _points(values[:9]) + [0]  # item 10 is asked but never scored
    extra: list[str] = []
    # Item 9 raises the suicide-risk flag whatever the total (DOMAIN.md 4.1).
    if points[8] > 0:
        extra += [SUICIDE_RISK, CSSRS_PROMPT]
    return _banded(inst, rules, sum(points), points, extra)


PHQ9 = Instrument(
    code="PHQ-9",
    name="Patient Health Questionnaire-9 (depression)",
    items=_items(
        [
            *_numbered(
                [
                    "Little interest or pleasure in doing things",
                    "Feeling down, depressed or hopeless",
                    "Sleep problems (too little or too much)",
                    "Feeling tired or low on energy",
                    "Poor appetite or overeating",
                    "Feeling bad about yourself or like a failure",
                    "Trouble concentrating",
                    "Moving or speaking slowly, or being restless",
                    "Thoughts of being better off dead or of self-harm",
                ],
                _PHQ_FREQUENCY,
            ),
            (
                "10",
                "How difficult these problems made daily life (not scored)",
                _coded(
                    "Not difficult at all",
                    "Somewhat difficult",
                    "Very difficult",
                    "Extremely difficult",
                ),
            ),
        ],
        unscored=["10"],
        optional=["10"],
    ),
    band_sets=("PHQ-9:2001",),
    scorer=_score_phq9,
    total_range=(0, 27),
    description="Past 2 weeks. Item 9 > 0 always raises a suicide-risk flag.",
)

# --- GAD-7 ------------------------------------------------------------------------------

GAD7 = Instrument(
    code="GAD-7",
    name="Generalized Anxiety Disorder-7",
    items=_items(
        _numbered(
            [
                "Feeling nervous, anxious or on edge",
                "Not able to stop or control worrying",
                "Worrying too much about different things",
                "Trouble relaxing",
                "So restless it is hard to sit still",
                "Easily annoyed or irritable",
                "Afraid something awful might happen",
            ],
            _PHQ_FREQUENCY,
        )
    ),
    band_sets=("GAD-7:2006",),
    scorer=_score_sum,
    total_range=(0, 21),
    description="Past 2 weeks.",
)

# --- AUDIT and AUDIT-C ------------------------------------------------------------------

_AUDIT_FREQUENCY = _coded("Never", "Less than monthly", "Monthly", "Weekly", "Daily or almost daily")
_AUDIT_YES_PAST_YEAR = _valued((0, "No"), (2, "Yes, but not in the past year"), (4, "Yes, during the past year"))
_AUDIT_Q1_TO_Q3 = [
    (
        "1",
        "How often you have a drink containing alcohol",
        _coded(
            "Never",
            "Monthly or less",
            "2-4 times a month",
            "2-3 times a week",
            "4 or more times a week",
        ),
    ),
    (
        "2",
        "Drinks on a typical drinking day",
        _coded("1 or 2", "3 or 4", "5 or 6", "7 to 9", "10 or more"),
    ),
    ("3", "How often you have six or more drinks on one occasion", _AUDIT_FREQUENCY),
]


def _audit_skip_logic(values: tuple[Answer, ...]) -> dict[int, SkipRule]:
    """Interview version: Q1 = 0 or Q2 + Q3 = 0 lets the interviewer skip to Q9.

    Skips are permissive (see module docstring): items may be None, or answered.
    """
    q1, q2, q3 = values[0], values[1], values[2]
    rules: dict[int, SkipRule] = {}
    if q1 == 0 or q1 is None:
        # q1 None is already an error; relaxing its dependents avoids cascading errors.
        rules.update({i: (OPTIONAL, "item 1 is 0") for i in range(1, 8)})
    elif q2 is None or q3 is None or q2 + q3 == 0:  # type: ignore[operator]
        rules.update({i: (OPTIONAL, "items 2 and 3 total 0") for i in range(3, 8)})
    return rules


AUDIT = Instrument(
    code="AUDIT",
    name="Alcohol Use Disorders Identification Test (WHO)",
    items=_items(
        [
            *_AUDIT_Q1_TO_Q3,
            ("4", "Unable to stop drinking once started", _AUDIT_FREQUENCY),
            ("5", "Failed to do what was expected because of drinking", _AUDIT_FREQUENCY),
            ("6", "Needed a first drink in the morning", _AUDIT_FREQUENCY),
            ("7", "Guilt or remorse after drinking", _AUDIT_FREQUENCY),
            ("8", "Unable to remember the night before", _AUDIT_FREQUENCY),
            ("9", "You or someone else injured because of your drinking", _AUDIT_YES_PAST_YEAR),
            ("10", "Others concerned about your drinking", _AUDIT_YES_PAST_YEAR),
        ]
    ),
    band_sets=("AUDIT:WHO", "AUDIT:AUDITSCREEN"),
    scorer=_score_sum,
    skip_logic=_audit_skip_logic,
    total_range=(0, 40),
    description="Past year. Items 9 and 10 score 0, 2 or 4 only.",
)

_AUDIT_C_BY_SEX: dict[str | None, str] = {
    None: "AUDIT-C:UNSPECIFIED",
    "male": "AUDIT-C:MEN",
    "female": "AUDIT-C:WOMEN",
}


def _score_audit_c(inst: Instrument, values: tuple[Answer, ...], rules: Any, sex: str | None) -> ScoreResult:
    points = _points(values)
    total = sum(points)
    result = _banded(inst, rules, total, points)
    if rules.id == _AUDIT_C_BY_SEX[None]:
        # Sex unknown: say which published cut-off was met rather than guessing.
        flags = []
        if total >= 4:
            flags.append(POSITIVE_SCREEN_MEN)
        if total >= 3:
            flags.append(POSITIVE_SCREEN_WOMEN)
        result = dataclasses.replace(result, flags=tuple(flags))
    return result


AUDIT_C = Instrument(
    code="AUDIT-C",
    name="AUDIT-Consumption (AUDIT items 1-3)",
    items=_items(_AUDIT_Q1_TO_Q3),
    band_sets=("AUDIT-C:UNSPECIFIED", "AUDIT-C:MEN", "AUDIT-C:WOMEN"),
    scorer=_score_audit_c,
    total_range=(0, 12),
    description="Positive at >= 4 for men and >= 3 for women.",
)

# --- DAST-10 ----------------------------------------------------------------------------


def _score_dast10(inst: Instrument, values: tuple[Answer, ...], rules: Any, sex: str | None) -> ScoreResult:
    # One point per Yes, except item 3 ("able to stop") which scores for No.
    points = [int(value is False) if index == 2 else int(value is True) for index, value in enumerate(values)]
    return _banded(inst, rules, sum(points), points)


DAST10 = Instrument(
    code="DAST-10",
    name="Drug Abuse Screening Test-10",
    items=_items(
        _numbered(
            [
                "Used drugs other than those needed for medical reasons",
                "Used more than one drug at a time",
                "Always able to stop using drugs when you want to (scores for No)",
                "Had blackouts or flashbacks from drug use",
                "Felt bad or guilty about drug use",
                "Spouse or parents complained about your drug use",
                "Neglected your family because of drug use",
                "Did illegal things to get drugs",
                "Had withdrawal symptoms when you stopped",
                "Had medical problems from drug use",
            ],
            YES_NO,
        ),
        yes_no=True,
    ),
    band_sets=("DAST-10:SKINNER-1982",),
    scorer=_score_dast10,
    total_range=(0, 10),
    description="Past 12 months, drugs other than alcohol and tobacco.",
)

# --- CIWA-Ar ----------------------------------------------------------------------------

_CIWA_0_TO_7 = _scale(0, 7, {0: "none", 1: "very mild", 4: "moderate", 7: "severe"})

CIWA_AR = Instrument(
    code="CIWA-Ar",
    name="Clinical Institute Withdrawal Assessment for Alcohol, revised",
    items=_items(
        [
            ("1", "Nausea and vomiting", _CIWA_0_TO_7),
            ("2", "Tremor", _CIWA_0_TO_7),
            ("3", "Paroxysmal sweats", _CIWA_0_TO_7),
            ("4", "Anxiety", _CIWA_0_TO_7),
            ("5", "Agitation", _CIWA_0_TO_7),
            ("6", "Tactile disturbances", _CIWA_0_TO_7),
            ("7", "Auditory disturbances", _CIWA_0_TO_7),
            ("8", "Visual disturbances", _CIWA_0_TO_7),
            ("9", "Headache or fullness in the head", _CIWA_0_TO_7),
            (
                "10",
                "Orientation and clouding of sensorium",
                _coded(
                    "Oriented; can do serial additions",
                    "Cannot do serial additions or unsure of date",
                    "Date off by no more than 2 days",
                    "Date off by more than 2 days",
                    "Disoriented to place and/or person",
                ),
            ),
        ]
    ),
    band_sets=("CIWA-Ar:ASAM-2020", "CIWA-Ar:SULLIVAN-1989"),
    scorer=_score_sum,
    total_range=(0, 67),
    description="Clinician-rated. Seizure, delirium or hallucinations are a clinical flag, not a score.",
)

# --- COWS -------------------------------------------------------------------------------

COWS = Instrument(
    code="COWS",
    name="Clinical Opiate Withdrawal Scale",
    items=_items(
        [
            (
                "1",
                "Resting pulse rate",
                _valued((0, "80 or below"), (1, "81-100"), (2, "101-120"), (4, "Over 120")),
            ),
            (
                "2",
                "Sweating",
                _coded(
                    "None",
                    "Barely perceptible or chills",
                    "Flushed or observable moisture",
                    "Beads of sweat",
                    "Sweat streaming",
                ),
            ),
            (
                "3",
                "Restlessness",
                _valued(
                    (0, "Able to sit still"),
                    (1, "Some difficulty sitting still"),
                    (3, "Frequent shifting or extraneous movement"),
                    (5, "Unable to sit still"),
                ),
            ),
            (
                "4",
                "Pupil size",
                _valued(
                    (0, "Normal or pinned"),
                    (1, "Possibly larger than normal"),
                    (2, "Moderately dilated"),
                    (5, "Only the rim of the iris visible"),
                ),
            ),
            (
                "5",
                "Bone or joint aches",
                _valued(
                    (0, "None"),
                    (1, "Mild diffuse discomfort"),
                    (2, "Severe diffuse aching"),
                    (4, "Rubbing joints or muscles, cannot sit still"),
                ),
            ),
            (
                "6",
                "Runny nose or tearing",
                _valued(
                    (0, "None"),
                    (1, "Stuffiness or moist eyes"),
                    (2, "Runny nose or tearing"),
                    (4, "Constant running or streaming tears"),
                ),
            ),
            (
                "7",
                "GI upset",
                _valued(
                    (0, "None"),
                    (1, "Stomach cramps"),
                    (2, "Nausea or loose stool"),
                    (3, "Vomiting or diarrhoea"),
                    (5, "Multiple episodes"),
                ),
            ),
            (
                "8",
                "Tremor (outstretched hands)",
                _valued(
                    (0, "None"),
                    (1, "Felt, not observed"),
                    (2, "Slight tremor observable"),
                    (4, "Gross tremor or twitching"),
                ),
            ),
            (
                "9",
                "Yawning",
                _valued(
                    (0, "None"),
                    (1, "Once or twice"),
                    (2, "Three or more times"),
                    (4, "Several times a minute"),
                ),
            ),
            (
                "10",
                "Anxiety or irritability",
                _valued(
                    (0, "None"),
                    (1, "Reports irritability or anxiety"),
                    (2, "Obviously irritable or anxious"),
                    (4, "So irritable or anxious it hampers the assessment"),
                ),
            ),
            (
                "11",
                "Gooseflesh skin",
                _valued(
                    (0, "Smooth skin"),
                    (3, "Piloerection can be felt"),
                    (5, "Prominent piloerection"),
                ),
            ),
        ]
    ),
    band_sets=("COWS:WESSON-LING-2003",),
    scorer=_score_sum,
    total_range=(0, 48),
    description="Clinician-rated; repeat during buprenorphine induction.",
)

# --- C-SSRS screener --------------------------------------------------------------------

_CSSRS_TRIAGE = {
    "high": (
        "High risk",
        "Immediate safety evaluation and safety plan; imminent danger for placement.",
    ),
    "moderate": ("Moderate risk", "Clinician suicide-risk review and safety planning."),
    "low": ("Low risk", "Clinician review; re-screen at the next visit."),
    "none": ("No risk identified", ""),
}


def _cssrs_skip_logic(values: tuple[Answer, ...]) -> dict[int, SkipRule]:
    """Q2 = No skips Q3-Q5; Q6 = No skips the "past 3 months" follow-up (mandatory).

    The follow-up is an optional trailing item (it may be left off when Q6 = No), so it is
    made required explicitly after a Yes to Q6.
    """
    q2, q6 = values[1], values[5]
    rules: dict[int, SkipRule] = {}
    if q2 is False:
        rules.update({i: (SKIPPED, "item 2 was answered No") for i in (2, 3, 4)})
    elif q2 is None:
        rules.update({i: (OPTIONAL, "") for i in (2, 3, 4)})  # error reported on Q2
    if q6 is False:
        rules[6] = (SKIPPED, "item 6 was answered No")
    elif q6 is None:
        rules[6] = (OPTIONAL, "")
    else:
        rules[6] = (REQUIRED, "")
    return rules


def _score_cssrs(inst: Instrument, values: tuple[Answer, ...], rules: Any, sex: str | None) -> ScoreResult:
    q1, q2, q3, q4, q5, q6, q6_recent = (v is True for v in values)
    # Highest level wins.
    if q4 or q5 or (q6 and q6_recent):
        risk, flags = "high", (IMMINENT_DANGER, SAFETY_ALERT)
    elif q3 or q6:
        risk, flags = "moderate", (SAFETY_ALERT,)
    elif q1 or q2:
        risk, flags = "low", ()
    else:
        risk, flags = "none", ()
    label, action = _CSSRS_TRIAGE[risk]
    return ScoreResult(
        code=inst.code,
        total=None,
        subscales={},
        band=risk,
        band_label=label,
        flags=flags,
        band_set=rules.id,
        item_scores=tuple(int(v is True) for v in values),
        action=action,
    )


CSSRS = Instrument(
    code="C-SSRS",
    name="Columbia Suicide Severity Rating Scale, screener",
    items=_items(
        [
            ("1", "Wished to be dead or not wake up", YES_NO),
            ("2", "Had actual thoughts of killing yourself", YES_NO),
            ("3", "Thought about how you might do it", YES_NO),
            ("4", "Had some intention of acting on these thoughts", YES_NO),
            ("5", "Worked out details of a plan and intend to carry it out", YES_NO),
            ("6", "Ever done or prepared anything to end your life", YES_NO),
            ("6-recent", "Was that within the past 3 months", YES_NO),
        ],
        yes_no=True,
        optional=["6-recent"],  # left off when Q6 = No; required after a Yes (skip logic)
    ),
    band_sets=("C-SSRS:SCREENER-TRIAGE",),
    scorer=_score_cssrs,
    skip_logic=_cssrs_skip_logic,
    description=(
        "Answers: [q1, q2, q3, q4, q5, q6, q6_recent] (q6_recent may be left off when q6 is No). "
        "Use the official wording when administering."
    ),
)

# --- BAM --------------------------------------------------------------------------------

_BAM_DAYS = _coded("0 days", "1-3 days", "4-8 days", "9-15 days", "16-30 days")
_BAM_INTENSITY = _coded("Not at all", "Slightly", "Moderately", "Considerably", "Extremely")

BAM_LAYOUT: tuple[str, ...] = (
    *(str(n) for n in range(1, 7)),
    *(f"7{letter}" for letter in "ABCDEFG"),
    *(str(n) for n in range(8, 18)),
)
"""Item numbers in ``answers`` order: 1-6, 7A-7G, 8-17 (23 entries)."""

BAM_SUBSCALES: dict[str, tuple[str, ...]] = {
    "use": ("4", "5", "6"),
    "risk": ("1", "2", "3", "8", "11", "15"),
    "protective": ("9", "10", "12", "13", "14", "16"),
}

_BAM_ITEM5 = BAM_LAYOUT.index("5")
_BAM_ITEM7 = tuple(BAM_LAYOUT.index(f"7{letter}") for letter in "ABCDEFG")


def bam_days_to_score(days: int) -> int:
    """Code a BAM day count (0-30) as 0-4: 0, 1-3, 4-8, 9-15, 16-30 days.

    Raises ValidationError for non-integers (including bools) and counts outside 0-30.
    """
    if isinstance(days, bool) or not isinstance(days, numbers.Integral):
        raise ValidationError(f"BAM day count must be a whole number, got {days!r}.")
    if not 0 <= days <= 30:
        raise ValidationError(f"BAM day count must be 0-30, got {days}.")
    for upper, code in ((0, 0), (3, 1), (8, 2), (15, 3)):
        if days <= upper:
            return code
    return 4


def _bam_skip_logic(values: tuple[Answer, ...]) -> dict[int, SkipRule]:
    """Item 4 = 0 skips item 5; item 6 = 0 skips 7A-7G (mandatory)."""
    rules: dict[int, SkipRule] = {}
    item4, item6 = values[BAM_LAYOUT.index("4")], values[BAM_LAYOUT.index("6")]
    if item4 == 0:
        rules[_BAM_ITEM5] = (SKIPPED, "item 4 is 0 (no drinking days)")
    elif item4 is None:
        rules[_BAM_ITEM5] = (OPTIONAL, "")
    if item6 == 0:
        rules.update({i: (SKIPPED, "item 6 is 0 (no drug-use days)") for i in _BAM_ITEM7})
    elif item6 is None:
        rules.update({i: (OPTIONAL, "") for i in _BAM_ITEM7})
    return rules


def _score_bam(inst: Instrument, values: tuple[Answer, ...], rules: Any, sex: str | None) -> ScoreResult:
    points = _points(values)
    by_number = dict(zip(BAM_LAYOUT, points, strict=True))
    subscales = {name: sum(by_number[n] for n in numbers_) for name, numbers_ in BAM_SUBSCALES.items()}
    flags = []
    if subscales["use"] >= rules.use_flag_min:
        flags.append(USE_FLAG)
    if subscales["risk"] >= rules.risk_flag_min:
        flags.append(RISK_FLAG)
    if subscales["protective"] <= rules.protective_flag_max:
        flags.append(PROTECTIVE_FLAG)
    return ScoreResult(
        code=inst.code,
        total=None,  # the BAM has no validated total score
        subscales=subscales,
        band="",
        band_label="",
        flags=tuple(flags),
        band_set=rules.id,
        item_scores=tuple(points),
        action="No validated total; review item-level answers.",
    )


BAM = Instrument(
    code="BAM",
    name="Brief Addiction Monitor (past 30 days)",
    items=_items(
        [
            (
                "1",
                "Physical health in general",
                _coded("Excellent", "Very good", "Good", "Fair", "Poor"),
            ),
            ("2", "Nights with trouble falling or staying asleep", _BAM_DAYS),
            ("3", "Days feeling depressed, anxious, angry or very upset", _BAM_DAYS),
            ("4", "Days drinking any alcohol", _BAM_DAYS),
            ("5", "Days of heavy drinking", _BAM_DAYS),
            ("6", "Days using illegal drugs or misusing prescriptions", _BAM_DAYS),
            ("7A", "Days using marijuana", _BAM_DAYS),
            ("7B", "Days using sedatives or tranquilizers", _BAM_DAYS),
            ("7C", "Days using cocaine or crack", _BAM_DAYS),
            ("7D", "Days using other stimulants", _BAM_DAYS),
            ("7E", "Days using opioids", _BAM_DAYS),
            ("7F", "Days using inhalants", _BAM_DAYS),
            ("7G", "Days using other drugs", _BAM_DAYS),
            ("8", "Bothered by cravings or urges to use", _BAM_INTENSITY),
            ("9", "Confidence in staying abstinent", _BAM_INTENSITY),
            ("10", "Days attending self-help meetings", _BAM_DAYS),
            ("11", "Days in risky situations or with risky people", _BAM_DAYS),
            ("12", "Religion or spirituality supports recovery", _BAM_INTENSITY),
            ("13", "Days spent mostly at work, school or volunteering", _BAM_DAYS),
            ("14", "Enough income for necessities", _valued((0, "No"), (4, "Yes"))),
            ("15", "Bothered by conflict with family or friends", _BAM_INTENSITY),
            ("16", "Days in contact with supportive family or friends", _BAM_DAYS),
            ("17", "Satisfied with progress toward recovery goals", _BAM_INTENSITY),
        ]
    ),
    band_sets=("BAM:VA-DEFAULT",),
    scorer=_score_bam,
    skip_logic=_bam_skip_logic,
    description="23 answers: items 1-6, 7A-7G, 8-17, each Likert-coded 0-4 (use bam_days_to_score for day counts).",
)

# --- URICA ------------------------------------------------------------------------------

URICA_SUBSCALES: dict[str, tuple[int, ...]] = {
    "precontemplation": (1, 5, 11, 13, 23, 26, 29),
    "contemplation": (2, 8, 12, 15, 19, 21, 24),
    "action": (3, 7, 10, 14, 17, 25, 30),
    "maintenance": (6, 16, 18, 22, 27, 28, 32),
}
URICA_UNSCORED = (4, 9, 20, 31)

# Reference group means (Mid-Atlantic ATTC), lowest first so ties resolve upward.
URICA_STAGES: tuple[tuple[str, str, Fraction], ...] = (
    ("precontemplation", "Precontemplation", Fraction("9.3")),
    ("contemplation", "Contemplation", Fraction("11.0")),
    ("action", "Action (participation)", Fraction("12.6")),
)


def _to_fraction(value: object) -> Fraction:
    if isinstance(value, bool):
        raise ValidationError(f"Readiness must be a number, got {value!r}.")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"Readiness must be finite, got {value!r}.")
        # Use the float's shortest decimal form (10.15, not 10.1499999...).
        return Fraction(repr(value))
    if isinstance(value, numbers.Rational | Decimal | str):
        try:
            return Fraction(value)  # type: ignore[arg-type]
        except (ValueError, ArithmeticError) as exc:
            raise ValidationError(f"Readiness must be a number, got {value!r}.") from exc
    raise ValidationError(f"Readiness must be a number, got {value!r}.")


def urica_stage(readiness: Fraction | int | float | Decimal | str) -> str:
    """Stage code whose reference mean is nearest to ``readiness``.

    Exact arithmetic: floats are read by their shortest decimal form, and a value exactly
    halfway between two reference means goes to the higher stage.
    """
    value = _to_fraction(readiness)
    best, best_distance = URICA_STAGES[0][0], abs(value - URICA_STAGES[0][2])
    for code, _label, mean in URICA_STAGES[1:]:
        distance = abs(value - mean)
        if distance <= best_distance:  # "<=" sends exact ties to the higher stage
            best, best_distance = code, distance
    return best


def _score_urica(inst: Instrument, values: tuple[Answer, ...], rules: Any, sex: str | None) -> ScoreResult:
    points = _points(values)
    means = {
        name: Fraction(sum(points[n - 1] for n in item_numbers), len(item_numbers))
        for name, item_numbers in URICA_SUBSCALES.items()
    }
    readiness = means["contemplation"] + means["action"] + means["maintenance"] - means["precontemplation"]
    stage = urica_stage(readiness)
    label = next(lbl for code, lbl, _ in URICA_STAGES if code == stage)
    return ScoreResult(
        code=inst.code,
        total=float(readiness),
        subscales={name: float(mean) for name, mean in means.items()},
        band=stage,
        band_label=label,
        flags=(),
        band_set=rules.id,
        item_scores=tuple(0 if number in URICA_UNSCORED else value for number, value in enumerate(points, start=1)),
    )


_URICA_AGREE = _coded("Strongly disagree", "Disagree", "Undecided", "Agree", "Strongly agree", start=1)

URICA = Instrument(
    code="URICA",
    name="University of Rhode Island Change Assessment (32 items)",
    items=_items(
        _numbered(
            [
                "I have no problems that need changing",
                "I might be ready for some self-improvement",
                "I am doing something about my problems",
                "Working on my problem might be worthwhile",
                "I am not the problem; being here makes little sense",
                "I worry about slipping back, so I am seeking help",
                "I am finally doing some work on my problem",
                "I have been thinking I might want to change",
                "I have had success but doubt I can keep it up alone",
                "My problem is hard at times, but I am working on it",
                "Being here is a waste of time; the problem is not mine",
                "I hope this place helps me understand myself",
                "I have faults but nothing I need to change",
                "I am working hard to change",
                "I have a problem and should work on it",
                "I am not keeping up my changes and want to prevent relapse",
                "I am not always successful, but I am working on it",
                "I thought the problem was solved but still struggle",
                "I wish I had more ideas for solving the problem",
                "I have started working on my problems and want help",
                "Maybe this place can help me",
                "I may need a boost to keep the changes I have made",
                "I may be part of the problem, but I doubt it",
                "I hope someone here has good advice for me",
                "Anyone can talk about change; I am doing something",
                "Talk about psychology is boring; forget the problems",
                "I am here to prevent a relapse",
                "I may be having a recurrence of a resolved problem",
                "Everyone has worries; why spend time on them",
                "I am actively working on my problem",
                "I would rather cope with my faults than change them",
                "Despite my efforts, the problem keeps coming back",
            ],
            _URICA_AGREE,
        ),
        unscored=[str(n) for n in URICA_UNSCORED],
    ),
    band_sets=("URICA:MA-ATTC",),
    scorer=_score_urica,
    description="Readiness = C + A + M - PC (subscale means), range -2 to 14.",
)

# --- Readiness ruler --------------------------------------------------------------------

# The type of ruler, stored with each response (DOMAIN.md 4.10: "Store the raw number and the
# type of ruler"). Trends are drawn per type, never as a category.
RULER_TYPES: dict[str, str] = {
    "importance": "Importance",
    "confidence": "Confidence",
    "readiness": "Readiness",
}


def _score_ruler(inst: Instrument, values: tuple[Answer, ...], rules: Any, sex: str | None) -> ScoreResult:
    value = int(values[0])  # type: ignore[arg-type]
    return ScoreResult(
        code=inst.code,
        total=value,
        subscales={},
        band="",
        band_label="",
        flags=(),
        band_set=rules.id,
        item_scores=(value,),
        action="No validated bands; show the trend.",
    )


READINESS_RULER = Instrument(
    code="READINESS-RULER",
    name="Readiness ruler (0-10)",
    items=_items(
        [
            (
                "1",
                "Rating from 0 (not at all) to 10 (completely)",
                _scale(0, 10, {0: "not at all", 10: "completely"}),
            )
        ]
    ),
    band_sets=("READINESS-RULER:RAW",),
    scorer=_score_ruler,
    total_range=(0, 10),
    description="Importance, confidence or readiness; store the ruler type alongside.",
)

# --- Band sets --------------------------------------------------------------------------


def _band_set(
    set_id: str,
    rows: Sequence[tuple[int, int, str, str] | tuple[int, int, str, str, str]],
    *,
    positive_from: int | None = None,
    description: str = "",
) -> BandSet:
    return BandSet(
        id=set_id,
        instrument=set_id.split(":")[0],
        bands=tuple(Band(*row) for row in rows),
        positive_from=positive_from,
        description=description,
    )


_ALL_RULES: tuple[ScoringRules, ...] = (
    _band_set(
        "PHQ-9:2001",
        [
            (0, 4, "minimal", "Minimal"),
            (5, 9, "mild", "Mild"),
            (10, 14, "moderate", "Moderate"),
            (15, 19, "moderately_severe", "Moderately severe"),
            (20, 27, "severe", "Severe"),
        ],
        positive_from=10,
        description="Kroenke et al. 2001 severity bands; positive at >= 10.",
    ),
    _band_set(
        "GAD-7:2006",
        [
            (0, 4, "minimal", "Minimal"),
            (5, 9, "mild", "Mild"),
            (10, 14, "moderate", "Moderate"),
            (15, 21, "severe", "Severe"),
        ],
        positive_from=10,
        description="Spitzer et al. 2006 bands; positive at >= 10.",
    ),
    _band_set(
        "AUDIT:WHO",
        [
            (0, 7, "I", "Zone I: low risk", "Alcohol education"),
            (8, 15, "II", "Zone II: hazardous use", "Simple advice"),
            (
                16,
                19,
                "III",
                "Zone III: harmful use",
                "Simple advice plus brief counselling and continued monitoring",
            ),
            (
                20,
                40,
                "IV",
                "Zone IV: possible dependence",
                "Refer for diagnostic evaluation",
            ),
        ],
        positive_from=8,
        description="WHO risk zones (default).",
    ),
    _band_set(
        "AUDIT:AUDITSCREEN",
        [
            (0, 7, "low", "Low risk"),
            (8, 14, "hazardous_harmful", "Hazardous or harmful use"),
            (15, 40, "likely_dependence", "Likely dependence"),
        ],
        positive_from=8,
        description="auditscreen.org categories; 0 is counted as low risk.",
    ),
    _band_set(
        "AUDIT-C:UNSPECIFIED",
        [
            (0, 2, "negative", "Negative (below both cut-offs)"),
            (3, 3, "positive", "Positive for women (>= 3); below the men's cut-off (4)"),
            (4, 12, "positive", "Positive (men >= 4, women >= 3)"),
        ],
        description="Sex not recorded: positive from the lower cut-off; flags name the cut-off met.",
    ),
    _band_set(
        "AUDIT-C:MEN",
        [(0, 3, "negative", "Negative"), (4, 12, "positive", "Positive (>= 4)")],
        positive_from=4,
        description="Bush et al. 1998 cut-off for men.",
    ),
    _band_set(
        "AUDIT-C:WOMEN",
        [(0, 2, "negative", "Negative"), (3, 12, "positive", "Positive (>= 3)")],
        positive_from=3,
        description="Bradley et al. 2003 cut-off for women.",
    ),
    _band_set(
        "DAST-10:SKINNER-1982",
        [
            (0, 0, "none", "No problems reported", "None"),
            (1, 2, "low", "Low level", "Monitor"),
            (3, 5, "moderate", "Moderate level", "Further investigation"),
            (6, 8, "substantial", "Substantial level", "Intensive assessment"),
            (9, 10, "severe", "Severe level", "Intensive assessment"),
        ],
    ),
    _band_set(
        "CIWA-Ar:ASAM-2020",
        [
            (0, 9, "mild", "Mild withdrawal (< 10)"),
            (10, 18, "moderate", "Moderate withdrawal (10-18)"),
            (19, 67, "severe", "Severe withdrawal (>= 19)"),
        ],
        description="Default. 'Complicated' withdrawal is a clinical flag, not a score.",
    ),
    _band_set(
        "CIWA-Ar:SULLIVAN-1989",
        [
            (0, 9, "minimal", "Absent or minimal withdrawal (<= 9)"),
            (10, 15, "moderate", "Moderate withdrawal (10-15)"),
            (16, 67, "severe", "Severe withdrawal (> 15)"),
        ],
        description="Edges vary between sources; these are configurable.",
    ),
    _band_set(
        "COWS:WESSON-LING-2003",
        [
            (0, 4, "minimal", "None/minimal (below mild)"),
            (5, 12, "mild", "Mild"),
            (13, 24, "moderate", "Moderate"),
            (25, 36, "moderately_severe", "Moderately severe"),
            (37, 48, "severe", "Severe"),
        ],
    ),
    FixedRules("C-SSRS:SCREENER-TRIAGE", "C-SSRS", "Highest level wins."),
    BamThresholds(
        "BAM:VA-DEFAULT",
        description="Use >= 1, risk >= 12, protective <= 12 (verify against VA manual).",
    ),
    FixedRules("URICA:MA-ATTC", "URICA", "Nearest reference mean; ties go higher."),
    FixedRules("READINESS-RULER:RAW", "READINESS-RULER", "Raw value, no bands."),
)

BAND_SETS: dict[str, ScoringRules] = {rules.id: rules for rules in _ALL_RULES}

# --- Registry and entry points ----------------------------------------------------------

INSTRUMENTS: dict[str, Instrument] = {
    inst.code: inst
    for inst in (
        PHQ9,
        GAD7,
        AUDIT,
        AUDIT_C,
        DAST10,
        CIWA_AR,
        COWS,
        CSSRS,
        BAM,
        URICA,
        READINESS_RULER,
    )
}


def _lookup_key(code: str) -> str:
    # "phq9", "PHQ-9" and "phq 9" all find the same instrument.
    return "".join(ch for ch in code.upper() if ch.isalnum())


_BY_LOOKUP_KEY = {_lookup_key(code): inst for code, inst in INSTRUMENTS.items()}


def instrument(code: str) -> Instrument:
    """The instrument definition for ``code`` (case and punctuation insensitive).

    Raises ValidationError naming the code when it is unknown.
    """
    if isinstance(code, str):
        found = _BY_LOOKUP_KEY.get(_lookup_key(code))
        if found is not None:
            return found
    raise ValidationError({"code": f"Unknown instrument code {code!r} (known: {', '.join(INSTRUMENTS)})."})


def score(
    code: str,
    answers: Sequence[Answer],
    band_set: str | ScoringRules | None = None,
    *,
    sex: str | None = None,
) -> ScoreResult:
    """Validate and score one answer set for instrument ``code``.

    Guarantees: the result reflects every answer exactly as given (nothing clamped,
    nothing prorated); any invalid, missing or skip-violating answer raises
    ``ValidationError`` naming the item instead. ``band_set`` selects a registered cut-off
    set by id (or a custom ``BandSet``/``BamThresholds``); ``sex`` is used by AUDIT-C only.
    """
    return instrument(code).score(answers, band_set=band_set, sex=sex)
