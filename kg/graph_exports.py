"""Graph exports for other tools: KGX TSV (Biolink pipelines), Neo4j CSV (property graphs),
GraphML and GEXF (Gephi, Cytoscape), each with a loss report read back from the written files.

KGX (``nodes.tsv``, ``edges.tsv``): one node per lexicon entity, one edge per
``ck:Statement``. Categories and predicates come from the ontology's SKOS mappings to
Biolink (exact, close or broad match, inherited through ``rdfs:subClassOf`` and
``rdfs:subPropertyOf``); a class without one is ``biolink:NamedThing``, a relation
without one ``biolink:related_to``, and the cartkg predicate is always kept in
``rdf_predicate``. Every other triple of an entity or a statement becomes a column
named ``<prefix>_<local name>`` (values as CURIEs or literal text, lists joined with
``|``), and each edge carries its evidence: the sentence's text, offsets, section and
document, and its quantities as JSON. Literal datatypes are not kept, only lexical forms.

Neo4j (``nodes.csv``, ``relationships.csv``, ``import.cypher``): the layout of
``neo4j-admin database import`` with typed headers, and a Cypher script (``LOAD CSV`` and
``MERGE``) that builds the same graph. One node per lexicon entity, labelled ``Entity`` and
its entity type; one relationship per ``ck:Statement``, typed by the relation's local name
(``hasAdverseEvent``), from subject to object. The columns are those of KGX: every other
triple as ``<prefix>_<local name>``, the statement's evidence (document, sentence text,
offsets, section, quantities as JSON) on the relationship. Columns are typed from the
literals' datatypes (``int``, ``double``, ``boolean``, else ``string``), as arrays
(``string[]``, delimiter ``;``) where any item has more than one value.

GraphML and GEXF write :func:`cartkg.kg.analyze.entity_graph`, a projection: every lexicon
entity (label, type) and one edge per affirmed (subject, predicate, object), weighted by
the number of affirming sentences. Negated and hedged statements, and the sentences
themselves, are outside that scope; the loss report counts what is inside it.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
from curies import Converter
from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from cartkg.ontology.owl import CK, ontology_graph

from . import iris
from .analyze import entity_graph
from .export import RDF_FORMATS, ExportError, atomic_write
from .loss import Count, LossReport, compared, triple_set
from .rdf_exports import write_rdf_export, write_sssom_export

BIOLINK = Namespace("https://w3id.org/biolink/vocab/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
PROV = Namespace("http://www.w3.org/ns/prov#")
#: Prefixes for CURIEs and column names, longest namespace first when matching.
CURIE_PREFIXES = {**{k: str(v) for k, v in iris.PREFIXES.items()}, "rdf": str(RDF), "rdfs": str(RDFS),
                  "biolink": str(BIOLINK)}
#: The knowledge source of every node and edge, as an infores CURIE.
INFORES = "infores:cartkg"
#: Statements are read from text by rules.
KNOWLEDGE_LEVEL = "knowledge_assertion"
AGENT_TYPE = "text_mining_agent"
LIST_DELIMITER = "|"
#: Biolink mappings usable as a category or predicate: the Biolink term equals or is broader.
_USABLE_MAPPINGS = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch)
#: Entity triples with a KGX name of their own.
NODE_COLUMNS = {RDFS.label: "name", SKOS.definition: "description", SKOS.altLabel: "synonym",
                URIRef("http://www.geneontology.org/formats/oboInOwl#hasDbXref"): "xref"}
NODE_HEADER = ["id", "category", "name", "description", "synonym", "xref", "provided_by", "iri"]
EDGE_HEADER = ["id", "subject", "predicate", "object", "category", "knowledge_level", "agent_type",
               "primary_knowledge_source", "knowledge_source", "publications", "rdf_predicate",
               "document", "sentence_text", "sentence_begin", "sentence_end", "sentence_section", "quantities"]
#: Statement triples with a KGX name of their own.
EDGE_COLUMNS = {RDF.subject: "subject", RDF.object: "object", RDF.predicate: "rdf_predicate"}


def curie(term: Node) -> str:
    """An IRI as a CURIE where a prefix is known; a literal as its lexical form."""
    text = str(term)
    if isinstance(term, URIRef):
        for prefix, namespace in sorted(CURIE_PREFIXES.items(), key=lambda kv: -len(kv[1])):
            if text.startswith(namespace):
                return f"{prefix}:{text[len(namespace):]}"
    return text


def column_name(predicate: URIRef) -> str:
    """``ck:hasQuantity`` as ``ck_has_quantity``."""
    prefix, _, local = curie(predicate).partition(":")
    if not local:
        raise ExportError(f"no column name for the property {predicate}")
    return f"{prefix}_{re.sub(r'(?<!^)(?=[A-Z])', '_', local).lower()}"


def biolink_terms(ontology: Graph | None = None) -> dict[URIRef, str]:
    """Each ck class and property with its Biolink term (a CURIE), inherited from ancestors."""
    onto = ontology if ontology is not None else ontology_graph()
    direct = {}
    for mapping in reversed(_USABLE_MAPPINGS):  # exact wins over close over broad
        for s, o in onto.subject_objects(mapping):
            if str(o).startswith(str(BIOLINK)) and str(s).startswith(str(CK)):
                direct[s] = curie(o)
    found = {}
    for term in {s for s in onto.subjects() if isinstance(s, URIRef) and str(s).startswith(str(CK))}:
        todo, seen = [term], set()
        while todo:
            current = todo.pop(0)
            if current in direct:
                found[term] = direct[current]
                break
            seen.add(current)
            parents = [*onto.objects(current, RDFS.subClassOf), *onto.objects(current, RDFS.subPropertyOf)]
            for parent in sorted(parents):
                if parent not in seen:
                    todo.append(parent)
    return found


def _values(graph: Graph, query: str) -> dict[Node, dict[URIRef, list[Node]]]:
    """``{thing: {property: [values]}}`` from a query of ?x ?p ?o."""
    table: dict[Node, dict[URIRef, list[Node]]] = defaultdict(lambda: defaultdict(list))
    for x, p, o in graph.query(query):
        if o not in table[x][p]:
            table[x][p].append(o)
    return table


def _joined(values: Iterable[Node]) -> str:
    texts = sorted({curie(v) for v in values})
    for text in texts:
        if LIST_DELIMITER in text:
            raise ExportError(f"the value {text!r} holds the list delimiter {LIST_DELIMITER!r}")
    return LIST_DELIMITER.join(texts)


PREFIX = "PREFIX ck: <https://w3id.org/cartkg/ontology/>\nPREFIX prov: <http://www.w3.org/ns/prov#>\n"
ENTITY_TRIPLES = PREFIX + "SELECT ?x ?p ?o WHERE { ?x ck:entityType ?t ; ?p ?o }"
STATEMENT_TRIPLES = PREFIX + "SELECT ?x ?p ?o WHERE { ?x a ck:Statement ; ?p ?o FILTER(?p != rdf:type) }"
SENTENCE_TRIPLES = PREFIX + "SELECT ?x ?p ?o WHERE { ?st a ck:Statement ; prov:wasDerivedFrom ?x . ?x ?p ?o }"
QUANTITY_TRIPLES = PREFIX + "SELECT ?x ?p ?o WHERE { ?st ck:hasQuantity ?x . ?x ?p ?o FILTER(?p != rdf:type) }"
DOCUMENT_TRIPLES = PREFIX + "SELECT ?x ?p ?o WHERE { ?x a ck:Document ; ?p ?o }"


def _evidence_count(graph: Graph) -> int:
    """Statements with an evidence sentence that has text: what each edge export must carry."""
    return int(next(iter(graph.query(PREFIX + "SELECT (COUNT(*) AS ?n) WHERE { ?st a ck:Statement ; "
                                     "prov:wasDerivedFrom ?s . ?s ck:text ?t }")))[0])


def _write_tsv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=header, delimiter="\t", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    return atomic_write(path, write)


def read_tsv(path: Path) -> list[dict[str, str]]:
    with Path(path).open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream, delimiter="\t"))


def kgx_rows(graph: Graph) -> tuple[list[str], list[dict[str, str]], list[str], list[dict[str, str]]]:
    """The node and edge headers and rows of the KGX export, sorted by id."""
    biolink = biolink_terms()
    entities = _values(graph, ENTITY_TRIPLES)
    node_extra = sorted({column_name(p) for props in entities.values() for p in props if p not in NODE_COLUMNS})
    nodes = []
    for entity, props in entities.items():
        row = {"id": curie(entity), "provided_by": INFORES, "iri": str(entity)}
        types = [CK[str(t)] for t in props[CK.entityType]]
        row["category"] = _joined(URIRef(BIOLINK + biolink.get(t, "biolink:NamedThing").split(":", 1)[1])
                                  for t in types)
        for p, values in props.items():
            row[NODE_COLUMNS.get(p) or column_name(p)] = _joined(values)
        nodes.append(row)
    statements = _values(graph, STATEMENT_TRIPLES)
    sentences = _values(graph, SENTENCE_TRIPLES)
    quantities = _values(graph, QUANTITY_TRIPLES)
    documents = _values(graph, DOCUMENT_TRIPLES)
    edge_extra = sorted({column_name(p) for props in statements.values() for p in props if p not in EDGE_COLUMNS}
                        - set(EDGE_HEADER))
    edges = []
    for statement, props in statements.items():
        (predicate,) = props[RDF.predicate]
        (sentence,) = props[PROV.wasDerivedFrom]
        sent = sentences[sentence]
        (doc,) = sent[CK.inDocument]
        publications = documents[doc].get(CK.bibliographicIdentifier) or [doc]
        row = {"id": curie(statement), "predicate": biolink.get(predicate, "biolink:related_to"),
               "category": "biolink:Association", "knowledge_level": KNOWLEDGE_LEVEL, "agent_type": AGENT_TYPE,
               "primary_knowledge_source": INFORES, "knowledge_source": INFORES,
               "publications": _joined(publications), "document": curie(doc),
               "sentence_text": _joined(sent[CK.text]), "sentence_begin": _joined(sent[CK.beginOffset]),
               "sentence_end": _joined(sent[CK.endOffset]), "sentence_section": _joined(sent.get(CK.section, [])),
               "quantities": json.dumps(
                   [{"id": curie(q), **{column_name(p): _joined(v) for p, v in sorted(quantities[q].items())}}
                    for q in sorted(props.get(CK.hasQuantity, []))], sort_keys=True) if CK.hasQuantity in props else ""}
        for p, values in props.items():
            row[EDGE_COLUMNS.get(p) or column_name(p)] = _joined(values)
        edges.append(row)
    nodes.sort(key=lambda r: r["id"])
    edges.sort(key=lambda r: r["id"])
    return NODE_HEADER + node_extra, nodes, EDGE_HEADER + edge_extra, edges


def _triple_count(graph: Graph, query: str) -> int:
    return sum(len({curie(v) for v in values}) for props in _values(graph, query).values() for values in props.values())


def _cells(rows: list[dict[str, str]], skip: set[str]) -> int:
    return sum(len(v.split(LIST_DELIMITER)) for row in rows for k, v in row.items() if k not in skip and v)


def write_kgx(graph: Graph, directory: str | Path) -> LossReport:
    """Write ``nodes.tsv`` and ``edges.tsv`` to ``directory``; count what was kept."""
    directory = Path(directory)
    node_header, nodes, edge_header, edges = kgx_rows(graph)
    files = (_write_tsv(directory / "nodes.tsv", node_header, nodes),
             _write_tsv(directory / "edges.tsv", edge_header, edges))
    nodes_back, edges_back = read_tsv(files[0]), read_tsv(files[1])
    added_node = {"id", "category", "provided_by", "iri"}
    added_edge = set(EDGE_HEADER) - {"subject", "object", "rdf_predicate"}
    evidence = _evidence_count(graph)
    counts = (
        Count("entities", len(_values(graph, ENTITY_TRIPLES)), len({r["id"] for r in nodes_back})),
        Count("relations (statements)", len(_values(graph, STATEMENT_TRIPLES)), len({r["id"] for r in edges_back})),
        Count("evidence items (sentences of statements)", evidence, sum(1 for r in edges_back if r["sentence_text"])),
        Count("entity properties", _triple_count(graph, ENTITY_TRIPLES), _cells(nodes_back, added_node)),
        Count("statement properties", _triple_count(graph, STATEMENT_TRIPLES), _cells(edges_back, added_edge)),
        Count("quantity properties", _triple_count(graph, QUANTITY_TRIPLES),
              sum(len(q) - 1 for r in edges_back if r["quantities"] for q in json.loads(r["quantities"]))),
    )
    return LossReport("kgx", "every lexicon entity and every statement", files, counts)


#: neo4j-admin's default array delimiter.
NEO4J_ARRAY_DELIMITER = ";"
NEO4J_NODE_HEADER = ["id:ID", ":LABEL", "name", "iri"]
NEO4J_REL_HEADER = [":START_ID", ":END_ID", ":TYPE", "id", "rdf_predicate", "document", "sentence_text",
                    "sentence_begin:int", "sentence_end:int", "sentence_section", "quantities"]
#: Statement triples in a column of their own.
NEO4J_REL_COLUMNS = {RDF.subject: ":START_ID", RDF.object: ":END_ID", RDF.predicate: "rdf_predicate"}
#: The evidence sentence's triples, in the columns of its statement's relationship.
NEO4J_EVIDENCE_COLUMNS = {CK.inDocument: "document", CK.text: "sentence_text", CK.beginOffset: "sentence_begin:int",
                          CK.endOffset: "sentence_end:int", CK.section: "sentence_section"}
#: The file that says which RDF property and kind of term each column holds.
NEO4J_COLUMNS_FILE = "rdf-columns.json"
#: The label every node carries besides its entity type.
NEO4J_ENTITY_LABEL = "Entity"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_NEO4J_TYPES = {**{_XSD + t: "int" for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger",
                                              "positiveInteger", "negativeInteger", "nonPositiveInteger")},
                **{_XSD + t: "double" for t in ("decimal", "double", "float")}, _XSD + "boolean": "boolean"}
#: How import.cypher converts a cell of each type.
_CYPHER_CASTS = {"int": "toInteger", "double": "toFloat", "boolean": "toBoolean", "string": ""}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _neo4j_type(value_lists: Iterable[list[Node]]) -> str:
    """The neo4j-admin type of a column holding these lists of values: one type, ``[]`` if any has two."""
    value_lists = list(value_lists)
    kinds = {_NEO4J_TYPES.get(str(v.datatype), "string") if isinstance(v, Literal) else "string"
             for values in value_lists for v in values}
    kind = kinds.pop() if len(kinds) == 1 else "string"
    return kind + "[]" if any(len(values) > 1 for values in value_lists) else kind


def _neo4j_cell(values: list[Node], kind: str) -> str:
    texts = sorted({curie(v) for v in values})
    if not kind.endswith("[]"):
        (text,) = texts
        return text
    for text in texts:
        if NEO4J_ARRAY_DELIMITER in text:
            raise ExportError(f"the value {text!r} holds the array delimiter {NEO4J_ARRAY_DELIMITER!r}")
    return NEO4J_ARRAY_DELIMITER.join(texts)


def _typed_columns(table: dict[Node, dict[URIRef, list[Node]]], named: dict[URIRef, str]) -> dict[URIRef, str]:
    """``{property: "column:type"}`` for the properties without a column of their own."""
    columns = {}
    for p in sorted({p for props in table.values() for p in props} - set(named)):
        kind = _neo4j_type(props[p] for props in table.values() if p in props)
        columns[p] = column_name(p) + ("" if kind == "string" else f":{kind}")
    return columns


@dataclass(frozen=True)
class Neo4jTables:
    """The Neo4j export's headers (typed) and rows, sorted by id, and what each column holds."""

    node_header: list[str]
    nodes: list[dict[str, str]]
    rel_header: list[str]
    rels: list[dict[str, str]]
    #: ``{"nodes" | "relationships" | "evidence" | "quantities": {column: spec}}``, see :func:`column_spec`.
    columns: dict[str, dict[str, dict[str, str | None]]]


