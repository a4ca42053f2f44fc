"""Entity recognition from the lexicon: a spaCy component over phrase matchers.

Names without lower-case letters (CD19, CRS, B-ALL, KTE-X19) match case-sensitively;
all other names match in any case (one rule, :func:`cartkg.ontology.lexicon.name_key`).
A name that several entities share is emitted only for the entity the lexicon's
recorded ambiguity resolves it to, or not at all. Overlapping matches resolve to the
longest span in ``doc.ents``; every match, nested ones included, is kept in ``doc.spans[spans_key]``,
which the relation rules read ("NCI CD22 CAR" contains the antigen CD22).

The patterns are tokenized by the pipeline's own tokenizer
(:mod:`cartkg.extract.tokenizer`), which keeps some tokens whole, among them a
marker's status ("CD19-negative"). Such a token hides the marker's name. When no
lexicon match covers a marker's status whose marker is a one-piece lexicon name, the
matcher splits the token at its hyphens and matches again (:func:`hiding_tokens`):
the CD19 of "CD19-negative blasts" is the antigen, while "CD19-negative relapse"
stays one mention of the disease. Other whole tokens are left as they are: the "NCI"
of a registration number such as "NCI-2025" is no mention. Every mention carries the
rule that made it in ``span._.cartkg_rule`` (``"lexicon"`` here).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import srsly
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from cartkg.ontology.lexicon import Lexicon, is_case_sensitive

from .tokenizer import MARKER_STATUS
from .words import token_texts

PATTERNS_FILE = "patterns.jsonl"

#: The rule that made a mention: "lexicon" for a name of the lexicon,
#: "abbreviation" for a short form the document defines.
if not Span.has_extension("cartkg_rule"):
    Span.set_extension("cartkg_rule", default="lexicon")

_SPLIT_POINTS = re.compile(r"([-/])")
_MARKER_STATUS = re.compile(MARKER_STATUS)


def lexicon_patterns(lexicon: Lexicon) -> list[dict[str, str]]:
    """Phrase patterns for every name of every entity, in a stable order; a shared
    name only for the entity its recorded ambiguity resolves to."""
    patterns = []
    for entity in sorted(lexicon, key=lambda e: e.id):
        for name in entity.names:
            if not lexicon.resolves(entity.id, name):
                continue
            patterns.append(
                {
                    "id": entity.id,
                    "label": entity.type,
                    "pattern": name,
                    "case": "exact" if is_case_sensitive(name) else "lower",
                }
            )
    return patterns


def hiding_tokens(doc: Doc, spans: Sequence[Span], is_name: Callable[[str], bool]) -> list[Token]:
    """Markers' statuses outside every span in ``spans`` that hide a name: one of their
    parts between hyphens satisfies ``is_name``."""
    # The tokens' texts, read without building Token objects; a marker's status holds
    # a hyphen, a cheap test before the pattern.
    statuses = [i for i, text in enumerate(token_texts(doc)) if "-" in text and _MARKER_STATUS.fullmatch(text)]
    if not statuses:
        return []
    covered = {i for span in spans for i in range(span.start, span.end)}
    return [
        token
        for token in (doc[i] for i in statuses)
        if token.i not in covered and any(is_name(part) for part in _SPLIT_POINTS.split(token.text)[::2])
    ]


def split_tokens(doc: Doc, tokens: Sequence[Token]) -> None:
    """Split each token at its hyphens and slashes ("CD19-negative" to "CD19", "-",
    "negative"); the doc has no parse, so each piece heads itself."""
    with doc.retokenize() as retokenizer:
        for token in tokens:
            pieces = [p for p in _SPLIT_POINTS.split(token.text) if p]
            retokenizer.split(token, pieces, heads=[(token, i) for i in range(len(pieces))])


class LexiconMatcher:
    """Marks lexicon names as entities: ``ent.label_`` is the type, ``ent.kb_id_`` the id."""

    def __init__(self, nlp: Language, name: str = "cartkg_lexicon", *, spans_key: str = "cartkg_all"):
        self.nlp = nlp
        self.name = name
        self.spans_key = spans_key
        self.patterns: list[dict[str, str]] = []
        self._labels: dict[str, str] = {}
        self._exact = PhraseMatcher(nlp.vocab, attr="ORTH")
        self._lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._words: dict[str, set[str]] = {"exact": set(), "lower": set()}

    def initialize(
        self,
        get_examples: Any = None,
        *,
        nlp: Language | None = None,
        patterns: Sequence[dict[str, str]] | None = None,
    ) -> None:
        """Replace the patterns (``nlp.initialize`` passes them from the config)."""
        self.clear()
        if patterns:
            self.add_patterns(patterns)

    def clear(self) -> None:
        self.patterns = []
        self._labels = {}
        self._exact = PhraseMatcher(self.nlp.vocab, attr="ORTH")
        self._lower = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self._words = {"exact": set(), "lower": set()}

    def add_patterns(self, patterns: Iterable[dict[str, str]]) -> None:
        """Add patterns of the form ``{"id", "label", "pattern", "case"}``."""
        patterns = list(patterns)
        for pattern in patterns:
            entity_id, label = pattern["id"], pattern["label"]
            if self._labels.setdefault(entity_id, label) != label:
                raise ValueError(f"entity {entity_id!r} given two labels")
            if pattern.get("case", "lower") not in ("exact", "lower"):
                raise ValueError(f"pattern {pattern['pattern']!r}: case must be 'exact' or 'lower'")
        texts = [p["pattern"] for p in patterns]
        for pattern, doc in zip(patterns, self.nlp.tokenizer.pipe(texts)):
            case = "exact" if pattern.get("case") == "exact" else "lower"
            (self._exact if case == "exact" else self._lower).add(pattern["id"], [doc])
            if len(doc) == 1 and not _SPLIT_POINTS.search(doc.text):
                self._words[case].add(doc.text if case == "exact" else doc.text.lower())
        self.patterns.extend(patterns)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(sorted(set(self._labels.values())))

    def match(self, doc: Doc) -> list[Span]:
        """Every lexicon match in ``doc``, nested and overlapping ones included."""
        found: dict[tuple[int, int, str], Span] = {}
        for matcher in (self._exact, self._lower):
            for match_id, start, end in matcher(doc):
                entity_id = self.nlp.vocab.strings[match_id]
                key = (start, end, entity_id)
                if key not in found:
                    found[key] = Span(doc, start, end, label=self._labels[entity_id], kb_id=entity_id)
        return [found[k] for k in sorted(found)]

    def is_name(self, text: str) -> bool:
        """Whether ``text`` is a one-token name of the patterns, in its case rule."""
        return text in self._words["exact"] or text.lower() in self._words["lower"]

    def __call__(self, doc: Doc) -> Doc:
        spans = self.match(doc)
        hiding = hiding_tokens(doc, spans, self.is_name)
        if hiding:
            split_tokens(doc, hiding)
            spans = self.match(doc)
        doc.spans[self.spans_key] = spans
        doc.ents = filter_spans(spans)
        return doc

    def to_disk(self, path: str | Path, *, exclude: Sequence[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_jsonl(path / PATTERNS_FILE, self.patterns)

    def from_disk(self, path: str | Path, *, exclude: Sequence[str] = ()) -> LexiconMatcher:
        self.clear()
        self.add_patterns(srsly.read_jsonl(Path(path) / PATTERNS_FILE))
        return self


@Language.factory(
    "cartkg_lexicon",
    assigns=["doc.ents", "doc.spans"],
    default_config={"spans_key": "cartkg_all"},
)
def make_lexicon_matcher(nlp: Language, name: str, spans_key: str) -> LexiconMatcher:
    return LexiconMatcher(nlp, name, spans_key=spans_key)
