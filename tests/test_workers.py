"""Extraction on several processes and on a local Dask cluster gives the graph that one
process gives; batches stream through with a bounded number in flight."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from cartkg.extract.readers import read_sources
from cartkg.extract.records import Document
from cartkg.kg import iris, workers
from cartkg.kg.build import build_graph, document_terms
from cartkg.kg.cli import app
from cartkg.kg.incremental import IncrementalStore, build_into
from cartkg.kg.loss import quad_set

SENTENCES = [
    "Tisagenlecleucel targets CD19 and caused CRS in {n}% of patients.",
    "ICANS occurred after obecabtagene autoleucel in {n} children.",
    "CRS was not observed with brexucabtagene autoleucel in cohort {n}.",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, corpus_dir) -> Path:
    """The bundled corpus and 14 short documents beside it, in one folder."""
    folder = tmp_path_factory.mktemp("corpus")
    for path in sorted(corpus_dir.glob("*.md")):
        (folder / path.name).write_bytes(path.read_bytes())
    for i in range(14):
        (folder / f"short{i:02d}.txt").write_text(" ".join(s.format(n=i + 2) for s in SENTENCES) + "\n",
                                                  encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")  # unreadable: reported, the rest goes on
    return folder


def _store_quads(path: Path) -> set[str]:
    """Every quad but the ontology graph's, whose blank nodes are named anew at each parse."""
    with IncrementalStore(path) as store:
        return {str(q) for q in store.quads() if not str(q.graph_name).endswith("/graph/ontology>")}


