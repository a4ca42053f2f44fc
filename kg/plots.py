"""Figures of a built graph, drawn with matplotlib: the entity network, the toxicity
heatmap and the approvals timeline, each written as PNG and SVG.

Drawing goes through :class:`matplotlib.figure.Figure` and the Agg canvas, never
pyplot, so nothing here touches matplotlib's global figure state, and style settings
apply inside :func:`matplotlib.rc_context` only. The output is byte-stable: the
network layout is seeded over nodes inserted in sorted order, SVG ids are hashed with
a fixed salt (one per figure, so that several SVGs can share an HTML page), and the
date and software stamps are left out of both formats.
"""

from __future__ import annotations

import datetime
import io
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import networkx as nx
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from rdflib import Graph

from cartkg.kg import analyze
from cartkg.kg.export import atomic_write
from cartkg.queries.library import run_query

FORMATS = ("png", "svg")
"""The file formats :func:`write_figure` knows."""

#: One colour per entity type, so that a type looks the same in every figure and run.
TYPE_COLOURS: dict[str, str] = {
    "CARTProduct": "#1f77b4",
    "Antigen": "#d62728",
    "Toxicity": "#ff7f0e",
    "Intervention": "#2ca02c",
    "ClinicalTrial": "#9467bd",
    "Disease": "#8c564b",
    "GradingSystem": "#e377c2",
    "Organization": "#7f7f7f",
    "WorkingGroup": "#bcbd22",
    "ExpertGroup": "#17becf",
    "Consortium": "#aec7e8",
    "RegulatoryAgency": "#98df8a",
}
OTHER_COLOUR = "#c7c7c7"
"""The colour of a node whose type :data:`TYPE_COLOURS` does not name."""

LAYOUT_SEED = 8
"""The spring layout's seed: a fixed seed over a sorted graph gives a fixed picture."""

#: Settings every figure is drawn and saved with. Text stays text in SVG, so labels can
#: be searched and copied.
_STYLE: dict[Any, Any] = {
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 12.0,
    "figure.dpi": 100.0,
    "savefig.dpi": 100.0,
}
_SVG_METADATA: dict[str, str | None] = {"Creator": "cartkg", "Date": None, "Format": None, "Type": None}
_PNG_METADATA: dict[str, str | None] = {"Software": "cartkg"}


class PlotError(ValueError):
    """A figure that cannot be made or written; the message says which and why."""


@dataclass(frozen=True)
class Plot:
    """One figure written to disk: its name (the file stem), title and files."""

    name: str
    title: str
    paths: tuple[Path, ...]


# ------------------------------------------------------------------------------- data

@dataclass(frozen=True)
class ToxicityMatrix:
    """Affirming sentences per (toxicity, product): ``counts[i][j]`` is the weight of
    the ``hasAdverseEvent`` edge from product ``columns[j]`` to toxicity ``rows[i]``.
    Rows and columns are entity IRIs sorted by label; only linked ones appear."""

    rows: tuple[str, ...]
    row_labels: tuple[str, ...]
    columns: tuple[str, ...]
    column_labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    def as_dict(self) -> dict[tuple[str, str], int]:
        """The non-zero cells as {(toxicity label, product label): count}."""
        return {
            (row, column): n
            for row, line in zip(self.row_labels, self.counts)
            for column, n in zip(self.column_labels, line)
            if n
        }


def _by_label(network: nx.Graph, nodes: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(nodes, key=lambda n: (network.nodes[n].get("label", n).lower(), n)))


def toxicity_matrix(graph: Graph, network: nx.MultiDiGraph | None = None) -> ToxicityMatrix:
    """The heatmap's numbers, from the entity graph's ``hasAdverseEvent`` edges."""
    network = analyze.entity_graph(graph) if network is None else network
    cells = {(o, s): d["weight"] for s, o, d in network.edges(data=True) if d["predicate"] == "hasAdverseEvent"}
    rows = _by_label(network, {t for t, _ in cells})
    columns = _by_label(network, {p for _, p in cells})
    return ToxicityMatrix(
        rows, tuple(network.nodes[n].get("label", n) for n in rows),
        columns, tuple(network.nodes[n].get("label", n) for n in columns),
        tuple(tuple(cells.get((t, p), 0) for p in columns) for t in rows),
    )


