"""One self-contained HTML page about a built graph: counts, figures, the answer of every
named query, and every statement with its evidence sentence.

The page loads nothing: the figures are inline SVG, the style sheet is inline, there is
no script, and a Content-Security-Policy meta tag forbids any other source, so the file
can be mailed or archived as it is. Every text from the graph goes through
:func:`html.escape`. The same graph gives the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from rdflib import Graph

from cartkg.kg import iris, plots
from cartkg.kg.analyze import graph_stats
from cartkg.kg.export import atomic_write
from cartkg.queries.library import NamedQuery, QueryError, list_queries, run_query

STATEMENTS = """
PREFIX ck: <https://w3id.org/cartkg/ontology/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?statement ?subject ?subjectLabel ?predicate ?object ?objectLabel ?status ?rule
       ?document ?section ?text ?begin ?subjectBegin ?subjectEnd ?objectBegin ?objectEnd
WHERE {
  ?statement a ck:Statement ; rdf:subject ?subject ; rdf:predicate ?predicate ; rdf:object ?object .
  OPTIONAL { ?statement ck:assertionStatus ?status }
  OPTIONAL { ?statement ck:rule ?rule }
  OPTIONAL { ?subject rdfs:label ?subjectLabel }
  OPTIONAL { ?object rdfs:label ?objectLabel }
  OPTIONAL { ?statement prov:wasDerivedFrom ?sentence .
             ?sentence ck:text ?text ; ck:beginOffset ?begin .
             OPTIONAL { ?sentence ck:section ?section }
             OPTIONAL { ?sentence ck:inDocument/dcterms:identifier ?document } }
  OPTIONAL { ?statement ck:subjectMention ?sm . ?sm ck:beginOffset ?subjectBegin ; ck:endOffset ?subjectEnd }
  OPTIONAL { ?statement ck:objectMention ?om . ?om ck:beginOffset ?objectBegin ; ck:endOffset ?objectEnd }
}
"""

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #1d2330; background: #ffffff; margin: 0 auto; max-width: 1200px; padding: 1.5rem; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #1f77b4; padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .3rem; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
nav ul { display: flex; gap: 1.2rem; list-style: none; padding: 0; }
nav a, a { color: #1f5f99; }
table { border-collapse: collapse; font-size: 12.5px; margin: .4rem 0; }
th, td { border: 1px solid #d5dae3; padding: .25rem .45rem; text-align: left; vertical-align: top; }
th { background: #eef2f8; }
tbody tr:nth-child(even) { background: #f8fafc; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; max-width: 100%; }
.question { font-style: italic; margin: 0; }
.meta { color: #5a6475; margin: .15rem 0; }
.error { color: #a61b1b; }
figure { margin: 1.2rem 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #5a6475; font-size: 12.5px; }
mark.subject { background: #cfe3f7; }
mark.object { background: #fde0bf; }
.status-affirmed { color: #1d6b2f; }
.status-negated { color: #a61b1b; }
.status-hypothetical, .status-uncertain, .status-historical { color: #8a5a00; }
"""

#: Nothing may be fetched: styles inline, images as data URIs at most, no script at all.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _short(value: object) -> str:
    """An IRI of a project namespace as a CURIE; other values as text."""
    if value is None:
        return ""
    text = str(value)
    for prefix, namespace in iris.PREFIXES.items():
        if text.startswith(str(namespace)):
            return f"{prefix}:{text[len(str(namespace)):]}"
    return text


def _local(iri: object) -> str:
    return str(iri).rstrip("/").rsplit("/", 1)[-1]


