"""Analysis with networkx: the RDF graph projected to an entity network, and counts.

The entity graph has the entities as nodes (label and type as attributes) and one
edge per (subject, predicate, object) that at least one sentence affirms, weighted by
the number of affirming sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
from rdflib import Graph

ENTITY_EDGES = """
PREFIX ck: <https://w3id.org/cartkg/ontology/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?s ?p ?o (COUNT(DISTINCT ?sentence) AS ?weight)
WHERE {
  ?statement a ck:Statement ;
             ck:assertionStatus ck:affirmed ;
             rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ;
             prov:wasDerivedFrom ?sentence .
}
GROUP BY ?s ?p ?o
"""

ENTITY_NODES = """
PREFIX ck: <https://w3id.org/cartkg/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?e ?label ?type WHERE { ?e ck:entityType ?type ; rdfs:label ?label }
"""

COUNTS = {
    "documents": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ck:Document }",
    "sentences": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ck:Sentence }",
    "mentions": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ck:Mention }",
    "entities": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?m ck:denotes ?x }",
    "lexicon entities": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x ck:entityType ?t }",
    "statements": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ck:Statement }",
}
GROUPED = {
    "entities by type": (
        "SELECT ?k (COUNT(DISTINCT ?x) AS ?n) WHERE { ?m ck:denotes ?x . ?x ck:entityType ?k } GROUP BY ?k"
    ),
    "statements by relation": (
        "SELECT ?k (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ck:Statement ; "
        "<http://www.w3.org/1999/02/22-rdf-syntax-ns#predicate> ?p . "
        "BIND(STRAFTER(STR(?p), STR(ck:)) AS ?k) } GROUP BY ?k"
    ),
    "statements by assertion status": (
        "SELECT ?k (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ck:Statement ; ck:assertionStatus ?s . "
        "BIND(STRAFTER(STR(?s), STR(ck:)) AS ?k) } GROUP BY ?k"
    ),
}
PREFIX = "PREFIX ck: <https://w3id.org/cartkg/ontology/>\n"


def entity_graph(graph: Graph) -> nx.MultiDiGraph:
    """Entities as nodes, affirmed relations as typed, weighted edges."""
    network = nx.MultiDiGraph()
    for e, label, etype in graph.query(ENTITY_NODES):
        network.add_node(str(e), label=str(label), type=str(etype))
    for s, p, o, weight in graph.query(ENTITY_EDGES):
        predicate = str(p).rsplit("/", 1)[-1]
        network.add_edge(str(s), str(o), key=predicate, predicate=predicate, weight=int(weight))
    return network


def undirected(network: nx.MultiDiGraph) -> nx.Graph:
    """The entity graph with edge directions and types merged; weights add up."""
    simple = nx.Graph()
    simple.add_nodes_from(network.nodes(data=True))
    for s, o, data in network.edges(data=True):
        if simple.has_edge(s, o):
            simple[s][o]["weight"] += data["weight"]
        else:
            simple.add_edge(s, o, weight=data["weight"])
    return simple


@dataclass(frozen=True)
class Centrality:
    entity: str
    label: str
    type: str
    degree: int
    betweenness: float


def centrality(network: nx.MultiDiGraph, top: int = 10) -> list[Centrality]:
    """The most connected entities: by degree, then betweenness, then label."""
    simple = undirected(network)
    betweenness = nx.betweenness_centrality(simple, normalized=True)
    rows = [
        Centrality(n, d.get("label", n), d.get("type", ""), simple.degree(n), round(betweenness[n], 6))
        for n, d in simple.nodes(data=True)
        if simple.degree(n) > 0
    ]
    rows.sort(key=lambda r: (-r.degree, -r.betweenness, r.label))
    return rows[:top]


def components(network: nx.MultiDiGraph) -> list[list[str]]:
    """Connected components of linked entities (largest first), as sorted labels."""
    simple = undirected(network)
    simple.remove_nodes_from([n for n in list(simple) if simple.degree(n) == 0])
    found = [sorted(simple.nodes[n]["label"] for n in c) for c in nx.connected_components(simple)]
    return sorted(found, key=lambda c: (-len(c), c))


@dataclass(frozen=True)
class Link:
    predicate: str
    direction: str
    entity: str
    label: str
    weight: int


def find_entity(network: nx.MultiDiGraph, name: str) -> str:
    """A node by IRI, local id or label (case-insensitive)."""
    wanted = name.lower()
    for node, data in sorted(network.nodes(data=True)):
        if wanted in (node.lower(), node.rsplit("/", 1)[-1].lower(), data.get("label", "").lower()):
            return node
    raise KeyError(f"no entity {name!r} in the graph")


def neighbours(network: nx.MultiDiGraph, name: str) -> list[Link]:
    """The entities linked to one entity, with the relation and its direction."""
    node = find_entity(network, name)
    links = [
        Link(d["predicate"], "out", o, network.nodes[o].get("label", o), d["weight"])
        for _, o, d in network.out_edges(node, data=True)
    ] + [
        Link(d["predicate"], "in", s, network.nodes[s].get("label", s), d["weight"])
        for s, _, d in network.in_edges(node, data=True)
    ]
    return sorted(links, key=lambda link: (link.predicate, link.direction, link.label))


def graph_stats(graph: Graph) -> dict[str, object]:
    """Counts of what a built graph holds."""
    stats: dict[str, object] = {"triples": len(graph)}
    for name, query in COUNTS.items():
        stats[name] = int(next(iter(graph.query(PREFIX + query)))[0])
    for name, query in GROUPED.items():
        stats[name] = {str(k): int(n) for k, n in sorted(graph.query(PREFIX + query))}
    return stats
