"""KGX, GraphML and GEXF exports of the bundled corpus: zero loss, read back and
compared with the graph's SPARQL answers."""

from __future__ import annotations

import json
from importlib import resources, util

import networkx as nx
import pytest
import yaml
from typer.testing import CliRunner

from cartkg.kg import graph_exports as ge
from cartkg.kg.cli import app

STATEMENTS = """PREFIX ck: <https://w3id.org/cartkg/ontology/>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?st ?s ?p ?o ?status ?rule ?text WHERE {
  ?st a ck:Statement ; rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; ck:assertionStatus ?status ;
      ck:rule ?rule ; prov:wasDerivedFrom ?sentence . ?sentence ck:text ?text }"""


@pytest.fixture(scope="module")
def exported(graph, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    return out, {fmt: ge.export_graph(graph, fmt, out) for fmt in ge.EXPORTERS}


@pytest.mark.parametrize("fmt", sorted(ge.EXPORTERS))
def test_every_export_is_lossless(exported, fmt):
    report = exported[1][fmt]
    assert report.lossless, [c for c in report.counts if c.lost]
    assert all(c.in_graph > 0 for c in report.counts)


def test_kgx_edges_are_the_statements_with_their_evidence(graph, exported):
    edges = {row["id"]: row for row in ge.read_tsv(exported[0] / "edges.tsv")}
    expected = {ge.curie(st): tuple(ge.curie(x) for x in (s, p, o, status, rule, text))
                for st, s, p, o, status, rule, text in graph.query(STATEMENTS)}
    got = {i: (r["subject"], r["rdf_predicate"], r["object"], r["ck_assertion_status"], r["ck_rule"],
               r["sentence_text"]) for i, r in edges.items()}
    assert got == expected
    row = next(r for r in edges.values() if r["rdf_predicate"] == "ck:hasAdverseEvent")
    assert row["predicate"] == "biolink:has_adverse_event"
    assert row["primary_knowledge_source"] == "infores:cartkg"
    assert row["publications"].startswith("ckd:")
    assert all(r["knowledge_level"] and r["agent_type"] for r in edges.values())


def test_kgx_round_trip_gives_back_every_statement_triple(graph, exported):
    """Every (statement, property, value) of the graph, rebuilt from the TSV columns."""
    edges = ge.read_tsv(exported[0] / "edges.tsv")
    columns = {v: k for k, v in ge.EDGE_COLUMNS.items()}
    back = set()
    for row in edges:
        for column, value in row.items():
            if column in columns or (column not in ge.EDGE_HEADER and value):
                back |= {(row["id"], column, v) for v in value.split("|") if v}
    expected = {(ge.curie(st), ge.EDGE_COLUMNS.get(p) or ge.column_name(p), ge.curie(o))
                for st, p, o in graph.query(ge.STATEMENT_TRIPLES)}
    assert back == expected
    quantities = [q for r in edges if r["quantities"] for q in json.loads(r["quantities"])]
    assert {q["id"] for q in quantities} == {ge.curie(q) for q, *_ in graph.query(ge.QUANTITY_TRIPLES)}


def test_kgx_nodes_have_biolink_categories_and_xrefs(graph, exported):
    nodes = {row["id"]: row for row in ge.read_tsv(exported[0] / "nodes.tsv")}
    assert nodes["cke:tisagenlecleucel"]["category"] == "biolink:Drug"
    assert nodes["cke:all"]["category"] == "biolink:Disease"
    assert "MONDO:0004967" in nodes["cke:all"]["xref"].split("|")
    # WorkingGroup has no mapping of its own: it inherits Organization's.
    groups = [r for r in nodes.values() if r["ck_entity_type"] == "WorkingGroup"]
    assert groups and all(r["category"] == "biolink:Agent" for r in groups)


def test_kgx_categories_and_predicates_are_biolink_terms(exported):
    """No network for `kgx validate` (it downloads the model): check the names against
    the Biolink model that the `biolink-model` package ships, when it is installed."""
    if util.find_spec("biolink_model") is None:
        pytest.skip("biolink-model is not installed")
    schema = yaml.safe_load((resources.files("biolink_model") / "schema" / "biolink_model.yaml").read_text())
    classes = {"biolink:" + "".join(w[:1].upper() + w[1:] for w in name.split()) for name in schema["classes"]}
    slots = {"biolink:" + name.replace(" ", "_") for name in schema["slots"]}
    nodes = ge.read_tsv(exported[0] / "nodes.tsv")
    edges = ge.read_tsv(exported[0] / "edges.tsv")
    assert {c for r in nodes for c in r["category"].split("|")} <= classes
    assert {r["category"] for r in edges} <= classes
    assert {r["predicate"] for r in edges} <= slots
    levels = schema["enums"]["KnowledgeLevelEnum"]["permissible_values"]
    agents = schema["enums"]["AgentTypeEnum"]["permissible_values"]
    assert ge.KNOWLEDGE_LEVEL in levels and ge.AGENT_TYPE in agents


@pytest.mark.parametrize("fmt, read", [("graphml", lambda p: nx.read_graphml(p, force_multigraph=True)),
                                       ("gexf", nx.read_gexf)])
def test_network_round_trip_matches_sparql(graph, exported, fmt, read):
    back = read(exported[1][fmt].files[0])
    affirmed = {}
    for s, p, o, x in graph.query(ge.AFFIRMED):
        affirmed.setdefault((str(s), str(p).rsplit("/", 1)[-1], str(o)), set()).add(x)
    got = {(s, d["predicate"], o): int(d["weight"]) for s, o, d in back.edges(data=True)}
    assert got == {k: len(v) for k, v in affirmed.items()}
    labels = {str(e): str(label) for e, label in graph.query(
        "SELECT ?e ?l WHERE { ?e <https://w3id.org/cartkg/ontology/entityType> ?t ; rdfs:label ?l }")}
    assert {n: d["label"] for n, d in back.nodes(data=True)} == labels


def test_exports_are_deterministic(graph, exported, tmp_path):
    for fmt, report in exported[1].items():
        again = ge.export_graph(graph, fmt, tmp_path / fmt)
        for first, second in zip(report.files, again.files):
            assert first.read_bytes() == second.read_bytes(), first.name


def test_unknown_format_is_named(graph, tmp_path):
    with pytest.raises(ge.ExportError, match="neo5j"):
        ge.export_graph(graph, "neo5j", tmp_path)


def test_cli_export_prints_the_loss_report(graph_file, tmp_path):
    result = CliRunner().invoke(app, ["export", "--graph", str(graph_file), "--format", "kgx", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "statement properties" in result.output and "lossless" in result.output
    assert (tmp_path / "nodes.tsv").exists() and (tmp_path / "edges.tsv").exists()
    bad = CliRunner().invoke(app, ["export", "--graph", str(graph_file), "--format", "nope", "-o", str(tmp_path)])
    assert bad.exit_code == 2
