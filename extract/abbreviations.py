"""Abbreviations a document defines, and what its short forms then mean.

scispaCy's ``AbbreviationDetector`` (Schwartz & Hearst) finds the definitions, "long
form (SF)" and "SF (long form)" (the latter only when the long form in brackets has
more than three tokens); it runs on a blank pipeline and, made serializable, leaves
plain dicts in ``doc._.abbreviations``. The ``cartkg_abbreviations`` component, after
the lexicon matcher, runs the detector and turns its definitions into mentions:

- a definition whose long form is, or ends in, a lexicon mention ("cytokine release
  syndrome (CRS)") makes the short form in the definition and every later occurrence
  of it a mention of that entity, made by the rule ``"abbreviation"``
  (``span._.cartkg_rule``), whatever the lexicon says about the short form;
- a definition whose long form is no lexicon mention ("total lymphocyte score (TLS)")
  untags the short form from there on, though the lexicon has it as a name;
- occurrences before the definition follow the lexicon; a longer lexicon name that
  holds the short form stays the mention ("the guidelines annotate the longest name").

The first definition of a short form in a document holds to its end, as the detector
has it within one text.

**Across passages.** A document is processed as several Docs, one per passage
(section), and a definition in one section holds in the sections after it. The state
travels with the Docs as plain data: ``doc._.cartkg_abbreviations_in`` holds the
definitions in force when a passage starts, and the component leaves in
``doc._.cartkg_abbreviations`` those in force at its end. :func:`pipe_passages` runs
the passages of one document in order, handing each the definitions of the ones
before; its short forms are then tagged from the first token on.

The algorithm is plain functions over spans; the component is a thin shell.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy
from scispacy.abbreviation import AbbreviationDetector
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.strings import get_string_id
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from . import entities as _entities  # noqa: F401  (registers Span._.cartkg_rule)
from .words import token_texts


class Definition(NamedTuple):
    """A short form and what it stands for in one document: the entity of its long
    form, or ``None`` (with no label) when the long form is no lexicon mention."""

    short: tuple[str, ...]
    long_form: str
    entity_id: str | None
    label: str | None


if not Doc.has_extension("cartkg_abbreviations_in"):
    Doc.set_extension("cartkg_abbreviations_in", default=())
if not Doc.has_extension("cartkg_abbreviations"):
    Doc.set_extension("cartkg_abbreviations", default=None)


def defining_occurrences(abbreviations: Iterable[dict]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """``(long form, short form)`` token ranges of each definition, from the detector's
    serializable output, in text order. The detector lists every occurrence of a short
    form under its long form; the one in the definition is the one nearest to it."""
    by_long: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for entry in abbreviations:
        long_form = (entry["long_start"], entry["long_end"])
        by_long.setdefault(long_form, []).append((entry["short_start"], entry["short_end"]))

    def distance(long_form: tuple[int, int], short: tuple[int, int]) -> int:
        return max(short[0] - long_form[1], long_form[0] - short[1])

    pairs = [(lf, min(shorts, key=lambda s: (distance(lf, s), s))) for lf, shorts in by_long.items()]
    return sorted(pairs, key=lambda pair: min(pair[0][0], pair[1][0]))


def long_form_mention(long_form: Span) -> Span | None:
    """The lexicon mention (in ``doc.ents``) that the long form is or ends in."""
    return next((ent for ent in long_form.doc.ents if ent.end == long_form.end), None)


def occurrences(doc: Doc, short: Sequence[str], start: int = 0) -> list[tuple[int, int]]:
    """Token ranges where the short form (its tokens' texts) stands, from ``start`` on."""
    n = len(short)
    short = tuple(short)
    words = token_texts(doc)
    return [
        (i, i + n)
        for i in range(start, len(words) - n + 1)
        # Whole short forms are compared only where their first word stands.
        if (not n or words[i] == short[0]) and tuple(words[i : i + n]) == short
    ]


def apply_definitions(
    doc: Doc, in_force: Sequence[tuple[Definition, int]], spans_key: str, rule: str
) -> None:
    """Tag (or untag) each definition's short form from the token where it holds on,
    in ``doc.spans[spans_key]`` and ``doc.ents``."""
    spans = list(doc.spans[spans_key]) if spans_key in doc.spans else list(doc.ents)
    added: list[Span] = []
    for definition, start in in_force:
        for begin, end in occurrences(doc, definition.short, start):
            spans = [s for s in spans if not (begin <= s.start and s.end <= end)]
            if definition.entity_id is not None:
                span = Span(doc, begin, end, label=definition.label, kb_id=definition.entity_id)
                span._.cartkg_rule = rule
                added.append(span)
    spans = sorted([*spans, *added], key=lambda s: (s.start, s.end, s.kb_id_))
    doc.spans[spans_key] = spans
    doc.ents = filter_spans(spans)


def find_definitions(doc: Doc, known: Iterable[Definition] = ()) -> list[tuple[Definition, int]]:
    """The definitions the detector found in ``doc``, with the token of the defining
    short form; a short form already in ``known`` keeps its first definition."""
    seen = {d.short for d in known}
    found = []
    for (l_start, l_end), (s_start, s_end) in defining_occurrences(doc._.abbreviations or ()):
        short = tuple(t.text for t in doc[s_start:s_end])
        if short in seen:
            continue
        seen.add(short)
        long_form = doc[l_start:l_end]
        mention = long_form_mention(long_form)
        definition = Definition(
            short,
            long_form.text,
            mention.kb_id_ if mention is not None else None,
            mention.label_ if mention is not None else None,
        )
        found.append((definition, s_start))
    return found


#: The brackets of scispaCy's matcher pattern, as ORTH ids.
_OPENING, _CLOSING = get_string_id("("), get_string_id(")")


def may_define(doc: Doc) -> bool:
    """Whether scispaCy's detector can find a definition in ``doc``: every definition
    it finds stands in brackets, a "(" token followed later by a ")" token (its
    matcher's pattern), so a Doc without them defines nothing. The check compares the
    tokens' ORTH ids, without building ``Token`` objects."""
    orths = doc.to_array(ORTH)
    opening = numpy.flatnonzero(orths == _OPENING)
    return opening.size > 0 and bool((orths[opening[0] + 1 :] == _CLOSING).any())


class AbbreviationResolver:
    """Runs scispaCy's detector, applies the definitions in force (inherited from
    earlier passages and found here) and records them in ``doc._.cartkg_abbreviations``."""

    def __init__(self, nlp: Language, name: str = "cartkg_abbreviations", *, spans_key: str = "cartkg_all",
                 rule: str = "abbreviation"):
        self.name = name
        self.spans_key = spans_key
        self.rule = rule
        self.detector = AbbreviationDetector(nlp, make_serializable=True)

    def __call__(self, doc: Doc) -> Doc:
        if may_define(doc):
            with warnings.catch_warnings():
                # The detector runs its matcher of short forms even when it found none.
                warnings.filterwarnings("ignore", message=r"\[W036\]")
                self.detector(doc)
        inherited = tuple(Definition(*d) for d in doc._.cartkg_abbreviations_in)
        found = find_definitions(doc, inherited)
        in_force = [*((d, 0) for d in inherited), *found]
        # With no definition in force, applying them would set the same spans and
        # entities again.
        if in_force or self.spans_key not in doc.spans:
            apply_definitions(doc, in_force, self.spans_key, self.rule)
        doc._.cartkg_abbreviations = (*inherited, *(d for d, _ in found))
        return doc


@Language.factory(
    "cartkg_abbreviations",
    assigns=["doc.ents", "doc.spans", "doc._.abbreviations", "doc._.cartkg_abbreviations"],
    requires=["doc.ents"],
    default_config={"spans_key": "cartkg_all", "rule": "abbreviation"},
)
def make_abbreviation_resolver(nlp: Language, name: str, spans_key: str, rule: str) -> AbbreviationResolver:
    return AbbreviationResolver(nlp, name, spans_key=spans_key, rule=rule)


def pipe_passages(nlp: Language, texts: Iterable[str]) -> Iterator[Doc]:
    """Run the passages of one document through ``nlp`` in order, each starting with
    the definitions in force at the end of the one before."""
    carried: tuple[Definition, ...] = ()
    for text in texts:
        doc = nlp.make_doc(text)
        doc._.cartkg_abbreviations_in = carried
        doc = nlp(doc)
        if doc._.cartkg_abbreviations is not None:
            carried = doc._.cartkg_abbreviations
        yield doc
