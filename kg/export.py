"""Writing graphs to files, deterministically and atomically.

The same input gives byte-identical files: IRIs are minted from stable keys, there are
no blank nodes, and Oxigraph's serializers write the quads in sorted order. Every file is written to a temporary
name beside the target and renamed when complete, so a failed write never leaves a
half-written graph behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Node

from . import iris

if TYPE_CHECKING:
    from cartkg.ontology.mappings import MappingSet

#: Output formats by name, and the Oxigraph serializer of each.
RDF_FORMATS = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
    "xml": ox.RdfFormat.RDF_XML,
}
#: Formats that keep named graphs.
QUAD_FORMATS = {"nq", "trig"}


class ExportError(ValueError):
    pass


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        # mkstemp makes the file private; give it the mode an ordinary open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as the equal Oxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise ExportError(f"cannot serialize term {term!r}")


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def from_oxigraph(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    """An Oxigraph term as the equal rdflib term; ``xsd:string`` literals become simple
    literals, the same RDF term, as rdflib code writes them."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        return Literal(term.value) if datatype == _XSD_STRING else Literal(term.value, datatype=URIRef(datatype))
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    raise ExportError(f"cannot convert term {term!r}")


def sorted_quads(dataset: Dataset) -> list[tuple[Node, Node, Node, Node]]:
    """Every quad of the dataset's named graphs, in a stable order."""
    quads = set()
    for s, p, o, g in dataset.quads((None, None, None, None)):
        quads.add((s, p, o, g.identifier if isinstance(g, Graph) else g))
    return sorted(quads, key=lambda quad: tuple(term.n3() for term in quad))


def serialize(dataset: Dataset, fmt: str) -> bytes:
    """The dataset in one RDF format, as bytes; the same dataset gives the same bytes.

    Quad formats keep each document's named graph; triple formats write the union.
    """
    if fmt not in RDF_FORMATS:
        raise ExportError(f"unknown RDF format {fmt!r}; choose one of {', '.join(RDF_FORMATS)}")
    quads = sorted_quads(dataset)
    if fmt in QUAD_FORMATS:
        items = [ox.Quad(*map(to_oxigraph, (s, p, o)), ox.NamedNode(str(g))) for s, p, o, g in quads]
    else:
        triples = sorted({(s, p, o) for s, p, o, _ in quads}, key=lambda t: tuple(x.n3() for x in t))
        items = [ox.Triple(*map(to_oxigraph, t)) for t in triples]
    prefixes = {name: str(ns) for name, ns in iris.PREFIXES.items()}
    with_prefixes = fmt not in ("nt", "nq")
    return ox.serialize(items, format=RDF_FORMATS[fmt], prefixes=prefixes if with_prefixes else None)


def write_rdf(dataset: Dataset, path: str | Path, fmt: str = "ttl") -> Path:
    """Write the dataset to ``path`` in ``fmt``, atomically."""
    data = serialize(dataset, fmt)
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_sssom(mapping_set: MappingSet, path: str | Path) -> Path:
    """Write a mapping set to ``path`` as SSSOM/TSV, atomically."""
    data = mapping_set.to_tsv().encode("utf-8")
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))
