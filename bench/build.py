"""Time the build against corpus size: tokenizer, extraction, full build, queries.

For each size N a synthetic corpus of N abstract-sized documents is written
(:mod:`corpus`, fixed seed), and each stage runs in a subprocess of its own, so that
its peak memory (``ru_maxrss``) is its own:

- ``tokenize``: the pipeline's tokenizer alone over every passage (the floor), and
  spaCy's stock English tokenizer for comparison;
- ``extract``: text to records, the whole pipeline with relations and assertion status,
  on the first ``--extract-max`` documents (all of them up to 10,000 by default), with
  the tokenizer timed over the same texts in the same process for the ratio;
- ``build``: files to the on-disk Oxigraph store, ``cartkg build --into``
  (:func:`cartkg.kg.incremental.build_into`): reading, extraction, triples, writes;
- ``graph``: files to rdflib's in-memory dataset (:func:`cartkg.kg.build.build_graph`),
  for sizes up to ``--graph-max``;
- ``queries``: every named query on the largest store, on embedded Oxigraph (the store
  itself, one subprocess per query) and on rdflib's memory store (its quads loaded, up
  to ``--memory-max-quads``; past that, on the largest store it holds too, beside
  Oxigraph), median and p95. A query is run once untimed, then timed
  ``--repeat`` times or until ``--query-budget`` seconds are spent (three runs at
  least); one whose untimed run goes past ``--query-timeout`` seconds is reported as
  ``> T s`` and not run again.

Documents read and the pipeline built are outside the timed spans (the pipeline's
load time is reported apart). The figures are printed and written as JSON, with a
plot, under ``bench/results/``; they are never asserted: they depend on the machine.

    .venv/bin/python bench/build.py [--sizes 1000 10000] [--repeat 7] [--plain]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import inspect
import json
import os
import platform
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
STAGES = ("tokenize", "extract", "build", "graph", "queries", "oxquery")


def _load_sibling(name: str) -> Any:
    """Import ``bench/<name>.py`` (``bench`` is not a package)."""
    spec = importlib.util.spec_from_file_location(f"cartkg_bench_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _peak_rss_mb() -> float:
    """This process's peak resident set size, in MiB (``ru_maxrss`` is KiB on Linux)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _read(corpus: Path) -> list[Any]:
    from cartkg.extract.readers import read_sources
    from cartkg.extract.records import ReadError

    documents = list(read_sources([corpus]))
    errors = [d for d in documents if isinstance(d, ReadError)]
    if errors:
        raise SystemExit(f"unreadable benchmark documents: {errors[:3]}")
    return documents


# --- stages (each runs in a subprocess: ``build.py --stage NAME``) -----------------------

def stage_tokenize(corpus: Path, **_: Any) -> dict[str, Any]:
    """The pipeline's tokenizer, and spaCy's stock English one, over every passage."""
    import spacy

    from cartkg.extract.pipeline import default_pipeline

    texts = [p.text for d in _read(corpus) for p in d.passages]
    tokenizer = default_pipeline().tokenizer
    start = time.perf_counter()
    tokens = sum(len(tokenizer(text)) for text in texts)
    seconds = time.perf_counter() - start
    stock = spacy.blank("en").tokenizer
    start = time.perf_counter()
    stock_tokens = sum(len(stock(text)) for text in texts)
    stock_seconds = time.perf_counter() - start
    return {"seconds": seconds, "tokens": tokens, "passages": len(texts),
            "words": sum(len(t.split()) for t in texts),
            "stock_seconds": stock_seconds, "stock_tokens": stock_tokens}


def stage_extract(corpus: Path, extract_max: int = 10_000, **_: Any) -> dict[str, Any]:
    """Text to records: the whole pipeline, relations and assertion status included, on
    the first ``extract_max`` documents; the tokenizer alone over the same passages
    first, in this process, for the ratio of the two."""
    from cartkg.extract.pipeline import Extractor, default_pipeline

    documents = _read(corpus)[:extract_max]
    start = time.perf_counter()
    extractor = Extractor()
    load = time.perf_counter() - start
    texts = [p.text for d in documents for p in d.passages]
    tokenizer = default_pipeline().tokenizer  # an instance of its own: its cache starts cold too
    start = time.perf_counter()
    for text in texts:
        tokenizer(text)
    tokenizer_seconds = time.perf_counter() - start
    start = time.perf_counter()
    mentions = relations = sentences = 0
    for document in documents:
        extraction = extractor.extract(document)
        sentences += len(extraction.sentences)
        mentions += len(extraction.mentions)
        relations += len(extraction.relations)
    return {"seconds": time.perf_counter() - start, "pipeline_load_seconds": load, "documents": len(documents),
            "tokenizer_seconds": tokenizer_seconds,
            "sentences": sentences, "mentions": mentions, "relations": relations}


