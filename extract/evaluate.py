"""Measuring the extractor against the gold set.

The real :class:`~cartkg.extract.pipeline.Extractor` runs on every gold text and what
it finds is compared with the annotations, as ``tests/data/gold/README.md`` specifies:

- entities: strict span and type match; precision, recall and F1 per type and micro;
- normalization: of the mentions whose spans match (type aside), the share with the
  gold entity id; also P/R/F1 over (span, id), where a wrong id is an FP and an FN;
- assertion status: over span-matched mentions and matched relations, per status, a
  confusion count, and the gold ``negated`` read as ``affirmed`` counted on its own;
- relations: same predicate, subject and object, evidence sentence overlapping the
  gold sentence (one to one); per predicate and micro; qualifiers (kind and value) on
  matched relations, when any side has them. Relations read from inside a name ("NCI
  CD22 CAR" contains CD22) are left out on both sides: a name is not a statement, and
  the lexicon already holds what names imply.

Every disagreement is kept as a :class:`Mismatch` with its text and sentence, so a
low score can be read, not just seen. All orderings are deterministic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cartkg.ontology.lexicon import Lexicon

from .gold import STATUSES, GoldDocument, GoldMention, GoldRelation, GoldSetError, load_gold
from .pipeline import Extractor
from .records import Extraction, Mention, ReadError, Relation
from .relations import bundled_rules

__all__ = [
    "EvaluationReport", "GoldSetError", "Mismatch", "NormalizationScores", "Score",
    "StatusScores", "evaluate", "score_documents",
]

NEGATED, AFFIRMED = "negated", "affirmed"


@dataclass(frozen=True)
class Score:
    """Counts of true positives, false positives and false negatives.

    A ratio with nothing under it is 1.0 only when there is nothing at all to find and
    nothing found; otherwise 0.0.

    >>> Score(3, 1, 0).precision, Score(0, 0, 0).f1, Score(0, 2, 0).recall
    (0.75, 1.0, 0.0)
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def empty(self) -> bool:
        return self.tp == self.fp == self.fn == 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float(self.empty)

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float(self.empty)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def to_dict(self) -> dict[str, float]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


def micro(scores: Iterable[Score]) -> Score:
    """The sum of the counts: micro-averaged precision, recall and F1."""
    return sum(scores, Score())


@dataclass(frozen=True)
class NormalizationScores:
    """Entity ids: ``correct`` of ``compared`` span-matched mentions agree; ``score``
    counts over all mentions by (span, id)."""

    compared: int
    correct: int
    score: Score

    @property
    def accuracy(self) -> float:
        return self.correct / self.compared if self.compared else float(self.score.empty)

    def to_dict(self) -> dict[str, Any]:
        return {"compared": self.compared, "correct": self.correct, "accuracy": self.accuracy,
                "score": self.score.to_dict()}


@dataclass(frozen=True)
class StatusScores:
    """Assertion status over matched pairs: ``confusion`` counts (gold, predicted)."""

    confusion: Mapping[tuple[str, str], int]

    @property
    def compared(self) -> int:
        return sum(self.confusion.values())

    @property
    def agreed(self) -> int:
        return sum(n for (gold, predicted), n in self.confusion.items() if gold == predicted)

    @property
    def accuracy(self) -> float:
        return self.agreed / self.compared if self.compared else 1.0

    @property
    def negated_as_affirmed(self) -> int:
        """Gold ``negated`` predicted ``affirmed``: the error the test suite allows none of."""
        return self.confusion.get((NEGATED, AFFIRMED), 0)

    @property
    def by_status(self) -> dict[str, Score]:
        """P/R/F1 of each status that occurs on either side, in :data:`STATUSES` order."""
        seen = {s for pair in self.confusion for s in pair}
        return {
            status: Score(
                tp=self.confusion.get((status, status), 0),
                fp=sum(n for (g, p), n in self.confusion.items() if p == status and g != status),
                fn=sum(n for (g, p), n in self.confusion.items() if g == status and p != status),
            )
            for status in STATUSES
            if status in seen
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "compared": self.compared,
            "agreed": self.agreed,
            "accuracy": self.accuracy,
            "negated_as_affirmed": self.negated_as_affirmed,
            "by_status": {s: score.to_dict() for s, score in self.by_status.items()},
            "confusion": [{"gold": g, "predicted": p, "count": n} for (g, p), n in self.confusion.items()],
        }


