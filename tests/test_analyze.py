import itertools
from collections import Counter

import pytest
from typer.testing import CliRunner

from cartkg.kg import analyze, iris
from cartkg.kg.cli import app


def test_entity_graph_and_centrality(graph):
    network = analyze.entity_graph(graph)
    top = analyze.centrality(network, top=3)
    assert "tisagenlecleucel" in {row.label for row in top}
    assert all(row.degree >= top[-1].degree for row in top)


def test_components_hold_the_westhafen_group(graph):
    parts = analyze.components(analyze.entity_graph(graph))
    group = next(c for c in parts if "Westhafen Intercontinental Group" in c)
    assert "Children's Oncology Group" in group
    assert "tisagenlecleucel" not in group


def test_neighbours_and_path_from_product_to_management(graph):
    import networkx as nx

    network = analyze.entity_graph(graph)
    links = analyze.neighbours(network, "obecabtagene autoleucel")
    assert ("targets", "out", "CD19") in {(l.predicate, l.direction, l.label) for l in links}
    simple = analyze.undirected(network)
    paths = nx.all_shortest_paths(simple, analyze.find_entity(network, "tisagenlecleucel"),
                                  analyze.find_entity(network, "tocilizumab"))
    labelled = [[simple.nodes[n]["label"] for n in path] for path in paths]
    assert ["tisagenlecleucel", "cytokine release syndrome", "tocilizumab"] in labelled


def test_stats_match_the_build(graph, built):
    stats = analyze.graph_stats(graph)
    assert stats["documents"] == built.summary.documents == 2
    assert stats["sentences"] == built.summary.sentences
    assert stats["entities"] == len(built.summary.entities)


# ------------------------------------------------------------- evidence, paths, communities


@pytest.fixture(scope="module")
def network(graph):
    return analyze.entity_graph(graph)


def test_edges_carry_documents_and_sorted_evidence(network):
    for _, _, data in network.edges(data=True):
        evidence = data["evidence"]
        assert list(evidence) == sorted(evidence)
        assert data["weight"] == len({e.sentence for e in evidence}) >= 1
        assert data["documents"] == len({e.document for e in evidence}) >= 1
        assert all(e.text and e.document and e.statement.startswith("https://") for e in evidence)
    icans = network.get_edge_data(analyze.find_entity(network, "obecabtagene autoleucel"),
                                  analyze.find_entity(network, "ICANS"))["hasAdverseEvent"]
    assert icans["documents"] == 2 and {e.document for e in icans["evidence"]} == {"obecel_abstract",
                                                                                   "westhafen_review"}


def test_evidence_path_from_product_to_management_through_a_toxicity(network):
    found = analyze.evidence_path(network, "tisagenlecleucel", "tocilizumab")
    assert found.labels == ["tisagenlecleucel", "cytokine release syndrome", "tocilizumab"]
    assert [(s.predicate, s.direction) for s in found.steps] == [("hasAdverseEvent", "out"), ("managedWith", "out")]
    for step in found.steps:
        data = network.get_edge_data(*((step.source, step.target) if step.direction == "out"
                                       else (step.target, step.source)))[step.predicate]
        # The sentence shown is the first by document, then offset, and really says it.
        assert step.evidence == data["evidence"][0] and step.weight == data["weight"]
    assert "tocilizumab" in found.steps[1].evidence.text
    assert "tocilizumab" in str(found) and found.steps[0].evidence.text in str(found)
    backwards = analyze.evidence_path(network, "tocilizumab", "tisagenlecleucel")
    assert [s.direction for s in backwards.steps] == ["in", "in"]


def test_evidence_path_errors(network):
    with pytest.raises(KeyError, match="no entity 'no such thing'"):
        analyze.evidence_path(network, "no such thing", "ICANS")
    with pytest.raises(ValueError, match="no path links"):
        analyze.evidence_path(network, "tisagenlecleucel", "Westhafen Intercontinental Group")
    assert analyze.evidence_path(network, "CD19", "CD19").steps == ()