def column_spec(prop: URIRef, value_lists: Iterable[list[Node]]) -> dict[str, str | None]:
    """What a column holds, so that its cells can be read back as RDF terms: the property,
    and whether the values are IRIs (written as CURIEs) or literals of one datatype."""
    kinds = {("iri", None, None) if isinstance(v, URIRef) else
             ("literal", None if v.datatype in (None, XSD.string) else str(v.datatype), v.language)
             for values in value_lists for v in values}
    if len(kinds) != 1:
        raise ExportError(f"the property {prop} holds {len(kinds)} kinds of value; a column holds one")
    ((kind, datatype, language),) = kinds
    return {"property": str(prop), "kind": kind, "datatype": datatype, "language": language}


def _specs(table: dict[Node, dict[URIRef, list[Node]]], columns: dict[URIRef, str]) -> dict[str, dict]:
    return {column: column_spec(p, [props[p] for props in table.values() if p in props])
            for p, column in sorted(columns.items())}


def neo4j_rows(graph: Graph) -> Neo4jTables:
    """The node and relationship headers (typed) and rows of the Neo4j export, sorted by id."""
    entities = _values(graph, ENTITY_TRIPLES)
    node_named = {RDFS.label: "name"}
    node_columns = {**node_named, **_typed_columns(entities, node_named)}
    nodes = []
    for entity, props in entities.items():
        (entity_type,) = props[CK.entityType]
        if not _IDENTIFIER.fullmatch(str(entity_type)):
            raise ExportError(f"the entity type {entity_type!r} is no Neo4j label")
        row = {"id:ID": curie(entity), ":LABEL": f"{NEO4J_ENTITY_LABEL}{NEO4J_ARRAY_DELIMITER}{entity_type}",
               "iri": str(entity)}
        for p, values in props.items():
            row[node_columns[p]] = _neo4j_cell(values, node_columns[p].partition(":")[2] or "string")
        nodes.append(row)
    statements = _values(graph, STATEMENT_TRIPLES)
    sentences = _values(graph, SENTENCE_TRIPLES)
    quantities = _values(graph, QUANTITY_TRIPLES)
    rel_columns = {**NEO4J_REL_COLUMNS, **_typed_columns(statements, NEO4J_REL_COLUMNS)}
    rels = []
    for statement, props in statements.items():
        (predicate,) = props[RDF.predicate]
        rel_type = str(predicate).rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        if not _IDENTIFIER.fullmatch(rel_type):
            raise ExportError(f"the relation {predicate} has no Neo4j type name")
        (sentence,) = props[PROV.wasDerivedFrom]
        sent = sentences[sentence]
        row = {":TYPE": rel_type, "id": curie(statement), "document": _joined(sent[CK.inDocument]),
               "sentence_text": _joined(sent[CK.text]), "sentence_begin:int": _joined(sent[CK.beginOffset]),
               "sentence_end:int": _joined(sent[CK.endOffset]), "sentence_section": _joined(sent.get(CK.section, [])),
               "quantities": json.dumps(
                   [{"id": curie(q), **{column_name(p): _joined(v) for p, v in sorted(quantities[q].items())}}
                    for q in sorted(props[CK.hasQuantity])], sort_keys=True) if CK.hasQuantity in props else ""}
        for p, values in props.items():
            row[rel_columns[p]] = _neo4j_cell(values, rel_columns[p].partition(":")[2] or "string")
        rels.append(row)
    nodes.sort(key=lambda r: r["id:ID"])
    rels.sort(key=lambda r: r["id"])
    node_extra = sorted(set(node_columns.values()) - set(NEO4J_NODE_HEADER))
    rel_extra = sorted(set(rel_columns.values()) - set(NEO4J_REL_HEADER))
    columns = {
        "nodes": _specs(entities, node_columns),
        "relationships": _specs(statements, rel_columns),
        "evidence": _specs(sentences, {p: c for p, c in NEO4J_EVIDENCE_COLUMNS.items()
                                       if any(p in props for props in sentences.values())}),
        "quantities": _specs(quantities, {p: column_name(p) for props in quantities.values() for p in props}),
    }
    return Neo4jTables(NEO4J_NODE_HEADER + node_extra, nodes, NEO4J_REL_HEADER + rel_extra, rels, columns)


