"""Numbers in a sentence, read as typed values: percentages (as incidences or outcome
figures), grades, ages, years, durations and counts of patients; and the group of
patients a sentence names (adults, children and young adults).

Regular expressions over the sentence's text, tried in a fixed order; a later pattern
never claims characters an earlier one took, so "grade 3 in 12%" gives a grade and an
incidence, and "aged 1 to 25 years" gives an age range, not a duration. The outcome a
percentage measures (complete remission, EFS, OS, MRD negativity) is read from the
words just before it, or just after it when none stand before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class FoundQuantity:
    """A value in a sentence; offsets are characters relative to the text searched.
    ``value`` is a number, or, for a ``population``, the group's name ("adults")."""

    kind: str
    value: float | str
    unit: str
    begin: int
    end: int


_NUMBER = r"(\d+(?:\.\d+)?)"
_DASH = r"\s*(?:-|–|—|to)\s*"

#: Outcome words and the kind of figure they name, tried in this order.
OUTCOMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("mrd_negativity", re.compile(r"\bMRD[- ]?negativ\w*(?: (?:CR|complete remission|remission))?|\bnegative for (?:MRD|minimal residual disease)", re.I)),
    ("efs", re.compile(r"\bEFS\b|\bevent[- ]free survival\b|\bleukemia[- ]free survival\b|\bLFS\b|\brelapse[- ]free survival\b|\bRFS\b")),
    ("os", re.compile(r"\bOS\b|\boverall survival\b")),
    ("complete_remission", re.compile(r"\bCR(?:/CRi)?\b|\bCRi\b|\bcomplete (?:remission|response)s?\b|\bremission\b|\bresponse rate\b|\bORR\b", re.I)),
)

_GRADE_PATTERNS = (
    # "grade ≥3", "grade >2", "grade >= 3"
    (re.compile(r"\bgrade\s*(≥|>=|>)\s*(\d)", re.I), lambda m: int(m.group(2)) + (1 if m.group(1) == ">" else 0)),
    # "grade 3 or higher", "grade 3 and above"
    (re.compile(r"\bgrade\s+(\d)\s+(?:or|and)\s+(?:higher|above|greater|more)\b", re.I), lambda m: int(m.group(1))),
    # "grade 3-4", "grade 3 to 5"
    (re.compile(r"\bgrades?\s+(\d)" + _DASH + r"(\d)\b", re.I), lambda m: int(m.group(1))),
    # "grade 3"
    (re.compile(r"\bgrade\s+(\d)\b", re.I), lambda m: int(m.group(1))),
)

_AGE_RANGE = re.compile(r"\b(?:aged|ages?|age range(?: of)?)\s+" + r"(\d+)" + _DASH + r"(\d+)(?:\s*years?)?", re.I)
_AGE_MAX = re.compile(r"(?:\bup to (?:the age of )?|\bupto |≤\s*|<=\s*|\byounger than |\bunder (?:the age of )?|\baged (?:up to )?)(\d+)\s*(?:years?|yrs?)\b(?! or older| and older| or over)", re.I)
_AGE_MIN = re.compile(
    r"(?:\b(?:aged\s+)?(\d+)\s*(?:years?|yrs?)?\s*(?:or|and)\s*(?:older|over|above)\b)"
    r"|(?:(?:≥|>=)\s*(\d+)\s*(?:years?|yrs?)\b)"
    r"|(?:\baged? (?:at least|≥|>=)\s*(\d+)(?:\s*(?:years?|yrs?))?)",
    re.I,
)
_AGE_MEDIAN = re.compile(r"\bmedian age(?: of| was| at \w+)?\s*(\d+(?:\.\d+)?)(?:\s*years?)?", re.I)
_PERCENT = re.compile(_NUMBER + r"\s*(?:%|percent\b|per cent\b)", re.I)
_YEAR = re.compile(r"(?<![\w.\-/])(19[89]\d|20[0-4]\d)(?![\w%.\-/]|\s*%)")
_DURATION = re.compile(_NUMBER + r"[\s-]*(months?|days?|weeks?|years?)\b", re.I)
#: Groups of patients a trial or an approval covers, longest first.
_POPULATION = re.compile(
    r"\b(children,? adolescents and young adults|children and young adults|children and adolescents"
    r"|children and adults|adolescents and young adults|young adults|children|adolescents|adults"
    r"|infants|pediatric|paediatric)\b",
    re.I,
)
_COUNT = re.compile(
    r"\b(\d+)\s+(?:(?!(?:for|of|in|with|to|at|and|or)\b)[a-z-]+\s+)?"
    r"(?:patients|children|adults|participants|subjects|infants|recipients)\b|\bn\s*=\s*(\d+)",
    re.I,
)

