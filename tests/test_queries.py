"""Every named query, answered on the bundled corpus."""

import csv
import doctest
import io
import json

import pytest
from rdflib import Literal

from cartkg.kg.export import write_rdf
from cartkg.kg.store import load_graph
from cartkg.ontology.lexicon import bundled_lexicon
from cartkg.queries import library
from cartkg.queries.library import QueryError, get_query, list_queries, parse_query, query_names, run_query

E = "https://w3id.org/cartkg/entity/"
XSD = "http://www.w3.org/2001/XMLSchema#"


def _pairs(result, a, b):
    """The (a, b) values of the rows where both are bound, with entity IRIs as ids."""
    return {(x.removeprefix(E), y.removeprefix(E))
            for x, y in zip(result.values(a), result.values(b)) if x and y}


@pytest.fixture(scope="module")
def memory_graph(graph_file):
    return load_graph(graph_file, store="memory")


def test_at_least_sixteen_named_queries_each_with_a_question():
    queries = list_queries()
    assert len(queries) >= 16
    for q in queries:
        assert q.question.endswith("?"), q.name
        assert q.example.startswith(f"cartkg query {q.name}"), q.name
        # The example's parameters are the query's own, and give every required one.
        known = {p.name for p in q.parameters}
        assert set(q.example_parameters) <= known, q.name
        assert {p.name for p in q.parameters if p.required} <= set(q.example_parameters), q.name
        assert "ORDER BY" in q.text, q.name


@pytest.fixture(scope="module", params=["ttl", "nq"])
def both_stores(request, built, tmp_path_factory):
    """The corpus graph on both stores, from a triple file and from a quad file: in
    N-Quads a curated fact a sentence also affirms sits in two named graphs."""
    path = write_rdf(built.dataset, tmp_path_factory.mktemp("stores") / f"cartkg.{request.param}", request.param)
    return {store: load_graph(path, store=store) for store in ("oxigraph", "memory")}


@pytest.mark.parametrize("name", query_names())
def test_stores_agree_on_every_named_query(name, both_stores, comparable):
    """The example's answer is not empty, and the same rows in the same order on both stores."""
    query = get_query(name)
    oxigraph = run_query(both_stores["oxigraph"], query, query.example_parameters)
    memory = run_query(both_stores["memory"], query, query.example_parameters)
    assert len(oxigraph) > 0
    assert oxigraph.variables == memory.variables
    assert comparable(name, oxigraph) == comparable(name, memory)


def test_parameters_reach_oxigraph_as_values_and_rdflib_as_initial_bindings(both_stores):
    """Oxigraph gets the bound terms in a VALUES block at the start of the query (its
    substitutions are applied after the whole answer is computed); both ways give the
    rows of the bound pair only."""
    from cartkg.queries.library import _on_oxigraph, bind_values

    assert _on_oxigraph(both_stores["oxigraph"]) and not _on_oxigraph(both_stores["memory"])
    query = get_query("evidence-for-pair")
    bindings = query.bindings(query.example_parameters)
    text = bind_values(query.text, bindings)
    assert text.index("VALUES ?subject") > text.index("WHERE {") and text.count("VALUES") == 2
    for graph in both_stores.values():
        rows = run_query(graph, query, query.example_parameters).records()
        assert rows and {(r["subject"], r["object"]) for r in rows} == {(str(bindings["subject"]), str(bindings["object"]))}


@pytest.fixture(scope="module")
def disk_store(corpus_dir, tmp_path_factory):
    """The corpus built into a persistent store folder (``cartkg build --into``)."""
    from cartkg.kg.incremental import build_into

    path = tmp_path_factory.mktemp("disk") / "store"
    build_into([corpus_dir], path)
    return load_graph(path)


@pytest.mark.parametrize("name", query_names())
def test_the_on_disk_store_agrees_with_the_embedded_store(name, disk_store, both_stores, comparable):
    query = get_query(name)
    embedded = run_query(both_stores["oxigraph"], query, query.example_parameters)
    on_disk = run_query(disk_store, query, query.example_parameters)
    assert comparable(name, on_disk) == comparable(name, embedded)


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


