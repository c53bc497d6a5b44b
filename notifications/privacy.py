"""The privacy linter for patient-facing messages (DOMAIN.md §13, minimum necessary by design).

For SUD care even the clinic's identity is protected (42 CFR Part 2), so a text, an email subject
or a lock-screen preview must not reveal the program, the level of care, a substance, a
medication or a mutual-help group, and must not name the patient in full. The word list is
matched case-insensitively on whole words (``drug`` and ``drugs`` are blocked, ``drugstore`` is
not; ``{{ recovery_link }}`` is a variable name, not a shown word).
"""

from __future__ import annotations

import re

from django.template import Engine, TemplateSyntaxError

# Words that say "substance-use treatment" on a phone screen. Grouped for review; plural and
# inflected forms are listed so ``drugs`` or ``relapsed`` cannot slip through.
BLOCKED_TERMS: tuple[str, ...] = (
    # Program, level of care and clinic type.
    "recovery",
    "recovering",
    "addiction",
    "addictions",
    "addict",
    "addicts",
    "addicted",
    "IOP",
    "intensive outpatient",
    "partial hospitalization",
    "PHP",
    "rehab",
    "rehabilitation",
    "detox",
    "detoxification",
    "withdrawal",
    "SUD",
    "substance",
    "substances",
    "substance use",
    "substance abuse",
    "treatment center",
    "treatment program",
    "chemical dependency",
    "dependency",
    "sober",
    "sobriety",
    "relapse",
    "relapses",
    "relapsed",
    "clean time",
    # Substances.
    "alcohol",
    "alcoholic",
    "alcoholics",
    "alcoholism",
    "drug",
    "drugs",
    "opioid",
    "opioids",
    "opiate",
    "opiates",
    "heroin",
    "fentanyl",
    "cocaine",
    "meth",
    "methamphetamine",
    # Medications for opioid and alcohol use disorder, overdose reversal, testing.
    "methadone",
    "suboxone",
    "buprenorphine",
    "sublocade",
    "naltrexone",
    "vivitrol",
    "naloxone",
    "narcan",
    "disulfiram",
    "antabuse",
    "acamprosate",
    "MAT",
    "MOUD",
    "urine",
    "UDS",
    "toxicology",
    # Mutual-help groups.
    "AA",
    "NA",
    "alcoholics anonymous",
    "narcotics anonymous",
    "12-step",
    "twelve step",
)

_TERM_RE = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(sorted((re.escape(t).replace(r"\ ", r"\s+") for t in BLOCKED_TERMS), key=len, reverse=True))
    + r")(?![\w-])",
    re.IGNORECASE,
)

# Placeholders that name the patient. A first-name placeholder is allowed on its own; together
# with a last-name one (or one that is both) the message names the patient in full.
_PLACEHOLDER_RE = re.compile(r"{{\s*([\w.]+)[^}]*}}")
_FIRST = ("first_name", "preferred_name", "given_name")
_LAST = ("last_name", "surname", "family_name")
_FULL = ("full_name", "legal_name", "display_name")
# Only variables and simple conditionals: no {% include %}, {% load %}, {% debug %}.
_TAG_RE = re.compile(r"{%\s*(\w+)")
_ALLOWED_TAGS = {"if", "elif", "else", "endif"}


def lint_patient_template(text: str) -> list[str]:
    """Problems that stop a patient-facing template from being saved; empty when it is fine."""
    problems: list[str] = []
    found = sorted({" ".join(m.group(0).lower().split()) for m in _TERM_RE.finditer(text or "")})
    if found:
        problems.append(
            "Words that reveal substance-use treatment are not allowed in patient messages: "
            + ", ".join(f"“{w}”" for w in found)
            + "."
        )
    # The last segment of each placeholder: ``patient.last_name`` → ``last_name``.
    names = [m.group(1).lower().split(".")[-1] for m in _PLACEHOLDER_RE.finditer(text or "")]
    has_first = any(n.endswith(_FIRST) or n == "first" for n in names)
    has_last = any(n.endswith(_LAST) or n == "last" for n in names)
    has_full = any(n.endswith(_FULL) or n == "name" for n in names)
    if has_full or (has_first and has_last):
        problems.append("Use the first name or initials only: never the first and last name together.")
    return problems


def lint_template_syntax(text: str) -> list[str]:
    """Template tags other than variables and ``if`` are refused; the text must compile."""
    problems = [
        f"The tag “{{% {tag} %}}” is not allowed in message templates (use variables and if only)."
        for tag in sorted({m.group(1) for m in _TAG_RE.finditer(text or "")} - _ALLOWED_TAGS)
    ]
    if not problems:
        try:
            ENGINE.from_string(text or "")
        except TemplateSyntaxError as exc:
            problems.append(f"The template does not compile: {exc}")
    return problems


# Plain text: nothing is HTML-escaped, unknown variables render as nothing.
ENGINE = Engine(autoescape=False, string_if_invalid="")


def render(text: str, context: dict) -> str:
    from django.template import Context

    return ENGINE.from_string(text).render(Context(context)).strip()
