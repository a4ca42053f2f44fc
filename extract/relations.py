"""Relation rules: typed relations between entities of one sentence.

Two kinds of rule, both data in ``relation_rules.json``:

- trigger rules pair a subject and an object of the right types when a trigger word
  stands between them (or just before the first, as "anti-" in "anti-CD19", or just
  after the object, as in "is CD19-directed"), nothing of the subject's type stands
  between them, and the gap is short. Lists of the same
  type ("CRS, ICANS and HLH") count as one unit, so every member pairs.
- nested rules pair an entity with one named inside its own name ("NCI CD22 CAR"
  contains CD22; "CIBMTR Pediatric Cancer Working Committee" contains CIBMTR).

The algorithm is plain functions over spaCy spans and the Doc's words, read once per Doc
(:mod:`cartkg.extract.words`); the component is a thin shell that
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
from .words import DocWords, doc_words, ents_by_sentence, sentence_of

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
        return self.accepts(span.label_, span.kb_id_)

    def accepts(self, label: str, entity_id: str) -> bool:
        """Whether a mention of type ``label`` and entity ``entity_id`` can be the object."""
        return (
            label in self.object
            and (not self.object_only or entity_id in self.object_only)
            and entity_id not in self.object_excluded
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


@dataclass(frozen=True)
class SentenceView:
    """One sentence as the rules read it: its span, the mentions wholly inside it
    (``span.ents``) and its Doc's words, each looked up once per Doc (:mod:`.words`)
    instead of through ``span.ents`` and ``Token`` objects at every step."""

    span: Span
    ents: Sequence[Span]
    words: DocWords

    @property
    def start(self) -> int:
        return self.span.start

    @property
    def end(self) -> int:
        return self.span.end


@dataclass(frozen=True)
class Mentions:
    """The mentions a sentence's rules pair (entities and resolved anaphors, by start),
    with their offsets, types and ids read once: every ``span.label_`` or
    ``span.kb_id_`` looks its string up again."""

    spans: Sequence[Span]
    starts: list[int]
    ends: list[int]
    labels: list[str]
    kb_ids: list[str]

    @classmethod
    def of(cls, spans: Sequence[Span]) -> Mentions:
        return cls(
            spans=spans,
            starts=[s.start for s in spans],
            ends=[s.end for s in spans],
            labels=[s.label_ for s in spans],
            kb_ids=[s.kb_id_ for s in spans],
        )

    def __len__(self) -> int:
        return len(self.spans)


def coordinated_groups(
    ents: Mentions, words: DocWords, coordinators: frozenset[str], kinds: frozenset[str] = frozenset()
) -> dict[int, tuple[int, int]]:
    """For each entity (by position in ``ents``), the token range of the list it belongs
    to ("CRS, ICANS and HLH"): entities of one type, or all of ``kinds``, joined only
    by coordinators."""
    labels, kb_ids, starts, ends = ents.labels, ents.kb_ids, ents.starts, ents.ends
    lower, text = words.lower, words.text

    def alike(a: int, b: int) -> bool:
        return labels[a] == labels[b] or (labels[a] in kinds and labels[b] in kinds)

    n = len(ents)
    groups: dict[int, tuple[int, int]] = {}
    i = 0
    while i < n:
        j = i
        while j + 1 < n and alike(j + 1, i):
            gap = range(ends[j], starts[j + 1])
            if not all(lower[k] in coordinators for k in gap):
                break
            # Brackets alone join two names of one thing ("obe-cel (Aucatzyl)"), not a list.
            if all(text[k] in "()[]" for k in gap) and kb_ids[j] != kb_ids[j + 1]:
                break
            j += 1
        for k in range(i, j + 1):
            groups[k] = (starts[i], ends[j])
        i = j + 1
    return groups


def _breaks_clause(words: DocWords, start: int, end: int) -> bool:
    """Whether a clause break stands in the gap (tokens ``start`` to ``end``), outside
    parentheses; "but not" does not break ("X caused CRS but not ICANS")."""
    lower, text = words.lower, words.text
    depth = 0
    for k in range(start, end):
        if text[k] in "([":
            depth += 1
        elif text[k] in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and lower[k] in CLAUSE_BREAKS:
            if k + 1 >= len(lower) or lower[k + 1] != "not":
                return True
    return False


#: Words that may stand beside an adjacent trigger: "the PDWP (PDWP) of the EBMT".
_ADJACENT_FILLER = frozenset({"the", "a", "an", "(", ")", ","})


def _adjacent(rule: RelationRule, words: DocWords, first_end: int, second_start: int) -> bool:
    """Whether the two mentions themselves (not the lists they stand in; the first ends
    at ``first_end``, the second starts at ``second_start``) are joined by an adjacent
    trigger and nothing but articles and brackets."""
    gap = words.lower[first_end:second_start]
    return (
        0 < len(gap) <= 3
        and any(w in rule.adjacent_triggers for w in gap)
        and all(w in rule.adjacent_triggers or w in _ADJACENT_FILLER for w in gap)
    )


def _trigger_pairs(
    rule: RelationRule,
    ents: Mentions,
    sentence: SentenceView,
    coordinators: frozenset[str],
    groups: dict[int, tuple[int, int]] | None = None,
) -> Iterator[RelationMatch]:
    """Pairs of ``ents`` that a trigger rule joins; ``groups`` are the lists of
    :func:`coordinated_groups` for the rule's subject types (made here when not given)."""
    n = len(ents)
    if n < 2:
        # A pair needs two mentions of different entities.
        return
    words = sentence.words
    lower = words.lower
    groups = groups if groups is not None else coordinated_groups(ents, words, coordinators, rule.subject)
    labels, kb_ids, starts, ends = ents.labels, ents.kb_ids, ents.starts, ents.ends
    for si in range(n):
        if labels[si] not in rule.subject:
            continue
        for oi in range(n):
            if not rule.accepts(labels[oi], kb_ids[oi]) or kb_ids[oi] == kb_ids[si]:
                continue
            if rule.subject_first and starts[oi] < starts[si]:
                continue
            first, second = (si, oi) if starts[si] < starts[oi] else (oi, si)
            gap_start, gap_end = groups[first][1], groups[second][0]
            if gap_end < gap_start:
                continue
            if gap_end - gap_start > rule.max_gap:
                continue
            # Another subject in between, even another mention of the same entity,
            # is nearer and takes the relation instead.
            blocked = any(
                labels[k] in rule.subject and starts[k] >= gap_start and ends[k] <= gap_end for k in range(n)
            )
            if blocked:
                continue
            # A clause break between them ("…, but CRS occurred with X") separates two
            # findings; "but not" still joins one ("X caused CRS but not ICANS").
            if _breaks_clause(words, gap_start, gap_end):
                continue
            before = lower[max(sentence.start, groups[first][0] - 2) : groups[first][0]]
            # "huCART19 is CD19-directed", "ELIANA … tisagenlecleucel study": a suffix
            # trigger right after the later of the two.
            after = lower[groups[second][1] : min(sentence.end, groups[second][1] + 2)]
            in_gap = any(
                lower[k] in rule.triggers
                and (lower[k] not in rule.suffix_triggers or k - gap_start < ATTACHED_TRIGGER_REACH)
                for k in range(gap_start, gap_end)
            )
            if (
                in_gap
                or _adjacent(rule, words, ends[first], starts[second])
                or any(w in rule.prefix_triggers for w in before)
                or any(w in rule.suffix_triggers for w in after)
            ):
                yield RelationMatch(rule.predicate, ents.spans[si], ents.spans[oi], rule.name)


