"""Records in, RDF out: graph assembly with provenance down to the sentence.

Pure functions from :mod:`cartkg.extract.records` and the lexicon to triples. Each
document's statements go into a named graph of their own. The lexicon goes into one
shared graph, ``ckg:entities``: every entity's labels, synonyms and cross-references,
and the curated facts of the field (a product's targets, costimulatory domain, vector
and developer; the body a committee belongs to; the product a trial evaluates; the
regulatory approvals), so an entity is described once and the graph is complete
enough for the reasoner and the SHACL shapes whatever the documents say.

A relation is kept twice: as an evidence-bearing ``ck:Statement`` (reified, with the
sentence, offsets, rule and assertion status) and, when the sentence affirms it, as a
direct triple such as ``cke:tisagenlecleucel ck:targets cke:cd19``. Negated and
hedged findings stay queryable through their statements but never become direct
triples. A direct triple with no statement behind it comes from the lexicon, and
lives in the entities graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF, RDFS, Dataset, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS, XSD

from cartkg.extract.pipeline import EXTRACTOR_VERSION, Extractor
from cartkg.extract.readers import read_sources
from cartkg.extract.records import AssertionStatus, Document, Extraction, ExtractionSummary, Quantity, ReadError
from cartkg.ontology.lexicon import Approval, Entity, Lexicon, bundled_lexicon
from cartkg.ontology.owl import CK

from . import iris
from .export import from_oxigraph
from .summary import CorpusCounts, document_counts, summary_triples

OBOINOWL = iris.PREFIXES["oboInOwl"]
Triple = tuple[URIRef, URIRef, URIRef | Literal]


def _int(value: int) -> Literal:
    return Literal(value, datatype=XSD.integer)


#: Lexicon attributes written as curated facts: predicate, and whether the values are
#: entity ids (``True``) or plain text.
ATTRIBUTE_PREDICATES: dict[str, tuple[URIRef, bool]] = {
    "targets": (CK.targets, True),
    "developer": (CK.developedBy, True),
    "part_of": (CK.partOf, True),
    "evaluates": (CK.evaluates, True),
    "costimulation": (CK.costimulatoryDomain, False),
    "vector": (CK.vectorType, False),
    "gene_symbol": (CK.geneSymbol, False),
    "source": (DCTERMS.source, False),
}


def entity_triples(entity: Entity, lexicon: Lexicon) -> Iterator[Triple]:
    """An entity's description: type, labels, definition, cross-references and the
    curated facts of its lexicon row."""
    node = iris.entity(entity.id)
    yield node, RDF.type, CK[entity.type]
    yield node, RDFS.label, Literal(entity.label)
    yield node, SKOS.prefLabel, Literal(entity.label)
    yield node, CK.entityType, Literal(entity.type)
    for synonym in entity.synonyms:
        yield node, SKOS.altLabel, Literal(synonym)
    if entity.definition:
        yield node, SKOS.definition, Literal(entity.definition)
    for xref in entity.xrefs:
        yield node, OBOINOWL.hasDbXref, Literal(xref.curie)
        yield node, SKOS[xref.mapping], URIRef(lexicon.expand(xref.curie))
    for name, values in entity.attributes.items():
        if name not in ATTRIBUTE_PREDICATES:
            raise KeyError(f"{entity.id}: lexicon attribute {name!r} has no predicate")
        predicate, is_reference = ATTRIBUTE_PREDICATES[name]
        for value in values:
            yield node, predicate, iris.entity(value) if is_reference else Literal(value)


def _date(value: str) -> Literal:
    """A date as precise as the source gave it: xsd:date, xsd:gYearMonth or xsd:gYear."""
    datatype = {10: XSD.date, 7: XSD.gYearMonth, 4: XSD.gYear}[len(value)]
    return Literal(value, datatype=datatype)


def approval_triples(approval: Approval) -> Iterator[Triple]:
    """A regulatory approval: product, agency, date, ages and indication, and the
    direct ``ck:approvedBy`` fact it implies."""
    node = iris.approval(approval.id)
    product, agency = iris.entity(approval.product), iris.entity(approval.agency)
    yield node, RDF.type, CK.RegulatoryApproval
    yield node, RDFS.label, Literal(f"{approval.product} / {approval.agency} / {approval.date}")
    yield node, CK.approvalOf, product
    yield node, CK.grantedBy, agency
    yield node, CK.approvalDate, _date(approval.date)
    yield node, CK.approvalYear, _int(approval.year)
    if approval.min_age is not None:
        yield node, CK.minimumAge, _int(approval.min_age)
    if approval.max_age is not None:
        yield node, CK.maximumAge, _int(approval.max_age)
    if approval.indication:
        yield node, CK.indication, Literal(approval.indication)
    yield node, DCTERMS.source, Literal(approval.source)
    yield product, CK.approvedBy, agency


def vocabulary_triples(lexicon: Lexicon) -> Iterator[Triple]:
    """The whole lexicon as triples: every entity, then every approval, in id order."""
    for entity in sorted(lexicon, key=lambda e: e.id):
        yield from entity_triples(entity, lexicon)
    for approval in lexicon.approvals:
        yield from approval_triples(approval)


OxTerm = ox.NamedNode | ox.Literal
OxTriple = tuple[ox.NamedNode, ox.NamedNode, OxTerm]


@cache
def _iri(iri: str) -> ox.NamedNode:
    """A constant IRI (a predicate, a class) as an Oxigraph term, made once."""
    return ox.NamedNode(iri)


@cache
def _entity(entity_id: str) -> ox.NamedNode:
    return ox.NamedNode(str(iris.entity(entity_id)))


@cache
def _ck(local: str) -> ox.NamedNode:
    return _iri(f"{CK}{local}")


TYPE, INTEGER, DECIMAL, GYEAR = (_iri(str(t)) for t in (RDF.type, XSD.integer, XSD.decimal, XSD.gYear))


def _ox_int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=INTEGER)


def _ox_decimal(value: float) -> ox.Literal:
    return ox.Literal(("%f" % value).rstrip("0").rstrip("."), datatype=DECIMAL)


def _mention_triples(doc_iri: str, sentence: ox.NamedNode, begin: int, end: int, text: str,
                     entity_id: str, status: AssertionStatus, trigger: str) -> Iterator[OxTriple]:
    node = ox.NamedNode(iris.mention_of(doc_iri, begin, end))
    yield node, TYPE, _ck("Mention")
    yield node, _ck("denotes"), _entity(entity_id)
    yield node, _ck("inSentence"), sentence
    yield node, _ck("beginOffset"), _ox_int(begin)
    yield node, _ck("endOffset"), _ox_int(end)
    yield node, _ck("text"), ox.Literal(text)
    yield node, _ck("assertionStatus"), _ck(status.value)
    if trigger:
        yield node, _ck("assertionTrigger"), ox.Literal(trigger)


#: Quantity kinds that also get a data property of their own on the statement.
QUANTITY_PROPERTIES = {"incidence": CK.incidencePercent, "grade": CK.grade}


def _quantity_triples(statement: ox.NamedNode, q: Quantity) -> Iterator[OxTriple]:
    """A number that qualifies a statement: kind, value, unit and where it stands."""
    node = ox.NamedNode(f"{statement.value}/q{q.begin}-{q.end}-{q.kind}")
    yield statement, _ck("hasQuantity"), node
    yield node, TYPE, _ck("Quantity")
    yield node, _ck("quantityKind"), ox.Literal(q.kind)
    if not isinstance(q.value, str):  # a population is its text
        yield node, _ck("value"), _ox_decimal(q.value)
    if q.unit:
        yield node, _ck("unit"), ox.Literal(q.unit)
    yield node, _ck("text"), ox.Literal(q.text)
    yield node, _ck("beginOffset"), _ox_int(q.begin)
    yield node, _ck("endOffset"), _ox_int(q.end)
    if q.kind in QUANTITY_PROPERTIES:
        value = _ox_int(int(q.value)) if q.kind == "grade" else _ox_decimal(q.value)
        yield statement, _iri(str(QUANTITY_PROPERTIES[q.kind])), value


def document_terms(extraction: Extraction) -> Iterator[OxTriple]:
    """A document's own graph as Oxigraph terms: the document, its sentences, mentions
    and statements. Made without rdflib, which would cost more than the extraction
    itself; :func:`document_triples` gives the same triples as rdflib terms."""
    document = extraction.document
    doc_iri = str(iris.document(document.id))
    doc = ox.NamedNode(doc_iri)
    dcterms = str(DCTERMS)
    yield doc, TYPE, _ck("Document")
    yield doc, _iri(dcterms + "identifier"), ox.Literal(document.id)
    yield doc, _iri(dcterms + "source"), ox.Literal(document.source)
    if document.title:
        yield doc, _iri(dcterms + "title"), ox.Literal(document.title)
    yield doc, _iri(dcterms + "format"), ox.Literal(document.format)
    yield doc, _ck("sha256"), ox.Literal(document.sha256)
    yield doc, _ck("extractorVersion"), ox.Literal(EXTRACTOR_VERSION)

    # What the bibliographic record says: identifiers as "PMID:…" strings (not
    # dcterms:identifier, which holds the one document id that queries join on), the
    # journal, the year, the authors (one dcterms:creator each, and their order in
    # ck:authorList), MeSH headings and publication types.
    meta = document.metadata
    for prefix, value in (("PMID", meta.pmid), ("PMCID", meta.pmcid), ("DOI", meta.doi)):
        if value:
            yield doc, _ck("bibliographicIdentifier"), ox.Literal(f"{prefix}:{value}")
    if meta.journal:
        yield doc, _iri(dcterms + "isPartOf"), ox.Literal(meta.journal)
    if meta.year is not None:
        yield doc, _iri(dcterms + "date"), ox.Literal(f"{meta.year:04d}", datatype=GYEAR)
    for author in meta.authors:
        yield doc, _iri(dcterms + "creator"), ox.Literal(author)
    if meta.authors:
        yield doc, _ck("authorList"), ox.Literal("; ".join(meta.authors))
    for heading in meta.mesh_terms:
        yield doc, _iri(dcterms + "subject"), ox.Literal(heading)
    for kind in meta.publication_types:
        yield doc, _iri(dcterms + "type"), ox.Literal(kind)

    # Another tool's annotations (PubTator's…), kept beside our mentions, never mixed.
    spans: dict[tuple[int, int], int] = {}
    for a in document.annotations:
        seen = spans[(a.begin, a.end)] = spans.get((a.begin, a.end), 0) + 1
        node = ox.NamedNode(f"{doc_iri}/x{a.begin}-{a.end}" + (f"-{seen}" if seen > 1 else ""))
        yield node, TYPE, _ck("ExternalAnnotation")
        yield node, _iri(dcterms + "isPartOf"), doc
        yield node, _ck("beginOffset"), _ox_int(a.begin)
        yield node, _ck("endOffset"), _ox_int(a.end)
        yield node, _ck("text"), ox.Literal(a.text)
        if a.type:
            yield node, _ck("annotationType"), ox.Literal(a.type)
        if a.identifier:
            yield node, _ck("identifier"), ox.Literal(a.identifier)
        yield node, _iri(dcterms + "source"), ox.Literal(a.source)

    sentence_nodes: dict[int, ox.NamedNode] = {}
    for sentence in extraction.sentences:
        node = ox.NamedNode(iris.sentence_of(doc_iri, sentence.index))
        sentence_nodes[sentence.index] = node
        yield node, TYPE, _ck("Sentence")
        yield node, _ck("inDocument"), doc
        yield node, _ck("sentenceIndex"), _ox_int(sentence.index)
        yield node, _ck("beginOffset"), _ox_int(sentence.begin)
        yield node, _ck("endOffset"), _ox_int(sentence.end)
        yield node, _ck("text"), ox.Literal(sentence.text)
        if sentence.section:
            yield node, _ck("section"), ox.Literal(sentence.section)

    for m in extraction.mentions:
        yield from _mention_triples(doc_iri, sentence_nodes[m.sentence], m.begin, m.end,
                                    m.text, m.entity_id, m.status, m.trigger)

    text = document.text
    described = {(m.begin, m.end) for m in extraction.mentions}
    for r in extraction.relations:
        sentence = sentence_nodes[r.evidence.sentence]
        (sb, se), (ob, oe) = r.subject_mention, r.object_mention
        node = ox.NamedNode(str(iris.statement(document.id, r.predicate, r.subject, r.object, (sb, se, ob, oe))))
        subject, obj = _entity(r.subject), _entity(r.object)
        yield node, TYPE, _ck("Statement")
        yield node, _iri(str(RDF.subject)), subject
        yield node, _iri(str(RDF.predicate)), _ck(r.predicate)
        yield node, _iri(str(RDF.object)), obj
        yield node, _ck("assertionStatus"), _ck(r.status.value)
        if r.trigger:
            yield node, _ck("assertionTrigger"), ox.Literal(r.trigger)
        yield node, _ck("rule"), ox.Literal(r.evidence.rule)
        yield node, _iri(str(PROV.wasDerivedFrom)), sentence
        yield node, _ck("subjectMention"), ox.NamedNode(iris.mention_of(doc_iri, sb, se))
        yield node, _ck("objectMention"), ox.NamedNode(iris.mention_of(doc_iri, ob, oe))
        # The nested end of a "name contains" rule is not among the mentions: add it,
        # with the status of the relation (the status of the name that holds it).
        for (b, e), entity_id in (((sb, se), r.subject), ((ob, oe), r.object)):
            if (b, e) not in described:
                described.add((b, e))
                yield from _mention_triples(doc_iri, sentence, b, e, text[b:e], entity_id, r.status, r.trigger)
        for q in r.quantities:
            yield from _quantity_triples(node, q)
        if r.status is AssertionStatus.AFFIRMED:
            yield subject, _ck(r.predicate), obj


def document_triples(extraction: Extraction) -> Iterator[Triple]:
    """A document's own graph as rdflib terms (see :func:`document_terms`)."""
    for s, p, o in document_terms(extraction):
        yield from_oxigraph(s), from_oxigraph(p), from_oxigraph(o)


