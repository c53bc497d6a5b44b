"""The words a patient must never see from the clinic (DOMAIN.md §13, minimum necessary by design).

For SUD care even the clinic's identity is protected (42 CFR Part 2), so a text, an email subject,
a sender name or a lock-screen preview must not name the program, the level of care, a group
topic, a substance, a medication, a test or a mutual-help group. This is the one list: the
patient-template linter (``notifications.privacy``) and ``Site.clean`` (the sender name) both
use it. It lives on the bottom floor because ``users`` may import no other app.

How a listed term matches, case-insensitively:
- on whole words: a letter, digit or underscore next to it hides it ("drugstore", "hotpot",
  ``{{ recovery_link }}``), while a space, a hyphen or punctuation does not ("drug-free",
  "post-detox", "IOP-group");
- with its inflections, so each term is listed once: "rehab" also blocks "rehabs", "rehabbed"
  and "rehabbing"; "relapse" blocks "relapses", "relapsed", "relapsing"; "recovery" blocks
  "recoveries"; an acronym written in capitals takes only a plural "s" ("IOPs");
- in a term of several words the words may be joined by spaces or hyphens ("level of care",
  "level-of-care"); a hyphen in a term also matches no gap at all ("12-step", "12 step", "12step");
- with accents ignored: the text is compared with its accents removed, so the Spanish terms are
  listed without them ("recuperacion" blocks "recuperación").
"""

from __future__ import annotations

import re
import unicodedata

# Grouped for review, one form per term (inflections are generated: see the module docstring).
BLOCKED_TERMS: tuple[str, ...] = (
    # Program, clinic type and level of care (ASAM levels, 3rd and 4th editions).
    "recovery",
    "recovering",
    "addiction",
    "addict",
    "IOP",
    "HIOP",
    "PHP",
    "OTP",
    "ASAM",
    "intensive outpatient",
    "outpatient",
    "inpatient",
    "partial hospital",
    "partial hospitalization",
    "residential",
    "level of care",
    "early intervention",
    "remission monitoring",
    "halfway house",
    "rehab",
    "rehabilitate",
    "rehabilitation",
    "detox",
    "detoxify",
    "detoxification",
    "withdrawal",
    "SUD",
    "OUD",
    "AUD",
    "use disorder",
    "substance",
    "substance use",
    "substance abuse",
    "chemical dependency",
    "dependency",
    "dependence",
    "treatment center",
    "treatment centre",
    "treatment program",
    "treatment facility",
    "behavioral health",
    "behavioural health",
    "dual diagnosis",
    "co-occurring",
    # Group topics (DOMAIN.md §5 session types and approaches).
    "relapse",
    "craving",
    "sober",
    "sobriety",
    "abstinence",
    "abstinent",
    "clean time",
    "overdose",
    "harm reduction",
    "psychoeducation",
    "process group",
    "refusal skill",
    "DBT",
    "CBT",
    "contingency management",
    "matrix model",
    "motivational interviewing",
    # Substances.
    "alcohol",
    "alcoholic",
    "alcoholism",
    "drunk",
    "intoxicated",
    "intoxication",
    "DUI",
    "DWI",
    "drug",
    "narcotic",
    "opioid",
    "opiate",
    "heroin",
    "fentanyl",
    "oxycodone",
    "oxycontin",
    "cocaine",
    "meth",
    "methamphetamine",
    "amphetamine",
    "stimulant",
    "benzo",
    "benzodiazepine",
    "cannabis",
    "marijuana",
    # Medications for opioid and alcohol use disorder and overdose reversal, by class and name.
    "MAT",
    "MOUD",
    "MAUD",
    "medication-assisted",
    "methadone",
    "buprenorphine",
    "bupe",
    "suboxone",
    "subutex",
    "zubsolv",
    "sublocade",
    "brixadi",
    "probuphine",
    "naltrexone",
    "vivitrol",
    "revia",
    "naloxone",
    "narcan",
    "kloxxado",
    "zimhi",
    "nalmefene",
    "opvee",
    "acamprosate",
    "campral",
    "disulfiram",
    "antabuse",
    "lofexidine",
    "lucemyra",
    # Testing.
    "urine",
    "urinalysis",
    "UDS",
    "toxicology",
    "tox",
    "breathalyzer",
    "breathalyser",
    # Mutual-help groups.
    "AA",
    "NA",
    "alcoholics anonymous",
    "narcotics anonymous",
    "al-anon",
    "nar-anon",
    "alateen",
    "12-step",
    "twelve-step",
    "mutual-help",
    # Spanish, for the Spanish versions of patient texts (written without accents: a text is
    # compared with its accents removed, so "recuperación" and "recuperacion" both match).
    "recuperacion",
    "adiccion",
    "adicciones",
    "adicto",
    "adicta",
    "droga",
    "drogadiccion",
    "alcoholico",
    "alcoholica",
    "desintoxicacion",
    "rehabilitacion",
    "recaida",
    "sobriedad",
    "sobrio",
    "sobria",
    "abstinencia",
    "sobredosis",
    "sustancia",
    "dependencia",
    "opioide",
    "opiaceo",
    "heroina",
    "cocaina",
    "marihuana",
    "fentanilo",
    "metanfetamina",
    "metadona",
    "buprenorfina",
    "naloxona",
    "naltrexona",
    "ambulatorio intensivo",
    "hospitalizacion parcial",
    "tratamiento de adicciones",
    "orina",
    "toxicologia",
    "alcoholicos anonimos",
    "narcoticos anonimos",
    "doce pasos",
)

