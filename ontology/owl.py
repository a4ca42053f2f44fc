"""The OWL ontology (TBox) of cartkg, shipped as ``cartkg.ttl`` beside this module."""

from __future__ import annotations

import functools
from importlib import resources

from rdflib import Graph, Namespace

#: The ontology's namespace: classes and properties.
CK = Namespace("https://w3id.org/cartkg/ontology/")
ONTOLOGY_IRI = "https://w3id.org/cartkg/ontology"


def ontology_text() -> str:
    """The ontology as Turtle text."""
    return (resources.files(__package__) / "cartkg.ttl").read_text("utf-8")


@functools.cache
def _parsed() -> Graph:
    return Graph().parse(data=ontology_text(), format="turtle")


def ontology_graph() -> Graph:
    """A fresh copy of the ontology graph, safe to modify."""
    graph = Graph()
    for triple in _parsed():
        graph.add(triple)
    return graph
