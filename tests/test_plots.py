"""The figures: valid PNG and SVG files, the same bytes on every run, and numbers that
agree with SPARQL counts over the same graph."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import matplotlib.image
import pytest
from matplotlib.colors import to_hex
from rdflib import Dataset
from typer.testing import CliRunner

from cartkg.kg import analyze, plots
from cartkg.kg.cli import app
from cartkg.kg.store import load_graph

PREFIXES = """
PREFIX ck: <https://w3id.org/cartkg/ontology/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX prov: <http://www.w3.org/ns/prov#>
"""
#: Sentences affirming each (toxicity, product) adverse event, counted by SPARQL alone.
ADVERSE_EVENT_SENTENCES = PREFIXES + """
SELECT ?toxicityLabel ?productLabel (COUNT(DISTINCT ?sentence) AS ?n) WHERE {
  ?st a ck:Statement ; ck:assertionStatus ck:affirmed ; rdf:predicate ck:hasAdverseEvent ;
      rdf:subject ?product ; rdf:object ?toxicity ; prov:wasDerivedFrom ?sentence .
  ?product rdfs:label ?productLabel . ?toxicity rdfs:label ?toxicityLabel .
} GROUP BY ?toxicityLabel ?productLabel
"""
APPROVALS = PREFIXES + """
SELECT ?approval ?productLabel ?agencyLabel WHERE {
  ?approval a ck:RegulatoryApproval ; ck:approvalOf/rdfs:label ?productLabel ; ck:grantedBy/rdfs:label ?agencyLabel
}
"""
#: Entities at either end of an affirmed statement with evidence, by type.
LINKED_BY_TYPE = PREFIXES + """
SELECT ?type (COUNT(DISTINCT ?e) AS ?n) WHERE {
  ?st a ck:Statement ; ck:assertionStatus ck:affirmed ; prov:wasDerivedFrom ?sentence ; rdf:subject|rdf:object ?e .
  ?e ck:entityType ?type ; rdfs:label ?label .
} GROUP BY ?type
"""
SVG = "{http://www.w3.org/2000/svg}"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def written(graph, tmp_path_factory) -> tuple[Path, list[plots.Plot]]:
    folder = tmp_path_factory.mktemp("figures")
    return folder, plots.plot_all(graph, folder)


@pytest.fixture(scope="module")
def scatters():
    def collections(figure):
        return [c for c in figure.axes[0].collections if (c.get_gid() or "").startswith(("type-", "approvals-"))]
    return collections


def test_every_figure_is_written_as_valid_png_and_svg(written):
    folder, found = written
    assert [p.name for p in found] == ["entity-network", "toxicity-heatmap", "approvals-timeline"]
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        f"{p.name}.{fmt}" for p in found for fmt in ("png", "svg"))  # no temporary file left behind
    for plot in found:
        png, svg = plot.paths
        assert (png.suffix, svg.suffix) == (".png", ".svg") and plot.title
        width, height = png_size(png.read_bytes())
        pixels = matplotlib.image.imread(png)
        assert pixels.shape[:2] == (height, width) and width > 300 and height > 200
        assert len({tuple(p) for p in pixels.reshape(-1, pixels.shape[2])[::97]}) > 5  # not blank
        root = ET.fromstring(svg.read_bytes())
        assert root.tag == f"{SVG}svg"
        assert "Date" not in svg.read_text("utf-8") and "<dc:date>" not in svg.read_text("utf-8")


def test_the_same_graph_gives_the_same_bytes(written, graph_file, tmp_path):
    folder, found = written
    again = plots.plot_all(load_graph(graph_file, with_ontology=False), tmp_path)
    for first, second in zip(found, again):
        for a, b in zip(first.paths, second.paths):
            assert a.read_bytes() == b.read_bytes(), a.name


def test_the_bytes_do_not_depend_on_the_hash_seed(graph_file, tmp_path):
    """Two processes with different string hashing (so different set orders) agree."""
    outputs = []
    for seed in ("1", "2"):
        folder = tmp_path / seed
        done = subprocess.run(
            [sys.executable, "-m", "cartkg.kg.cli", "plot", "--graph", str(graph_file), "-o", str(folder)],
            capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert done.returncode == 0, done.stderr
        outputs.append({path.name: path.read_bytes() for path in folder.iterdir()})
    assert len(outputs[0]) == 6 and outputs[0] == outputs[1]


def test_the_heatmap_counts_are_the_sparql_counts(graph):
    matrix = plots.toxicity_matrix(graph)
    expected = {(str(t), str(p)): int(n) for t, p, n in graph.query(ADVERSE_EVENT_SENTENCES)}
    assert expected and matrix.as_dict() == expected
    assert list(matrix.row_labels) == sorted(matrix.row_labels, key=str.lower)
    assert list(matrix.column_labels) == sorted(matrix.column_labels, key=str.lower)
    assert ("cytokine release syndrome", "tisagenlecleucel") in expected


def test_the_heatmap_draws_the_matrix_and_writes_each_count(graph):
    matrix = plots.toxicity_matrix(graph)
    figure = plots.toxicity_heatmap_figure(graph)
    ax = figure.axes[0]
    assert ax.images[0].get_array().tolist() == [list(line) for line in matrix.counts]
    written = Counter(t.get_text() for t in ax.texts)
    assert written == Counter(str(n) for line in matrix.counts for n in line if n)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(matrix.column_labels)


def test_the_timeline_has_one_point_per_approval(graph, scatters):
    approvals = list(graph.query(APPROVALS))
    points = plots.approval_points(graph)
    assert len(points) == len(approvals) == 7
    figure = plots.approvals_timeline_figure(graph)
    assert sum(len(c.get_offsets()) for c in scatters(figure)) == len(approvals)
    labels = [" ".join(t.get_text().split()) for t in figure.axes[0].texts]  # long names are wrapped
    assert len(labels) == len(approvals)
    for _, product, agency in approvals:
        assert any(str(product) in label and str(agency) in label for label in labels), product
    assert {p.exact for p in points if len(p.date) < 10} == {False}
    assert [p.when for p in points] == sorted(p.when for p in points)


def test_the_network_colours_each_type_and_sizes_by_degree(graph, scatters):
    figure = plots.entity_network_figure(graph)
    expected = {str(t): int(n) for t, n in graph.query(LINKED_BY_TYPE)}
    drawn = {c.get_gid().removeprefix("type-"): c for c in scatters(figure)}
    assert {t: len(c.get_offsets()) for t, c in drawn.items()} == expected
    for etype, collection in drawn.items():
        assert {to_hex(colour) for colour in collection.get_facecolors()} == {plots.TYPE_COLOURS[etype]}
    legend = figure.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == sorted(expected)
    # Node size grows with degree: the same ordering whichever way it is read.
    simple, positions = plots.network_layout(analyze.entity_graph(graph))
    by_position = {tuple(map(float, xy)): size for c in drawn.values()
                   for xy, size in zip(c.get_offsets(), c.get_sizes())}
    sized = sorted((simple.degree(n), by_position[positions[n]]) for n in simple)
    assert [size for _, size in sized] == sorted(size for _, size in sized)


def test_the_network_svg_keeps_each_type_group_and_its_colour(written):
    folder, _ = written
    root = ET.fromstring((folder / "entity-network.svg").read_bytes())
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("type-")}
    assert "type-CARTProduct" in groups and "type-Toxicity" in groups
    for gid, group in groups.items():
        # Markers of one size are <use> of a shared <path> in <defs>; of many sizes, <path>s.
        marks = [*group.findall(f"{SVG}path"), *group.iter(f"{SVG}use")]
        styles = [mark.get("style", "") for mark in marks]
        assert styles and all(f"fill: {plots.TYPE_COLOURS[gid[5:]]}" in s for s in styles), gid


def test_the_layout_is_the_same_whatever_the_insertion_order(graph):
    network = analyze.entity_graph(graph)
    shuffled = type(network)()
    shuffled.add_nodes_from(reversed(list(network.nodes(data=True))))
    shuffled.add_edges_from(reversed(list(network.edges(keys=True, data=True))))
    assert plots.network_layout(network)[1] == plots.network_layout(shuffled)[1]


def test_an_empty_graph_gives_figures_that_say_no_data(tmp_path):
    found = plots.plot_all(Dataset(), tmp_path, formats=("svg",))
    for plot in found:
        text = plot.paths[0].read_text("utf-8")
        ET.fromstring(text)
        assert "no data:" in text, plot.name


def test_an_unknown_format_is_refused_before_anything_is_written(graph, tmp_path):
    with pytest.raises(plots.PlotError, match="'gif'"):
        plots.plot_all(graph, tmp_path / "out", formats=("png", "gif"))
    with pytest.raises(plots.PlotError):
        plots.plot_all(graph, tmp_path / "out", formats=())
    assert not (tmp_path / "out").exists()


def test_placed_dates_keep_their_precision():
    assert plots._placed("2017-08-30")[1] is True
    assert plots._placed("2018-08") == (plots.datetime.date(2018, 8, 15), False)
    assert plots._placed("2019") == (plots.datetime.date(2019, 7, 1), False)
    with pytest.raises(plots.PlotError, match="30/08/2017"):
        plots._placed("30/08/2017")


def test_plot_command_prints_the_files_it_wrote(graph_file, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["plot", "--graph", str(graph_file), "-o", str(tmp_path), "--format", "svg"])
    assert result.exit_code == 0, result.output
    printed = result.stdout.split()
    assert printed == [str(tmp_path / f"{name}.svg") for name in plots.FIGURES]
    assert all(Path(p).is_file() for p in printed)
    bad = runner.invoke(app, ["plot", "--graph", str(graph_file), "-o", str(tmp_path), "--format", "gif"])
    assert bad.exit_code == 2 and "unknown figure format" in bad.output
    missing = runner.invoke(app, ["plot", "--graph", str(tmp_path / "none.ttl"), "-o", str(tmp_path)])
    assert missing.exit_code == 2 and "graph file not found" in missing.output
