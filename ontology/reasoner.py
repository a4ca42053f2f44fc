"""OWL reasoning over a built graph: owlready2 loads the ontology and the instances, and
HermiT checks that they are consistent and sorts the individuals into classes.

An inconsistency is what a wrong fact looks like to the reasoner: a product declared an
antigen, or an extracted ``targets`` whose object is a toxicity, puts one individual in
two disjoint classes. HermiT only says *that* the graph is inconsistent, so the report
also names *which* individuals clash and why, from their asserted types and the domains
and ranges of the properties they take part in.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection

from .owl import CK, ontology_graph

#: Datatypes in the OWL 2 datatype map that HermiT accepts; literals of any other
#: datatype (xsd:date, xsd:gYear …) reach the reasoner as plain strings.
OWL2_DATATYPES = frozenset(
    {XSD.string, XSD.integer, XSD.int, XSD.long, XSD.short, XSD.byte, XSD.decimal, XSD.double,
     XSD.float, XSD.boolean, XSD.anyURI, XSD.dateTime, XSD.dateTimeStamp, XSD.nonNegativeInteger,
     XSD.positiveInteger, XSD.nonPositiveInteger, XSD.negativeInteger, RDF.PlainLiteral,
     RDF.langString, RDFS.Literal}
)
#: Reification vocabulary: not OWL, and the reasoner needs none of it.
_SKIPPED_PREDICATES = frozenset({RDF.subject, RDF.predicate, RDF.object})


class ReasonerUnavailable(RuntimeError):
    """The reasoner cannot run here (no Java runtime, or HermiT failed to start)."""


@dataclass(frozen=True)
class InferredType:
    """Classes the reasoner placed an individual in beyond those asserted for it."""

    individual: str
    label: str
    classes: tuple[str, ...]


@dataclass(frozen=True)
class Clash:
    """An individual that falls in two or more disjoint classes, with the reasons."""

    individual: str
    label: str
    classes: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass
class ReasonerReport:
    """What HermiT concluded about the ontology plus the instance graph."""

    consistent: bool
    individuals: int
    inferred: list[InferredType] = field(default_factory=list)
    clashes: list[Clash] = field(default_factory=list)


def find_java(java: str | None = None) -> str:
    """The Java executable HermiT will run under, or :class:`ReasonerUnavailable`."""
    candidate = java or os.environ.get("CARTKG_JAVA") or "java"
    found = shutil.which(candidate)
    if found is None:
        raise ReasonerUnavailable(
            f"Java was not found ({candidate!r}); HermiT needs a Java runtime (11 or later) on the PATH"
        )
    return found


def reasoner_input(instances: Iterable[tuple], ontology: Graph | None = None) -> Graph:
    """The ontology plus the instance triples, in the form the reasoner accepts."""
    graph = Graph()
    for triple in ontology if ontology is not None else ontology_graph():
        graph.add(triple)
    for s, p, o, *_ in instances:
        if p in _SKIPPED_PREDICATES:
            continue
        if isinstance(o, Literal) and o.datatype is not None and o.datatype not in OWL2_DATATYPES:
            o = Literal(str(o))
        graph.add((s, p, o))
    # owlready2 lists as individuals only what is declared owl:NamedIndividual.
    typed = {s for s, o in graph.subject_objects(RDF.type)
             if isinstance(s, URIRef) and isinstance(o, URIRef) and not o.startswith((str(OWL), str(RDFS)))}
    for node in typed:
        graph.add((node, RDF.type, OWL.NamedIndividual))
    return graph


def _local(iri: str) -> str:
    return iri.removeprefix(str(CK)) if iri.startswith(str(CK)) else iri


def reason(instances: Iterable[tuple], *, java: str | None = None, ontology: Graph | None = None) -> ReasonerReport:
    """Run HermiT over the ontology and the instance triples (a graph, a dataset's
    quads, or any iterable of triples)."""
    import owlready2
    from owlready2 import OwlReadyInconsistentOntologyError, World

    java_exe = find_java(java)
    graph = reasoner_input(instances, ontology)
    labels = {str(s): str(o) for s, o in graph.subject_objects(RDFS.label)}

    with tempfile.TemporaryDirectory(prefix="cartkg-reasoner-") as tmp:
        path = Path(tmp) / "input.nt"
        graph.serialize(path, format="nt", encoding="utf-8")
        world = World()
        ontology_ = world.get_ontology(path.as_uri()).load()
        individuals = sorted(ontology_.individuals(), key=lambda i: i.iri)
        before = {i.iri: {c.iri for c in i.is_a if hasattr(c, "iri")} for i in individuals}
        previous_java = owlready2.JAVA_EXE
        owlready2.JAVA_EXE = java_exe
        try:
            with ontology_:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except OwlReadyInconsistentOntologyError:
            return ReasonerReport(False, len(individuals), clashes=list(find_clashes(graph)))
        except (OSError, owlready2.OwlReadyJavaError) as error:
            raise ReasonerUnavailable(f"HermiT did not run: {str(error).strip().splitlines()[-1]}") from error
        finally:
            owlready2.JAVA_EXE = previous_java
            world.close()

        inferred = []
        for individual in individuals:
            after = {c.iri for c in individual.is_a if hasattr(c, "iri")}
            new = sorted(_local(c) for c in after - before[individual.iri] if c != str(OWL.Thing))
            if new:
                inferred.append(InferredType(individual.iri, labels.get(individual.iri, ""), tuple(new)))
    return ReasonerReport(True, len(individuals), inferred=inferred)


def _superclasses(graph: Graph) -> dict[URIRef, set[URIRef]]:
    parents: dict[URIRef, set[URIRef]] = {}
    for sub, sup in graph.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef):
            parents.setdefault(sub, set()).add(sup)

    def closure(cls: URIRef, seen: set[URIRef]) -> set[URIRef]:
        for parent in parents.get(cls, ()):
            if parent not in seen:
                seen.add(parent)
                closure(parent, seen)
        return seen

    return {cls: closure(cls, {cls}) for cls in set(parents) | {p for ps in parents.values() for p in ps}}


def _disjoint_pairs(graph: Graph) -> set[frozenset[URIRef]]:
    pairs: set[frozenset[URIRef]] = set()
    for node in graph.subjects(RDF.type, OWL.AllDisjointClasses):
        members = [m for m in Collection(graph, graph.value(node, OWL.members)) if isinstance(m, URIRef)]
        pairs.update(frozenset((a, b)) for i, a in enumerate(members) for b in members[i + 1:])
    for a, b in graph.subject_objects(OWL.disjointWith):
        pairs.add(frozenset((a, b)))
    return pairs


def find_clashes(graph: Graph) -> Iterator[Clash]:
    """Individuals that belong to two disjoint classes, by assertion or through the
    domain or range of a property; each with the reasons it has each class."""
    supers = _superclasses(graph)
    disjoint = _disjoint_pairs(graph)
    domains = {p: c for p, c in graph.subject_objects(RDFS.domain) if isinstance(c, URIRef)}
    ranges = {p: c for p, c in graph.subject_objects(RDFS.range) if isinstance(c, URIRef)}
    reasons: dict[URIRef, dict[URIRef, list[str]]] = {}

    def add(node: URIRef, cls: URIRef, why: str) -> None:
        for c in supers.get(cls, {cls}):
            reasons.setdefault(node, {}).setdefault(c, []).append(why)

    for s, p, o in graph:
        if isinstance(s, BNode) or p in (RDFS.subClassOf, OWL.equivalentClass):
            continue
        if p == RDF.type and isinstance(o, URIRef) and o.startswith(str(CK)):
            add(s, o, f"asserted type {_local(o)}")
        elif p in domains and domains[p].startswith(str(CK)):
            add(s, domains[p], f"subject of {_local(p)} (domain {_local(domains[p])})")
        if p in ranges and isinstance(o, URIRef) and ranges[p].startswith(str(CK)):
            add(o, ranges[p], f"object of {_local(p)} (range {_local(ranges[p])})")

    labels = {s: str(o) for s, o in graph.subject_objects(RDFS.label)}
    for node in sorted(reasons):
        classes = reasons[node]
        clashing = sorted({c for pair in disjoint if pair <= classes.keys() for c in pair})
        if clashing:
            why = sorted({w for c in clashing for w in classes[c]})
            yield Clash(str(node), labels.get(node, ""), tuple(_local(c) for c in clashing), tuple(why))


__all__ = [
    "Clash",
    "InferredType",
    "ReasonerReport",
    "ReasonerUnavailable",
    "find_clashes",
    "find_java",
    "reason",
    "reasoner_input",
]
