"""IRIs for everything the graph names: entities, documents, sentences, mentions,
statements and named graphs. Minted from stable keys, never from counters or memory
addresses, so the same input always gives the same IRIs."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from rdflib import Namespace, URIRef

from cartkg.ontology.owl import CK

BASE = "https://w3id.org/cartkg/"
ENTITY = Namespace(BASE + "entity/")
DOC = Namespace(BASE + "doc/")
STATEMENT = Namespace(BASE + "statement/")
APPROVAL = Namespace(BASE + "approval/")
GRAPH = Namespace(BASE + "graph/")
SUMMARY = Namespace(BASE + "summary/")

#: Prefixes bound in every serialisation.
PREFIXES = {
    "ck": CK,
    "cke": ENTITY,
    "ckd": DOC,
    "cks": STATEMENT,
    "ckg": GRAPH,
    "skos": Namespace("http://www.w3.org/2004/02/skos/core#"),
    "prov": Namespace("http://www.w3.org/ns/prov#"),
    "dcterms": Namespace("http://purl.org/dc/terms/"),
    "oboInOwl": Namespace("http://www.geneontology.org/formats/oboInOwl#"),
}


def entity(entity_id: str) -> URIRef:
    return ENTITY[quote(entity_id, safe="-_.")]


def approval(approval_id: str) -> URIRef:
    return APPROVAL[quote(approval_id, safe="-_.")]


def document(doc_id: str) -> URIRef:
    return DOC[quote(doc_id, safe="-_.")]


def sentence_of(doc_iri: str, index: int) -> str:
    """A sentence's IRI from its document's IRI: the build makes many per document."""
    return f"{doc_iri}/s{index}"


def mention_of(doc_iri: str, begin: int, end: int) -> str:
    """A mention's IRI from its document's IRI."""
    return f"{doc_iri}/m{begin}-{end}"


def sentence(doc_id: str, index: int) -> URIRef:
    return URIRef(sentence_of(str(document(doc_id)), index))


def mention(doc_id: str, begin: int, end: int) -> URIRef:
    return URIRef(mention_of(str(document(doc_id)), begin, end))


def statement(
    doc_id: str, predicate: str, subject: str, obj: str, mentions: tuple[int, int, int, int]
) -> URIRef:
    """A statement's IRI: a hash of the document, the relation and its two mentions."""
    key = "\x1f".join((doc_id, predicate, subject, obj, *map(str, mentions)))
    return STATEMENT[hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]]


def document_graph(doc_id: str) -> URIRef:
    """The named graph that holds one document's statements."""
    return URIRef(f"{GRAPH}doc/{quote(doc_id, safe='-_.')}")


ENTITIES_GRAPH = GRAPH["entities"]
ONTOLOGY_GRAPH = GRAPH["ontology"]
SUMMARY_GRAPH = GRAPH["summary"]
