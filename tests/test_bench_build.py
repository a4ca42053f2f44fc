"""The build benchmark's harness (bench/build.py): the extraction sample and the query
runs, cut off and bounded as documented. No timings are asserted here."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from cartkg.kg.incremental import build_into
from cartkg.kg.store import load_graph
from cartkg.queries.library import get_query, run_query

@pytest.fixture(scope="module")
def bench(bench_script) -> ModuleType:
    return bench_script("build")


@pytest.fixture(scope="module")
def corpus(bench_script, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bench-build-corpus")
    bench_script("corpus").write_corpus(folder, 24, seed=5)
    return folder


@pytest.fixture(scope="module")
def store(corpus, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench-build-store") / "store"
    assert len(build_into([corpus], path).added) == 24
    return path


def test_extraction_is_timed_on_the_first_documents_beside_the_tokenizer(bench, corpus):
    figures = bench.stage_extract(corpus, extract_max=7)
    assert figures["documents"] == 7
    assert figures["tokenizer_seconds"] > 0 and figures["seconds"] > 0
    assert figures["mentions"] > 0 and figures["sentences"] >= 7
    assert bench.stage_extract(corpus, extract_max=1000)["documents"] == 24


def test_a_query_past_its_timeout_is_reported_late_with_its_rows_and_not_timed(bench, store):
    result = bench._oxigraph_query(store, "organizations", repeat=7, timeout=0.0, budget=30.0)
    assert result["oxigraph_median_ms"] is None and result["oxigraph_runs"] == 0
    query = get_query("organizations")
    assert result["oxigraph_rows"] == len(run_query(load_graph(store), query, query.example_parameters)) > 0


def test_timed_runs_stop_at_the_repeat_count_or_after_three_past_the_budget(bench, store):
    within = bench._oxigraph_query(store, "organizations", repeat=4, timeout=60.0, budget=60.0)
    assert within["oxigraph_runs"] == 4 and within["oxigraph_median_ms"] > 0
    spent = bench._oxigraph_query(store, "organizations", repeat=7, timeout=60.0, budget=0.0)
    assert spent["oxigraph_runs"] == 3
    assert spent["oxigraph_rows"] == within["oxigraph_rows"] > 0


def test_rdflib_is_set_beside_oxigraph_on_the_largest_store_it_holds(bench):
    sizes = [{"n": n, "build": {"quads": 410 * n}} for n in (1000, 10_000, 100_000)]
    assert bench.fits_in_memory(sizes, 1_000_000) == 1000
    assert bench.fits_in_memory(sizes, 5_000_000) == 10_000
    assert bench.fits_in_memory(sizes, 100) is None