def _table(columns: Sequence[str], rows: Iterable[Sequence[object]], *, numeric: Sequence[str] = ()) -> str:
    """An HTML table of escaped cells; columns named in ``numeric`` align right."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{escape(_short(v))}</td>' if c in numeric else f"<td>{escape(_short(v))}</td>"
            for c, v in zip(columns, row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(body) + \
        "\n</tbody></table></div>"


def inline_svg(data: bytes, prefix: str) -> str:
    """A matplotlib SVG ready to sit inside HTML: without its XML prolog, and with every
    id (and each reference to one) prefixed, so that several figures on one page never
    share an id."""
    text = data.decode("utf-8")
    text = text[text.index("<svg"):]
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r'\b((?:xlink:)?href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{prefix}-{m.group(2)}"', text)
    return re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", text).strip()


# ------------------------------------------------------------------------- sections

def _summary(graph: Graph) -> str:
    rows: list[tuple[str, object]] = []
    for name, value in graph_stats(graph).items():
        if isinstance(value, dict):
            rows.extend((f"{name}: {key}", n) for key, n in value.items())
        else:
            rows.append((name, value))
    return '<section id="summary">\n<h2>Summary</h2>\n' + _table(["what", "count"], rows, numeric=["count"]) + \
        "\n</section>"


def _figures(graph: Graph) -> str:
    parts = ['<section id="figures">', "<h2>Figures</h2>"]
    for name, (title, draw) in plots.FIGURES.items():
        svg = inline_svg(plots.render(draw(graph), "svg", name=name), f"fig-{name}")
        parts.append(f'<figure id="figure-{escape(name)}">\n{svg}\n'
                     f"<figcaption>{escape(title)} (<code>{escape(name)}</code>)</figcaption>\n</figure>")
    parts.append("</section>")
    return "\n".join(parts)


def _query_section(graph: Graph, query: NamedQuery) -> str:
    parameters = query.example_parameters
    shown = ", ".join(f"{k}={v}" for k, v in parameters.items()) or "none (defaults)"
    parts = [f'<section class="query" id="query-{escape(query.name)}">', f"<h3>{escape(query.name)}</h3>",
             f'<p class="question">{escape(query.question)}</p>',
             f'<p class="meta">parameters: {escape(shown)}</p>']
    try:
        result = run_query(graph, query, parameters)
    except QueryError as exc:
        parts.append(f'<p class="error">could not run: {escape(str(exc))}</p>')
    else:
        parts.append(f'<p class="meta">{len(result)} row(s)</p>')
        if len(result):
            parts.append(_table(result.variables, result.rows))
    parts.append("</section>")
    return "\n".join(parts)


def _queries(graph: Graph, queries: Sequence[NamedQuery]) -> str:
    return "\n".join(['<section id="queries">', "<h2>Named queries</h2>",
                      "<p>Each named query, run with the parameters of its example command line.</p>",
                      *(_query_section(graph, q) for q in queries), "</section>"])


@dataclass(frozen=True, order=True)
class Fact:
    """One statement and its evidence, as the report shows it. Ordered by document,
    sentence, then statement, which is the order of the facts table."""

    document: str
    begin: int
    statement: str
    subject: str
    subject_label: str
    predicate: str
    object: str
    object_label: str
    status: str
    rule: str
    section: str
    text: str
    spans: tuple[tuple[int, int, str], ...]


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def facts(graph: Graph) -> list[Fact]:
    """Every ``ck:Statement`` with its labels, status and sentence, in document order.
    ``spans`` are the subject and object mentions as offsets into the sentence."""
    found = []
    for row in graph.query(STATEMENTS):
        values: tuple[Any, ...] = tuple(row)  # type: ignore[arg-type]  # a SELECT gives rows
        (statement, subject, subject_label, predicate, obj, object_label, status, rule, document, section,
         text, begin, sb, se, ob, oe) = values
        start = _int(begin) or 0
        spans = tuple(
            (b - start, e - start, kind)
            for b, e, kind in ((_int(sb), _int(se), "subject"), (_int(ob), _int(oe), "object"))
            if b is not None and e is not None
        )
        found.append(Fact(
            str(document or ""), start, str(statement), str(subject), str(subject_label or _local(subject)),
            _local(predicate), str(obj), str(object_label or _local(obj)), _local(status or ""), str(rule or ""),
            str(section or ""), str(text or ""), spans,
        ))
    return sorted(set(found))


def highlight(text: str, spans: Sequence[tuple[int, int, str]]) -> str:
    """The sentence, escaped, with each span wrapped in ``<mark class="KIND">``. Spans
    outside the text or overlapping an earlier one are left unmarked."""
    out, position = [], 0
    for begin, end, kind in sorted(spans, key=lambda s: (s[0], -s[1], s[2])):
        if begin < position or begin >= end or end > len(text):
            continue
        out.append(escape(text[position:begin]))
        out.append(f'<mark class="{escape(kind)}">{escape(text[begin:end])}</mark>')
        position = end
    out.append(escape(text[position:]))
    return "".join(out)


def _facts(graph: Graph) -> str:
    items = facts(graph)
    rows = []
    for fact in items:
        local = _local(fact.statement)
        rows.append(
            f'<tr id="statement-{escape(local)}"><td><code>{escape(_short(fact.statement))}</code></td>'
            f"<td>{escape(fact.subject_label)}</td><td>{escape(fact.predicate)}</td>"
            f"<td>{escape(fact.object_label)}</td>"
            f'<td class="status-{escape(fact.status)}">{escape(fact.status)}</td>'
            f"<td>{escape(fact.document)}</td><td>{escape(fact.section)}</td>"
            f'<td class="sentence">{highlight(fact.text, fact.spans)}</td></tr>'
        )
    head = "".join(f"<th>{c}</th>" for c in
                   ("statement", "subject", "predicate", "object", "status", "document", "section", "sentence"))
    return "\n".join([
        '<section id="facts">', "<h2>Facts</h2>",
        f"<p>{len(items)} statement(s), each one reading of a relation in one sentence, whatever its "
        'assertion status. In the sentence, <mark class="subject">the subject</mark> and '
        '<mark class="object">the object</mark> are marked.</p>',
        f'<div class="scroll"><table class="facts"><thead><tr>{head}</tr></thead><tbody>',
        *rows, "</tbody></table></div>", "</section>",
    ])


# ----------------------------------------------------------------------------- page

def render_report(graph: Graph, *, title: str = "cartkg: CAR T-cell therapy knowledge graph",
                  queries: Sequence[NamedQuery] | None = None) -> str:
    """The whole page as text; ``queries`` defaults to every named query."""
    queries = list_queries() if queries is None else queries
    nav = "".join(f'<li><a href="#{anchor}">{text}</a></li>' for anchor, text in
                  (("summary", "Summary"), ("figures", "Figures"), ("queries", "Named queries"), ("facts", "Facts")))
    query_nav = ", ".join(f'<a href="#query-{escape(q.name)}">{escape(q.name)}</a>' for q in queries)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{escape(title)}</h1>",
        "<p>Written by <code>cartkg report</code> from a built graph. The page is self-contained: it "
        "loads nothing and runs no script.</p>",
        f"<nav><ul>{nav}</ul></nav>",
        f'<p class="meta">Queries: {query_nav}</p></header>',
        _summary(graph),
        _figures(graph),
        _queries(graph, queries),
        _facts(graph),
        "</body>",
        "</html>",
        "",
    ])


def write_report(graph: Graph, path: str | Path, *, title: str | None = None) -> Path:
    """Write the report page to ``path`` (UTF-8, atomically) and return the path."""
    page = render_report(graph) if title is None else render_report(graph, title=title)
    return atomic_write(path, lambda tmp: tmp.write_text(page, encoding="utf-8", newline="\n"))
