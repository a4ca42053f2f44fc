"""Loss reports: what an export kept of the graph, counted by reading the written files
back, and the RDF comparisons behind them.

Terms are compared under RDF 1.1: a literal typed ``xsd:string`` and the same simple
literal are one term, since parsers differ in which of the two they return.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rdflib import XSD, Graph, Literal
from rdflib.term import Node

Triple = tuple[Node, Node, Node]
Quad = tuple[Node, Node, Node, Node]


@dataclass(frozen=True)
class Count:
    """One kind of item: how many the graph holds (within the export's scope) and how
    many of them the written files hold. A count of items the export must not add has
    ``added`` set, ``in_graph`` 0 and ``in_export`` the number added."""

    what: str
    in_graph: int
    in_export: int
    added: bool = False

    @property
    def lost(self) -> int:
        return self.in_graph - self.in_export


@dataclass(frozen=True)
class LossReport:
    """What an export kept, counted by reading the written files back."""

    format: str
    scope: str
    files: tuple[Path, ...]
    counts: tuple[Count, ...]

    @property
    def lossless(self) -> bool:
        return all(c.in_graph == c.in_export for c in self.counts)


def canonical(term: Node) -> Node:
    """The term with ``xsd:string`` literals written as simple literals (the same RDF term)."""
    if isinstance(term, Literal) and term.datatype == XSD.string and not term.language:
        return Literal(str(term))
    return term


def triple_set(triples: Iterable[Triple]) -> set[Triple]:
    return {(canonical(s), canonical(p), canonical(o)) for s, p, o in triples}


def quad_set(graph: Graph) -> set[Quad]:
    """Every quad of a dataset (named graphs by name), terms made canonical."""
    return {(canonical(s), canonical(p), canonical(o), g.identifier if isinstance(g, Graph) else g)
            for s, p, o, g in graph.quads((None, None, None, None))}


def compared(what: str, expected: set, found: set) -> tuple[Count, Count]:
    """Two counts for a set the export must reproduce exactly: those kept, and those added."""
    return (Count(what, len(expected), len(expected & found)),
            Count(f"{what} the graph lacks", 0, len(found - expected), added=True))
