"""Analysis with networkx: the RDF graph projected to an entity network, and counts.

The entity graph has the entities as nodes (label and type as attributes) and one
edge per (subject, predicate, object) that at least one sentence affirms, weighted by
the number of affirming sentences; each edge also holds the number of documents and
its evidence (statement, sentence text, document id). The co-mention graph links the
entities mentioned in the same sentence, as the corpus summary counts them. On these: centrality, components, Louvain
communities, shortest evidence paths, ego networks and neighbourhood comparisons.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx
from rdflib import Graph

from cartkg.queries.library import has_summary, no_summary

ENTITY_EDGES = """
PREFIX ck: <https://w3id.org/cartkg/ontology/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?statement ?s ?p ?o ?sentence ?text ?begin ?doc
WHERE {
  ?statement a ck:Statement ;
             ck:assertionStatus ck:affirmed ;
             rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ;
             prov:wasDerivedFrom ?sentence .
  OPTIONAL { ?sentence ck:text ?text ; ck:beginOffset ?begin ; ck:inDocument/dcterms:identifier ?doc }
}
"""

# From the corpus summary (see cartkg.kg.summary), which counts the pairs at build time.
CO_MENTIONS = """
PREFIX ck: <https://w3id.org/cartkg/ontology/>
SELECT ?a ?b ?weight
WHERE { ?pair a ck:CoMention ; ck:firstEntity ?a ; ck:secondEntity ?b ; ck:sentenceCount ?weight }
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


@dataclass(frozen=True, order=True)
class Evidence:
    """One affirming statement behind an edge, and its sentence. Ordered by document,
    then offset, so that the first of a sorted list is a stable choice."""

    document: str
    begin: int
    statement: str
    sentence: str
    text: str


def _add_entity_nodes(network: nx.Graph, graph: Graph) -> None:
    for e, label, etype in graph.query(ENTITY_NODES):
        network.add_node(str(e), label=str(label), type=str(etype))


def entity_graph(graph: Graph) -> nx.MultiDiGraph:
    """Entities as nodes, affirmed relations as typed edges: ``weight`` is the number of
    supporting sentences, ``documents`` the number of documents, ``evidence`` the sorted
    :class:`Evidence` items."""
    network = nx.MultiDiGraph()
    _add_entity_nodes(network, graph)
    found: dict[tuple[str, str, str], set[Evidence]] = defaultdict(set)
    for statement, s, p, o, sentence, text, begin, doc in graph.query(ENTITY_EDGES):
        item = Evidence(str(doc or ""), int(begin or 0), str(statement), str(sentence), str(text or ""))
        found[str(s), str(p).rsplit("/", 1)[-1], str(o)].add(item)
    for (s, predicate, o), items in sorted(found.items()):
        evidence = tuple(sorted(items))
        network.add_edge(
            s, o, key=predicate, predicate=predicate, evidence=evidence,
            weight=len({e.sentence for e in evidence}), documents=len({e.document for e in evidence}),
        )
    return network


def co_mention_graph(graph: Graph) -> nx.Graph:
    """Entities as nodes, linked when mentioned in the same sentence (whatever the
    assertion status); ``weight`` is the number of such sentences. Read from the
    graph's corpus summary: a graph without one is an error."""
    if not has_summary(graph):
        raise no_summary("the co-mention graph")
    network = nx.Graph()
    _add_entity_nodes(network, graph)
    for a, b, weight in graph.query(CO_MENTIONS):
        network.add_edge(str(a), str(b), weight=int(weight))
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
    simple = _linked(network)
    return _as_labels(simple, nx.connected_components(simple))


def _linked(network: nx.Graph) -> nx.Graph:
    """The undirected graph without the entities that have no link."""
    simple = undirected(network) if network.is_directed() else network.copy()
    simple.remove_nodes_from([n for n in list(simple) if simple.degree(n) == 0])
    return simple


def _label(network: nx.Graph, node: str) -> str:
    return network.nodes[node].get("label", node)


def _as_labels(simple: nx.Graph, groups) -> list[list[str]]:
    found = [sorted(_label(simple, n) for n in group) for group in groups]
    return sorted(found, key=lambda c: (-len(c), c))


def communities(network: nx.Graph, *, seed: int = 1, resolution: float = 1.0) -> list[list[str]]:
    """Louvain communities of linked entities (largest first), as sorted labels. Works
    on the entity graph or the co-mention graph; the fixed seed makes it repeatable."""
    simple = _linked(network)
    # Louvain visits nodes in a seeded random order, but over the graph's insertion
    # order: a graph built in sorted order gives the same answer on every run.
    ordered = nx.Graph()
    ordered.add_nodes_from(sorted(simple.nodes(data=True)))
    ordered.add_edges_from(sorted((min(u, v), max(u, v), d) for u, v, d in simple.edges(data=True)))
    found = nx.community.louvain_communities(ordered, weight="weight", resolution=resolution, seed=seed)
    return _as_labels(ordered, found)


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
        Link(d["predicate"], "out", o, _label(network, o), d["weight"])
        for _, o, d in network.out_edges(node, data=True)
    ] + [
        Link(d["predicate"], "in", s, _label(network, s), d["weight"])
        for s, _, d in network.in_edges(node, data=True)
    ]
    return sorted(links, key=lambda link: (link.predicate, link.direction, link.label))