def _has_candidates(rule: RelationRule, ents: Mentions) -> bool:
    """Whether ``ents`` hold a possible subject and a possible object of the rule: a
    cheap test before the lists and gaps are worked out."""
    return (
        not rule.subject.isdisjoint(ents.labels)
        and not rule.object.isdisjoint(ents.labels)
        and any(rule.accepts(label, entity_id) for label, entity_id in zip(ents.labels, ents.kb_ids))
    )


def _nested_pairs(rule: RelationRule, ents: Mentions, all_spans: Mentions) -> Iterator[RelationMatch]:
    for si in range(len(ents)):
        if ents.labels[si] not in rule.subject:
            continue
        s_start, s_end, s_id = ents.starts[si], ents.ends[si], ents.kb_ids[si]
        for k in range(len(all_spans)):
            if (
                rule.accepts(all_spans.labels[k], all_spans.kb_ids[k])
                and all_spans.kb_ids[k] != s_id
                and s_start <= all_spans.starts[k]
                and all_spans.ends[k] <= s_end
            ):
                yield RelationMatch(rule.predicate, ents.spans[si], all_spans.spans[k], rule.name)


#: Phrases that point back to the product of an earlier sentence ("This product …").
ANAPHORS: tuple[tuple[str, ...], ...] = (
    ("this", "product"), ("the", "product"), ("this", "construct"), ("the", "construct"),
    ("this", "car"), ("this", "therapy"), ("these", "cells"), ("the", "same", "product"),
    ("this", "car", "t", "-", "cell", "product"),
)
#: The anaphors in the order they are tried: the longest first.
_ANAPHORS_LONGEST_FIRST = tuple(sorted(ANAPHORS, key=len, reverse=True))
#: The words an anaphor can start with: only where one stands is a phrase compared.
_ANAPHOR_OPENERS = frozenset(phrase[0] for phrase in ANAPHORS)
#: Pronouns that, opening a sentence, point back to the first thing the sentence before
#: named: its grammatical subject, most often ("AUTO3 was … . It was tested in AMELIA").
SUBJECT_PRONOUNS = frozenset({"it", "its"})


