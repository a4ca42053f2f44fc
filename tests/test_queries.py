"""Every named query, answered on the bundled corpus."""

import json

import pytest
from rdflib import Literal

from cartkg.kg.store import load_graph
from cartkg.ontology.lexicon import bundled_lexicon
from cartkg.queries.library import QueryError, get_query, list_queries, parse_query, run_query

E = "https://w3id.org/cartkg/entity/"


def _pairs(result, a, b):
    return {(x.removeprefix(E), y.removeprefix(E)) for x, y in zip(result.values(a), result.values(b))}


def test_at_least_eight_named_queries_each_with_a_question():
    queries = list_queries()
    assert len(queries) >= 8
    for q in queries:
        assert q.question.endswith("?"), q.name
        assert q.example.startswith(f"cartkg query {q.name}"), q.name


def test_every_named_query_runs_on_both_stores(graph_file):
    for store in ("oxigraph", "memory"):
        graph = load_graph(graph_file, store=store)
        for q in list_queries():
            params = {"label": "CRS"} if q.name == "documents-mentioning" else {}
            assert len(run_query(graph, q, params)) > 0, (store, q.name)


def test_stores_agree(graph_file):
    answers = {}
    for store in ("oxigraph", "memory"):
        graph = load_graph(graph_file, store=store)
        answers[store] = run_query(graph, "product-antigens").records()
    assert answers["oxigraph"] == answers["memory"]


def test_product_antigens(graph):
    result = run_query(graph, "product-antigens")
    assert ("tisagenlecleucel", "cd19") in _pairs(result, "product", "antigen")
    assert ("nci-cd22-car", "cd22") in _pairs(result, "product", "antigen")
    assert not {p for p in _pairs(result, "product", "antigen") if p[0] == "cart22" and p[1] == "cd19"}


def test_toxicities_by_product_with_evidence(graph):
    result = run_query(graph, "toxicities-by-product", {"product": "cke:tisagenlecleucel"})
    assert set(result.values("product")) == {E + "tisagenlecleucel"}
    assert {"cytokine release syndrome", "B-cell aplasia"} <= set(result.values("toxicityLabel"))
    for text in result.values("text"):
        assert text.endswith((".", "?", "!"))


def test_negated_finding_is_for_review_not_a_plain_toxicity(tmp_path):
    from cartkg.kg.build import build_graph
    from cartkg.kg.export import write_rdf

    source = tmp_path / "series.md"
    source.write_text("No ICANS was observed with obecabtagene autoleucel, "
                      "but CRS occurred with obecabtagene autoleucel in 2 patients.\n", encoding="utf-8")
    graph = load_graph(write_rdf(build_graph([source]).dataset, tmp_path / "g.nq", "nq"))
    plain = run_query(graph, "toxicities-by-product")
    assert set(plain.values("toxicityLabel")) == {"cytokine release syndrome"}
    review = run_query(graph, "findings-for-review").records()
    assert [(r["status"], r["objectLabel"]) for r in review] == [
        ("negated", "immune effector cell-associated neurotoxicity syndrome")
    ]


def test_group_members(graph):
    result = run_query(graph, "group-members")
    members = {m.removeprefix(E) for m in result.values("member")}
    assert members == {
        "ibfm-sct-committee", "cibmtr-pediatric-cancer-working-committee",
        "cog-cellular-therapy-committee", "ebmt-pdwp", "ptctc",
    }
    parents = dict(zip(result.values("memberLabel"), result.values("parentLabel")))
    assert parents["COG Cellular Therapy Committee"] == "Children's Oncology Group"
    assert "ROR:03yyg2352" in result.values("parentXref")


def test_entities_by_type_with_xrefs(graph):
    result = run_query(graph, "entities-by-type", {"type": "Antigen"})
    rows = {r["label"]: r for r in result.records()}
    assert set(rows) == {e.label for e in bundled_lexicon().of_type("Antigen")}
    assert "HGNC:1633" in rows["CD19"]["xrefs"].split()
    # The whole vocabulary is listed; the count says which entities the corpus names.
    assert int(rows["CD19"]["mentions"]) > 10
    assert int(rows["CD20"]["mentions"]) == 0


def test_toxicity_management(graph):
    result = run_query(graph, "toxicity-management")
    assert ("crs", "tocilizumab") in _pairs(result, "toxicity", "intervention")
    assert ("hypogammaglobulinemia", "immunoglobulin-replacement") in _pairs(result, "toxicity", "intervention")


def test_trials_products(graph):
    result = run_query(graph, "trials-products")
    rows = {(r["trialLabel"], r["nct"], r["productLabel"]) for r in result.records()}
    assert ("ELIANA", "NCT:NCT02435849", "tisagenlecleucel") in rows
    assert ("ZUMA-3", "NCT:NCT02614066", "brexucabtagene autoleucel") in rows


def test_approvals(graph):
    result = run_query(graph, "approvals")
    assert ("tisagenlecleucel", "fda") in _pairs(result, "product", "agency")


def test_documents_mentioning_by_synonym(graph):
    result = run_query(graph, "documents-mentioning", {"label": "Kymriah"})
    assert set(result.values("entityLabel")) == {"tisagenlecleucel"}
    assert {"westhafen_review", "obecel_abstract"} <= set(result.values("document"))


def test_co_mentions(graph, extractions):
    result = run_query(graph, "co-mentions")
    counts = {(a, b): int(n) for a, b, n in zip(result.values("aLabel"), result.values("bLabel"),
                                                 result.values("sentences"))}
    # The same count, taken from the records rather than the graph.
    expected = sum(
        1
        for e in extractions
        for s in e.sentences
        if {"cd19", "tisagenlecleucel"} <= {m.entity_id for m in e.mentions if m.sentence == s.index}
    )
    assert expected >= 2
    assert counts[("CD19", "tisagenlecleucel")] == expected


def test_parameter_values_cannot_inject(graph):
    evil = 'CRS" } UNION { ?entity ?p ?label } #'
    result = run_query(graph, "documents-mentioning", {"label": evil})
    assert len(result) == 0
    assert run_query(graph, "documents-mentioning", {"label": Literal("CRS")}).rows


def test_bad_parameters_are_named(graph):
    with pytest.raises(QueryError, match="unknown parameter"):
        run_query(graph, "product-antigens", {"nope": "x"})
    with pytest.raises(QueryError, match="required"):
        run_query(graph, "documents-mentioning")
    with pytest.raises(QueryError, match="needs an IRI"):
        run_query(graph, "toxicities-by-product", {"product": "tisagenlecleucel> } ?x ?y ?z {"})
    with pytest.raises(QueryError, match="no named query"):
        get_query("no-such-query")


def test_user_query_file(tmp_path, graph):
    path = tmp_path / "mine.rq"
    path.write_text("# question: How many sentences?\nPREFIX ck: <https://w3id.org/cartkg/ontology/>\n"
                    "SELECT (COUNT(?s) AS ?n) WHERE { ?s a ck:Sentence }\n", encoding="utf-8")
    result = run_query(graph, str(path))
    assert int(result.values("n")[0]) > 100


def test_json_is_sparql_results_json(graph):
    payload = json.loads(run_query(graph, "trials-products").to_json())
    assert payload["head"]["vars"][0] == "trial"
    assert payload["results"]["bindings"][0]["trial"]["type"] == "uri"


def test_parameter_header_parsing():
    q = parse_query("# parameter: x (iri) a thing [default: ex:a]\nPREFIX ex: <http://e/>\nSELECT ?x {}", name="q")
    assert q.parameters[0].default == "ex:a"
    assert str(q.bindings()["x"]) == "http://e/a"
