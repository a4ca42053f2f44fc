"""Entity recognition from the lexicon: a spaCy component over phrase matchers.

Names without lower-case letters (CD19, CRS, B-ALL, KTE-X19) match case-sensitively;
all other names match in any case (one rule, :func:`cartkg.ontology.lexicon.name_key`).
A name that several entities share is emitted only for the entity the lexicon's
recorded ambiguity resolves it to, or not at all. Overlapping matches resolve to the
longest span in ``doc.ents``; every match, nested ones included, is kept in ``doc.spans[spans_key]``,
which the relation rules read ("NCI CD22 CAR" contains the antigen CD22).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import srsly
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from cartkg.ontology.lexicon import Lexicon, is_case_sensitive

PATTERNS_FILE = "patterns.jsonl"


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
            matcher = self._exact if pattern.get("case") == "exact" else self._lower
            matcher.add(pattern["id"], [doc])
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

    def __call__(self, doc: Doc) -> Doc:
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
