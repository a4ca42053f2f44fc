"""The corpus summary: the counts that corpus-wide questions read instead of scanning
every mention and statement.

Which entities are named together, how often each is mentioned, in how many sentences
a relation is affirmed: over 100,000 documents each is a join over tens of millions of
quads (computed by SPARQL there, co-mentions alone took minutes, and gigabytes). The
summary holds the answers in a few thousand nodes in a graph of their own
(:data:`SUMMARY_GRAPH`); the named queries ``co-mentions``, ``entities-by-type`` and
``product-antigens`` read it.

Every count is a sum over documents, since a document's mentions, sentences and
statements all live in its own graph. So the build keeps the sums as it goes: workers
count each document they extract (:func:`document_counts`), and an incremental build
takes off the counts of the graphs it replaces and adds those of the new ones, a cost
in proportion to the documents that changed, never to the corpus. A store without a
summary (one a build stopped in the middle of, or one built before there was a summary)
is counted anew from its documents (:func:`count_store`).

Summary nodes take their IRIs from the entities', and the triples are written sorted,
so the same documents give the same summary, byte for byte, however they were built.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from hashlib import sha256
from itertools import combinations

import pyoxigraph as ox

from . import iris

SUMMARY_GRAPH = iris.SUMMARY_GRAPH
CORPUS_SUMMARY = iris.SUMMARY["corpus"]

_CK = iris.PREFIXES["ck"]
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_TYPE = _RDF + "type"
_DENOTES, _IN_SENTENCE, _STATUS = _CK + "denotes", _CK + "inSentence", _CK + "assertionStatus"
_SUBJECT, _PREDICATE, _OBJECT = _RDF + "subject", _RDF + "predicate", _RDF + "object"
_DERIVED_FROM = "http://www.w3.org/ns/prov#wasDerivedFrom"
_AFFIRMED, _STATEMENT, _DOCUMENT = _CK + "affirmed", _CK + "Statement", _CK + "Document"

#: The (predicate, object) patterns :func:`document_counts` reads (None: any object), so
#: a store can hand it only those triples of a graph, about a third of them.
COUNTED_PATTERNS: tuple[tuple[str, str | None], ...] = (
    (_DENOTES, None), (_IN_SENTENCE, None), (_SUBJECT, None), (_PREDICATE, None), (_OBJECT, None),
    (_STATUS, None), (_DERIVED_FROM, None), (_TYPE, _STATEMENT), (_TYPE, _DOCUMENT),
)

OxTriple = tuple[ox.NamedNode | ox.BlankNode, ox.NamedNode, ox.NamedNode | ox.BlankNode | ox.Literal]
Relation = tuple[str, str, str]


@dataclass
class CorpusCounts:
    """The counts of the summary, keyed by IRI: per entity, per pair of entities named in
    one sentence (first IRI sorting first), per affirmed (subject, predicate, object)."""

    documents: int = 0
    mentions: Counter[str] = field(default_factory=Counter)
    mention_documents: Counter[str] = field(default_factory=Counter)
    pair_sentences: Counter[tuple[str, str]] = field(default_factory=Counter)
    relation_sentences: Counter[Relation] = field(default_factory=Counter)
    relation_documents: Counter[Relation] = field(default_factory=Counter)

    def _counters(self) -> tuple[Counter, ...]:
        return (self.mentions, self.mention_documents, self.pair_sentences,
                self.relation_sentences, self.relation_documents)

    def add(self, other: CorpusCounts) -> None:
        self.documents += other.documents
        for mine, theirs in zip(self._counters(), other._counters()):
            mine.update(theirs)

    def subtract(self, other: CorpusCounts) -> None:
        """Take off another's counts (a document's that is replaced); keys that reach
        zero go."""
        self.documents -= other.documents
        for mine, theirs in zip(self._counters(), other._counters()):
            mine.subtract(theirs)
            for key in [key for key, n in mine.items() if n <= 0]:
                del mine[key]


def document_counts(triples: Iterable[OxTriple]) -> CorpusCounts:
    """The counts of one document's graph."""
    counts = CorpusCounts()
    denotes: defaultdict[str, set[str]] = defaultdict(set)  # mention -> entities
    sentence_of: dict[str, str] = {}  # mention -> sentence
    statements: defaultdict[str, dict[str, str]] = defaultdict(dict)  # statement -> predicate -> value
    typed_statements: set[str] = set()
    for s, p, o in triples:
        predicate = p.value
        if predicate == _DENOTES:
            denotes[s.value].add(o.value)
        elif predicate == _IN_SENTENCE:
            sentence_of[s.value] = o.value
        elif predicate in (_SUBJECT, _PREDICATE, _OBJECT, _STATUS, _DERIVED_FROM):
            statements[s.value][predicate] = o.value
        elif predicate == _TYPE:
            if o.value == _STATEMENT:
                typed_statements.add(s.value)
            elif o.value == _DOCUMENT:
                counts.documents += 1

    in_sentence: defaultdict[str, set[str]] = defaultdict(set)  # sentence -> entities
    for mention, entities in denotes.items():
        counts.mentions.update(entities)
        if mention in sentence_of:
            in_sentence[sentence_of[mention]].update(entities)
    counts.mention_documents.update(set(counts.mentions))
    for entities in in_sentence.values():
        counts.pair_sentences.update(combinations(sorted(entities), 2))

    sentences: defaultdict[Relation, set[str]] = defaultdict(set)
    for statement in typed_statements:
        values = statements.get(statement, {})
        if values.get(_STATUS) != _AFFIRMED or not {_SUBJECT, _PREDICATE, _OBJECT, _DERIVED_FROM} <= set(values):
            continue
        sentences[(values[_SUBJECT], values[_PREDICATE], values[_OBJECT])].add(values[_DERIVED_FROM])
    counts.relation_sentences.update({relation: len(found) for relation, found in sentences.items()})
    counts.relation_documents.update(set(sentences))
    return counts


