"""Relation rules: typed relations between entities of one sentence.

Two kinds of rule, both data in ``relation_rules.json``:

- trigger rules pair a subject and an object of the right types when a trigger word
  stands between them (or just before the first, as "anti-" in "anti-CD19", or just
  after the object, as in "is CD19-directed"), nothing of the subject's type stands
  between them, and the gap is short. Lists of the same
  type ("CRS, ICANS and HLH") count as one unit, so every member pairs.
- nested rules pair an entity with one named inside its own name ("NCI CD22 CAR"
  contains CD22; "CIBMTR Pediatric Cancer Working Committee" contains CIBMTR).

The algorithm is plain functions over spaCy spans; the component is a thin shell that
stores its matches on ``doc._.cartkg_relations`` as plain tuples.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources

from spacy.language import Language
from spacy.tokens import Doc, Span

from .quantities import FoundQuantity, find_quantities

RULE_KEYS = {
    "name", "description", "predicate", "subject", "object", "object_only", "object_excluded",
    "triggers", "prefix_triggers", "suffix_triggers", "adjacent_triggers", "max_gap", "nested",
    "subject_first",
}
#: A trigger that is also a suffix trigger ("directed" in "CD19-directed") belongs to
#: the name just before it: in the gap it counts only this close to that name.
ATTACHED_TRIGGER_REACH = 3

#: Words that end one clause and start another; a pair may not straddle them.
CLAUSE_BREAKS = frozenset({"but", "whereas", "however", "while", "although"})

if not Doc.has_extension("cartkg_relations"):
    Doc.set_extension("cartkg_relations", default=None)


@dataclass(frozen=True)
class RelationRule:
    name: str
    predicate: str
    subject: frozenset[str]
    object: frozenset[str]
    triggers: frozenset[str] = frozenset()
    prefix_triggers: frozenset[str] = frozenset()
    suffix_triggers: frozenset[str] = frozenset()
    #: Words that join the two only when nothing else stands between them
    #: ("tisagenlecleucel in ELIANA").
    adjacent_triggers: frozenset[str] = frozenset()
    max_gap: int = 10
    nested: bool = False
    #: Entity ids the object must be one of (empty: any of the object types) …
    object_only: frozenset[str] = frozenset()
    #: … and ids it must not be.
    object_excluded: frozenset[str] = frozenset()
    #: The subject must come first ("the PDWP of the EBMT", not "the EBMT of the PDWP").
    subject_first: bool = False

    def accepts_object(self, span: Span) -> bool:
        return (
            span.label_ in self.object
            and (not self.object_only or span.kb_id_ in self.object_only)
            and span.kb_id_ not in self.object_excluded
        )

    @classmethod
    def from_dict(cls, data: dict) -> RelationRule:
        unknown = set(data) - RULE_KEYS
        if unknown:
            raise ValueError(f"relation rule {data.get('name')!r}: unknown keys {sorted(unknown)}")
        if not data.get("nested") and not data.get("triggers"):
            raise ValueError(f"relation rule {data['name']!r}: needs triggers or nested")
        return cls(
            name=data["name"],
            predicate=data["predicate"],
            subject=frozenset(data["subject"]),
            object=frozenset(data["object"]),
            triggers=frozenset(t.lower() for t in data.get("triggers", ())),
            prefix_triggers=frozenset(t.lower() for t in data.get("prefix_triggers", ())),
            suffix_triggers=frozenset(t.lower() for t in data.get("suffix_triggers", ())),
            adjacent_triggers=frozenset(t.lower() for t in data.get("adjacent_triggers", ())),
            max_gap=int(data.get("max_gap", 10)),
            nested=bool(data.get("nested", False)),
            object_only=frozenset(data.get("object_only", ())),
            object_excluded=frozenset(data.get("object_excluded", ())),
            subject_first=bool(data.get("subject_first", False)),
        )


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[RelationRule, ...]
    coordinators: frozenset[str]


@functools.cache
def bundled_rules() -> RuleSet:
    data = json.loads((resources.files(__package__) / "relation_rules.json").read_text("utf-8"))
    return RuleSet(
        rules=tuple(RelationRule.from_dict(r) for r in data["rules"]),
        coordinators=frozenset(data["coordinators"]),
    )


@dataclass(frozen=True)
class RelationMatch:
    """A relation found in a doc, by token offsets of its two mentions."""

    predicate: str
    subject: Span
    object: Span
    rule: str


def coordinated_groups(
    ents: Sequence[Span], coordinators: frozenset[str], kinds: frozenset[str] = frozenset()
) -> dict[int, tuple[int, int]]:
    """For each entity (by position in ``ents``), the token range of the list it belongs
    to ("CRS, ICANS and HLH"): entities of one type, or all of ``kinds``, joined only
    by coordinators."""

    def alike(a: Span, b: Span) -> bool:
        return a.label_ == b.label_ or (a.label_ in kinds and b.label_ in kinds)

    groups: dict[int, tuple[int, int]] = {}
    i = 0
    while i < len(ents):
        j = i
        while j + 1 < len(ents) and alike(ents[j + 1], ents[i]):
            gap = ents[i].doc[ents[j].end : ents[j + 1].start]
            if not all(t.lower_ in coordinators for t in gap):
                break
            # Brackets alone join two names of one thing ("obe-cel (Aucatzyl)"), not a list.
            if all(t.text in "()[]" for t in gap) and ents[j].kb_id_ != ents[j + 1].kb_id_:
                break
            j += 1
        for k in range(i, j + 1):
            groups[k] = (ents[i].start, ents[j].end)
        i = j + 1
    return groups


def _breaks_clause(gap: Span) -> bool:
    """Whether a clause break stands in the gap, outside parentheses; "but not" does
    not break ("X caused CRS but not ICANS")."""
    depth = 0
    for t in gap:
        if t.text in "([":
            depth += 1
        elif t.text in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and t.lower_ in CLAUSE_BREAKS:
            following = t.doc[t.i + 1] if t.i + 1 < len(t.doc) else None
            if following is None or following.lower_ != "not":
                return True
    return False


#: Words that may stand beside an adjacent trigger: "the PDWP (PDWP) of the EBMT".
_ADJACENT_FILLER = frozenset({"the", "a", "an", "(", ")", ","})


def _adjacent(rule: RelationRule, first: Span, second: Span) -> bool:
    """Whether the two mentions themselves (not the lists they stand in) are joined by
    an adjacent trigger and nothing but articles and brackets."""
    gap = first.doc[first.end : second.start]
    return (
        0 < len(gap) <= 3
        and any(t.lower_ in rule.adjacent_triggers for t in gap)
        and all(t.lower_ in rule.adjacent_triggers or t.lower_ in _ADJACENT_FILLER for t in gap)
    )


def _trigger_pairs(rule: RelationRule, ents: Sequence[Span], coordinators: frozenset[str]) -> Iterator[RelationMatch]:
    groups = coordinated_groups(ents, coordinators, rule.subject)
    doc = ents[0].doc if ents else None
    for si, s in enumerate(ents):
        if s.label_ not in rule.subject:
            continue
        for oi, o in enumerate(ents):
            if not rule.accepts_object(o) or o.kb_id_ == s.kb_id_:
                continue
            if rule.subject_first and o.start < s.start:
                continue
            first, second = (si, oi) if s.start < o.start else (oi, si)
            gap_start, gap_end = groups[first][1], groups[second][0]
            if gap_end < gap_start:
                continue
            if gap_end - gap_start > rule.max_gap:
                continue
            # Another subject in between, even another mention of the same entity,
            # is nearer and takes the relation instead.
            blocked = any(
                e.label_ in rule.subject and e.start >= gap_start and e.end <= gap_end for e in ents
            )
            if blocked:
                continue
            sent = ents[first].sent
            gap = doc[gap_start:gap_end]
            # A clause break between them ("…, but CRS occurred with X") separates two
            # findings; "but not" still joins one ("X caused CRS but not ICANS").
            if _breaks_clause(gap):
                continue
            before = doc[max(sent.start, groups[first][0] - 2) : groups[first][0]]
            # "huCART19 is CD19-directed", "ELIANA … tisagenlecleucel study": a suffix
            # trigger right after the later of the two.
            after = doc[groups[second][1] : min(sent.end, groups[second][1] + 2)]
            in_gap = any(
                t.lower_ in rule.triggers
                and (t.lower_ not in rule.suffix_triggers or t.i - gap_start < ATTACHED_TRIGGER_REACH)
                for t in gap
            )
            adjacent = _adjacent(rule, ents[first], ents[second])
            if (
                in_gap
                or adjacent
                or any(t.lower_ in rule.prefix_triggers for t in before)
                or any(t.lower_ in rule.suffix_triggers for t in after)
            ):
                yield RelationMatch(rule.predicate, s, o, rule.name)


def _nested_pairs(rule: RelationRule, ents: Sequence[Span], all_spans: Sequence[Span]) -> Iterator[RelationMatch]:
    for s in ents:
        if s.label_ not in rule.subject:
            continue
        for inner in all_spans:
            if (
                rule.accepts_object(inner)
                and inner.kb_id_ != s.kb_id_
                and s.start <= inner.start
                and inner.end <= s.end
            ):
                yield RelationMatch(rule.predicate, s, inner, rule.name)


#: Phrases that point back to the product of an earlier sentence ("This product …").
ANAPHORS: tuple[tuple[str, ...], ...] = (
    ("this", "product"), ("the", "product"), ("this", "construct"), ("the", "construct"),
    ("this", "car"), ("this", "therapy"), ("these", "cells"), ("the", "same", "product"),
    ("this", "car", "t", "-", "cell", "product"),
)
#: Pronouns that, opening a sentence, point back to the first thing the sentence before
#: named: its grammatical subject, most often ("AUTO3 was … . It was tested in AMELIA").
SUBJECT_PRONOUNS = frozenset({"it", "its"})


def product_anaphor(sent: Span, antecedent: Span | None) -> Span | None:
    """A "this product" in a sentence that names no product, as a span standing for
    the product last named before it (``antecedent``); None when there is none."""
    if antecedent is None or any(e.label_ == "CARTProduct" for e in sent.ents):
        return None
    words = [t.lower_ for t in sent]
    for phrase in sorted(ANAPHORS, key=len, reverse=True):
        for i in range(len(words) - len(phrase) + 1):
            if tuple(words[i : i + len(phrase)]) == phrase:
                start = sent.start + i
                return Span(sent.doc, start, start + len(phrase), label=antecedent.label_, kb_id=antecedent.kb_id_)
    return None


def pronoun_anaphor(sent: Span, previous: Span | None) -> Span | None:
    """A sentence-opening "It"/"Its" as a span standing for the first entity the
    previous sentence named, when that sentence is in the same passage."""
    if previous is None or not len(sent) or sent[0].lower_ not in SUBJECT_PRONOUNS:
        return None
    first = next(iter(previous.ents), None)
    if first is None:
        return None
    return Span(sent.doc, sent.start, sent.start + 1, label=first.label_, kb_id=first.kb_id_)


def sentence_relations(
    sent: Span, rules: RuleSet, all_spans: Sequence[Span] = (), extra: Sequence[Span] = ()
) -> list[RelationMatch]:
    """Every relation the rules find in one sentence, once per (predicate, mentions).

    ``all_spans`` are the sentence's lexicon matches, nested ones included; ``extra``
    are spans that stand for entities without naming them (a resolved "this product").
    """
    ents = sorted([*sent.ents, *extra], key=lambda e: e.start)
    found: dict[tuple, RelationMatch] = {}
    for rule in rules.rules:
        pairs = _nested_pairs(rule, ents, all_spans) if rule.nested else _trigger_pairs(rule, ents, rules.coordinators)
        for match in pairs:
            key = (match.predicate, match.subject.start, match.subject.end, match.object.start, match.object.end)
            found.setdefault(key, match)
    return [found[k] for k in sorted(found)]


#: The kinds of number each relation can carry. A number goes to the relation of a
#: fitting predicate whose mention stands nearest to it in the sentence.
QUANTITY_KINDS: dict[str, frozenset[str]] = {
    "hasAdverseEvent": frozenset({"incidence", "grade"}),
    "evaluates": frozenset({"complete_remission", "efs", "os", "mrd_negativity", "count", "age",
                            "min_age", "max_age", "duration", "population"}),
    "treats": frozenset({"complete_remission", "efs", "os", "mrd_negativity", "count", "age",
                         "min_age", "max_age", "population"}),
    "approvedBy": frozenset({"year", "min_age", "max_age", "population"}),
}


def attach_quantities(sent: Span, matches: Sequence[RelationMatch]) -> list[list[FoundQuantity]]:
    """For each relation of a sentence, the numbers that qualify it (character offsets
    relative to the doc)."""
    attached: list[list[FoundQuantity]] = [[] for _ in matches]
    if not any(m.predicate in QUANTITY_KINDS for m in matches):
        return attached
    base = sent.start_char
    ents = list(sent.ents)
    for q in find_quantities(sent.text):
        begin, end = base + q.begin, base + q.end

        def distance(span: Span) -> int:
            return max(span.start_char - end, begin - span.end_char, 0)

        fitting = [i for i, m in enumerate(matches) if q.kind in QUANTITY_KINDS.get(m.predicate, ())]
        if not fitting:
            continue
        # An adverse event's number belongs with its toxicity, other numbers with either
        # end. The number goes to the nearest such mention in the sentence; if that
        # mention is in no fitting relation ("CRS in 92%" when only ICANS was paired
        # with the product), the number is left out rather than given to the wrong one.
        kinds = {e.label_ for i in fitting
                 for e in ((matches[i].object,) if matches[i].predicate == "hasAdverseEvent"
                           else (matches[i].subject, matches[i].object))}
        anchors = [e for e in ents if e.label_ in kinds]
        if not anchors:
            continue
        nearest = min(anchors, key=lambda e: (distance(e), e.start))
        owners = [i for i in fitting
                  if nearest in ((matches[i].object,) if matches[i].predicate == "hasAdverseEvent"
                                 else (matches[i].subject, matches[i].object))]
        if owners:
            attached[owners[0]].append(FoundQuantity(q.kind, q.value, q.unit, begin, end))
    return attached


class RelationExtractor:
    """Stores relations on ``doc._.cartkg_relations`` as plain tuples
    ``(predicate, subject start, subject end, subject id, object start, object end,
    object id, rule, quantities)`` (token offsets; quantities as ``(kind, value, unit,
    begin char, end char)``), which survive ``nlp.pipe(n_process=...)``."""

    def __init__(self, nlp: Language, name: str = "cartkg_relations", *, spans_key: str = "cartkg_all"):
        self.name = name
        self.spans_key = spans_key
        self.rules = bundled_rules()

    def __call__(self, doc: Doc) -> Doc:
        by_sentence: dict[int, list[Span]] = {}
        for span in doc.spans.get(self.spans_key, []):
            by_sentence.setdefault(span.sent.start, []).append(span)
        found = []
        last_product: Span | None = None
        previous: Span | None = None
        for sent in doc.sents:
            extra = [a for a in (product_anaphor(sent, last_product), pronoun_anaphor(sent, previous)) if a is not None]
            if len(extra) == 2 and extra[0].start < extra[1].end and extra[1].start < extra[0].end:
                extra = extra[:1]
            matches = sentence_relations(sent, self.rules, by_sentence.get(sent.start, []), extra)
            products = [e for e in sent.ents if e.label_ == "CARTProduct"]
            if products:
                last_product = products[-1]
            previous = sent
            for m, quantities in zip(matches, attach_quantities(sent, matches)):
                found.append((m.predicate, m.subject.start, m.subject.end, m.subject.kb_id_,
                              m.object.start, m.object.end, m.object.kb_id_, m.rule,
                              tuple((q.kind, q.value, q.unit, q.begin, q.end) for q in quantities)))
        doc._.cartkg_relations = found
        return doc


@Language.factory(
    "cartkg_relations",
    assigns=["doc._.cartkg_relations"],
    requires=["doc.ents", "doc.sents"],
    default_config={"spans_key": "cartkg_all"},
)
def make_relation_extractor(nlp: Language, name: str, spans_key: str) -> RelationExtractor:
    return RelationExtractor(nlp, name, spans_key=spans_key)
