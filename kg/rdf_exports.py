"""RDF and SSSOM exports of a built graph, each read back and compared with the graph.

The RDF formats write every quad of the data (N-Quads, TriG and JSON-LD keep the named
graphs; Turtle, N-Triples and RDF/XML write their union). The ontology's named graph is
left out: the ontology ships as ``ontology/cartkg.ttl``. Each file is parsed again with
rdflib, a parser other than the Oxigraph serializer that wrote it, and the quads or
triples read back must equal the graph's: the loss report counts the entities,
statements, evidence sentences, triples and named graphs found again, and any the
graph lacks.

JSON-LD is compacted with the cartkg context, a file shipped with the package
(``cartkg/kg/context.jsonld``) and written beside the export. The context is also
inlined in the document, so that it reads offline: the w3id.org address that will
serve it is not registered yet.

SSSOM writes the lexicon's checked cross-references for the entities of the graph;
the mappings read back are compared with the graph's SKOS mapping triples.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from rdflib import OWL, RDF, RDFS, XSD, BNode, Dataset, Graph, Namespace, URIRef

from cartkg.ontology.owl import CK, ontology_graph

from . import iris
from .export import RDF_FORMATS, ExportError, atomic_write, serialize, sorted_quads, write_sssom
from .loss import Count, LossReport, compared, quad_set, triple_set

SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
PROV = Namespace("http://www.w3.org/ns/prov#")
OBOINOWL = Namespace("http://www.geneontology.org/formats/oboInOwl#")
#: The file name of every RDF export: ``cartkg.<format>``.
STEM = "cartkg"
CONTEXT_FILE = "context.jsonld"
#: rdflib's parser name for each format.
RDFLIB_FORMATS = {"ttl": "turtle", "nt": "nt", "nq": "nquads", "trig": "trig", "jsonld": "json-ld", "xml": "xml"}
#: Formats whose files keep the named graphs.
DATASET_FORMATS = {"nq", "trig", "jsonld"}
#: The SKOS mapping properties an SSSOM record may carry.
SKOS_MAPPINGS = tuple(SKOS[name] for name in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch",
                                              "relatedMatch"))
#: Terms of the context for properties outside the cartkg namespace.
OUTSIDE_TERMS = {
    "label": (RDFS.label, False),
    "prefLabel": (SKOS.prefLabel, False),
    "altLabel": (SKOS.altLabel, False),
    "definition": (SKOS.definition, False),
    "xref": (OBOINOWL.hasDbXref, False),
    "wasDerivedFrom": (PROV.wasDerivedFrom, True),
    "subject": (RDF.subject, True),
    "predicate": (RDF.predicate, True),
    "object": (RDF.object, True),
    **{str(p).rsplit("#", 1)[1]: (p, True) for p in SKOS_MAPPINGS},
}

PREFIX = "PREFIX ck: <https://w3id.org/cartkg/ontology/>\nPREFIX prov: <http://www.w3.org/ns/prov#>\n"
COUNTED = {
    "entities": PREFIX + "SELECT DISTINCT ?x WHERE { ?x ck:entityType ?t }",
    "relations (statements)": PREFIX + "SELECT DISTINCT ?x WHERE { ?x a ck:Statement }",
    "evidence items (sentences of statements)": PREFIX
    + "SELECT DISTINCT ?x ?s WHERE { ?x a ck:Statement ; prov:wasDerivedFrom ?s . ?s ck:text ?t }",
}


def jsonld_context(ontology: Graph | None = None) -> dict[str, Any]:
    """The cartkg JSON-LD context: the project's prefixes, a term for every cartkg class
    and property (object properties take IRIs), and terms for the outside properties
    the graph uses."""
    onto = ontology if ontology is not None else ontology_graph()
    context: dict[str, Any] = {prefix: str(ns) for prefix, ns in iris.PREFIXES.items()}
    context.update(rdf=str(RDF), rdfs=str(RDFS), xsd=str(XSD), owl=str(OWL))
    terms: dict[str, tuple[URIRef, bool]] = {}
    for kind, is_reference in ((OWL.Class, False), (OWL.ObjectProperty, True), (OWL.DatatypeProperty, False)):
        for term in onto.subjects(RDF.type, kind):
            if isinstance(term, URIRef) and str(term).startswith(str(CK)):
                terms[str(term)[len(str(CK)):]] = (term, is_reference)
    for name, definition in OUTSIDE_TERMS.items():
        if name in terms or name in context:
            raise ExportError(f"the JSON-LD term {name!r} names two things")
        terms[name] = definition
    for name, (term, is_reference) in terms.items():
        compact = _prefixed(term, context)
        context[name] = {"@id": compact, "@type": "@id"} if is_reference else compact
    return dict(sorted(context.items()))


def _prefixed(term: URIRef, prefixes: dict[str, Any]) -> str:
    for prefix, namespace in sorted(prefixes.items(), key=lambda kv: -len(str(kv[1]))):
        if isinstance(namespace, str) and str(term).startswith(namespace):
            return f"{prefix}:{str(term)[len(namespace):]}"
    return str(term)


@cache
def bundled_context() -> dict[str, Any]:
    """The published context, as shipped with the package."""
    text = (resources.files("cartkg.kg") / CONTEXT_FILE).read_text(encoding="utf-8")
    return json.loads(text)["@context"]


def context_document(context: dict[str, Any]) -> bytes:
    """A context as the bytes of a context file."""
    return (json.dumps({"@context": context}, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def _sorted_json(value: Any) -> Any:
    """JSON with every array sorted: JSON-LD arrays are unordered (there are no lists here)."""
    if isinstance(value, dict):
        if "@list" in value:
            raise ExportError("an RDF list cannot be written as a sorted JSON-LD array")
        return {k: _sorted_json(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted_json(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def jsonld(dataset: Dataset, context: dict[str, Any] | None = None) -> bytes:
    """The dataset as compact JSON-LD (named graphs kept), the context inlined; the same
    dataset gives the same bytes."""
    context = context if context is not None else bundled_context()
    memory = Dataset()
    for s, p, o, g in sorted_quads(dataset):
        memory.graph(g).add((s, p, o))
    compact = json.loads(memory.serialize(format="json-ld", context=context, auto_compact=True))
    compact["@context"] = context
    return (json.dumps(_sorted_json(compact), indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def data_graphs(dataset: Dataset) -> Dataset:
    """The dataset without the ontology's named graph (the ontology ships as
    ``ontology/cartkg.ttl``; a store folder holds a copy of it). Raises ExportError for
    blank nodes: cartkg graphs have none, and the loss report compares terms one to one."""
    ontology = dataset.graph(iris.ONTOLOGY_GRAPH)
    if len(ontology):
        kept = Dataset(default_union=True)
        for s, p, o, g in dataset.quads((None, None, None, None)):
            name = g.identifier if isinstance(g, Graph) else g
            if name != iris.ONTOLOGY_GRAPH:
                kept.graph(name).add((s, p, o))
        dataset = kept
    for triple in dataset.triples((None, None, None)):
        if any(isinstance(term, BNode) for term in triple):
            raise ExportError(f"the graph holds blank nodes ({' '.join(t.n3() for t in triple)}); "
                              "the exports compare terms one to one and write no blank nodes")
    return dataset


def read_back(path: Path, fmt: str) -> Dataset:
    """A written RDF file parsed by rdflib into a dataset; triple formats go into one
    named graph, so that the union default graph sees them."""
    dataset = Dataset(default_union=True)
    try:
        if fmt in DATASET_FORMATS:
            dataset.parse(path, format=RDFLIB_FORMATS[fmt])
        else:
            dataset.graph(iris.GRAPH["loaded"]).parse(path, format=RDFLIB_FORMATS[fmt])
    except Exception as exc:  # rdflib raises many parser-specific types
        raise ExportError(f"{path}: the export does not parse as {fmt} ({type(exc).__name__}: {exc})"
                          .splitlines()[0]) from None
    return dataset


def _rows(graph: Graph, query: str) -> set[tuple]:
    return {tuple(row) for row in graph.query(query)}


def rdf_loss_report(graph: Dataset, back: Dataset, fmt: str, files: tuple[Path, ...]) -> LossReport:
    """Compare a dataset with the dataset read back from its export."""
    counts: list[Count] = []
    for what, query in COUNTED.items():
        expected, found = _rows(graph, query), _rows(back, query)
        counts.append(Count(what, len(expected), len(expected & found)))
    counts += compared("triples", triple_set(graph.triples((None, None, None))),
                       triple_set(back.triples((None, None, None))))
    if fmt in DATASET_FORMATS:
        quads, quads_back = quad_set(graph), quad_set(back)
        counts += compared("quads", quads, quads_back)
        counts += compared("named graphs", {q[3] for q in quads}, {q[3] for q in quads_back})
    scope = "every quad" if fmt in DATASET_FORMATS else "every triple (the union of the named graphs)"
    return LossReport(fmt, scope, files, tuple(counts))


def write_rdf_export(graph: Dataset, directory: str | Path, fmt: str) -> LossReport:
    """Write ``cartkg.<fmt>`` (and, for JSON-LD, the context file) into ``directory``;
    read it back and count what it kept."""
    if fmt not in RDF_FORMATS:
        raise ExportError(f"unknown RDF format {fmt!r}; choose one of {', '.join(RDF_FORMATS)}")
    directory = Path(directory)
    graph = data_graphs(graph)
    files: tuple[Path, ...]
    if fmt == "jsonld":
        data, context = jsonld(graph), context_document(bundled_context())
        files = (atomic_write(directory / f"{STEM}.{fmt}", lambda tmp: tmp.write_bytes(data)),
                 atomic_write(directory / CONTEXT_FILE, lambda tmp: tmp.write_bytes(context)))
    else:
        data = serialize(graph, fmt)
        files = (atomic_write(directory / f"{STEM}.{fmt}", lambda tmp: tmp.write_bytes(data)),)
    return rdf_loss_report(graph, read_back(files[0], fmt), fmt, files)


def graph_mappings(graph: Graph) -> set[tuple]:
    """The graph's SKOS mapping triples whose subject is a cartkg entity."""
    return triple_set(t for p in SKOS_MAPPINGS for t in graph.triples((None, p, None))
                      if str(t[0]).startswith(str(iris.ENTITY)))


