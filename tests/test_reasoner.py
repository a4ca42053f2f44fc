"""HermiT over the built graph: the bundled corpus is consistent, products are sorted
into the defined classes, and wrong facts are caught and located."""

from __future__ import annotations

import pytest
from rdflib import RDF

from cartkg.kg import iris
from cartkg.ontology.owl import CK
from cartkg.ontology.reasoner import ReasonerUnavailable, find_clashes, find_java, reason, reasoner_input


@pytest.fixture(scope="module")
def quads(built):
    return list(built.dataset.quads())


@pytest.fixture(scope="module")
def report(quads):
    return reason(quads)


def test_bundled_graph_is_consistent(report):
    assert report.consistent
    assert report.clashes == []
    assert report.individuals > 100


def test_reasoner_sorts_products_into_defined_classes(report):
    inferred = {i.individual: set(i.classes) for i in report.inferred}
    tisa = str(iris.entity("tisagenlecleucel"))
    assert {"CD19DirectedProduct", "ApprovedProduct"} <= inferred[tisa]
    assert "DualTargetProduct" in inferred[str(iris.entity("auto3"))]
    assert "CD22DirectedProduct" in inferred[str(iris.entity("nci-cd22-car"))]
    # A CD22-only product is not CD19-directed, and an antigen is no product.
    assert "CD19DirectedProduct" not in inferred[str(iris.entity("nci-cd22-car"))]
    assert str(iris.entity("cd19")) not in inferred


def test_product_declared_an_antigen_is_caught(quads):
    tisa = iris.entity("tisagenlecleucel")
    wrong = reason([*quads, (tisa, RDF.type, CK.Antigen)])
    assert not wrong.consistent
    clash = {c.individual: c for c in wrong.clashes}[str(tisa)]
    assert set(clash.classes) == {"Antigen", "CARTProduct"}
    assert "asserted type Antigen" in clash.reasons


def test_relation_with_a_wrong_range_is_caught(quads):
    # "tisagenlecleucel targets CRS": the range makes CRS an antigen, yet it is a toxicity.
    crs = iris.entity("crs")
    wrong = reason([*quads, (iris.entity("tisagenlecleucel"), CK.targets, crs)])
    assert not wrong.consistent
    clash = {c.individual: c for c in wrong.clashes}[str(crs)]
    assert set(clash.classes) == {"Antigen", "Toxicity"}
    assert "object of targets (range Antigen)" in clash.reasons


def test_clash_finder_is_quiet_on_the_bundled_graph(quads):
    assert list(find_clashes(reasoner_input(quads))) == []


def test_reasoner_input_drops_datatypes_hermit_rejects(quads):
    graph = reasoner_input(quads)
    datatypes = {o.datatype for o in graph.objects() if getattr(o, "datatype", None) is not None}
    assert datatypes
    assert not {d for d in datatypes if str(d).endswith(("#date", "#gYear", "#gYearMonth"))}


def test_missing_java_is_reported(tmp_path):
    with pytest.raises(ReasonerUnavailable, match="Java was not found"):
        find_java(str(tmp_path / "no-java-here"))
