"""SHACL validation of a built graph with pySHACL, against ``shapes.ttl`` beside this
module: the data are complete where the ontology alone cannot say so (an OWL reasoner
assumes an open world, so a product with no known target is not an error to it)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import SH

from .lexicon import Lexicon, bundled_lexicon
from .owl import ontology_graph

CKSH = Namespace("https://w3id.org/cartkg/shapes/")


@dataclass(frozen=True)
class Violation:
    """One result of the validation: the node, the property and what is wrong."""

    focus: str
    path: str
    message: str
    value: str
    severity: str


@dataclass
class ShapesReport:
    """Whether the data conform, and every violation in a stable order."""

    conforms: bool
    violations: list[Violation]


def shapes_graph(lexicon: Lexicon | None = None) -> Graph:
    """The shapes, with the CURIE pattern made from the lexicon's prefixes."""
    lexicon = lexicon if lexicon is not None else bundled_lexicon()
    graph = Graph().parse(data=(resources.files(__package__) / "shapes.ttl").read_text("utf-8"), format="turtle")
    prefixes = sorted(lexicon.converter.get_prefixes())
    pattern = "^(" + "|".join(re.escape(p) for p in prefixes) + r"):\S+$"
    graph.add((CKSH.XrefPrefix, SH.pattern, Literal(pattern)))
    return graph


def _flatten(data: Graph | Iterable[tuple]) -> Graph:
    # pySHACL validates each named graph of a dataset on its own, but statements in a
    # document's graph point to entities in the entities graph: validate the union.
    graph = Graph()
    for s, p, o, *_ in data if not isinstance(data, Graph) else data.triples((None, None, None)):
        graph.add((s, p, o))
    return graph


def validate_shapes(data: Graph | Iterable[tuple], lexicon: Lexicon | None = None) -> ShapesReport:
    """Validate instance data (a graph, or a dataset's quads) against the shapes."""
    import pyshacl

    conforms, results, _ = pyshacl.validate(
        _flatten(data),
        shacl_graph=shapes_graph(lexicon),
        ont_graph=ontology_graph(),
        inference="none",
        allow_warnings=True,
    )
    violations = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        def value(predicate: URIRef) -> str:
            found = results.value(result, predicate)
            return "" if found is None else str(found)

        violations.append(Violation(
            focus=value(SH.focusNode),
            path=value(SH.resultPath),
            message=value(SH.resultMessage),
            value=value(SH.value),
            severity=value(SH.resultSeverity).removeprefix(str(SH)),
        ))
    violations.sort(key=lambda v: (v.focus, v.path, v.message, v.value))
    return ShapesReport(bool(conforms), violations)