@pytest.fixture(scope="module")
def one_process_store(corpus, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("one") / "store"
    summary = build_into([corpus], path)
    assert len(summary.added) > 14 and len(summary.failed) == 1
    return path


def test_shards_keep_the_documents_order_whatever_the_batch_size(corpus):
    documents = [d for d in read_sources([corpus]) if isinstance(d, Document)]
    ids = [d.id for d in documents]
    for size in (1, 4, 64):
        shards = list(workers.extract_shards(documents, batch_size=size))
        assert [i for s in shards for i, _ in s.documents] == ids
        assert [s.index for s in shards] == list(range(len(shards)))
    whole = b"".join(s.nquads() for s in workers.extract_shards(documents, batch_size=64))
    pieces = b"".join(s.nquads() for s in workers.extract_shards(documents, batch_size=3))
    assert sorted(whole.splitlines()) == sorted(pieces.splitlines())


def test_two_processes_build_the_same_store(corpus, one_process_store, tmp_path):
    summary = build_into([corpus], tmp_path / "store", workers=2, batch_size=4)
    assert len(summary.failed) == 1
    assert _store_quads(tmp_path / "store") == _store_quads(one_process_store)


@pytest.mark.parametrize("load_quads", [1, 10**9])
def test_loads_of_any_size_build_the_same_store(corpus, one_process_store, tmp_path, monkeypatch, load_quads):
    """Shards loaded one at a time, or in loads that grow with the build, make the store
    that a build of one load makes; documents settle in their order either way."""
    loads: list[list[int]] = []
    load_shards = IncrementalStore.load_shards

    def counted(self, shards, replacing=()):
        loads.append([s.quads for s in shards])
        load_shards(self, shards, replacing)

    monkeypatch.setattr(IncrementalStore, "load_shards", counted)
    settled: list[str] = []
    summary = build_into([corpus], tmp_path / "store", batch_size=2, load_quads=load_quads,
                         on_document=lambda outcome, name: settled.append(name) if outcome == "added" else None)
    assert _store_quads(tmp_path / "store") == _store_quads(one_process_store)
    assert settled == summary.added == [d.id for d in read_sources([corpus]) if isinstance(d, Document)]
    if load_quads == 1:
        assert all(len(load) == 1 for load in loads) and len(loads) == len(settled) // 2 + len(settled) % 2
    else:  # each load as large as all before it, the last excepted
        assert len(loads) < len(settled) // 2
        assert all(sum(load) >= sum(map(sum, loads[:i])) for i, load in enumerate(loads[:-1]))


def test_two_processes_build_the_same_graph_file(corpus):
    single = build_graph([corpus])
    parallel = build_graph([corpus], workers=2, batch_size=5)
    assert quad_set(parallel.dataset) == quad_set(single.dataset)
    assert parallel.summary.documents == single.summary.documents
    assert parallel.summary.relations_by_predicate == single.summary.relations_by_predicate
    assert [str(e) for e in parallel.errors] == [str(e) for e in single.errors]


def test_an_update_with_workers_replaces_only_the_changed_documents(corpus, one_process_store, tmp_path):
    store = tmp_path / "store"
    build_into([corpus], store, batch_size=8)
    changed = corpus.parent / "changed"
    changed.mkdir()
    for path in corpus.iterdir():
        (changed / path.name).write_bytes(path.read_bytes())
    (changed / "short03.txt").write_text("Tisagenlecleucel caused HLH-like syndrome.\n", encoding="utf-8")
    summary = build_into([changed], store, workers=2, batch_size=2)
    assert summary.updated == ["short03"] and len(summary.unchanged) > 14
    short03 = [q for q in _store_quads(store) if q.endswith("/graph/doc/short03>")]
    assert any("hlh" in q.lower() for q in short03)
    assert not any("ontology/targets>" in q for q in short03)  # the old text's facts are gone


def test_the_in_flight_window_is_bounded():
    """No more batches are taken from the input than the window allows before the first
    shard is handed back: a large corpus is never read whole into memory."""
    taken = []

    def batches():
        for i in range(10):
            taken.append(i)
            yield [i]

    def submit(index, batch):
        future: Future = Future()
        future.set_result(workers.Shard(index, [(str(batch[0]), "")]))
        return future

    stream = workers._in_order(submit, batches(), 3, lambda f: f.result())
    first = next(stream)
    assert first.index == 0 and len(taken) == 3
    assert [s.index for s in [first, *stream]] == list(range(10))


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        list(workers.extract_shards([], workers=0))
    with pytest.raises(ValueError, match="at least 1 quad"):
        build_into([], tmp_path / "store", load_quads=0)
    assert not (tmp_path / "store").exists()  # refused before the store is opened


@pytest.fixture(scope="module")
def dask_cluster():
    """A local Dask cluster of two single-threaded worker processes on 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=40)
    try:
        yield cluster
    finally:
        cluster.close()


def test_a_dask_cluster_builds_the_same_store(corpus, one_process_store, dask_cluster, tmp_path):
    address = dask_cluster.scheduler_address
    assert address.startswith("tcp://127.0.0.1:")
    shards = tmp_path / "shards"
    result = CliRunner().invoke(app, ["build", str(corpus), "--into", str(tmp_path / "store"), "--scheduler", address,
                                      "--batch-size", "4", "--shards", str(shards)])
    assert result.exit_code == 1, result.output  # the empty file is reported; the rest is built
    assert "empty.txt" in result.output
    assert _store_quads(tmp_path / "store") == _store_quads(one_process_store)
    written = sorted(shards.glob("shard-*.nq"))
    assert len(written) == -(-(len(list(corpus.iterdir())) - 1) // 4)
    for path in written:  # every shard is N-Quads whose graphs are documents
        graphs = {q.graph_name.value for q in ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS)}
        assert graphs and all("/graph/doc/" in g for g in graphs)


def test_a_dask_cluster_builds_the_same_graph_file(corpus, dask_cluster):
    single = build_graph([corpus])
    on_dask = build_graph([corpus], scheduler=dask_cluster.scheduler_address, batch_size=6)
    assert quad_set(on_dask.dataset) == quad_set(single.dataset)


def test_an_unreachable_scheduler_is_one_clear_error(corpus, tmp_path):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        result = CliRunner().invoke(app, ["build", str(corpus), "-o", str(tmp_path / "g.ttl"),
                                          "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert result.exit_code == 2
    assert "the workers failed" in result.output
    assert not (tmp_path / "g.ttl").exists()


def test_shards_hold_what_pyoxigraph_would_serialize(corpus, tmp_path):
    """The shard's lines are written from the terms' N-Triples forms; they are byte for
    byte what pyoxigraph's serializer writes, escapes included."""
    odd = tmp_path / "odd.txt"
    odd.write_text('Tisagenlecleucel ("Kymriah", a back\\slash\tand tab) targets CD19\r\nin ≥ 50 % of '
                   "children — café 🙂.\n", encoding="utf-8")
    documents = [d for d in read_sources([corpus, odd]) if isinstance(d, Document)]
    shards = list(workers.extract_shards(documents, batch_size=8))
    extractor = workers._extractor()
    quads = [ox.Quad(s, p, o, ox.NamedNode(str(iris.document_graph(d.id))))
             for d in documents for s, p, o in document_terms(extractor.extract(d))]
    markers = [q for q in quads if q.predicate in workers.MARKERS]
    assert len(markers) == 2 * len(documents)
    expected = ox.serialize([q for q in quads if q not in markers], format=ox.RdfFormat.N_QUADS)
    assert b"".join(s.body() for s in shards) == expected
    assert b"".join(s.markers for s in shards) == ox.serialize(markers, format=ox.RdfFormat.N_QUADS)
    assert sum(s.quads for s in shards) == len(quads)
    assert "\\\"Kymriah\\\"" in expected.decode("utf-8") and "🙂" in expected.decode("utf-8")