def test_communities_are_deterministic_and_cover_the_linked_entities(graph, network):
    first = analyze.communities(network)
    assert first == analyze.communities(analyze.entity_graph(graph))
    assert sorted(itertools.chain(*first)) == sorted(itertools.chain(*analyze.components(network)))
    assert [len(c) for c in first] == sorted((len(c) for c in first), reverse=True)
    westhafen = next(c for c in first if "Westhafen Intercontinental Group" in c)
    assert "tisagenlecleucel" not in westhafen


def test_co_mention_weights_match_the_extractions(graph, extractions):
    expected: Counter = Counter()
    for extraction in extractions:
        by_sentence: dict[int, set[str]] = {}
        for m in extraction.mentions:
            by_sentence.setdefault(m.sentence, set()).add(str(iris.entity(m.entity_id)))
        for r in extraction.relations:  # a relation's nested end is a mention of its own
            by_sentence.setdefault(r.evidence.sentence, set()).update(
                str(iris.entity(e)) for e in (r.subject, r.object))
        for entities in by_sentence.values():
            expected.update(itertools.combinations(sorted(entities), 2))
    co = analyze.co_mention_graph(graph)
    assert {tuple(sorted((a, b))): d["weight"] for a, b, d in co.edges(data=True)} == dict(expected)
    assert co[str(iris.entity("tisagenlecleucel"))][str(iris.entity("crs"))]["weight"] >= 2
    assert analyze.communities(co) == analyze.communities(co)


def test_ego_network(network):
    ego = analyze.ego_network(network, "CRS")
    labels = {d["label"] for _, d in ego.nodes(data=True)}
    assert {"cytokine release syndrome", "tocilizumab", "tisagenlecleucel"} <= labels
    assert "CD19" not in labels
    wider = analyze.ego_network(network, "CRS", radius=2)
    assert "CD19" in {d["label"] for _, d in wider.nodes(data=True)}
    assert set(ego.edges(keys=True)) <= set(wider.edges(keys=True))


def test_compare_two_products(network):
    comparison = analyze.compare_neighbours(network, "tisagenlecleucel", "obecabtagene autoleucel")
    assert comparison.shared[("targets", "out")] == ["CD19"]
    assert "cytokine release syndrome" in comparison.shared[("hasAdverseEvent", "out")]
    assert "FELIX" in comparison.only_second[("evaluates", "in")]
    assert "ELIANA" in comparison.only_first[("evaluates", "in")]
    rows = {(r["predicate"], r["direction"]): r for r in comparison.rows()}
    assert rows["targets", "out"]["shared"] == "CD19" and set(rows["targets", "out"]) == set(comparison.columns)


def test_cli_path_communities_compare(graph_file):
    runner = CliRunner()
    env = {"COLUMNS": "300"}
    result = runner.invoke(app, ["analyze", "-g", str(graph_file), "--path", "tisagenlecleucel", "tocilizumab",
                                 "--communities", "--compare", "tisagenlecleucel", "obecabtagene autoleucel"], env=env)
    assert result.exit_code == 0, result.output
    assert "Most central entities" in result.stdout and "connected component(s)" in result.stdout
    assert "community 1 (" in result.stdout and "(2 step(s))" in result.stdout
    assert "cytokine release syndrome -[managedWith]-> tocilizumab" in result.stdout
    assert "only obecabtagene autoleucel" in result.stdout and "CD19" in result.stdout
    missing = runner.invoke(app, ["analyze", "-g", str(graph_file), "--path", "nothing", "CRS"], env=env)
    assert missing.exit_code == 2 and "no entity 'nothing'" in missing.stderr and not missing.stdout
    apart = runner.invoke(app, ["analyze", "-g", str(graph_file), "--compare", "CD19", "CRS",
                                "--path", "CD19", "Westhafen Intercontinental Group"], env=env)
    assert apart.exit_code == 2 and "no path links" in apart.stderr


def test_the_co_mention_graph_needs_the_corpus_summary():
    from rdflib import Graph

    from cartkg.queries.library import QueryError

    with pytest.raises(QueryError, match="the co-mention graph: the graph has no corpus summary"):
        analyze.co_mention_graph(Graph())
