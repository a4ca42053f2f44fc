"""The corpus summary: the counts it holds are those a scan of the documents gives, and
every build that changes the documents keeps it so."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Literal

from cartkg.kg.build import build_graph
from cartkg.kg.incremental import IncrementalStore, build_into
from cartkg.kg.store import load_graph, open_store_folder
from cartkg.kg.build import document_terms
from cartkg.kg.export import to_oxigraph
from cartkg.kg.summary import SUMMARY_GRAPH, CorpusCounts, document_counts, read_summary, summary_triples
from cartkg.queries.library import QueryError, get_query, has_summary, run_query

SCANS = Path(__file__).parent / "data" / "scan_queries"
SUMMARY_QUERIES = sorted(path.stem for path in SCANS.glob("*.rq"))
CD19_PAIR = ("CD19", "tisagenlecleucel")


def _same_as_scans(graph) -> int:
    """Assert that each summary query answers as its scan does; the rows compared."""
    compared = 0
    for name in SUMMARY_QUERIES:
        for parameters in ({}, {"type": Literal("Antigen")}) if name == "entities-by-type" else ({},):
            scanned = run_query(graph, get_query(SCANS / f"{name}.rq"), parameters)
            summarized = run_query(graph, name, parameters)
            assert summarized.variables == scanned.variables
            assert summarized.rows == scanned.rows, name
            compared += len(scanned)
    return compared


def _write(folder: Path, texts: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    return folder


def _co_mentions(graph) -> dict[tuple[str, str], int]:
    return {(str(a), str(b)): int(n) for a, b, n in run_query(graph, "co-mentions").rows}


def _summary_quads(store_path: Path) -> list[str]:
    with IncrementalStore(store_path) as store:
        graph = ox.NamedNode(str(SUMMARY_GRAPH))
        return sorted(str(q) for q in store.store.quads_for_pattern(None, None, None, graph))


def test_the_summary_queries_read_the_summary():
    for name in SUMMARY_QUERIES:
        assert get_query(name).reads_summary
        assert not get_query(SCANS / f"{name}.rq").reads_summary
    assert not get_query("approvals").reads_summary


@pytest.mark.parametrize("store", ["oxigraph", "memory"])
def test_summary_answers_as_the_scans_on_the_bundled_corpus(graph_file, store):
    assert _same_as_scans(load_graph(graph_file, store=store)) > 100


def test_summary_answers_as_the_scans_on_generated_documents(tmp_path, bench_script):
    corpus = bench_script("corpus")
    corpus.write_corpus(tmp_path / "in", 150, seed=3)
    build_into([tmp_path / "in"], tmp_path / "store", workers=2, batch_size=32)
    assert _same_as_scans(open_store_folder(tmp_path / "store")) > 300


def test_counts_follow_added_edited_and_unchanged_documents(tmp_path):
    both = "Tisagenlecleucel targets CD19. Tisagenlecleucel caused CRS."
    neither = "Tocilizumab was given for CRS."
    corpus = _write(tmp_path / "in", {"a": both, "b": both})
    store = tmp_path / "store"
    build_into([corpus], store)
    assert _co_mentions(open_store_folder(store))[CD19_PAIR] == 2

    _write(corpus, {"c": both})
    build_into([corpus], store)
    assert _co_mentions(open_store_folder(store))[CD19_PAIR] == 3

    _write(corpus, {"a": neither, "b": neither})
    build_into([corpus], store)
    graph = open_store_folder(store)
    assert CD19_PAIR not in _co_mentions(graph)  # one sentence left: under the query's two
    documents = graph.query("SELECT ?n WHERE { ?s a <https://w3id.org/cartkg/ontology/CorpusSummary> ; "
                            "<https://w3id.org/cartkg/ontology/documentCount> ?n }")
    assert [int(row[0]) for row in documents] == [3]

    # The same documents built from scratch give the same summary, quad for quad.
    fresh = tmp_path / "fresh"
    build_into([corpus], fresh)
    assert _summary_quads(store) == _summary_quads(fresh)


def test_builds_count_as_they_go_without_reading_the_graphs_back(tmp_path, monkeypatch):
    """A first build starts from zero and an incremental one from the stored summary:
    neither reads every stored graph again, which on 100,000 documents takes minutes."""
    def refuse(self):
        raise AssertionError("counted every stored document")

    monkeypatch.setattr(IncrementalStore, "count_documents", refuse)
    corpus = _write(tmp_path / "in", {"a": "Tisagenlecleucel targets CD19.", "b": "Tisagenlecleucel caused CRS."})
    build_into([corpus], tmp_path / "store")
    _write(corpus, {"b": "Tocilizumab was given for CRS.", "c": "Obecabtagene autoleucel targets CD19."})
    update = build_into([corpus], tmp_path / "store")
    assert update.counts() == {"added": 1, "updated": 1, "unchanged": 1, "failed": 0}
    monkeypatch.undo()
    with IncrementalStore(tmp_path / "store") as store:
        assert store.read_summary() == store.count_documents()


def test_a_store_left_without_its_summary_gets_one_from_the_next_build(tmp_path):
    corpus = _write(tmp_path / "in", {"a": "Tisagenlecleucel targets CD19 in CD19-positive leukemia."})
    store_path = tmp_path / "store"
    build_into([corpus], store_path)
    expected = _summary_quads(store_path)
    with IncrementalStore(store_path) as store:
        store.drop_summary()
        assert not store.has_summary()
    graph = open_store_folder(store_path)
    assert not has_summary(graph)
    with pytest.raises(QueryError, match="co-mentions: the graph has no corpus summary"):
        run_query(graph, "co-mentions")
    del graph

    rerun = build_into([corpus], store_path)
    assert rerun.unchanged == ["a"]
    assert _summary_quads(store_path) == expected


def _dataset_summary(dataset) -> list[str]:
    return sorted(f"{to_oxigraph(s)} {to_oxigraph(p)} {to_oxigraph(o)}" for s, p, o in dataset.graph(SUMMARY_GRAPH))


def test_every_build_path_writes_the_same_summary(corpus_dir, built, tmp_path):
    """In memory, with workers, into a store, and counted anew from the stored graphs."""
    expected = _dataset_summary(built.dataset)
    assert len(expected) > 100
    assert _dataset_summary(build_graph([corpus_dir], workers=2).dataset) == expected
    build_into([corpus_dir], tmp_path / "store")
    assert [line.removesuffix(f" <{SUMMARY_GRAPH}>") for line in _summary_quads(tmp_path / "store")] == expected
    with IncrementalStore(tmp_path / "store") as store:
        assert store.count_documents() == store.read_summary()


def test_counts_add_and_subtract_back_to_nothing(extractions):
    total = CorpusCounts()
    each = [document_counts(document_terms(extraction)) for extraction in extractions]
    for counts in each:
        total.add(counts)
    assert total.documents == len(extractions) and total.pair_sentences
    assert read_summary(summary_triples(total)) == total
    for counts in each:
        total.subtract(counts)
    assert total == CorpusCounts()


def test_a_query_header_names_only_the_corpus_summary(tmp_path):
    query = tmp_path / "q.rq"
    query.write_text("# question: q?\n# reads: yesterday's cache\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    with pytest.raises(QueryError, match="cannot read 'reads: yesterday's cache'"):
        get_query(query)