def _cypher_value(column: str) -> str:
    """The Cypher expression that reads a typed CSV column of ``row``."""
    name, _, kind = column.partition(":")
    cell = f"row.`{column}`"
    cast = _CYPHER_CASTS[kind.removesuffix("[]") or "string"]
    if kind.endswith("[]"):
        split = f"split({cell}, '{NEO4J_ARRAY_DELIMITER}')"
        return f"[x IN {split} | {cast}(x)]" if cast else split
    return f"{cast}({cell})" if cast else cell


def _cypher_sets(variable: str, header: list[str], skip: set[str]) -> str:
    return ",\n    ".join(f"{variable}.`{c.partition(':')[0]}` = {_cypher_value(c)}" for c in header if c not in skip)


def neo4j_cypher(node_header: list[str], nodes: list[dict[str, str]], rel_header: list[str],
                 rels: list[dict[str, str]], nodes_file: str = "nodes.csv",
                 rels_file: str = "relationships.csv") -> str:
    """A Cypher script that loads the two CSV files (from Neo4j's import directory) with MERGE."""
    parts = ["// cartkg: the Neo4j export, loaded with LOAD CSV and MERGE (files in Neo4j's import directory).",
             f"CREATE CONSTRAINT cartkg_entity_id IF NOT EXISTS FOR (n:{NEO4J_ENTITY_LABEL}) REQUIRE n.id IS UNIQUE;"]
    node_sets = _cypher_sets("n", node_header, {"id:ID", ":LABEL"})
    for labels in sorted({r[":LABEL"] for r in nodes}):
        extra = ":".join(f"`{label}`" for label in labels.split(NEO4J_ARRAY_DELIMITER) if label != NEO4J_ENTITY_LABEL)
        parts.append(f"LOAD CSV WITH HEADERS FROM 'file:///{nodes_file}' AS row\n"
                     f"WITH row WHERE row.`:LABEL` = '{labels}'\n"
                     f"MERGE (n:{NEO4J_ENTITY_LABEL} {{id: row.`id:ID`}})\n"
                     f"SET n:{extra},\n    {node_sets};")
    rel_sets = _cypher_sets("r", rel_header, {":START_ID", ":END_ID", ":TYPE", "id"})
    for rel_type in sorted({r[":TYPE"] for r in rels}):
        parts.append(f"LOAD CSV WITH HEADERS FROM 'file:///{rels_file}' AS row\n"
                     f"WITH row WHERE row.`:TYPE` = '{rel_type}'\n"
                     f"MATCH (s:{NEO4J_ENTITY_LABEL} {{id: row.`:START_ID`}})\n"
                     f"MATCH (o:{NEO4J_ENTITY_LABEL} {{id: row.`:END_ID`}})\n"
                     f"MERGE (s)-[r:`{rel_type}` {{id: row.id}}]->(o)\n"
                     f"SET {rel_sets};")
    return "\n\n".join(parts) + "\n"


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    return atomic_write(path, write)