def _local(entity_iri: str) -> str:
    """The part of a summary node's IRI that stands for an entity."""
    if entity_iri.startswith(str(iris.ENTITY)):
        return entity_iri[len(str(iris.ENTITY)):]
    return "iri-" + sha256(entity_iri.encode("utf-8")).hexdigest()[:20]


def _node(*parts: str) -> ox.NamedNode:
    return ox.NamedNode(str(iris.SUMMARY) + "/".join(parts))


def _int(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))


def summary_triples(counts: CorpusCounts) -> Iterator[OxTriple]:
    """The summary graph's triples for ``counts``, in a fixed order."""
    a, ck = ox.NamedNode(_TYPE), (lambda local: ox.NamedNode(_CK + local))
    corpus = ox.NamedNode(str(CORPUS_SUMMARY))
    yield corpus, a, ck("CorpusSummary")
    yield corpus, ck("documentCount"), _int(counts.documents)
    for entity in sorted(counts.mentions):
        node = _node("entity", _local(entity))
        yield node, a, ck("EntitySummary")
        yield node, ck("summaryOf"), ox.NamedNode(entity)
        yield node, ck("mentionCount"), _int(counts.mentions[entity])
        yield node, ck("documentCount"), _int(counts.mention_documents[entity])
    for first, second in sorted(counts.pair_sentences):
        node = _node("co-mention", _local(first), _local(second))
        yield node, a, ck("CoMention")
        yield node, ck("firstEntity"), ox.NamedNode(first)
        yield node, ck("secondEntity"), ox.NamedNode(second)
        yield node, ck("sentenceCount"), _int(counts.pair_sentences[(first, second)])
    for relation in sorted(counts.relation_sentences):
        subject, predicate, obj = relation
        node = _node("relation", _local(subject), predicate.removeprefix(_CK), _local(obj))
        yield node, a, ck("RelationSummary")
        yield node, ck("relationSubject"), ox.NamedNode(subject)
        yield node, ck("relationPredicate"), ox.NamedNode(predicate)
        yield node, ck("relationObject"), ox.NamedNode(obj)
        yield node, ck("sentenceCount"), _int(counts.relation_sentences[relation])
        yield node, ck("documentCount"), _int(counts.relation_documents[relation])


def read_summary(triples: Iterable[OxTriple]) -> CorpusCounts:
    """The counts a stored summary graph holds (the inverse of :func:`summary_triples`)."""
    nodes: defaultdict[str, dict[str, str]] = defaultdict(dict)
    for s, p, o in triples:
        nodes[s.value][p.value] = o.value
    counts = CorpusCounts()
    for values in nodes.values():
        kind = values.get(_TYPE, "").removeprefix(_CK)
        if kind == "CorpusSummary":
            counts.documents = int(values[_CK + "documentCount"])
        elif kind == "EntitySummary":
            entity = values[_CK + "summaryOf"]
            counts.mentions[entity] = int(values[_CK + "mentionCount"])
            counts.mention_documents[entity] = int(values[_CK + "documentCount"])
        elif kind == "CoMention":
            pair = (values[_CK + "firstEntity"], values[_CK + "secondEntity"])
            counts.pair_sentences[pair] = int(values[_CK + "sentenceCount"])
        elif kind == "RelationSummary":
            relation = (values[_CK + "relationSubject"], values[_CK + "relationPredicate"],
                        values[_CK + "relationObject"])
            counts.relation_sentences[relation] = int(values[_CK + "sentenceCount"])
            counts.relation_documents[relation] = int(values[_CK + "documentCount"])
    return counts