def product_anaphor(sentence: SentenceView, antecedent: Span | None) -> Span | None:
    """A "this product" in a sentence that names no product, as a span standing for
    the product last named before it (``antecedent``); None when there is none. The
    longest phrase wins, then the first place it stands."""
    if antecedent is None or any(e.label_ == "CARTProduct" for e in sentence.ents):
        return None
    words = sentence.words.lower[sentence.start : sentence.end]
    openers = [i for i, word in enumerate(words) if word in _ANAPHOR_OPENERS]
    for phrase in _ANAPHORS_LONGEST_FIRST:
        for i in openers:
            if tuple(words[i : i + len(phrase)]) == phrase:
                start = sentence.start + i
                return Span(
                    sentence.span.doc, start, start + len(phrase), label=antecedent.label_, kb_id=antecedent.kb_id_
                )
    return None


def pronoun_anaphor(sentence: SentenceView, previous: SentenceView | None) -> Span | None:
    """A sentence-opening "It"/"Its" as a span standing for the first entity the
    previous sentence named, when that sentence is in the same passage."""
    if previous is None or sentence.start == sentence.end:
        return None
    if sentence.words.lower[sentence.start] not in SUBJECT_PRONOUNS:
        return None
    first = next(iter(previous.ents), None)
    if first is None:
        return None
    return Span(sentence.span.doc, sentence.start, sentence.start + 1, label=first.label_, kb_id=first.kb_id_)


def sentence_relations(
    sentence: SentenceView, rules: RuleSet, all_spans: Sequence[Span] = (), extra: Sequence[Span] = ()
) -> list[RelationMatch]:
    """Every relation the rules find in one sentence, once per (predicate, mentions).

    ``all_spans`` are the sentence's lexicon matches, nested ones included; ``extra``
    are spans that stand for entities without naming them (a resolved "this product").
    """
    if not sentence.ents and not extra:
        # Every rule's subject is one of the sentence's mentions.
        return []
    ents = Mentions.of(sorted([*sentence.ents, *extra], key=lambda e: e.start))
    inner = Mentions.of(all_spans)
    # The lists of coordinated mentions depend only on the rule's subject types.
    groups: dict[frozenset[str], dict[int, tuple[int, int]]] = {}
    found: dict[tuple, RelationMatch] = {}
    for rule in rules.rules:
        if rule.nested:
            pairs = _nested_pairs(rule, ents, inner)
        elif len(ents) < 2 or not _has_candidates(rule, ents):
            continue
        else:
            if rule.subject not in groups:
                groups[rule.subject] = coordinated_groups(ents, sentence.words, rules.coordinators, rule.subject)
            pairs = _trigger_pairs(rule, ents, sentence, rules.coordinators, groups[rule.subject])
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


def attach_quantities(sentence: SentenceView, matches: Sequence[RelationMatch]) -> list[list[FoundQuantity]]:
    """For each relation of a sentence, the numbers that qualify it (character offsets
    relative to the doc)."""
    attached: list[list[FoundQuantity]] = [[] for _ in matches]
    if not any(m.predicate in QUANTITY_KINDS for m in matches):
        return attached
    base = sentence.span.start_char
    ents = list(sentence.ents)
    for q in find_quantities(sentence.span.text):
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
        found: list[tuple] = []
        doc_ents = doc.ents
        if not doc_ents:
            # Every relation has a mention of the sentence as its subject.
            doc._.cartkg_relations = found
            return doc
        words = doc_words(doc)
        sents = list(doc.sents)
        starts = [sent.start for sent in sents]
        by_sentence: dict[int, list[Span]] = {}
        for span in doc.spans.get(self.spans_key, []):
            by_sentence.setdefault(sentence_of(starts, span.start), []).append(span)
        last_product: Span | None = None
        previous: SentenceView | None = None
        for index, (sent, ents) in enumerate(zip(sents, ents_by_sentence(sents, doc_ents), strict=True)):
            sentence = SentenceView(sent, ents, words)
            extra = [a for a in (product_anaphor(sentence, last_product), pronoun_anaphor(sentence, previous))
                     if a is not None]
            if len(extra) == 2 and extra[0].start < extra[1].end and extra[1].start < extra[0].end:
                extra = extra[:1]
            matches = sentence_relations(sentence, self.rules, by_sentence.get(index, []), extra)
            products = [e for e in ents if e.label_ == "CARTProduct"]
            if products:
                last_product = products[-1]
            previous = sentence
            for m, quantities in zip(matches, attach_quantities(sentence, matches)):
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