def read_csv(path: Path) -> list[dict[str, str]]:
    with Path(path).open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _typed_cells(rows: list[dict[str, str]], skip: set[str]) -> int:
    """Values in the rows' cells outside ``skip``: an array cell holds one per item."""
    return sum(len(v.split(NEO4J_ARRAY_DELIMITER)) if k.endswith("[]") else 1
               for row in rows for k, v in row.items() if k not in skip and v)


def write_neo4j(graph: Graph, directory: str | Path) -> LossReport:
    """Write ``nodes.csv``, ``relationships.csv``, ``import.cypher`` and ``rdf-columns.json``
    to ``directory``; read the CSVs back into RDF and count what was kept."""
    directory = Path(directory)
    tables = neo4j_rows(graph)
    script = neo4j_cypher(tables.node_header, tables.nodes, tables.rel_header, tables.rels)
    columns = json.dumps({"prefixes": CURIE_PREFIXES, **tables.columns}, indent=1, sort_keys=True) + "\n"
    files = (_write_csv(directory / "nodes.csv", tables.node_header, tables.nodes),
             _write_csv(directory / "relationships.csv", tables.rel_header, tables.rels),
             atomic_write(directory / "import.cypher", lambda tmp: tmp.write_text(script, encoding="utf-8")),
             atomic_write(directory / NEO4J_COLUMNS_FILE, lambda tmp: tmp.write_text(columns, encoding="utf-8")))
    nodes_back, rels_back = read_csv(files[0]), read_csv(files[1])
    added_rel = set(NEO4J_REL_HEADER) - set(NEO4J_REL_COLUMNS.values())
    evidence = _evidence_count(graph)
    counts = (
        Count("entities", len(_values(graph, ENTITY_TRIPLES)), len({r["id:ID"] for r in nodes_back})),
        Count("relations (statements)", len(_values(graph, STATEMENT_TRIPLES)), len({r["id"] for r in rels_back})),
        Count("evidence items (sentences of statements)", evidence, sum(1 for r in rels_back if r["sentence_text"])),
        Count("entity properties", _triple_count(graph, ENTITY_TRIPLES),
              _typed_cells(nodes_back, {"id:ID", ":LABEL", "iri"})),
        Count("statement properties", _triple_count(graph, STATEMENT_TRIPLES), _typed_cells(rels_back, added_rel)),
        Count("quantity properties", _triple_count(graph, QUANTITY_TRIPLES),
              sum(len(q) - 1 for r in rels_back if r["quantities"] for q in json.loads(r["quantities"]))),
        *compared("RDF triples read back from the CSVs", neo4j_scope_triples(graph), neo4j_triples(directory)),
    )
    return LossReport("neo4j", "every lexicon entity and every statement, with its evidence sentence", files, counts)