def sssom_triples(path: Path) -> set[tuple]:
    """The mappings of an SSSOM/TSV file as (subject, predicate, object) IRIs, read with
    sssom-py and expanded with the file's own prefix map."""
    from sssom.parsers import parse_sssom_table

    msdf = parse_sssom_table(path)
    expand = msdf.converter.expand
    return {(URIRef(expand(row.subject_id)), URIRef(expand(row.predicate_id)), URIRef(expand(row.object_id)))
            for row in msdf.df.itertuples()}


def write_sssom_export(graph: Graph, directory: str | Path) -> LossReport:
    """Write ``cartkg.sssom.tsv``: the lexicon's cross-references found in the graph."""
    from dataclasses import replace

    from curies import Converter

    from cartkg.ontology.mappings import MappingRecord, lexicon_mapping_set

    mapping_set = lexicon_mapping_set()
    in_graph = graph_mappings(graph)
    converter = Converter.from_prefix_map(dict(mapping_set.prefixes))

    def as_triple(record: MappingRecord) -> tuple:
        return tuple(URIRef(converter.expand(c, strict=True))
                     for c in (record.subject_id, record.predicate_id, record.object_id))

    kept = replace(mapping_set, mappings=tuple(r for r in mapping_set.mappings if as_triple(r) in in_graph))
    path = write_sssom(kept, Path(directory) / f"{STEM}.sssom.tsv")
    return LossReport("sssom", "the SKOS mappings of the graph's entities", (path,),
                      compared("mappings", in_graph, sssom_triples(path)))