@dataclass(frozen=True)
class Mismatch:
    """One disagreement with the gold: ``kind`` is ``false positive``, ``false
    negative``, ``wrong id`` or ``wrong status``; ``layer`` is ``entity`` or
    ``relation``. Offsets are the mention's, or the sentence's for a relation."""

    doc_id: str
    layer: str
    kind: str
    begin: int
    end: int
    text: str
    gold: str
    predicted: str
    sentence: str

    def sort_key(self) -> tuple:
        return (self.doc_id, self.begin, self.end, self.layer, self.kind, self.gold, self.predicted)


@dataclass(frozen=True)
class EvaluationReport:
    """Everything one evaluation measured, and what it could not read."""

    documents: tuple[str, ...]
    input_errors: tuple[ReadError, ...]
    entities: Mapping[str, Score]
    normalization: NormalizationScores
    mention_status: StatusScores
    relation_status: StatusScores
    relations: Mapping[str, Score]
    qualifiers: Score | None
    errors: tuple[Mismatch, ...]

    @property
    def entities_overall(self) -> Score:
        return micro(self.entities.values())

    @property
    def relations_overall(self) -> Score:
        return micro(self.relations.values())

    def to_dict(self) -> dict[str, Any]:
        """The whole report as plain JSON-ready values."""
        return {
            "documents": list(self.documents),
            "input_errors": [{"source": e.source, "message": e.message} for e in self.input_errors],
            "entities": {"by_type": {t: s.to_dict() for t, s in self.entities.items()},
                         "overall": self.entities_overall.to_dict()},
            "normalization": self.normalization.to_dict(),
            "assertion_status": {"mentions": self.mention_status.to_dict(),
                                 "relations": self.relation_status.to_dict()},
            "relations": {"by_predicate": {p: s.to_dict() for p, s in self.relations.items()},
                          "overall": self.relations_overall.to_dict()},
            "qualifiers": self.qualifiers.to_dict() if self.qualifiers is not None else None,
            "errors": [asdict(e) for e in self.errors],
        }


@dataclass
class _Tally:
    """Counts gathered over documents while scoring; frozen into the report at the end."""

    entity_tp: Counter[str] = field(default_factory=Counter)
    entity_fp: Counter[str] = field(default_factory=Counter)
    entity_fn: Counter[str] = field(default_factory=Counter)
    ids_compared: int = 0
    ids_correct: int = 0
    gold_mentions: int = 0
    predicted_mentions: int = 0
    mention_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    relation_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    relation_tp: Counter[str] = field(default_factory=Counter)
    relation_fp: Counter[str] = field(default_factory=Counter)
    relation_fn: Counter[str] = field(default_factory=Counter)
    qualifiers: Counter[str] = field(default_factory=Counter)
    has_qualifiers: bool = False
    errors: list[Mismatch] = field(default_factory=list)

    def report(self, documents: tuple[str, ...], input_errors: tuple[ReadError, ...]) -> EvaluationReport:
        """The counts frozen into scores, every listing sorted."""
        correct = self.ids_correct
        qualifiers = Score(self.qualifiers["tp"], self.qualifiers["fp"], self.qualifiers["fn"])
        return EvaluationReport(
            documents=documents,
            input_errors=input_errors,
            entities=_scores(self.entity_tp, self.entity_fp, self.entity_fn),
            normalization=NormalizationScores(
                self.ids_compared, correct,
                Score(correct, self.predicted_mentions - correct, self.gold_mentions - correct),
            ),
            mention_status=StatusScores(_sorted_confusion(self.mention_confusion)),
            relation_status=StatusScores(_sorted_confusion(self.relation_confusion)),
            relations=_scores(self.relation_tp, self.relation_fp, self.relation_fn),
            qualifiers=qualifiers if self.has_qualifiers else None,
            errors=tuple(sorted(self.errors, key=Mismatch.sort_key)),
        )