def neo4j_scope_triples(graph: Graph) -> set[tuple[Node, Node, Node]]:
    """The triples the Neo4j export holds: the entities', the statements' (but their
    type), their quantities', and the text, offsets, section and document of each
    statement's sentence."""
    found = [(x, p, o) for query in (ENTITY_TRIPLES, STATEMENT_TRIPLES, QUANTITY_TRIPLES)
             for x, p, o in graph.query(query)]
    found += [(x, p, o) for x, p, o in graph.query(SENTENCE_TRIPLES) if p in NEO4J_EVIDENCE_COLUMNS]
    return triple_set(found)


def _expand(text: str, prefixes: Converter) -> URIRef:
    """A CURIE of the export's prefixes as its IRI; anything else is an IRI already."""
    return URIRef(prefixes.expand(text) or text)


def _term(text: str, spec: dict, prefixes: Converter) -> Node:
    if spec["kind"] == "iri":
        return _expand(text, prefixes)
    return Literal(text, datatype=URIRef(spec["datatype"]) if spec["datatype"] else None, lang=spec["language"])


def neo4j_triples(directory: str | Path) -> set[tuple[Node, Node, Node]]:
    """The RDF triples a Neo4j export holds, rebuilt from its CSV files and ``rdf-columns.json``:
    the round trip back from the property graph."""
    directory = Path(directory)
    layout = json.loads((directory / NEO4J_COLUMNS_FILE).read_text(encoding="utf-8"))
    prefixes = Converter.from_prefix_map(layout["prefixes"])
    triples: set[tuple[Node, Node, Node]] = set()

    def add(subject: Node, cell: str, spec: dict, delimiter: str | None) -> None:
        for value in (cell.split(delimiter) if delimiter else [cell]) if cell else []:
            triples.add((subject, URIRef(spec["property"]), _term(value, spec, prefixes)))

    for row in read_csv(directory / "nodes.csv"):
        for column, spec in layout["nodes"].items():
            add(URIRef(row["iri"]), row[column], spec, NEO4J_ARRAY_DELIMITER if column.endswith("[]") else None)
    sentence_column = next(c for c, spec in layout["relationships"].items() if spec["property"] == str(PROV.wasDerivedFrom))
    for row in read_csv(directory / "relationships.csv"):
        statement = _expand(row["id"], prefixes)
        for column, spec in layout["relationships"].items():
            add(statement, row[column], spec, NEO4J_ARRAY_DELIMITER if column.endswith("[]") else None)
        sentence = _expand(row[sentence_column], prefixes)
        for column, spec in layout["evidence"].items():
            add(sentence, row[column], spec, LIST_DELIMITER)
        for quantity in json.loads(row["quantities"]) if row["quantities"] else []:
            for key, spec in layout["quantities"].items():
                add(_expand(quantity["id"], prefixes), quantity.get(key, ""), spec, LIST_DELIMITER)
    return triple_set(triples)


