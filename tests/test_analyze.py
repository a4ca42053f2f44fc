from cartkg.kg import analyze


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