#: Words one of which every match of a pattern holds, in any case: a pattern is run
#: only over a text that holds one of its words (:func:`_folded`), which most
#: sentences do not. Keep them in step with the patterns.
_NEEDED_WORDS: dict[re.Pattern[str], tuple[str, ...]] = {
    **{pattern: ("grade",) for pattern, _ in _GRADE_PATTERNS},
    _AGE_RANGE: ("age",),
    _AGE_MIN: ("older", "over", "above", "age", "≥", ">="),
    _AGE_MAX: ("year", "yr"),
    _AGE_MEDIAN: ("median age",),
    _PERCENT: ("%", "percent", "per cent"),
    _YEAR: ("19", "20"),
    _DURATION: ("month", "day", "week", "year"),
    _COUNT: ("patients", "children", "adults", "participants", "subjects", "infants", "recipients", "="),
    _POPULATION: ("children", "adolescents", "adults", "infants", "pediatric", "paediatric"),
}


def _folded(text: str) -> str:
    """``text`` in lower case, where every word a case-insensitive pattern matches
    stands as the lower-case word: beside ``str.lower``, ``re.IGNORECASE`` also
    matches "ı" and "İ" (lowered to "i" and a combining dot) to "i", and "ſ" to "s"."""
    return text.lower().replace("\u0307", "").replace("ı", "i").replace("ſ", "s")


def _outcome(text: str, begin: int, end: int) -> str:
    """The outcome a percentage measures, or ``incidence``."""
    before = text[max(0, begin - 60) : begin]
    # Only the clause the number stands in: stop at the last ";" or ", and".
    before = re.split(r";|\band\b|\bwhile\b|\bwhereas\b", before)[-1]
    # The outcome word that ends nearest the number wins; on a tie ("MRD-negative CR"),
    # the more specific one, listed first.
    best, best_at = "", -1
    for kind, pattern in OUTCOMES:
        for m in pattern.finditer(before):
            if m.end() > best_at:
                best, best_at = kind, m.end()
    if best:
        return best
    after = re.split(r"[;,]|\band\b", text[end : end + 40])[0]
    for kind, pattern in OUTCOMES:
        if pattern.search(after):
            return kind
    return "incidence"


def find_quantities(text: str) -> list[FoundQuantity]:
    """Every typed number in ``text``, by position."""
    taken: list[tuple[int, int]] = []
    found: list[FoundQuantity] = []

    def free(b: int, e: int) -> bool:
        return all(e <= tb or b >= te for tb, te in taken)

    def add(kind: str, value: float, unit: str, b: int, e: int) -> None:
        found.append(FoundQuantity(kind, value, unit, b, e))

    folded = _folded(text)

    def claim(pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        if not any(word in folded for word in _NEEDED_WORDS[pattern]):
            return
        for m in pattern.finditer(text):
            if free(m.start(), m.end()):
                taken.append((m.start(), m.end()))
                yield m

    for pattern, value in _GRADE_PATTERNS:
        for m in claim(pattern):
            add("grade", float(value(m)), "", m.start(), m.end())
    for m in claim(_AGE_RANGE):
        add("min_age", float(m.group(1)), "years", m.start(), m.end())
        add("max_age", float(m.group(2)), "years", m.start(), m.end())
    for m in claim(_AGE_MIN):
        number = next(g for g in m.groups() if g)
        add("min_age", float(number), "years", m.start(), m.end())
    for m in claim(_AGE_MAX):
        add("max_age", float(m.group(1)), "years", m.start(), m.end())
    for m in claim(_AGE_MEDIAN):
        add("age", float(m.group(1)), "years", m.start(), m.end())
    for m in claim(_PERCENT):
        add(_outcome(text, m.start(), m.end()), float(m.group(1)), "%", m.start(), m.end())
    for m in claim(_DURATION):
        unit = m.group(2).lower()
        add("duration", float(m.group(1)), unit if unit.endswith("s") else unit + "s", m.start(), m.end())
    for m in claim(_YEAR):
        add("year", float(m.group(1)), "", m.start(), m.end())
    for m in claim(_COUNT):
        add("count", float(m.group(1) or m.group(2)), "patients", m.start(), m.end())
    for m in claim(_POPULATION):
        add("population", " ".join(m.group(1).lower().replace(",", "").split()), "", m.start(), m.end())
    return sorted(found, key=lambda q: (q.begin, q.end))