def plain_entity_graph(graph: Graph) -> nx.MultiDiGraph:
    """The entity graph with sorted nodes and edges and plain str/int attributes."""
    network = entity_graph(graph)
    plain = nx.MultiDiGraph()
    for node in sorted(network):
        data = network.nodes[node]
        plain.add_node(node, label=str(data.get("label", node)), type=str(data.get("type", "")))
    for s, o, key, data in sorted(network.edges(keys=True, data=True), key=lambda e: e[:3]):
        plain.add_edge(s, o, key=key, predicate=str(data["predicate"]), weight=int(data["weight"]))
    return plain


AFFIRMED = PREFIX + """SELECT ?s ?p ?o ?sentence WHERE {
  ?st a ck:Statement ; ck:assertionStatus ck:affirmed ; rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ;
      prov:wasDerivedFrom ?sentence }"""


def _network_report(fmt: str, graph: Graph, path: Path, back: nx.MultiDiGraph) -> LossReport:
    entities = {str(e) for e, *_ in graph.query(ENTITY_TRIPLES)}
    affirmed = {(str(s), str(p).rsplit("/", 1)[-1], str(o), str(x)) for s, p, o, x in graph.query(AFFIRMED)}
    relations = {t[:3] for t in affirmed}
    kept = [(s, d.get("predicate"), o, d) for s, o, d in back.edges(data=True)]
    counts = (
        Count("entities", len(entities), sum(1 for n in back if n in entities)),
        Count("relations (affirmed, distinct)", len(relations), len({(s, p, o) for s, p, o, _ in kept} & relations)),
        Count("evidence items (affirming sentences, as weights)", len(affirmed),
              sum(int(d["weight"]) for s, p, o, d in kept if (s, p, o) in relations)),
        Count("properties (label and type per entity, predicate and weight per relation)",
              2 * len(entities) + 2 * len(relations),
              sum(("label" in d) + ("type" in d) for _, d in back.nodes(data=True))
              + sum(("predicate" in d) + ("weight" in d) for *_, d in kept)),
    )
    scope = "entity graph: every lexicon entity, affirmed relations weighted by sentences"
    return LossReport(fmt, scope, (path,), counts)