def evaluate(
    gold_dir: str | Path, *, extractor: Extractor | None = None, lexicon: Lexicon | None = None
) -> EvaluationReport:
    """Read the gold folder, run the extractor on each text and score it.

    Raises :class:`GoldSetError` when the folder is missing or holds no gold file; a
    gold file that is not usable is reported in ``input_errors`` and left out.
    """
    documents, input_errors = load_gold(gold_dir, lexicon=lexicon)
    extractor = extractor if extractor is not None else Extractor()
    pairs = [(gold, extractor.extract(gold.document)) for gold in documents]
    return score_documents(pairs, input_errors)


def score_documents(
    pairs: Iterable[tuple[GoldDocument, Extraction]], input_errors: Iterable[ReadError] = ()
) -> EvaluationReport:
    """Score extractions against their gold documents (:func:`evaluate` after reading)."""
    tally = _Tally()
    ids: list[str] = []
    for gold, extraction in pairs:
        ids.append(gold.id)
        _score_mentions(gold, extraction, tally)
        _score_relations(gold, extraction, tally)
    return tally.report(tuple(ids), tuple(input_errors))


def _scores(tp: Counter[str], fp: Counter[str], fn: Counter[str]) -> dict[str, Score]:
    return {key: Score(tp[key], fp[key], fn[key]) for key in sorted(set(tp) | set(fp) | set(fn))}


def _sorted_confusion(confusion: Counter[tuple[str, str]]) -> dict[tuple[str, str], int]:
    order = {s: i for i, s in enumerate(STATUSES)}
    return {pair: confusion[pair] for pair in sorted(confusion, key=lambda p: (order[p[0]], order[p[1]]))}


def _score_mentions(gold: GoldDocument, extraction: Extraction, tally: _Tally) -> None:
    """Entities (span + type), entity ids and statuses of span-matched mentions."""
    gold_at = {(m.begin, m.end): m for m in gold.entities}
    predicted_at: dict[tuple[int, int], Mention] = {}
    for m in extraction.mentions:
        predicted_at.setdefault((m.begin, m.end), m)
    tally.gold_mentions += len(gold_at)
    tally.predicted_mentions += len(predicted_at)
    for span in sorted(set(gold_at) | set(predicted_at)):
        g, p = gold_at.get(span), predicted_at.get(span)
        if g is not None and p is not None:
            _compare_matched_mention(gold.id, extraction, g, p, tally)
        elif g is not None:
            tally.entity_fn[g.type] += 1
            tally.errors.append(_mention_error(gold.id, extraction, "false negative", span, _describe(g), ""))
        elif p is not None:
            tally.entity_fp[p.entity_type] += 1
            tally.errors.append(_mention_error(gold.id, extraction, "false positive", span, "", _describe(p)))


def _compare_matched_mention(doc_id: str, extraction: Extraction, g: GoldMention, p: Mention, tally: _Tally) -> None:
    span = (g.begin, g.end)
    if g.type == p.entity_type:
        tally.entity_tp[g.type] += 1
    else:
        tally.entity_fp[p.entity_type] += 1
        tally.entity_fn[g.type] += 1
    tally.ids_compared += 1
    if g.entity == p.entity_id:
        tally.ids_correct += 1
    else:
        tally.errors.append(_mention_error(doc_id, extraction, "wrong id", span, _describe(g), _describe(p)))
    status = p.status.value
    tally.mention_confusion[(g.status, status)] += 1
    if g.status != status:
        tally.errors.append(_mention_error(
            doc_id, extraction, "wrong status", span, f"{g.entity}: {g.status}",
            f"{p.entity_id}: {status}" + (f" ({p.trigger!r})" if p.trigger else ""),
        ))


def _describe(m: GoldMention | Mention) -> str:
    if isinstance(m, Mention):
        return f"{m.entity_id} ({m.entity_type}, {m.status.value})"
    return f"{m.entity} ({m.type}, {m.status})"