def build_dataset(extractions: Iterable[Extraction], lexicon: Lexicon, dataset: Dataset | None = None,
                  counts: CorpusCounts | None = None) -> Dataset:
    """Add the lexicon's graph and each extraction's named graph to a dataset (a new
    in-memory one by default), adding the documents' counts to ``counts`` if given."""
    if dataset is None:
        dataset = Dataset(default_union=True)
    for prefix, namespace in iris.PREFIXES.items():
        dataset.bind(prefix, namespace)
    entities_graph = dataset.graph(iris.ENTITIES_GRAPH)
    entities_graph.addN((s, p, o, entities_graph) for s, p, o in vocabulary_triples(lexicon))
    for extraction in extractions:
        graph = dataset.graph(iris.document_graph(extraction.document.id))
        triples = list(document_terms(extraction))
        if counts is not None:
            counts.add(document_counts(triples))
        graph.addN((from_oxigraph(s), from_oxigraph(p), from_oxigraph(o), graph) for s, p, o in triples)
    return dataset


def add_summary(dataset: Dataset, counts: CorpusCounts) -> None:
    """Add the corpus summary of ``counts`` to the dataset (see :mod:`cartkg.kg.summary`)."""
    graph = dataset.graph(iris.SUMMARY_GRAPH)
    graph.addN((from_oxigraph(s), from_oxigraph(p), from_oxigraph(o), graph) for s, p, o in summary_triples(counts))


