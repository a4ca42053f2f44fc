"""SHACL shapes over the built graph: the bundled corpus conforms, and incomplete data
are reported with the node and property at fault."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, SH

from cartkg.kg import iris
from cartkg.ontology.lexicon import bundled_lexicon
from cartkg.ontology.owl import CK
from cartkg.ontology.shapes import CKSH, shapes_graph, validate_shapes

HAS_DB_XREF = URIRef("http://www.geneontology.org/formats/oboInOwl#hasDbXref")


@pytest.fixture()
def data(built) -> Graph:
    graph = Graph()
    for s, p, o, _ in built.dataset.quads():
        graph.add((s, p, o))
    return graph


def _faults(graph: Graph) -> set[tuple[str, str]]:
    report = validate_shapes(graph)
    assert not report.conforms
    return {(v.focus, v.path) for v in report.violations}


def test_bundled_graph_conforms(built):
    report = validate_shapes(built.dataset.quads())
    assert report.conforms, report.violations[:5]
    assert report.violations == []


def test_product_without_target_is_reported(data):
    tisa = iris.entity("tisagenlecleucel")
    data.remove((tisa, CK.targets, None))
    assert _faults(data) == {(str(tisa), str(CK.targets))}


def test_statement_without_evidence_is_reported(data):
    statement = next(iter(data.subjects(PROV.wasDerivedFrom, None)))
    data.remove((statement, PROV.wasDerivedFrom, None))
    assert _faults(data) == {(str(statement), str(PROV.wasDerivedFrom))}


def test_curie_with_unknown_prefix_is_reported(data):
    cd19 = iris.entity("cd19")
    data.add((cd19, HAS_DB_XREF, Literal("GENECARDS:CD19")))
    report = validate_shapes(data)
    assert [(v.focus, v.value) for v in report.violations] == [(str(cd19), "GENECARDS:CD19")]


def test_pattern_lists_every_known_prefix():
    pattern = str(shapes_graph().value(CKSH.XrefPrefix, SH.pattern))
    for prefix in bundled_lexicon().converter.get_prefixes():
        assert f"{prefix}|" in pattern or f"{prefix})" in pattern
