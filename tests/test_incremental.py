"""Incremental builds into a persistent store: add, update, skip, and survive a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from cartkg.extract.pipeline import Extractor
from cartkg.extract.readers import read_sources
from cartkg.kg import incremental, iris
from cartkg.kg.build import document_triples
from cartkg.kg.export import to_oxigraph
from cartkg.kg.incremental import IncrementalStore, build_into

SENTENCES = [
    "Tisagenlecleucel targets CD19 and caused CRS in {n}% of patients.",
    "ICANS occurred after obecabtagene autoleucel in {n} children.",
    "CRS was treated with tocilizumab in {n} patients given brexucabtagene autoleucel.",
]


def _write_corpus(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        text = " ".join(s.format(n=i + 1) for s in SENTENCES)
        (folder / f"doc{i:02d}.txt").write_text(text + "\n", encoding="utf-8")
    return folder


def _graph(store: IncrementalStore, doc_id: str) -> set[str]:
    graph = ox.NamedNode(str(iris.document_graph(doc_id)))
    return {f"{q.subject} {q.predicate} {q.object}" for q in store.store.quads_for_pattern(None, None, None, graph)}


def _expected(folder: Path) -> dict[str, set[str]]:
    extractor = Extractor()
    return {
        doc.id: {f"{to_oxigraph(s)} {to_oxigraph(p)} {to_oxigraph(o)}" for s, p, o in document_triples(extractor.extract(doc))}
        for doc in read_sources([folder])
    }


def test_first_build_adds_and_second_skips(tmp_path):
    corpus = _write_corpus(tmp_path / "in", 3)
    first = build_into([corpus], tmp_path / "store")
    assert first.counts() == {"added": 3, "updated": 0, "unchanged": 0, "failed": 0}
    assert len(first.shared_graphs_written) == 2
    second = build_into([corpus], tmp_path / "store")
    assert second.counts() == {"added": 0, "updated": 0, "unchanged": 3, "failed": 0}
    assert second.shared_graphs_written == []
    # the build's account of its time: only the first extracted, loaded and compacted
    assert min(first.extraction_cpu_seconds, first.load_seconds, first.compact_seconds) > 0
    assert (second.extraction_cpu_seconds, second.load_seconds, second.compact_seconds) == (0, 0, 0)
    with IncrementalStore(tmp_path / "store") as store:
        assert store.documents() == ["doc00", "doc01", "doc02"]
        for doc_id, triples in _expected(corpus).items():
            assert _graph(store, doc_id) == triples


def test_adding_a_document_adds_only_its_statements(tmp_path):
    corpus = _write_corpus(tmp_path / "in", 2)
    build_into([corpus], tmp_path / "store")
    with IncrementalStore(tmp_path / "store") as store:
        before = {d: _graph(store, d) for d in store.documents()}
    (corpus / "new.txt").write_text("AUTO3 targets CD22 and CD19.\n", encoding="utf-8")
    summary = build_into([corpus], tmp_path / "store")
    assert summary.added == ["new"] and sorted(summary.unchanged) == ["doc00", "doc01"]
    with IncrementalStore(tmp_path / "store") as store:
        assert {d: _graph(store, d) for d in before} == before
        assert _graph(store, "new") == _expected(corpus)["new"]


def test_editing_a_document_removes_its_stale_facts(tmp_path):
    corpus = _write_corpus(tmp_path / "in", 2)
    build_into([corpus], tmp_path / "store")
    (corpus / "doc01.txt").write_text("Tisagenlecleucel caused HLH-like syndrome.\n", encoding="utf-8")
    summary = build_into([corpus], tmp_path / "store")
    assert summary.updated == ["doc01"] and summary.unchanged == ["doc00"]
    with IncrementalStore(tmp_path / "store") as store:
        stored = _graph(store, "doc01")
        assert stored == _expected(corpus)["doc01"]
        assert not any("/entity/icans>" in t for t in stored), "the retracted ICANS finding is gone"
        assert any("/entity/iec-hs>" in t for t in stored)


def test_a_new_extractor_version_reextracts(tmp_path, monkeypatch):
    corpus = _write_corpus(tmp_path / "in", 1)
    build_into([corpus], tmp_path / "store")
    monkeypatch.setattr(incremental, "EXTRACTOR_VERSION", "99.0.0")
    assert build_into([corpus], tmp_path / "store").updated == ["doc00"]


def test_unreadable_input_is_reported_and_the_rest_is_built(tmp_path):
    corpus = _write_corpus(tmp_path / "in", 1)
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    summary = build_into([corpus], tmp_path / "store")
    assert summary.added == ["doc00"]
    assert [e.message for e in summary.failed] == ["empty file"]


def test_a_killed_build_loses_nothing_and_a_rerun_finishes(tmp_path):
    corpus = _write_corpus(tmp_path / "in", 12)
    store_path = tmp_path / "store"
    command = [sys.executable, "-m", "cartkg.kg.cli", "build", str(corpus), "--into", str(store_path), "-v",
               "--batch-size", "1"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                               env=dict(os.environ, COLUMNS="200"))
    settled = 0
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("added "):
            settled += 1
        if settled == 3:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL

    expected = _expected(corpus)
    with IncrementalStore(store_path) as store:
        stored = store.documents()
        assert len(stored) >= 3
        for doc_id in stored:  # every graph is complete: none half-written
            assert _graph(store, doc_id) == expected[doc_id]
        assert not store.has_summary()  # dropped before the first document went in

    rerun = build_into([corpus], store_path)
    assert sorted(rerun.unchanged) == stored
    assert sorted(rerun.added + rerun.unchanged) == sorted(expected)
    with IncrementalStore(store_path) as store:
        assert {d: _graph(store, d) for d in store.documents()} == expected
        assert store.read_summary() == store.count_documents()
        assert store.read_summary().documents == 12


def test_a_graph_left_without_its_marker_is_dropped_and_loaded_again(tmp_path):
    """What a build killed inside the bulk load leaves: part of a graph, no marker."""
    corpus = _write_corpus(tmp_path / "in", 2)
    store_path = tmp_path / "store"
    build_into([corpus], store_path)
    expected = _expected(corpus)
    with IncrementalStore(store_path) as store:
        graph = ox.NamedNode(str(iris.document_graph("doc01")))
        doc = ox.NamedNode(str(iris.document("doc01")))
        store.store.remove(ox.Quad(doc, ox.NamedNode(str(incremental.CK.sha256)),
                                   next(store.store.quads_for_pattern(doc, ox.NamedNode(str(incremental.CK.sha256)),
                                                                      None, graph)).object, graph))
        half = list(store.store.quads_for_pattern(None, None, None, graph))[::2]
        store.store.remove_graph(graph)
        store.store.extend(half)
        store.store.add(ox.Quad(doc, ox.NamedNode("https://example.org/stale"), ox.Literal("x"), graph))
        assert store.documents() == ["doc00"] and store.document_state("doc01") is None
    rerun = build_into([corpus], store_path)
    assert rerun.added == ["doc01"] and rerun.unchanged == ["doc00"]
    with IncrementalStore(store_path) as store:
        assert {d: _graph(store, d) for d in store.documents()} == expected
        # The summary had counted the graph whole: it is counted anew, not patched.
        assert store.read_summary() == store.count_documents()


def test_cli_reports_counts_and_queries_the_store(tmp_path):
    from typer.testing import CliRunner

    from cartkg.kg.cli import app

    corpus = _write_corpus(tmp_path / "in", 2)
    runner = CliRunner()
    built = runner.invoke(app, ["build", str(corpus), "--into", str(tmp_path / "store")])
    assert built.exit_code == 0 and "added" in built.stdout
    answer = runner.invoke(app, ["query", "product-antigens", "-g", str(tmp_path / "store"), "-f", "csv"])
    assert answer.exit_code == 0
    assert "tisagenlecleucel,https://w3id.org/cartkg/entity/cd19,CD19" in answer.stdout
    both = runner.invoke(app, ["build", str(corpus), "--into", str(tmp_path / "s"), "-o", str(tmp_path / "g.ttl")])
    assert both.exit_code == 2 and "either --output FILE or --into STORE" in both.stderr


def test_a_file_is_not_a_store(tmp_path):
    target = tmp_path / "store"
    target.write_text("not a store", encoding="utf-8")
    with pytest.raises(NotADirectoryError):
        IncrementalStore(target)
