"""Every export of the bundled corpus: zero loss; KGX, Neo4j CSV, GraphML and GEXF read back
and compared with the graph's SPARQL answers; the Neo4j CSVs loaded into ladybug and
rebuilt as RDF. The RDF and SSSOM files have tests of their own (test_rdf_exports.py)."""

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
    assert all(c.in_graph > 0 for c in report.counts if not c.added)
    assert all(c.in_export == 0 for c in report.counts if c.added)


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


def test_neo4j_csvs_read_back_as_the_graph_triples(graph, exported):
    back = ge.neo4j_triples(exported[0])
    assert back == ge.neo4j_scope_triples(graph)
    predicates = {str(p) for _, p, _ in back}
    # entity, statement, quantity and evidence triples are all there, with their datatypes
    assert {str(ge.RDFS.label), str(ge.RDF.subject), str(ge.CK.value), str(ge.CK.text)} <= predicates
    offsets = [o for _, p, o in back if p == ge.CK.beginOffset]
    assert offsets and all(o.datatype == ge.XSD.integer for o in offsets)


def test_the_neo4j_loss_report_sees_a_missing_relationship(graph, exported, tmp_path):
    report = ge.export_graph(graph, "neo4j", tmp_path)
    rels = (tmp_path / "relationships.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "relationships.csv").write_text("".join(rels[:-1]), encoding="utf-8")
    back = ge.neo4j_triples(tmp_path)
    expected = ge.neo4j_scope_triples(graph)
    assert back < expected and report.lossless


def test_cli_export_prints_the_loss_report(graph_file, tmp_path):
    result = CliRunner().invoke(app, ["export", "--graph", str(graph_file), "--format", "kgx", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "statement properties" in result.output and "lossless" in result.output
    assert (tmp_path / "nodes.tsv").exists() and (tmp_path / "edges.tsv").exists()
    bad = CliRunner().invoke(app, ["export", "--graph", str(graph_file), "--format", "nope", "-o", str(tmp_path)])
    assert bad.exit_code == 2


def test_cli_export_all_writes_every_format(quads_file, tmp_path):
    result = CliRunner().invoke(app, ["export", "--graph", str(quads_file), "--format", "all", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.count("lossless") == len(ge.EXPORTERS)
    written = {p.name for p in tmp_path.iterdir()}
    assert {"cartkg.ttl", "cartkg.nt", "cartkg.nq", "cartkg.trig", "cartkg.jsonld", "context.jsonld", "cartkg.xml",
            "nodes.csv", "relationships.csv", "import.cypher", "rdf-columns.json", "nodes.tsv", "edges.tsv",
            "entities.graphml", "entities.gexf", "cartkg.sssom.tsv"} == written
    assert not any(name.startswith(".") for name in written)  # no temporary file left behind


def test_cli_export_goes_on_after_a_failed_format(graph_file, tmp_path):
    """A format that cannot be written is named, the others are still written, and the exit code says so."""
    (tmp_path / "nodes.csv").mkdir()  # a folder where the Neo4j export's first file goes
    result = CliRunner().invoke(app, ["export", "--graph", str(graph_file), "-f", "neo4j", "-f", "ttl",
                                      "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "neo4j export" in result.output and "not written: neo4j" in result.output
    assert (tmp_path / "cartkg.ttl").stat().st_size > 0


def _ladybug_load(directory, db_path):
    """The Neo4j export in an embedded Cypher database (ladybug): DDL from the typed headers,
    then COPY FROM each CSV, one relationship table per :TYPE."""
    ladybug = pytest.importorskip("ladybug")
    kinds = {"int": "INT64", "double": "DOUBLE", "boolean": "BOOLEAN", "string": "STRING"}

    def columns(header, skip):
        out = []
        for i, column in enumerate(header):
            if column in skip:
                continue
            name, _, kind = column.partition(":")
            base = kinds[kind.removesuffix("[]") or "string"]
            cell = f"column{i}"
            if kind.endswith("[]"):
                out.append((name, base + "[]", f"CAST(string_split({cell}, ';') AS {base}[])"))
            else:
                out.append((name, base, cell if base == "STRING" else f"CAST({cell} AS {base})"))
        return out

    node_header = ge.read_csv(directory / "nodes.csv")[0].keys()
    rel_rows = ge.read_csv(directory / "relationships.csv")
    rel_header = list(rel_rows[0].keys())
    node_cols = columns(list(node_header), {"id:ID", ":LABEL"})
    rel_cols = columns(rel_header, {":START_ID", ":END_ID", ":TYPE"})
    source = "(header=false, skip=1, auto_detect=false)"  # ladybug would read `name:type` headers its own way
    conn = ladybug.Connection(ladybug.Database(str(db_path)))
    conn.execute("CREATE NODE TABLE Entity(id STRING PRIMARY KEY, labels STRING[], "
                 + ", ".join(f"{n} {t}" for n, t, _ in node_cols) + ")")
    conn.execute(f"COPY Entity FROM (LOAD FROM '{directory / 'nodes.csv'}' {source} RETURN column0, "
                 "string_split(column1, ';'), " + ", ".join(e for *_, e in node_cols) + ")")
    type_at = rel_header.index(":TYPE")
    for rel_type in sorted({r[":TYPE"] for r in rel_rows}):
        conn.execute(f"CREATE REL TABLE {rel_type}(FROM Entity TO Entity, "
                     + ", ".join(f"{n} {t}" for n, t, _ in rel_cols) + ")")
        conn.execute(f"COPY {rel_type} FROM (LOAD FROM '{directory / 'relationships.csv'}' {source} "
                     f"WHERE column{type_at} = '{rel_type}' RETURN column0, column1, "
                     + ", ".join(e for *_, e in rel_cols) + ")")
    return conn


def _rows(conn, query):
    return conn.execute(query).get_all()


@pytest.fixture(scope="module")
def cypher(exported, tmp_path_factory):
    return _ladybug_load(exported[0], tmp_path_factory.mktemp("ladybug") / "db")


def test_neo4j_export_loads_into_a_cypher_database_with_every_count(graph, exported, cypher):
    entities = ge._values(graph, ge.ENTITY_TRIPLES)
    statements = ge._values(graph, ge.STATEMENT_TRIPLES)
    assert _rows(cypher, "MATCH (n:Entity) RETURN count(n)") == [[len(entities)]]
    assert _rows(cypher, "MATCH ()-[r]->() RETURN count(r)") == [[len(statements)]]
    # Every entity property value, counted in the database (arrays item by item).
    nodes = _rows(cypher, "MATCH (n:Entity) RETURN n")
    skip = {"id", "labels", "iri"}  # the node's key, its labels (the entity type is a column too), its IRI
    values = sum(len(v) if isinstance(v, list) else 1 for (n,) in nodes for k, v in n.items()
                 if not k.startswith("_") and k not in skip and v is not None)
    assert values == ge._triple_count(graph, ge.ENTITY_TRIPLES)
    labels = {n["id"]: n["labels"] for (n,) in nodes}
    types = {ge.curie(e): str(t) for e, props in entities.items() for t in props[ge.CK.entityType]}
    assert labels == {e: ["Entity", t] for e, t in types.items()}
    assert labels["cke:tisagenlecleucel"] == ["Entity", "CARTProduct"]
    rels = _rows(cypher, "MATCH (s)-[r]->(o) RETURN s.id, label(r), r, o.id")
    added = {"id", "document", "sentence_text", "sentence_begin",
             "sentence_end", "sentence_section", "quantities"}
    values = sum(2 + sum(len(v) if isinstance(v, list) else 1 for k, v in r.items()
                                 if not k.startswith("_") and k not in added and v is not None)
                 for *_, r, _ in rels)  # 2: subject and object, as the ends of the relationship
    assert values == ge._triple_count(graph, ge.STATEMENT_TRIPLES)
    assert sum(1 for _, _, r, _ in rels if r["sentence_text"]) == len(statements)
    expected = {ge.curie(st): (ge.curie(s), str(p).rsplit("/", 1)[-1], ge.curie(o), ge.curie(status), str(rule),
                               str(text)) for st, s, p, o, status, rule, text in graph.query(STATEMENTS)}
    got = {r["id"]: (s, t, o, r["ck_assertion_status"], r["ck_rule"], r["sentence_text"]) for s, t, r, o in rels}
    assert got == expected
    typed = next(r for *_, r, _ in rels if r["ck_grade"] is not None)
    assert isinstance(typed["ck_grade"], int) and isinstance(typed["sentence_begin"], int)
    with_quantities = [r for *_, r, _ in rels if r["quantities"]]
    assert sum(len(json.loads(r["quantities"])) for r in with_quantities) == len(
        {q for q, *_ in graph.query(ge.QUANTITY_TRIPLES)})


def test_neo4j_cypher_answers_match_sparql(graph, cypher):
    toxicities = {str(o) for (o,) in graph.query("""PREFIX ck: <https://w3id.org/cartkg/ontology/>
        SELECT ?tox WHERE { ?st a ck:Statement ; rdf:subject <https://w3id.org/cartkg/entity/tisagenlecleucel> ;
          rdf:predicate ck:hasAdverseEvent ; rdf:object ?t ; ck:assertionStatus ck:affirmed . ?t rdfs:label ?tox }""")}
    got = {t for (t,) in _rows(cypher, """MATCH (p:Entity {id: 'cke:tisagenlecleucel'})-[r:hasAdverseEvent]->(t)
                                          WHERE r.ck_assertion_status = 'ck:affirmed' RETURN DISTINCT t.name""")}
    assert toxicities and got == toxicities
    targets = {(str(p), str(a)) for p, a in graph.query("""PREFIX ck: <https://w3id.org/cartkg/ontology/>
        SELECT DISTINCT ?p ?a WHERE { ?st a ck:Statement ; rdf:subject ?s ; rdf:predicate ck:targets ;
          rdf:object ?o ; ck:assertionStatus ck:affirmed . ?s rdfs:label ?p . ?o rdfs:label ?a }""")}
    got = {(p, a) for p, a in _rows(cypher, """MATCH (p:Entity)-[r:targets]->(a:Entity)
                                             WHERE r.ck_assertion_status = 'ck:affirmed' RETURN p.name, a.name""")}
    assert len(targets) > 3 and got == targets


def test_neo4j_cypher_script_merges_every_label_type_and_column(exported):
    directory = exported[0]
    script = (directory / "import.cypher").read_text()
    nodes, rels = ge.read_csv(directory / "nodes.csv"), ge.read_csv(directory / "relationships.csv")
    for label in {r[":LABEL"] for r in nodes}:
        assert f"row.`:LABEL` = '{label}'" in script
    for rel_type in {r[":TYPE"] for r in rels}:
        assert f"MERGE (s)-[r:`{rel_type}` {{id: row.id}}]->(o)" in script
    for column in [*nodes[0], *rels[0]]:
        assert f"row.`{column}`" in script or column == "id", column
    assert "toInteger(row.`sentence_begin:int`)" in script
    assert script.count("LOAD CSV WITH HEADERS") == len({r[":LABEL"] for r in nodes}) + len({r[":TYPE"] for r in rels})