_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014"  # hyphen-minus, hyphens, en and em dashes
_GAP = rf"[\s{_DASHES}]+"  # between words of a term: "level of care", "level-of-care"
_JOIN = rf"[\s{_DASHES}]*"  # where a term has a hyphen: "12-step", "12 step", "12step"
_VOWELS = "aeiou"


def _inflected(word: str) -> str:
    """A pattern for ``word`` and its regular inflections (s/es/ed/ing/er/ers)."""
    if word.isdigit():
        return word
    if word.isupper():  # an acronym: "IOPs"
        return re.escape(word) + "s?"
    if word.endswith("e"):  # relapse → relapses, relapsed, relapsing
        return re.escape(word[:-1]) + "(?:e|es|ed|ing|er|ers)"
    if word.endswith("y") and word[-2:-1] not in _VOWELS:  # recovery → recoveries
        return re.escape(word[:-1]) + "(?:y|ies|ied|ying)"
    endings = ["s", "es", "ed", "ing", "er", "ers"]
    last = word[-1]
    if len(word) > 2 and last not in _VOWELS + "wxy" and word[-2] in _VOWELS and word[-3] not in _VOWELS:
        endings += [last + e for e in ("ed", "ing", "er", "ers")]  # rehab → rehabbed, rehabbing
    return re.escape(word) + "(?:" + "|".join(endings) + ")?"


def _term_pattern(term: str) -> str:
    """Words joined by spaces or hyphens; only the last word is inflected."""
    parts = [part for part in re.split(r"([ -])", term) if part]
    words, seps = parts[::2], parts[1::2]
    pattern = ""
    for index, word in enumerate(words):
        last = index == len(words) - 1
        pattern += _inflected(word) if last else re.escape(word)
        if not last:
            pattern += _GAP if seps[index] == " " else _JOIN
    return pattern


def _alternatives(terms: tuple[str, ...]) -> str:
    """The terms grouped by first character, so each word of a message is tried against a
    handful of terms rather than all of them (the linter runs on every message sent). Longest
    terms first within a group, so "substance use" is reported rather than "substance"."""
    groups: dict[str, list[str]] = {}
    for term in sorted(terms, key=len, reverse=True):
        if not term[0].isalnum():  # the first character is cut off the pattern as a plain literal
            raise ValueError(f"A blocked term starts with a letter or digit: {term!r}")
        groups.setdefault(term[0].lower(), []).append(_term_pattern(term)[1:])
    return "|".join(re.escape(first) + "(?:" + "|".join(rests) + ")" for first, rests in sorted(groups.items()))


BLOCKED_RE = re.compile(r"(?<!\w)(?:" + _alternatives(BLOCKED_TERMS) + r")(?!\w)", re.IGNORECASE)


def _without_accents(text: str) -> str:
    """ "Recuperación" → "Recuperacion": letters with their accents and other marks removed."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def find_blocked_words(text: str) -> list[str]:
    """The blocked words in ``text`` (lower case, accents removed, spaces collapsed), sorted and
    without repeats; empty when the text is neutral."""
    plain = _without_accents(text or "")
    return sorted({" ".join(m.group(0).lower().split()) for m in BLOCKED_RE.finditer(plain)})


def quoted(words: list[str]) -> str:
    """“recovery”, “rehabs”: how an error names the words to remove."""
    return ", ".join(f"“{w}”" for w in words)