def test_approvals_timeline(graph):
    result = run_query(graph, "approvals-timeline")
    rows = result.records()
    assert len(rows) == len(bundled_lexicon().approvals)
    first = rows[0]
    assert (first["productLabel"], first["agency"], first["date"]) == (
        "tisagenlecleucel", E + "fda", "2017-08-30")
    assert first["maximumAge"] == "25" and first["minimumAge"] is None
    dates = result.values("date")
    assert dates == sorted(dates)
    assert rows[-1]["productLabel"] == "obecabtagene autoleucel"
    # Only the agency's approvals, at the precision of the source.
    commission = run_query(graph, "approvals-timeline", {"agency": "cke:european-commission"})
    assert [(r["productLabel"], r["date"]) for r in commission.records()] == [
        ("tisagenlecleucel", "2018-08"), ("brexucabtagene autoleucel", "2022-09")]


def test_products_by_construct_match_the_lexicon(graph):
    result = run_query(graph, "products-by-construct")
    rows = {r["productLabel"]: r for r in result.records()}
    assert (rows["tisagenlecleucel"]["costimulatoryDomain"], rows["tisagenlecleucel"]["vector"],
            rows["tisagenlecleucel"]["developerLabel"]) == ("4-1BB", "lentiviral", "Novartis")
    assert (rows["brexucabtagene autoleucel"]["costimulatoryDomain"],
            rows["brexucabtagene autoleucel"]["vector"]) == ("CD28", "gammaretroviral")
    lexicon = bundled_lexicon()
    expected = {(p.id, t) for p in lexicon.of_type("CARTProduct") for t in p.attribute("targets")}
    assert _pairs(result, "product", "antigen") == expected
    developers = {(p.id, d) for p in lexicon.of_type("CARTProduct") for d in p.attribute("developer")}
    assert _pairs(result, "product", "developer") == developers
    cd22 = run_query(graph, "products-by-construct", {"antigen": "cke:cd22"})
    assert set(cd22.values("antigenLabel")) == {"CD22"}
    assert {"CART22", "NCI CD22 CAR", "AUTO3"} <= set(cd22.values("productLabel"))


def test_diseases_treated_with_evidence(graph):
    result = run_query(graph, "diseases-treated")
    pairs = _pairs(result, "product", "disease")
    assert {("tisagenlecleucel", "rr-b-all"), ("brexucabtagene-autoleucel", "rr-b-all"),
            ("nci-cd19-28z-car", "nhl")} <= pairs
    one = run_query(graph, "diseases-treated", {"product": "cke:tisagenlecleucel"})
    assert set(one.values("productLabel")) == {"tisagenlecleucel"}
    evidence = {(r["document"], r["text"]) for r in one.records() if r["disease"] == E + "rr-b-all"}
    assert ("obecel_abstract", "Tisagenlecleucel (Kymriah) was approved by the FDA in 2017 for "
            "relapsed/refractory B-ALL in patients up to 25 years old.") in evidence


def test_antigen_loss_findings(graph):
    result = run_query(graph, "antigen-loss")
    rows = result.records()
    assert {r["outcomeLabel"] for r in rows} <= {
        "CD19-negative relapse", "antigen escape", "lineage switch", "extramedullary disease"}
    causes = [r for r in rows if r["antigen"]]
    assert [(r["antigenLabel"], r["outcomeLabel"], r["status"]) for r in causes] == [
        ("CD19", "antigen escape", "affirmed")]
    assert "through CD19 loss" in causes[0]["text"]
    # Sentences that only name the outcome are listed too, hedged ones with their status.
    assert {"affirmed", "uncertain"} <= {r["status"] for r in rows}
    assert any(r["outcomeLabel"] == "CD19-negative relapse" and "23 of 25" in r["text"] for r in rows)


def test_evidence_for_pair(graph):
    result = run_query(graph, "evidence-for-pair", {"subject": "cke:tisagenlecleucel", "object": "cke:cd19"})
    assert set(result.values("predicate")) == {"targets"}
    assert set(result.values("subject")) == {E + "tisagenlecleucel"}
    assert "Tisagenlecleucel targets CD19 through a murine single-chain variable fragment." in result.values("text")
    hedged = run_query(graph, "evidence-for-pair", {"subject": "cke:auto3", "object": "cke:icans"})
    assert [(r["predicate"], r["status"]) for r in hedged.records()] == [("hasAdverseEvent", "uncertain")]
    # The pair is directed.
    assert len(run_query(graph, "evidence-for-pair", {"subject": "cke:cd19", "object": "cke:tisagenlecleucel"})) == 0
    with pytest.raises(QueryError, match="required"):
        run_query(graph, "evidence-for-pair", {"subject": "cke:tisagenlecleucel"})