@dataclass
class BuildResult:
    """A built dataset, with the counts and the inputs that could not be read."""

    dataset: Dataset
    summary: ExtractionSummary

    @property
    def errors(self) -> list[ReadError]:
        return self.summary.errors


def build_graph(
    sources: Iterable[str | Path],
    *,
    lexicon: Lexicon | None = None,
    extractor: Extractor | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    batch_size: int | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Read, extract and build: files or folders in, an RDF dataset out.

    A source that cannot be read is recorded in ``summary.errors`` and the rest go on.
    ``on_progress`` is called with each source's name once it is done. With
    ``workers`` > 1 or a Dask ``scheduler``, extraction runs in batches elsewhere (see
    :mod:`cartkg.kg.workers`) and the same dataset comes back. The dataset ends with
    its corpus summary (see :mod:`cartkg.kg.summary`).
    """
    lexicon = lexicon if lexicon is not None else bundled_lexicon()
    summary = ExtractionSummary()

    def readable() -> Iterator[Document]:
        for item in read_sources(sources):
            if isinstance(item, ReadError):
                summary.errors.append(item)
                if on_progress is not None:
                    on_progress(item.source)
            else:
                yield item

    if workers == 1 and scheduler is None and batch_size is None:
        extractor = extractor if extractor is not None else Extractor()

        def extracted() -> Iterator[Extraction]:
            for document in readable():
                extraction = extractor.extract(document)
                summary.add(extraction)
                yield extraction
                if on_progress is not None:
                    on_progress(document.source)

        # Documents stream through: each is read, extracted and added before the next.
        counts = CorpusCounts()
        dataset = build_dataset(extracted(), lexicon, counts=counts)
        add_summary(dataset, counts)
        return BuildResult(dataset, summary)

    from .workers import BATCH_SIZE, extract_shards

    dataset = build_dataset((), lexicon)
    counts = CorpusCounts()
    for shard in extract_shards(readable(), workers=workers, scheduler=scheduler,
                                batch_size=batch_size or BATCH_SIZE):
        dataset.parse(data=shard.nquads().decode("utf-8"), format="nquads")
        summary.merge(shard.summary)
        counts.add(shard.counts)
        for _, source in shard.documents:
            if on_progress is not None:
                on_progress(source)
    add_summary(dataset, counts)
    return BuildResult(dataset, summary)
