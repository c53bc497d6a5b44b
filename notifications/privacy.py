"""The privacy linter for patient-facing messages (DOMAIN.md §13, minimum necessary by design).

For SUD care even the clinic's identity is protected (42 CFR Part 2), so a text, an email subject
or a lock-screen preview must not reveal the program, the level of care, a group topic, a
substance, a medication or a mutual-help group, and must not name the patient in full.

The blocked words are ``users.privacy_words`` (one list, shared with ``Site.clean``, which checks
the sender name): matched case-insensitively on whole words with their inflections, a hyphen
counting as a word break (``drug``, ``drugs`` and ``drug-free`` are blocked, ``drugstore`` is
not; ``{{ recovery_link }}`` is a variable name, not a shown word).
"""

from __future__ import annotations

import re

from django.template import Engine, TemplateSyntaxError

from users.privacy_words import BLOCKED_TERMS, find_blocked_words, quoted

__all__ = ["BLOCKED_TERMS", "ENGINE", "lint_patient_template", "lint_template_syntax", "render"]

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
    found = find_blocked_words(text)
    if found:
        problems.append(
            f"Words that reveal substance-use treatment are not allowed in patient messages: {quoted(found)}."
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