def _supported(function: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The options ``function`` takes (the build's signature is still changing)."""
    parameters = inspect.signature(function).parameters
    return {k: v for k, v in options.items() if k in parameters}


def stage_build(corpus: Path, store: Path, workers: int = 1, **_: Any) -> dict[str, Any]:
    """Files to the on-disk store (``cartkg build --into``)."""
    import pyoxigraph as ox

    from cartkg.extract.pipeline import Extractor, default_pipeline
    from cartkg.kg import iris
    from cartkg.kg.incremental import build_into

    default_pipeline()  # built before the clock starts, as in the other stages
    options = _supported(build_into, {"extractor": Extractor(), "workers": workers})
    if workers > 1 and "workers" not in options:
        raise SystemExit("this build_into takes no workers")
    start = time.perf_counter()
    summary = build_into([corpus], store, **options)
    seconds = time.perf_counter() - start
    oxstore = ox.Store.read_only(str(store))
    quads = len(oxstore)
    shared = sum(1 for g in (iris.ENTITIES_GRAPH, iris.ONTOLOGY_GRAPH)
                 for _ in oxstore.quads_for_pattern(None, None, None, ox.NamedNode(str(g))))
    del oxstore
    timings = {name: getattr(summary, name) for name in ("extraction_cpu_seconds", "load_seconds", "compact_seconds")
               if hasattr(summary, name)}
    return {"seconds": seconds, "documents": len(summary.added), "failed": len(summary.failed),
            "quads": quads, "document_quads": quads - shared, "store_bytes": _folder_size(store),
            "workers": workers, **timings}


def stage_graph(corpus: Path, workers: int = 1, **_: Any) -> dict[str, Any]:
    """Files to rdflib's in-memory dataset (:func:`build_graph`)."""
    from cartkg.extract.pipeline import Extractor
    from cartkg.kg.build import build_graph

    options = _supported(build_graph, {"extractor": Extractor(), "workers": workers})
    start = time.perf_counter()
    result = build_graph([corpus], **options)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "quads": len(result.dataset)}


class QueryTimeout(Exception):
    """A query ran past the time allowed to it."""


def _timed_runs(graph: Any, query: Any, repeat: int, timeout: float,
                time_query: Any) -> tuple[int | None, list[float] | None]:
    """The row count of one untimed run and the times of ``repeat`` timed ones, or
    ``None`` for what ran past ``timeout`` seconds (SIGALRM interrupts the evaluation)."""
    from cartkg.queries.library import run_query

    expired = []

    def expire(signum: int, frame: Any) -> None:
        expired.append(True)
        raise QueryTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    rows: int | None = None
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        rows = len(run_query(graph, query, query.example_parameters))
        signal.setitimer(signal.ITIMER_REAL, timeout * repeat)
        return rows, time_query(graph, query, repeat)
    except Exception:  # run_query wraps what the alarm raised in a QueryError
        if expired:
            return rows, None
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def stage_queries(store: Path, repeat: int, memory_repeat: int, timeout: float,
                  memory_max_quads: int = 5_000_000, budget: float = 30.0, **_: Any) -> dict[str, Any]:
    """Every named query on the store (embedded Oxigraph) and on rdflib's memory store
    (left out above ``memory_max_quads``: it takes about 2 GB a million quads); a query
    that runs longer than ``timeout`` seconds on a store is reported as such."""
    import pyoxigraph as ox

    from cartkg.kg.store import load_graph
    from cartkg.queries.library import list_queries

    time_query = _load_sibling("queries").time_query
    quads = len(ox.Store.read_only(str(store)))
    graphs: list[tuple[str, Any, int]] = []
    memory_load = None
    if quads <= memory_max_quads:
        with tempfile.TemporaryDirectory() as folder:
            dump = Path(folder) / "store.nq"
            ox.Store.read_only(str(store)).dump(output=str(dump), format=ox.RdfFormat.N_QUADS)
            start = time.perf_counter()
            graphs.append(("memory", load_graph(dump, store="memory", with_ontology=False), memory_repeat))
            memory_load = time.perf_counter() - start
    table = []
    for query in list_queries():
        row: dict[str, Any] = {"query": query.name, "memory_rows": None,
                               "memory_median_ms": None, "memory_p95_ms": None}
        row.update(_oxigraph_query(store, query.name, repeat, timeout, budget))
        for name, graph, times in graphs:
            count, ms = _timed_runs(graph, query, times, timeout, time_query)
            row[f"{name}_rows"] = count
            row[f"{name}_median_ms"] = statistics.median(ms) if ms else None
            row[f"{name}_p95_ms"] = _p95(ms) if ms else None
        table.append(row)
    return {"queries": table, "quads": quads, "memory_loaded": memory_load is not None,
            "memory_load_seconds": memory_load, "repeat": repeat, "memory_repeat": memory_repeat,
            "timeout_seconds": timeout, "budget_seconds": budget}


def fits_in_memory(sizes: list[dict[str, Any]], max_quads: int) -> int | None:
    """The largest N whose store holds at most ``max_quads`` quads: rdflib's memory store
    takes about 2 GB a million quads, so past that it is set beside Oxigraph there."""
    fitting = [f["n"] for f in sizes if f["build"]["quads"] <= max_quads]
    return max(fitting) if fitting else None


def _oxigraph_query(store: Path, name: str, repeat: int, timeout: float, budget: float) -> dict[str, Any]:
    """One named query on the store, in a subprocess of its own: Oxigraph evaluates in
    native code, which no signal interrupts, so a query past its time is killed. The
    subprocess reports its untimed run first; the timed runs follow only if that one
    came in within ``timeout``."""
    command = [sys.executable, str(Path(__file__).resolve()), "--stage", "oxquery", "--store", str(store),
               "--query", name, "--repeat", str(repeat), "--query-timeout", str(timeout),
               "--query-budget", str(budget)]
    late = {"oxigraph_rows": None, "oxigraph_median_ms": None, "oxigraph_p95_ms": None, "oxigraph_runs": 0}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # + start-up: opening the store and parsing the query
        ready, _, _ = select.select([process.stdout], [], [], timeout + 30)
        if not ready:
            return late
        first = json.loads(process.stdout.readline() or "{}")
        if first.get("late"):
            return {**late, "oxigraph_rows": first.get("rows")}
        out, err = process.communicate(timeout=budget + 3 * timeout + 30)
    except subprocess.TimeoutExpired:
        return late
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        raise SystemExit(f"query {name} failed on Oxigraph:\n{err[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result.pop("peak_rss_mb", None)
    return result


def stage_oxquery(store: Path, query: str, repeat: int, timeout: float = 10.0, budget: float = 30.0,
                  **_: Any) -> dict[str, Any]:
    """One named query on the store through oxrdflib: rows, median and p95 ms of up to
    ``repeat`` timed runs within ``budget`` seconds (three at least). The untimed run's
    row count goes out first, on a line of its own, marked late if it took longer than
    ``timeout``."""
    from cartkg.kg.store import load_graph
    from cartkg.queries.library import list_queries, run_query

    named = {q.name: q for q in list_queries()}[query]
    graph = load_graph(store)  # a store folder: opened read-only through oxrdflib
    start = time.perf_counter()
    rows = len(run_query(graph, named, named.example_parameters))
    untimed = time.perf_counter() - start
    print(json.dumps({"rows": rows, "late": untimed > timeout}), flush=True)
    if untimed > timeout:
        return {"rows": rows, "late": True}
    time_query = _load_sibling("queries").time_query
    ms: list[float] = []
    spent = time.perf_counter()
    while len(ms) < repeat and (len(ms) < 3 or time.perf_counter() - spent < budget):
        ms += time_query(graph, named, 1)
    return {"oxigraph_rows": rows, "oxigraph_median_ms": statistics.median(ms), "oxigraph_p95_ms": _p95(ms),
            "oxigraph_runs": len(ms)}


def _p95(values: list[float]) -> float:
    """The 95th percentile (linear interpolation; the largest value for few runs)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


# --- the driver -------------------------------------------------------------------------

def run_stage(stage: str, **options: Any) -> dict[str, Any]:
    """Run one stage in a fresh interpreter; its figures, with its peak RSS and wall time."""
    command = [sys.executable, str(Path(__file__).resolve()), "--stage", stage]
    for key, value in options.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"stage {stage} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = wall
    return result


def measure(n: int, workdir: Path, seed: int, graph_max: int, workers: int, progress: Any,
            extract_max: int = 10_000) -> dict[str, Any]:
    """All build stages for one corpus size."""
    corpus_module = _load_sibling("corpus")
    corpus, store = workdir / f"corpus-{n}", workdir / f"store-{n}"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(store, ignore_errors=True)
    start = time.perf_counter()
    corpus_module.write_corpus(corpus, n, seed)
    figures: dict[str, Any] = {"n": n, "corpus_seconds": time.perf_counter() - start,
                               "corpus_bytes": _folder_size(corpus)}
    for stage in ("tokenize", "extract", "build", "graph"):
        if stage == "graph" and n > graph_max:
            continue
        progress(f"N={n}: {stage}")
        options = {"extract_max": extract_max} if stage == "extract" else {}
        figures[stage] = run_stage(stage, corpus=corpus, store=store, workers=workers, **options)
    return figures


def derive(figures: dict[str, Any]) -> dict[str, Any]:
    """The rates and ratios of one size."""
    n, tok, ext, build = figures["n"], figures["tokenize"], figures["extract"], figures["build"]
    tokens = tok["tokens"]
    derived = {
        "build_docs_per_s": n / build["seconds"],
        "build_tokens_per_s": tokens / build["seconds"],
        "tokenizer_docs_per_s": n / tok["seconds"],
        "tokenizer_tokens_per_s": tokens / tok["seconds"],
        "build_over_tokenizer": build["seconds"] / tok["seconds"],
        "extract_docs_per_s": ext["documents"] / ext["seconds"],
        "extract_over_tokenizer": ext["seconds"] / ext["tokenizer_seconds"],
        # extraction's share of the build, scaled from the sample to all N documents
        "write_seconds": build["seconds"] - ext["seconds"] * n / ext["documents"],
        "triples_per_s": build["document_quads"] / build["seconds"],
        "peak_rss_mb": build["peak_rss_mb"],
        "store_mb": build["store_bytes"] / 2**20,
    }
    if "graph" in figures:
        derived["graph_docs_per_s"] = n / figures["graph"]["seconds"]
        derived["graph_peak_rss_mb"] = figures["graph"]["peak_rss_mb"]
    return derived


COLUMNS = (
    ("N", lambda f, d: f"{f['n']:,}"),
    ("build s", lambda f, d: f"{f['build']['seconds']:.1f}"),
    ("build docs/s", lambda f, d: f"{d['build_docs_per_s']:.0f}"),
    ("build tok/s", lambda f, d: f"{d['build_tokens_per_s']:,.0f}"),
    ("tokenizer docs/s", lambda f, d: f"{d['tokenizer_docs_per_s']:,.0f}"),
    ("tokenizer tok/s", lambda f, d: f"{d['tokenizer_tokens_per_s']:,.0f}"),
    ("build/tok", lambda f, d: f"{d['build_over_tokenizer']:.1f}×"),
    ("extract docs/s", lambda f, d: f"{d['extract_docs_per_s']:.0f}"),
    ("extract/tok", lambda f, d: f"{d['extract_over_tokenizer']:.1f}×"),
    ("triples", lambda f, d: f"{f['build']['document_quads']:,}"),
    ("triples/s", lambda f, d: f"{d['triples_per_s']:,.0f}"),
    ("peak RSS MB", lambda f, d: f"{d['peak_rss_mb']:.0f}"),
    ("store MB", lambda f, d: f"{d['store_mb']:.1f}"),
    ("in-memory docs/s", lambda f, d: f"{d['graph_docs_per_s']:.0f}" if "graph_docs_per_s" in d else "—"),
)


def size_rows(sizes: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    return [c[0] for c in COLUMNS], [[c[1](f, f["derived"]) for c in COLUMNS] for f in sizes]


def time_rows(sizes: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The build's own account of its time: extraction CPU in the workers (which run
    beside the writer), the writer's bulk loads, and the compaction at the end."""
    header = ["N", "build s", "extraction CPU ms/doc", "loads s", "load ms/doc", "compaction s"]
    rows = []
    for f in sizes:
        b = f["build"]
        rows.append([f"{f['n']:,}", f"{b['seconds']:.1f}", f"{1000 * b['extraction_cpu_seconds'] / f['n']:.2f}",
                     f"{b['load_seconds']:.1f}", f"{1000 * b['load_seconds'] / f['n']:.2f}",
                     f"{b['compact_seconds']:.1f}"])
    return header, rows


def query_rows(queries: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["query", "rows", "Oxigraph median ms", "Oxigraph p95 ms", "rdflib median ms", "rdflib p95 ms", "ratio"]
    late = f"> {queries['timeout_seconds']:g} s"

    def ms(value: float | None, store: str = "oxigraph") -> str:
        if value is None:
            return late if store == "oxigraph" or queries["memory_loaded"] else "—"
        return f"{value:.1f}"

    rows = []
    for q in queries["queries"]:
        ox_ms, mem_ms = q["oxigraph_median_ms"], q["memory_median_ms"]
        ratio = f"{mem_ms / ox_ms:.1f}" if ox_ms and mem_ms else "—"
        count = q["oxigraph_rows"] if q["oxigraph_rows"] is not None else q["memory_rows"]
        rows.append([q["query"], "?" if count is None else str(count), ms(ox_ms), ms(q["oxigraph_p95_ms"]), ms(mem_ms, "memory"),
                     ms(q["memory_p95_ms"], "memory"), ratio])
    return header, rows


def print_table(title: str, header: list[str], rows: list[list[str]], plain: bool) -> None:
    """A rich table, or a Markdown one with ``plain``."""
    if not plain:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            plain = True
    if plain:
        print(f"\n{title}\n")
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    table = Table(title=title)
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=max(160, shutil.get_terminal_size().columns)).print(table)


def plot(sizes: list[dict[str, Any]], path: Path) -> Path | None:
    """Cost against N: seconds per stage, and peak memory and store size."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install 'matplotlib>=3.8')", file=sys.stderr)
        return None
    ns = [f["n"] for f in sizes]
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.5))
    series = {"tokenizer": [f["tokenize"]["seconds"] for f in sizes],
              "extraction": [f["extract"]["seconds"] * f["n"] / f["extract"]["documents"] for f in sizes],
              "full build (--into)": [f["build"]["seconds"] for f in sizes]}
    for label, values in series.items():
        left.plot(ns, values, marker="o", label=label)
        middle.plot(ns, [1000 * v / n for v, n in zip(values, ns)], marker="o", label=label)
    left.set(xscale="log", yscale="log", xlabel="documents (N)", ylabel="seconds", title="Time")
    middle.set(xscale="log", yscale="log", xlabel="documents (N)", ylabel="ms per document", title="Cost per document")
    right.plot(ns, [f["derived"]["peak_rss_mb"] for f in sizes], marker="o", label="peak RSS of the build (MB)")
    right.plot(ns, [f["derived"]["store_mb"] for f in sizes], marker="s", label="store on disk (MB)")
    right.set(xscale="log", xlabel="documents (N)", ylabel="MB", title="Memory and disk")
    for axes in (left, middle, right):
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _environment() -> dict[str, str]:
    import pyoxigraph
    import rdflib
    import spacy
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": str(os.cpu_count()),
            "spacy": spacy.__version__, "rdflib": rdflib.__version__, "pyoxigraph": pyoxigraph.__version__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000],
                        help="corpus sizes (default 1000 10000; 100000 on request)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per query on Oxigraph (default 7)")
    parser.add_argument("--memory-repeat", type=int, default=3, help="timed runs per query on rdflib (default 3)")
    parser.add_argument("--workers", type=int, default=1,
                        help="extraction processes for the build stages, where build_into takes them (default 1)")
    parser.add_argument("--query-timeout", type=float, default=10.0,
                        help="seconds a query may run on a store before it is reported as too slow (default 10)")
    parser.add_argument("--memory-max-quads", type=int, default=1_000_000,
                        help="largest store also loaded into rdflib's memory store for the queries (default 1M)")
    parser.add_argument("--graph-max", type=int, default=1000,
                        help="largest N also built into rdflib's in-memory dataset (default 1000)")
    parser.add_argument("--extract-max", type=int, default=10_000,
                        help="documents the extraction stage times, the first of the corpus (default 10000)")
    parser.add_argument("--query-budget", type=float, default=30.0,
                        help="seconds of timed runs per query and store, three runs at least (default 30)")
    parser.add_argument("--no-queries", action="store_true", help="skip the query latencies")
    parser.add_argument("--workdir", type=Path, help="keep corpora and stores here (default: a temporary folder)")
    parser.add_argument("-o", "--output", type=Path, default=RESULTS, help="results folder (default bench/results)")
    parser.add_argument("--plain", action="store_true", help="Markdown tables instead of rich ones")
    # Internal: run one stage and print its figures as JSON.
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--query", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.stage:
        function = globals()[f"stage_{args.stage}"]
        result = function(corpus=args.corpus, store=args.store, repeat=args.repeat,
                          memory_repeat=args.memory_repeat, timeout=args.query_timeout,
                          workers=args.workers, memory_max_quads=args.memory_max_quads,
                          query=args.query, extract_max=args.extract_max, budget=args.query_budget)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return 0

    if any(n < 1 for n in args.sizes) or args.repeat < 1 or args.memory_repeat < 1:
        parser.error("sizes and repeats must be at least 1")
    sizes = sorted(set(args.sizes))
    temporary = None
    if args.workdir is None:
        temporary = tempfile.TemporaryDirectory(prefix="cartkg-bench-")
        workdir = Path(temporary.name)
    else:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)

    args.output.mkdir(parents=True, exist_ok=True)
    json_path = args.output / f"build-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"

    def save(results: dict[str, Any], complete: bool) -> None:
        json_path.write_text(json.dumps({**results, "complete": complete}, indent=2) + "\n", encoding="utf-8")

    def progress(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    try:
        results: dict[str, Any] = {"environment": _environment(), "seed": args.seed, "sizes": []}
        for n in sizes:
            figures = measure(n, workdir, args.seed, args.graph_max, args.workers, progress, args.extract_max)
            figures["derived"] = derive(figures)
            results["sizes"].append(figures)
            save(results, complete=False)  # what is measured so far survives an interrupted run
        if not args.no_queries:
            def queries(n: int) -> dict[str, Any]:
                return {"n": n, **run_stage(
                    "queries", store=workdir / f"store-{n}", repeat=args.repeat, memory_repeat=args.memory_repeat,
                    query_timeout=args.query_timeout, query_budget=args.query_budget,
                    memory_max_quads=args.memory_max_quads)}

            largest = sizes[-1]
            progress(f"N={largest}: queries")
            results["queries"] = queries(largest)
            smaller = None if results["queries"]["memory_loaded"] else fits_in_memory(
                results["sizes"], args.memory_max_quads)
            if smaller is not None:
                progress(f"N={smaller}: queries, Oxigraph beside rdflib's memory store")
                results["memory_queries"] = queries(smaller)
        save(results, complete=True)
    finally:
        if temporary is not None:
            temporary.cleanup()

    env = results["environment"]
    print(f"Python {env['python']}, spaCy {env['spacy']}, rdflib {env['rdflib']}, pyoxigraph {env['pyoxigraph']}, "
          f"{env['cpus']} CPUs; seed {args.seed}; pipeline load "
          f"{results['sizes'][0]['extract']['pipeline_load_seconds']:.1f} s (not timed)")
    print_table("Build cost against corpus size", *size_rows(results["sizes"]), args.plain)
    if all("load_seconds" in f["build"] for f in results["sizes"]):
        print_table("Where the build's time goes", *time_rows(results["sizes"]), args.plain)
    for key in ("queries", "memory_queries"):
        if key in results:
            q = results[key]
            memory = (f"rdflib memory: {q['memory_repeat']} runs, loaded in {q['memory_load_seconds']:.0f} s"
                      if q["memory_loaded"] else f"rdflib memory: not loaded, over {args.memory_max_quads:,} quads")
            print_table(f"Named queries on N={q['n']:,}, {q['quads']:,} quads (Oxigraph: up to {q['repeat']} runs "
                        f"in {q.get('budget_seconds', 0):g} s; {memory})",
                        *query_rows(q), args.plain)
    png = plot(results["sizes"], json_path.with_suffix(".png"))
    print(f"\nwrote {json_path}" + (f" and {png}" if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