def _mention_error(
    doc_id: str, extraction: Extraction, kind: str, span: tuple[int, int], gold: str, predicted: str
) -> Mismatch:
    begin, end = span
    text = extraction.document.text
    return Mismatch(doc_id, "entity", kind, begin, end, text[begin:end], gold, predicted,
                    _sentence_at(extraction, begin, end))


def _sentence_at(extraction: Extraction, begin: int, end: int) -> str:
    """The extractor's sentence holding a span, or the line when none does (a heading)."""
    for sentence in extraction.sentences:
        if sentence.begin <= begin < sentence.end:
            return sentence.text
    text = extraction.document.text
    start, stop = text.rfind("\n", 0, begin) + 1, text.find("\n", end)
    return text[start : stop if stop != -1 else len(text)]


def _score_relations(gold: GoldDocument, extraction: Extraction, tally: _Tally) -> None:
    """Relations matched one to one by (predicate, subject, object) and overlapping sentence."""
    predicted: dict[tuple[str, str, str], list[Relation]] = {}
    seen: set[tuple[str, str, str, int, int]] = set()
    name_rules = {rule.name for rule in bundled_rules().rules if rule.nested}
    for r in extraction.relations:
        if r.evidence.rule in name_rules:
            continue
        key = (r.predicate, r.subject, r.object)
        if key + (r.evidence.begin, r.evidence.end) not in seen:
            seen.add(key + (r.evidence.begin, r.evidence.end))
            predicted.setdefault(key, []).append(r)
    expected: dict[tuple[str, str, str], list[GoldRelation]] = {}
    for g in gold.relations:
        expected.setdefault((g.predicate, g.subject, g.object), []).append(g)
        tally.has_qualifiers |= g.qualifiers is not None
    tally.has_qualifiers |= any(r.quantities for r in extraction.relations)
    for key in sorted(set(predicted) | set(expected)):
        golds = sorted(expected.get(key, []), key=lambda g: g.sentence)
        unmatched = sorted(predicted.get(key, []), key=lambda r: (r.evidence.begin, r.evidence.end))
        for g in golds:
            p = next((r for r in unmatched if r.evidence.begin < g.sentence[1] and g.sentence[0] < r.evidence.end),
                     None)
            if p is None:
                tally.relation_fn[g.predicate] += 1
                tally.errors.append(_relation_error(gold.id, extraction, "false negative", g.sentence, key,
                                                    g.status, ""))
                continue
            unmatched.remove(p)
            _compare_matched_relation(gold.id, extraction, g, p, tally)
        for p in unmatched:
            tally.relation_fp[p.predicate] += 1
            tally.errors.append(_relation_error(gold.id, extraction, "false positive",
                                                (p.evidence.begin, p.evidence.end), key, "", p.status.value))


def _compare_matched_relation(doc_id: str, extraction: Extraction, g: GoldRelation, p: Relation, tally: _Tally) -> None:
    tally.relation_tp[g.predicate] += 1
    status = p.status.value
    tally.relation_confusion[(g.status, status)] += 1
    if g.status != status:
        tally.errors.append(_relation_error(doc_id, extraction, "wrong status", g.sentence,
                                            (g.predicate, g.subject, g.object), g.status,
                                            status + (f" ({p.trigger!r})" if p.trigger else "")))
    expected = Counter((q.kind, _value_key(q.value)) for q in g.qualifiers or ())
    found = Counter((q.kind, _value_key(q.value)) for q in p.quantities)
    tally.qualifiers["tp"] += sum((expected & found).values())
    tally.qualifiers["fp"] += sum((found - expected).values())
    tally.qualifiers["fn"] += sum((expected - found).values())


def _value_key(value: object) -> str:
    """A qualifier value as compared: numbers to six decimals, texts case- and space-folded."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{float(value):.6f}"
    return " ".join(str(value).casefold().split())


def _relation_error(
    doc_id: str, extraction: Extraction, kind: str, span: tuple[int, int],
    key: tuple[str, str, str], gold_status: str, predicted_status: str,
) -> Mismatch:
    begin, end = span
    predicate, subject, obj = key
    text = f"{predicate}({subject}, {obj})"
    return Mismatch(doc_id, "relation", kind, begin, end, text, gold_status, predicted_status,
                    extraction.document.text[begin:end])