def test_statements_by_section(graph):
    result = run_query(graph, "statements-by-section", {"section": "Results"})
    assert set(result.values("section")) == {"Results"}
    assert set(result.values("document")) == {"obecel_abstract"}
    triples = {(r["subjectLabel"], r["predicate"], r["objectLabel"]) for r in result.records()}
    assert ("FELIX", "evaluates", "obecabtagene autoleucel") in triples
    approvals = run_query(graph, "statements-by-section", {"section": "Regulatory approvals"})
    assert "approvedBy" in approvals.values("predicate")
    assert len(run_query(graph, "statements-by-section", {"section": "results"})) == 0


def test_organizations_with_parents_and_ror(graph):
    result = run_query(graph, "organizations")
    rows = result.records()
    organization_types = ("Organization", "RegulatoryAgency", "Consortium", "ExpertGroup", "WorkingGroup")
    assert {r["organization"].removeprefix(E) for r in rows} == {
        e.id for e in bundled_lexicon().of_type(*organization_types)}
    kite = [r for r in rows if r["organization"] == E + "kite"]
    assert [(r["ror"], r["parentLabel"], r["parentRor"]) for r in kite] == [
        ("ROR:05waa9105", "Gilead Sciences", "ROR:056546b03")]
    assert {p for o, p in _pairs(result, "organization", "parent") if o == "cibmtr"} == {"mcw", "nmdp"}
    fda = next(r for r in rows if r["organization"] == E + "fda")
    assert (fda["type"], fda["ror"], fda["parent"]) == ("RegulatoryAgency", "ROR:034xvzb47", None)


def test_unmentioned_entities_are_those_with_no_mention(graph):
    unmentioned = run_query(graph, "unmentioned-entities")
    counted = run_query(graph, "entities-by-type").records()
    assert set(unmentioned.values("entity")) == {r["entity"] for r in counted if r["mentions"] == "0"}
    assert E + "cd20" in unmentioned.values("entity")
    assert E + "cd19" not in unmentioned.values("entity")
    toxicities = run_query(graph, "unmentioned-entities", {"type": "Toxicity"})
    assert set(toxicities.values("type")) == {"Toxicity"}
    assert "tumor lysis syndrome" in toxicities.values("label")


def test_parameter_values_cannot_inject_a_new_query(graph, memory_graph):
    for store in (graph, memory_graph):
        evil = 'Results" } UNION { ?sentence ?p ?section } #'
        assert len(run_query(store, "statements-by-section", {"section": evil})) == 0
        for subject in ("cke:tisagenlecleucel> ?p ?o } #",
                        "https://w3id.org/cartkg/entity/tisagenlecleucel>}UNION{?s?p?o}#"):
            with pytest.raises(QueryError, match="needs an IRI"):
                run_query(store, "evidence-for-pair", {"subject": subject, "object": "cke:cd19"})


def test_results_as_csv_json_and_dataframe(graph):
    result = run_query(graph, "approvals-timeline")
    table = list(csv.reader(io.StringIO(result.to_csv())))
    assert table[0] == result.variables
    assert table[1][:5] == ["2017-08-30", E + "tisagenlecleucel", "tisagenlecleucel", E + "fda",
                            "U.S. Food and Drug Administration"]
    assert len(table) == len(result) + 1
    payload = json.loads(result.to_json())
    assert payload["head"]["vars"] == result.variables
    bindings = payload["results"]["bindings"]
    assert bindings[0]["date"] == {"type": "literal", "value": "2017-08-30", "datatype": XSD + "date"}
    assert bindings[0]["product"] == {"type": "uri", "value": E + "tisagenlecleucel"}
    assert "minimumAge" not in bindings[0]  # unbound values are left out
    assert {b["date"]["datatype"] for b in bindings} == {XSD + "date", XSD + "gYearMonth"}
    frame = result.to_dataframe()
    assert list(frame.columns) == result.variables
    assert len(frame) == len(result)
    assert frame.loc[0, "productLabel"] == "tisagenlecleucel"
    assert frame["agencyLabel"].value_counts()["U.S. Food and Drug Administration"] == 5


def test_library_docstrings():
    assert doctest.testmod(library).failed == 0


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