@dataclass(frozen=True)
class PathStep:
    """One hop of an evidence path. ``direction`` is "out" when the sentence says
    ``source predicate target``, "in" when it says ``target predicate source``."""

    source: str
    source_label: str
    predicate: str
    direction: str
    target: str
    target_label: str
    weight: int
    documents: int
    evidence: Evidence

    def __str__(self) -> str:
        arrow = f"-[{self.predicate}]->" if self.direction == "out" else f"<-[{self.predicate}]-"
        return (f"{self.source_label} {arrow} {self.target_label} ({self.weight} sentence(s), "
                f"{self.documents} document(s))\n    {self.evidence.document}: {self.evidence.text}")


@dataclass(frozen=True)
class EvidencePath:
    """A shortest chain of affirmed relations between two entities, one sentence a step."""

    source: str
    target: str
    steps: tuple[PathStep, ...]

    @property
    def labels(self) -> list[str]:
        """The entities along the path, by label."""
        return [self.steps[0].source_label, *(s.target_label for s in self.steps)] if self.steps else []

    def __str__(self) -> str:
        return "\n".join(str(step) for step in self.steps)


def _step(network: nx.MultiDiGraph, source: str, target: str) -> PathStep:
    """The best-supported relation between two linked entities, either way round."""
    candidates = [
        (-d["weight"], d["predicate"], direction, d)
        for direction, (s, o) in (("out", (source, target)), ("in", (target, source)))
        for d in (network.get_edge_data(s, o) or {}).values()
    ]
    weight, predicate, direction, data = min(candidates, key=lambda c: c[:3])
    return PathStep(source, _label(network, source), predicate, direction, target, _label(network, target),
                    -weight, data["documents"], data["evidence"][0])


def evidence_path(network: nx.MultiDiGraph, start: str, end: str) -> EvidencePath:
    """The shortest path between two entities (names as for :func:`find_entity`),
    directions ignored; among equally short paths, the best supported (most
    sentences in all), then the first by labels. Raises KeyError for an unknown
    entity and ValueError when no path links the two."""
    source, target = find_entity(network, start), find_entity(network, end)
    simple = undirected(network)
    try:
        paths = list(nx.all_shortest_paths(simple, source, target))
    except nx.NetworkXNoPath:
        raise ValueError(f"no path links {start!r} and {end!r} in the entity graph") from None

    def rank(path: list[str]) -> tuple[int, list[str]]:
        return -sum(simple[u][v]["weight"] for u, v in zip(path, path[1:])), [_label(simple, n) for n in path]

    best = min(paths, key=rank)
    return EvidencePath(source, target, tuple(_step(network, u, v) for u, v in zip(best, best[1:])))


def ego_network(network: nx.MultiDiGraph, name: str, *, radius: int = 1) -> nx.MultiDiGraph:
    """The entities within ``radius`` links of one entity (directions ignored), with
    every relation among them."""
    return nx.ego_graph(network, find_entity(network, name), radius=radius, undirected=True).copy()


Relation = tuple[str, str]
"""A relation as seen from an entity: (predicate, direction)."""


@dataclass(frozen=True)
class Comparison:
    """Two entities' neighbours, by relation: shared, and only one side's."""

    first: str
    second: str
    shared: dict[Relation, list[str]]
    only_first: dict[Relation, list[str]]
    only_second: dict[Relation, list[str]]

    @property
    def columns(self) -> list[str]:
        return ["predicate", "direction", "shared", f"only {self.first}", f"only {self.second}"]

    def rows(self) -> list[dict[str, str]]:
        """One row per relation, for a table with :attr:`columns`."""
        keys = sorted({*self.shared, *self.only_first, *self.only_second})
        return [
            dict(zip(self.columns, [p, d, *(", ".join(part.get((p, d), []))
                                           for part in (self.shared, self.only_first, self.only_second))]))
            for p, d in keys
        ]


def compare_neighbours(network: nx.MultiDiGraph, first: str, second: str) -> Comparison:
    """Compare two entities' neighbourhoods (e.g. two products): for each relation and
    direction, the neighbours both have and those only one has, as sorted labels."""

    def by_relation(name: str) -> dict[Relation, set[str]]:
        grouped: dict[Relation, set[str]] = defaultdict(set)
        for link in neighbours(network, name):
            grouped[link.predicate, link.direction].add(link.label)
        return grouped

    a, b = by_relation(first), by_relation(second)

    def keep(pick) -> dict[Relation, list[str]]:
        found = {key: sorted(pick(a.get(key, set()), b.get(key, set()))) for key in sorted({*a, *b})}
        return {key: labels for key, labels in found.items() if labels}

    return Comparison(
        _label(network, find_entity(network, first)), _label(network, find_entity(network, second)),
        keep(set.intersection), keep(set.difference), keep(lambda x, y: y - x),
    )


def graph_stats(graph: Graph) -> dict[str, object]:
    """Counts of what a built graph holds."""
    stats: dict[str, object] = {"triples": len(graph)}
    for name, query in COUNTS.items():
        stats[name] = int(next(iter(graph.query(PREFIX + query)))[0])
    for name, query in GROUPED.items():
        stats[name] = {str(k): int(n) for k, n in sorted(graph.query(PREFIX + query))}
    return stats
