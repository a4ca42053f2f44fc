"""The RDF and SSSOM exports of the bundled corpus: every quad back, read by a second
parser; the loss report notices what is missing; JSON-LD compacted with the shipped context."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
from rdflib import Dataset, URIRef

from cartkg.kg import iris
from cartkg.kg import rdf_exports as rx
from cartkg.kg.export import RDF_FORMATS
from cartkg.kg.loss import canonical, quad_set, triple_set
from cartkg.kg.store import load_graph

# sssom-py's own pandas calls warn under pandas 3; nothing this project can mend.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:sssom.*")

#: Oxigraph's parser for each format: the files are read back by rdflib in the loss
#: report, and here by Oxigraph as well.
OXIGRAPH_FORMATS = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS,
                    "trig": ox.RdfFormat.TRIG, "jsonld": ox.RdfFormat.JSON_LD, "xml": ox.RdfFormat.RDF_XML}


@pytest.fixture(scope="module")
def dataset(quads_file):
    """The corpus graph with its named graphs (one per document, the entities, the ontology)."""
    return load_graph(quads_file, with_ontology=False)


@pytest.fixture(scope="module")
def written(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("rdf")
    return out, {fmt: rx.write_rdf_export(dataset, out, fmt) for fmt in RDF_FORMATS}


def _oxigraph_quads(path, fmt):
    quads = set()
    for q in ox.parse(path=str(path), format=OXIGRAPH_FORMATS[fmt]):
        graph = None if isinstance(q.graph_name, ox.DefaultGraph) else q.graph_name.value
        quads.add((q.subject.value, q.predicate.value, str(q.object), graph))
    return quads


def _expected(dataset, with_graphs):
    quads = set()
    for s, p, o, g in quad_set(dataset):
        obj = f"<{o}>" if isinstance(o, URIRef) else ox.Literal(
            str(o), language=o.language, datatype=ox.NamedNode(str(o.datatype)) if o.datatype else None).__str__()
        quads.add((str(s), str(p), obj, str(g) if with_graphs else None))
    return quads


@pytest.mark.parametrize("fmt", sorted(RDF_FORMATS))
def test_every_rdf_export_is_lossless(written, fmt):
    report = written[1][fmt]
    assert report.lossless, [c for c in report.counts if c.lost]
    by_name = {c.what: c for c in report.counts}
    assert by_name["triples"].in_graph > 5000 and by_name["relations (statements)"].in_graph > 100
    assert ("named graphs" in by_name) == (fmt in rx.DATASET_FORMATS)


@pytest.mark.parametrize("fmt", sorted(RDF_FORMATS))
def test_a_second_parser_reads_back_the_same_quads(dataset, written, fmt):
    """Oxigraph's parser, besides rdflib's in the loss report: named graphs kept by the
    dataset formats, the union of them written by the others."""
    back = _oxigraph_quads(written[1][fmt].files[0], fmt)
    with_graphs = fmt in rx.DATASET_FORMATS
    expected = _expected(dataset, with_graphs)
    documents = {str(x) for (x,) in dataset.query("SELECT DISTINCT ?d WHERE { ?d a <https://w3id.org/cartkg/ontology/Document> }")}
    # and the graphs of the entities and of the corpus summary
    assert len({q[3] for q in expected}) == (len(documents) + 2 if with_graphs else 1)
    assert back == expected


def test_the_loss_report_counts_a_missing_triple_and_an_added_one(dataset, written, tmp_path):
    lines = written[1]["nq"].files[0].read_text(encoding="utf-8").splitlines(keepends=True)
    statement_line = next(line for line in lines if "ontology/assertionStatus" in line and "/statement/" in line)
    extra = '<https://w3id.org/cartkg/entity/x> <http://www.w3.org/2000/01/rdf-schema#label> "x" .\n'
    damaged = tmp_path / "damaged.nq"
    damaged.write_text("".join(line for line in lines if line != statement_line) + extra, encoding="utf-8")
    report = rx.rdf_loss_report(dataset, rx.read_back(damaged, "nq"), "nq", (damaged,))
    counts = {c.what: c for c in report.counts}
    assert not report.lossless
    assert counts["triples"].lost == 1 and counts["quads"].lost == 1
    assert counts["triples the graph lacks"].in_export == 1
    assert counts["relations (statements)"].lost == 0  # the statement keeps its other triples


def test_an_unreadable_export_is_named(tmp_path):
    broken = tmp_path / "cartkg.ttl"
    broken.write_text("<a> <b> .\n", encoding="utf-8")
    with pytest.raises(rx.ExportError, match="cartkg.ttl.*does not parse as ttl"):
        rx.read_back(broken, "ttl")


def test_the_shipped_context_is_the_one_the_ontology_gives():
    """The published context file is generated from the ontology; this keeps them in step."""
    assert rx.bundled_context() == rx.jsonld_context()


def test_jsonld_is_compacted_with_the_context(written):
    out, reports = written
    document = json.loads((out / "cartkg.jsonld").read_text(encoding="utf-8"))
    assert document["@context"] == rx.bundled_context()
    assert json.loads((out / rx.CONTEXT_FILE).read_text(encoding="utf-8")) == {"@context": rx.bundled_context()}
    nodes = [node for graph in document["@graph"] for node in graph["@graph"]]
    statement = next(node for node in nodes if node.get("@type") == "Statement")
    assert statement["assertionStatus"] in {"ck:affirmed", "ck:negated", "ck:hypothetical", "ck:historical"}
    assert statement["subject"].startswith("cke:") and statement["wasDerivedFrom"].startswith("https://")
    sentence = next(node for node in nodes if node.get("@type") == "Sentence")
    assert isinstance(sentence["beginOffset"], int)


def test_jsonld_reads_back_with_the_context_file_instead_of_the_inlined_one(dataset, written):
    out, _ = written
    document = json.loads((out / "cartkg.jsonld").read_text(encoding="utf-8"))
    document["@context"] = json.loads((out / rx.CONTEXT_FILE).read_text(encoding="utf-8"))["@context"]
    back = Dataset()
    back.parse(data=json.dumps(document), format="json-ld")
    assert quad_set(back) == quad_set(dataset)


def test_rdf_exports_are_byte_identical_from_either_store(dataset, written, quads_file, tmp_path):
    memory = load_graph(quads_file, store="memory", with_ontology=False)
    for fmt in RDF_FORMATS:
        again = rx.write_rdf_export(memory, tmp_path, fmt)
        assert again.files[0].read_bytes() == written[1][fmt].files[0].read_bytes(), fmt


def test_sssom_export_holds_the_graph_mappings(dataset, tmp_path):
    from sssom.validators import validate

    report = rx.write_sssom_export(dataset, tmp_path)
    assert report.lossless
    (count, added) = report.counts
    assert count.in_graph > 150 and added.in_export == 0
    assert rx.sssom_triples(report.files[0]) == rx.graph_mappings(dataset)
    from sssom.parsers import parse_sssom_table
    from sssom.validators import SchemaValidationType

    validate(parse_sssom_table(report.files[0]), [SchemaValidationType.PrefixMapCompleteness], fail_on_error=True)


def test_the_ontology_graph_is_left_out_and_blank_nodes_refused(graph_file, tmp_path):
    """The test graph loads with the ontology, which has blank nodes (OWL axioms)."""
    with_ontology = load_graph(graph_file)
    report = rx.write_rdf_export(with_ontology, tmp_path, "nq")
    assert report.lossless
    assert len(with_ontology.graph(iris.ONTOLOGY_GRAPH)) > 100
    names = {q[3] for q in _oxigraph_quads(report.files[0], "nq")}
    assert names == {str(iris.GRAPH["loaded"])}  # a Turtle file loads into one graph; the ontology is not there
    from rdflib import BNode, Literal

    with_ontology.graph(URIRef("https://example.org/g")).add((BNode("b1"), URIRef("https://example.org/p"), Literal(1)))
    with pytest.raises(rx.ExportError, match="blank nodes"):
        rx.write_rdf_export(with_ontology, tmp_path, "nq")


def test_canonical_literals_compare_under_rdf_1_1():
    from rdflib import XSD, Literal

    assert canonical(Literal("a", datatype=XSD.string)) == Literal("a")
    assert canonical(Literal("1", datatype=XSD.integer)) != Literal("1")
    assert triple_set([(URIRef("s"), URIRef("p"), Literal("a", datatype=XSD.string))]) == {
        (URIRef("s"), URIRef("p"), Literal("a"))}