def write_graphml(graph: Graph, directory: str | Path) -> LossReport:
    """Write ``entities.graphml``: the entity graph (see the module's docstring for its scope)."""
    network = plain_entity_graph(graph)
    path = atomic_write(Path(directory) / "entities.graphml", lambda tmp: nx.write_graphml(network, tmp))
    return _network_report("graphml", graph, path, nx.read_graphml(path, force_multigraph=True))


def write_gexf(graph: Graph, directory: str | Path) -> LossReport:
    """Write ``entities.gexf``: the entity graph (see the module's docstring for its scope)."""
    network = plain_entity_graph(graph)
    path = atomic_write(Path(directory) / "entities.gexf", lambda tmp: nx.write_gexf(network, tmp))
    return _network_report("gexf", graph, path, nx.read_gexf(path))


def _rdf_exporter(fmt: str) -> Callable[[Graph, str | Path], LossReport]:
    def write(graph: Graph, directory: str | Path) -> LossReport:
        return write_rdf_export(graph, directory, fmt)

    write.__doc__ = f"Write ``cartkg.{fmt}`` and read it back (see :mod:`cartkg.kg.rdf_exports`)."
    return write


#: Export formats by name; ``all`` writes each of them.
EXPORTERS: dict[str, Callable[[Graph, str | Path], LossReport]] = {
    **{fmt: _rdf_exporter(fmt) for fmt in RDF_FORMATS},
    "neo4j": write_neo4j,
    "kgx": write_kgx,
    "graphml": write_graphml,
    "gexf": write_gexf,
    "sssom": write_sssom_export,
}
ALL = "all"


def export_graph(graph: Graph, fmt: str, directory: str | Path) -> LossReport:
    """Write the graph in one of :data:`EXPORTERS`' formats into ``directory``."""
    if fmt not in EXPORTERS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join([*EXPORTERS, ALL])}")
    return EXPORTERS[fmt](graph, directory)


def export_formats(names: Iterable[str]) -> list[str]:
    """The formats a list of names asks for, in :data:`EXPORTERS`' order; ``all`` means each."""
    names = list(names)
    unknown = [n for n in names if n != ALL and n not in EXPORTERS]
    if unknown:
        raise ExportError(f"unknown export format {unknown[0]!r}; choose from {', '.join([*EXPORTERS, ALL])}")
    return [fmt for fmt in EXPORTERS if ALL in names or fmt in names]
