"""The HTML report: every statement, every named query and the figures on one page that
loads nothing, parses cleanly, is byte-stable, and renders in headless Chromium."""

from __future__ import annotations

import html
import re
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from rdflib import Dataset, Literal, Namespace, URIRef
from rdflib.namespace import PROV, RDF, RDFS
from typer.testing import CliRunner

from cartkg.kg import report
from cartkg.kg.analyze import graph_stats
from cartkg.kg.cli import app
from cartkg.kg.plots import FIGURES
from cartkg.kg.store import load_graph
from cartkg.queries.library import list_queries, run_query

CK = Namespace("https://w3id.org/cartkg/ontology/")
STATEMENT_SENTENCES = """
PREFIX ck: <https://w3id.org/cartkg/ontology/>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?statement ?text WHERE { ?statement a ck:Statement ; prov:wasDerivedFrom/ck:text ?text }
"""
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """What the tests read from the page: the element stack's errors, every tag with its
    attributes, the ids, each table row's cells' text, and the text of each <h3>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: Counter[str] = Counter()
        self.rows: dict[str, list[str]] = {}
        self.headings: list[str] = []
        self._row: str | None = None
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if found.get("id"):
            self.ids[found["id"]] += 1
        if tag == "tr" and found.get("id"):
            self._row = found["id"]
            self.rows[self._row] = []
        elif tag == "td" and self._row:
            self._cell = []
        elif tag == "h3":
            self._heading = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}> at {self.getpos()}")
            return
        self.stack.pop()
        if tag == "td" and self._row and self._cell is not None:
            self.rows[self._row].append("".join(self._cell))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "h3" and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None

    def handle_data(self, data: str) -> None:
        for sink in (self._cell, self._heading):
            if sink is not None:
                sink.append(data)


@pytest.fixture(scope="module")
def written(graph, tmp_path_factory) -> Path:
    return report.write_report(graph, tmp_path_factory.mktemp("report") / "report.html")


@pytest.fixture(scope="module")
def page(written) -> str:
    return written.read_text("utf-8")


@pytest.fixture(scope="module")
def parsed(page) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


def test_the_page_parses_with_balanced_tags_and_unique_ids(page, parsed):
    assert page.startswith("<!DOCTYPE html>\n")
    assert parsed.errors == [] and parsed.stack == []
    assert [i for i, n in parsed.ids.items() if n > 1] == []


def test_every_statement_and_its_sentence_is_on_the_page(graph, parsed):
    expected = {str(s).rsplit("/", 1)[-1]: str(t) for s, t in graph.query(STATEMENT_SENTENCES)}
    rows = {k.removeprefix("statement-"): cells for k, cells in parsed.rows.items() if k.startswith("statement-")}
    assert len(expected) == graph_stats(graph)["statements"] > 100 and set(rows) == set(expected)
    for local, text in expected.items():
        cells = rows[local]
        assert cells[0] == f"cks:{local}" and cells[-1] == text, local
    statuses = Counter(cells[4] for cells in rows.values())
    assert statuses == Counter(graph_stats(graph)["statements by assertion status"])


def test_the_subject_and_object_mentions_are_marked(page):
    marked = re.search(r'<tr id="statement-[^"]+">.*?ELIANA.*?</tr>', page)
    assert marked and '<mark class="subject">' in marked.group(0) and '<mark class="object">' in marked.group(0)


def test_every_named_query_is_answered_with_its_example_parameters(graph, page, parsed):
    queries = list_queries()
    assert parsed.headings == [q.name for q in queries]
    for query in queries:
        section = re.search(rf'<section class="query" id="query-{re.escape(query.name)}">(.*?)</section>', page, re.S)
        assert section, query.name
        assert html.escape(query.question) in section.group(1)
        rows = len(run_query(graph, query, query.example_parameters))
        assert f'<p class="meta">{rows} row(s)</p>' in section.group(1), query.name
        assert section.group(1).count("<tr>") == (rows + 1 if rows else 0), query.name


def test_the_summary_shows_the_graph_counts(graph, page):
    summary = re.search(r'<section id="summary">(.*?)</section>', page, re.S).group(1)
    for name, value in graph_stats(graph).items():
        pairs = value.items() if isinstance(value, dict) else [(None, value)]
        for key, n in pairs:
            what = name if key is None else f"{name}: {key}"
            assert f"<td>{html.escape(what)}</td><td class=\"n\">{n}</td>" in summary, what


def test_the_figures_are_inline_svg(page, parsed):
    svgs = [attrs for tag, attrs in parsed.tags if tag == "svg"]
    assert len(svgs) == len(FIGURES)
    for name in FIGURES:
        assert f'id="figure-{name}"' in page
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert 'id="fig-entity-network-type-CARTProduct"' in page
    figures = re.search(r'<section id="figures">(.*?)</section>', page, re.S).group(1)
    assert "tisagenlecleucel" in figures and "cytokine release syndrome" in figures
    # Every reference inside an SVG points to an id on the page.
    for target in re.findall(r'(?:href="#|url\(#)([^")]+)', figures):
        assert parsed.ids[target] == 1, target


def test_the_page_loads_nothing_and_runs_nothing(page, parsed):
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"script", "link", "iframe", "object", "embed", "img", "base", "frame"}
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "xlink:href", "action", "data", "srcset", "poster"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "file:", "javascript:")), (tag, name, value)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    assert "@import" not in page and not re.search(r"url\((?!#)", page)
    policy = [a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert policy and "default-src 'none'" in policy[0]


def test_the_same_graph_gives_the_same_bytes(written, graph_file, tmp_path):
    again = report.write_report(load_graph(graph_file), tmp_path / "again.html")
    assert again.read_bytes() == written.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["again.html"]  # no temporary file left


def test_text_from_the_graph_is_escaped():
    """A statement whose labels and sentence hold markup shows it as text."""
    dataset = Dataset(default_union=True)
    g = dataset.graph(URIRef("urn:test:g"))
    statement, sentence = URIRef("https://w3id.org/cartkg/statement/x1"), URIRef("urn:test:s1")
    subject, obj = URIRef("urn:test:a"), URIRef("urn:test:b")
    text = "<script>alert(1)</script> & <b>CD19</b>"
    for triple in [
        (statement, RDF.type, CK.Statement), (statement, RDF.subject, subject), (statement, RDF.predicate, CK.targets),
        (statement, RDF.object, obj), (statement, CK.assertionStatus, CK.affirmed),
        (statement, PROV.wasDerivedFrom, sentence), (sentence, CK.text, Literal(text)),
        (sentence, CK.beginOffset, Literal(100)), (subject, RDFS.label, Literal('"><img src=x onerror=alert(1)>')),
        (obj, RDFS.label, Literal("CD19")),
        (statement, CK.objectMention, URIRef("urn:test:m")), (URIRef("urn:test:m"), CK.beginOffset, Literal(131)),
        (URIRef("urn:test:m"), CK.endOffset, Literal(135)),
    ]:
        g.add(triple)
    page = report.render_report(dataset, queries=[])
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;<mark class=\"object\">CD19</mark>&lt;/b&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_highlight_marks_spans_and_skips_overlaps():
    assert report.highlight("CAR <T> cells", [(5, 6, "subject")]) == 'CAR &lt;<mark class="subject">T</mark>&gt; cells'
    assert report.highlight("abcdef", [(0, 4, "subject"), (2, 5, "object"), (5, 9, "object")]) == \
        '<mark class="subject">abcd</mark>ef'


def test_the_report_renders_in_headless_chromium(chromium, written, tmp_path):
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         f"--screenshot={shot}", "--window-size=1280,2000", written.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert shot.is_file(), done.stderr[-1000:]
    # Page errors, blocked loads (the Content-Security-Policy) and console output all
    # reach stderr as CONSOLE lines.
    console = [line for line in done.stderr.splitlines()
               if "CONSOLE" in line or "Uncaught" in line or "Refused to" in line]
    assert console == []
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    colours = np.unique((pixels.reshape(-1, 3) * 255).round().astype(np.uint8), axis=0)
    assert len(colours) > 50
    not_white = (pixels < 0.97).any(axis=2).mean()
    assert 0.03 < not_white < 0.9, not_white
    # The network figure's colours are on screen: CARTProduct blue, somewhere.
    blue = np.isclose(pixels, np.array([0x1F, 0x77, 0xB4]) / 255, atol=0.02).all(axis=2)
    assert blue.sum() > 100


def test_report_command_writes_the_page(graph_file, tmp_path):
    runner = CliRunner()
    target = tmp_path / "nested" / "report.html"
    result = runner.invoke(app, ["report", "--graph", str(graph_file), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(target)
    assert target.read_text("utf-8").count('<section class="query"') == len(list_queries())
    missing = runner.invoke(app, ["report", "--graph", str(tmp_path / "none.ttl"), "-o", str(target)])
    assert missing.exit_code == 2 and "graph file not found" in missing.output