@dataclass(frozen=True)
class ApprovalPoint:
    """One regulatory approval on the timeline. ``date`` is as written in the graph
    (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``); ``when`` places it on the axis, at the
    middle of its month or year when the day or month is not known."""

    date: str
    when: datetime.date
    exact: bool
    product: str
    agency: str


def _placed(date: str) -> tuple[datetime.date, bool]:
    """A date as written (full, year-month or year) as a point on the axis, and whether
    it was a full date."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", date.strip())
    if not match:
        raise PlotError(f"approval date {date!r} is not YYYY-MM-DD, YYYY-MM or YYYY")
    year, month, day = match.groups()
    if day:
        return datetime.date(int(year), int(month), int(day)), True
    if month:
        return datetime.date(int(year), int(month), 15), False
    return datetime.date(int(year), 7, 1), False


def approval_points(graph: Graph) -> list[ApprovalPoint]:
    """The approvals, from the ``approvals-timeline`` named query (all agencies), in
    its order: by date, then product, then agency."""
    points = []
    for record in run_query(graph, "approvals-timeline").records():
        when, exact = _placed(record["date"] or "")
        points.append(ApprovalPoint(record["date"] or "", when, exact, record["productLabel"] or "",
                                    record["agencyLabel"] or ""))
    return points


def node_colours(network: nx.Graph) -> dict[str, str]:
    """The colour of each node, by its entity type."""
    return {n: TYPE_COLOURS.get(d.get("type", ""), OTHER_COLOUR) for n, d in network.nodes(data=True)}


def network_layout(network: nx.MultiDiGraph, *, seed: int = LAYOUT_SEED) -> tuple[nx.Graph, dict[str, tuple[float, float]]]:
    """The linked entities as an undirected graph built in sorted order, and their
    positions: the largest component by a seeded spring layout on the left, the others
    each laid out alike and stacked in a column on the right (a single spring layout
    would push separate components far apart). The same entity graph always gives the
    same positions."""
    linked = analyze._linked(network)
    ordered = nx.Graph()
    ordered.add_nodes_from(sorted(linked.nodes(data=True)))
    ordered.add_edges_from(sorted((min(u, v), max(u, v), d) for u, v, d in linked.edges(data=True)))
    parts = sorted((sorted(part) for part in nx.connected_components(ordered)), key=lambda c: (-len(c), c))
    positions: dict[str, tuple[float, float]] = {}
    rest = sum(len(part) for part in parts[1:])
    top = 1.0
    for i, part in enumerate(parts):
        # A subgraph view may iterate its nodes from a set, whose order follows string
        # hashing; a graph copied in sorted order does not.
        sub = nx.Graph()
        sub.add_nodes_from(part)
        sub.add_edges_from((u, v, d) for u, v, d in ordered.edges(part, data=True))
        if i == 0:
            centre, scale = (0.0, 0.0), 1.0
        else:
            # Each further component gets a share of the column's height by its size.
            height = 2.0 * len(part) / rest
            scale = min(0.45, 0.5 * height)
            centre = (1.55, top - height / 2)
            top -= height
        laid = nx.spring_layout(sub, seed=seed, weight="weight", k=1.8 / len(part) ** 0.5, iterations=200,
                                center=centre, scale=scale) if len(part) > 2 else {
            n: (centre[0] + scale * (2 * j - 1) * 0.5, centre[1]) for j, n in enumerate(part)}
        positions.update({n: (float(x), float(y)) for n, (x, y) in laid.items()})
    return ordered, positions


# ---------------------------------------------------------------------------- figures

def _new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas (no pyplot, no global figure list)."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _no_data(figure: Figure, title: str, message: str) -> Figure:
    """Mark a figure as empty in words, so an empty graph still gives a readable file."""
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, f"no data: {message}", ha="center", va="center", fontsize=12, color="#555555",
            transform=ax.transAxes, gid="no-data")
    return figure


def entity_network_figure(graph: Graph, *, labels: int = 14) -> Figure:
    """The linked entities and their affirmed relations: colour by entity type, size by
    degree, edge width by the number of affirming sentences, the ``labels`` most
    central entities named. Each type's nodes are one scatter whose gid is
    ``type-<Type>``."""
    title = "Entity network: affirmed relations between entities"
    with matplotlib.rc_context(_STYLE):
        figure = _new_figure(11.0, 8.5)
        network = analyze.entity_graph(graph)
        simple, positions = network_layout(network)
        if not positions:
            return _no_data(figure, title, "no entity is linked to another")
        ax = figure.add_subplot()
        ax.set_title(title)
        ax.set_axis_off()
        edges = sorted(simple.edges(data=True))
        ax.add_collection(LineCollection(
            [(positions[u], positions[v]) for u, v, _ in edges],
            linewidths=[0.6 + 0.9 * d["weight"] for *_, d in edges],
            colors="#999999", alpha=0.55, zorder=1, gid="edges",
        ))
        by_type: dict[str, list[str]] = {}
        for node, data in simple.nodes(data=True):
            by_type.setdefault(data.get("type", ""), []).append(node)
        for etype in sorted(by_type):
            nodes = by_type[etype]
            ax.scatter(
                [positions[n][0] for n in nodes], [positions[n][1] for n in nodes],
                s=[40 + 45 * simple.degree(n) for n in nodes],
                c=TYPE_COLOURS.get(etype, OTHER_COLOUR), edgecolors="white", linewidths=0.8,
                zorder=2, label=etype or "(no type)", gid=f"type-{etype or 'none'}",
            )
        for row in analyze.centrality(network, top=labels):
            x, y = positions[row.entity]
            ax.annotate(row.label, (x, y), xytext=(0, 7), textcoords="offset points", ha="center",
                        va="bottom", fontsize=8, zorder=3,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75})
        handles = [Line2D([], [], linestyle="", marker="o", markersize=8, markerfacecolor=TYPE_COLOURS.get(t, OTHER_COLOUR),
                          markeredgecolor="white", label=t or "(no type)") for t in sorted(by_type)]
        ax.legend(handles=handles, title="entity type", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        ax.autoscale_view()
        ax.margins(0.06)
        return figure


def toxicity_heatmap_figure(graph: Graph) -> Figure:
    """Toxicities by product, each cell the number of sentences that affirm the
    product's adverse event, written in the cell."""
    title = "Adverse events by product\n(sentences affirming each)"
    matrix = toxicity_matrix(graph)
    with matplotlib.rc_context(_STYLE):
        if not matrix.rows:
            return _no_data(_new_figure(8.0, 4.0), title, "no product has an affirmed adverse event")
        figure = _new_figure(2.8 + 0.75 * len(matrix.columns), 2.2 + 0.42 * len(matrix.rows))
        ax = figure.add_subplot()
        top = max(max(line) for line in matrix.counts)
        image = ax.imshow(matrix.counts, cmap="Blues", vmin=0, vmax=top, aspect="auto")
        ax.set_xticks(range(len(matrix.columns)), labels=matrix.column_labels, rotation=40, ha="right",
                      rotation_mode="anchor")
        ax.set_yticks(range(len(matrix.rows)), labels=[textwrap.fill(t, 34) for t in matrix.row_labels])
        ax.set_xlabel("product")
        ax.set_ylabel("toxicity")
        ax.set_title(title)
        for i, line in enumerate(matrix.counts):
            for j, n in enumerate(line):
                if n:
                    ax.text(j, i, str(n), ha="center", va="center", fontsize=9,
                            color="white" if n > top / 2 else "black")
        colourbar = figure.colorbar(image, ax=ax, shrink=0.8)
        colourbar.set_label("sentences")
        return figure


