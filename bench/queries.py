"""Time every named query on the embedded Oxigraph store and on rdflib's memory store.

Builds the bundled corpus once (or reads ``--graph FILE``), loads the same graph into
both stores, runs each named query with its example's parameters, and prints, per
query, the median wall time of ``--repeat`` runs on each store and their ratio
(rdflib / Oxigraph). A run's time covers ``run_query``: parsing, evaluation and reading
every row. One untimed run per query and store comes first, and the two answers must
agree. The figures are printed, never asserted: they depend on the machine.

    make bench                      # or: .venv/bin/python bench/queries.py [--repeat N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import pyoxigraph
import rdflib

from cartkg.kg.build import build_graph
from cartkg.kg.export import write_rdf
from cartkg.kg.store import load_graph
from cartkg.queries.library import NamedQuery, list_queries, run_query

STORES = ("oxigraph", "memory")


def load_stores(graph_file: Path | None = None) -> dict[str, rdflib.Dataset]:
    """The graph on each store: ``graph_file``, or the bundled corpus built now."""
    if graph_file is not None:
        return {store: load_graph(graph_file, store=store) for store in STORES}
    corpus = resources.files("cartkg.extract") / "corpus"
    result = build_graph([Path(str(corpus))])
    with tempfile.TemporaryDirectory() as folder:
        path = write_rdf(result.dataset, Path(folder) / "cartkg.nq", "nq")
        return {store: load_graph(path, store=store) for store in STORES}


def time_query(graph: rdflib.Dataset, query: NamedQuery, repeat: int) -> list[float]:
    """The wall times of ``repeat`` runs of a named query with its example's
    parameters, in milliseconds, each covering parsing, evaluation and reading every row."""
    parameters = query.example_parameters
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run_query(graph, query, parameters)
        times.append((time.perf_counter() - start) * 1000)
    return times


def median_ms(graph: rdflib.Dataset, query: NamedQuery, repeat: int) -> float:
    """The median time of ``repeat`` runs, in milliseconds."""
    return statistics.median(time_query(graph, query, repeat))


def time_queries(graphs: dict[str, rdflib.Dataset], repeat: int) -> list[tuple[str, int, float, float]]:
    """One row per named query: its name, its row count and the median ms on each store."""
    rows = []
    for query in list_queries():
        answers = {store: run_query(graphs[store], query, query.example_parameters) for store in STORES}
        if len(answers["oxigraph"]) != len(answers["memory"]):
            raise SystemExit(f"{query.name}: the stores disagree "
                             f"({len(answers['oxigraph'])} and {len(answers['memory'])} rows)")
        timed = [median_ms(graphs[store], query, repeat) for store in STORES]
        rows.append((query.name, len(answers["oxigraph"]), *timed))
    return rows


def format_table(rows: list[tuple[str, int, float, float]]) -> str:
    """A Markdown table: query, rows, Oxigraph ms, rdflib ms, ratio."""
    lines = ["| query | rows | Oxigraph ms | rdflib ms | ratio |", "|---|---:|---:|---:|---:|"]
    for name, count, oxigraph, memory in rows:
        lines.append(f"| {name} | {count} | {oxigraph:.2f} | {memory:.2f} | {memory / oxigraph:.1f} |")
    total_oxigraph = sum(r[2] for r in rows)
    total_memory = sum(r[3] for r in rows)
    lines.append(f"| **all {len(rows)}** | | {total_oxigraph:.2f} | {total_memory:.2f} "
                 f"| {total_memory / total_oxigraph:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per query and store (default 7)")
    parser.add_argument("--graph", type=Path, help="a built graph file instead of the bundled corpus")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    graphs = load_stores(args.graph)
    triples = len(graphs["oxigraph"])
    print(f"{triples} triples (corpus and ontology); median of {args.repeat} runs; Python {platform.python_version()}, "
          f"rdflib {rdflib.__version__}, pyoxigraph {pyoxigraph.__version__}; {platform.machine()}")
    print()
    print(format_table(time_queries(graphs, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