def approvals_timeline_figure(graph: Graph) -> Figure:
    """The regulatory approvals by date: one marker per approval on a time line,
    coloured by agency, on a stem labelled with the product and agency. A hollow
    marker is a date known only to the month or year."""
    title = "Regulatory approvals"
    points = approval_points(graph)
    with matplotlib.rc_context(_STYLE):
        figure = _new_figure(11.0, 5.0)
        if not points:
            return _no_data(figure, title, "the graph holds no regulatory approval")
        ax = figure.add_subplot()
        ax.set_title(title)
        agencies = sorted({p.agency for p in points})
        palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
        colour = {agency: palette[i % len(palette)] for i, agency in enumerate(agencies)}
        levels = (1.0, -1.0, 2.0, -2.0, 3.0, -3.0)
        dates = [p.when for p in points]
        ax.xaxis_date()
        ax.axhline(0, color="#444444", linewidth=1.0, zorder=1)
        for i, point in enumerate(points):
            level = levels[i % len(levels)]
            ax.vlines(date2num(point.when), 0, level, color="#bbbbbb", linewidth=0.8, zorder=1)
            ax.annotate(f"{point.product}\n{textwrap.fill(point.agency, 26)}\n{point.date}",
                        (date2num(point.when), level), xytext=(0, 4 if level > 0 else -4), textcoords="offset points",
                        ha="center", va="bottom" if level > 0 else "top", fontsize=7.5)
        for index, agency in enumerate(agencies):
            labelled = False
            for exact in (True, False):
                chosen = [p for p in points if p.agency == agency and p.exact == exact]
                if not chosen:
                    continue
                ax.scatter([date2num(p.when) for p in chosen], [0.0] * len(chosen), s=60, zorder=3, linewidths=1.5,
                           edgecolors=colour[agency], facecolors=colour[agency] if exact else "white",
                           label=None if labelled else agency,
                           gid=f"approvals-{index}-{'exact' if exact else 'partial'}")
                labelled = True
        span = max(dates) - min(dates)
        pad = max(span / 12, datetime.timedelta(days=200))
        ax.set_xlim(date2num(min(dates) - pad), date2num(max(dates) + pad))
        ax.set_ylim(-4.6, 4.6)
        ax.yaxis.set_visible(False)
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel("approval date (hollow marker: known to the month or year only)")
        ax.legend(title="agency", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        return figure


#: Each figure's file stem, title and drawing function, in the order they are shown.
FIGURES: dict[str, tuple[str, Callable[[Graph], Figure]]] = {
    "entity-network": ("Entity network", entity_network_figure),
    "toxicity-heatmap": ("Toxicities by product", toxicity_heatmap_figure),
    "approvals-timeline": ("Regulatory approvals over time", approvals_timeline_figure),
}


# ---------------------------------------------------------------------------- writing

def render(figure: Figure, fmt: str, *, name: str) -> bytes:
    """A figure's bytes in one format. ``name`` salts the SVG ids, so that the SVGs of
    different figures do not share ids; the same figure and name give the same bytes."""
    if fmt not in FORMATS:
        raise PlotError(f"unknown figure format {fmt!r}; choose one of {', '.join(FORMATS)}")
    buffer = io.BytesIO()
    with matplotlib.rc_context({**_STYLE, "svg.hashsalt": f"cartkg-{name}"}):
        figure.savefig(buffer, format=fmt, metadata=_SVG_METADATA if fmt == "svg" else _PNG_METADATA,
                       facecolor="white")
    return buffer.getvalue()


def _check_formats(formats: Sequence[str]) -> None:
    """Refuse an empty or unknown format before anything is drawn or written."""
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if unknown or not formats:
        raise PlotError(f"unknown figure format(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                        f"choose from {', '.join(FORMATS)}")


def write_figure(figure: Figure, name: str, directory: str | Path, formats: Sequence[str] = FORMATS) -> tuple[Path, ...]:
    """Write ``directory/name.FORMAT`` for each format, each file atomically."""
    _check_formats(formats)
    paths = []
    for fmt in dict.fromkeys(formats):
        data = render(figure, fmt, name=name)
        paths.append(atomic_write(Path(directory) / f"{name}.{fmt}", lambda tmp, data=data: tmp.write_bytes(data)))
    return tuple(paths)


def plot_all(graph: Graph, directory: str | Path, formats: Sequence[str] = FORMATS) -> list[Plot]:
    """Draw every figure of :data:`FIGURES` and write it in each format."""
    _check_formats(formats)
    written = []
    for name, (title, draw) in FIGURES.items():
        written.append(Plot(name, title, write_figure(draw(graph), name, directory, formats)))
    return written
