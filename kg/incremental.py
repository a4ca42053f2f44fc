"""Incremental builds into a persistent Oxigraph store: new documents are added,
changed ones re-extracted, unchanged ones skipped.

Each document lives in its own named graph, with its content hash and the extractor
version on the document node. Documents are extracted in batches (on several processes
or a Dask cluster if asked, see :mod:`cartkg.kg.workers`). The batches are written with
Oxigraph's bulk loader after the stored graphs of the documents they replace are
dropped, and the hash and version triples, the document's commit marker, are added
last in a transaction of their own. The loads run on a writer thread, a few shards at
a time, while the main thread reads on and gathers the next shards. A document
without its marker is not stored as far as the build is concerned: a build killed
mid-way leaves every marked graph complete, and running the build again drops any
unmarked graph and finishes the job.
The lexicon and the ontology each live in one shared graph too, replaced in one SPARQL
update when their content changes, so entity nodes are never duplicated across
documents. The corpus summary (see :mod:`cartkg.kg.summary`) is dropped before the first
document changes and written again at the end, its counts moved by those of the graphs
replaced and added, so a store has an up-to-date summary or none; a build that finds
none counts it from every stored document.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import pyoxigraph as ox
from rdflib import Literal, URIRef

from cartkg.extract.pipeline import EXTRACTOR_VERSION
from cartkg.extract.readers import read_sources
from cartkg.extract.records import Document, ReadError
from cartkg.ontology.lexicon import Lexicon, bundled_lexicon
from cartkg.ontology.owl import CK, ontology_graph, ontology_text

from . import iris
from .build import Triple, vocabulary_triples
from .export import to_oxigraph
from .summary import COUNTED_PATTERNS, SUMMARY_GRAPH, CorpusCounts, document_counts, read_summary, summary_triples
from .workers import BATCH_SIZE, Shard, extract_shards

_SUMMARY = ox.NamedNode(str(SUMMARY_GRAPH))
_DOC_GRAPHS = f"{iris.GRAPH}doc/"  # the prefix of the documents' graphs

#: Quads in a full bulk load: the writer gathers whole shards until they hold as many
#: (fewer at the start of a build, see :func:`build_into`). Each load lands in the store
#: as new files that overlap everything stored, and RocksDB merges them in by rewriting
#: what they overlap, so the fewer and larger the loads, the less of the store is
#: rewritten. Large loads cost memory: the bulk loader holds a load's terms while it
#: sorts them. Measured in the README's build benchmark.
LOAD_QUADS = 400_000

#: Loads handed to the writer thread and not yet done, at most: enough to keep it busy
#: while the next one is gathered, few enough to bound the memory they hold.
WRITES_IN_FLIGHT = 1

#: Outcomes of one document, in the order the summary lists them.
OUTCOMES = ("added", "updated", "unchanged", "failed")


@dataclass
class UpdateSummary:
    """What an incremental build did, document by document."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[ReadError] = field(default_factory=list)
    #: Shared graphs (lexicon, ontology) that were written because their content changed.
    shared_graphs_written: list[str] = field(default_factory=list)
    #: Where the time went: CPU seconds of extraction (summed over the workers), seconds
    #: of the writer loading shards, and of the compaction at the end.
    extraction_cpu_seconds: float = 0.0
    load_seconds: float = 0.0
    compact_seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in OUTCOMES}


def replace_graph_update(graph: URIRef, triples: Iterable[Triple]) -> str:
    """One SPARQL update that empties a named graph and fills it with ``triples``."""
    lines = sorted({f"{to_oxigraph(s)} {to_oxigraph(p)} {to_oxigraph(o)} ." for s, p, o in triples})
    body = "\n".join(lines)
    return f"DROP SILENT GRAPH <{graph}> ;\nINSERT DATA {{ GRAPH <{graph}> {{\n{body}\n}} }}"


def content_hash(triples: Iterable[Triple]) -> str:
    """A hash of a set of triples, independent of their order."""
    lines = sorted({f"{to_oxigraph(s)} {to_oxigraph(p)} {to_oxigraph(o)}" for s, p, o in triples})
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


class IncrementalStore:
    """A persistent Oxigraph store that holds built documents by named graph."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise NotADirectoryError(f"{self.path}: a store is a folder, and this is a file")
        self.store = ox.Store(str(self.path))

    def close(self) -> None:
        self.store.flush()
        del self.store

    def __enter__(self) -> IncrementalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _value(self, graph: URIRef, subject: URIRef, predicate: URIRef) -> str | None:
        found = list(self.store.quads_for_pattern(
            ox.NamedNode(str(subject)), ox.NamedNode(str(predicate)), None, ox.NamedNode(str(graph))))
        return found[0].object.value if found else None

    def document_state(self, doc_id: str) -> tuple[str, str] | None:
        """The (content hash, extractor version) a document was built with, if stored."""
        graph, node = iris.document_graph(doc_id), iris.document(doc_id)
        sha = self._value(graph, node, CK.sha256)
        version = self._value(graph, node, CK.extractorVersion)
        return (sha, version) if sha is not None and version is not None else None

    def replace_graph(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        """Atomically replace the content of a named graph."""
        self.store.update(replace_graph_update(graph, triples))

    def ensure_shared_graph(self, graph: URIRef, triples: list[Triple], digest: str | None = None) -> bool:
        """Write a shared graph (with its content hash) unless the stored one matches;
        True when it was written. ``digest`` stands for the content when the triples
        hold blank nodes, whose labels change from one parse to the next."""
        digest = digest if digest is not None else content_hash(triples)
        if self._value(graph, graph, CK.contentHash) == digest:
            return False
        self.replace_graph(graph, [*triples, (graph, CK.contentHash, Literal(digest))])
        return True

    def load_shards(self, shards: Sequence[Shard], replacing: Iterable[str] = ()) -> None:
        """Load shards of document graphs in one go: drop the graphs they replace,
        bulk-load them without the documents' markers, then add the markers in one
        transaction.

        Oxigraph's bulk loader is several times faster than a transactional load but
        not atomic; the markers make up for it. A document counts as stored (see
        :meth:`document_state` and :meth:`documents`) only once its markers are in,
        and a build stopped before that leaves a graph without them, which the next
        build drops and loads again."""
        drops = [f"DROP SILENT GRAPH <{iris.document_graph(doc_id)}>" for doc_id in replacing]
        if drops:
            self.store.update(" ;\n".join(drops))
        self.store.bulk_load(b"".join(shard.body() for shard in shards), format=ox.RdfFormat.N_QUADS)
        self.store.load(b"".join(shard.markers for shard in shards), format=ox.RdfFormat.N_QUADS)

    def has_summary(self) -> bool:
        """Whether the corpus summary is stored (a build that changes documents drops it
        first and writes it last)."""
        return self.store.contains_named_graph(_SUMMARY)

    def drop_summary(self) -> None:
        if self.has_summary():
            self.store.remove_graph(_SUMMARY)

    def read_summary(self) -> CorpusCounts | None:
        """The counts of the stored summary; None when there is none."""
        if not self.has_summary():
            return None
        return read_summary((q.subject, q.predicate, q.object)
                            for q in self.store.quads_for_pattern(None, None, None, _SUMMARY))

    def write_summary(self, counts: CorpusCounts) -> None:
        """Replace the stored summary with the one of ``counts``."""
        self.drop_summary()
        self.store.extend(ox.Quad(s, p, o, _SUMMARY) for s, p, o in summary_triples(counts))

    def document_counts(self, doc_id: str) -> CorpusCounts:
        """The summary counts of one stored document's graph."""
        graph = ox.NamedNode(str(iris.document_graph(doc_id)))
        return document_counts(
            (q.subject, q.predicate, q.object)
            for predicate, obj in COUNTED_PATTERNS
            for q in self.store.quads_for_pattern(None, ox.NamedNode(predicate),
                                                  None if obj is None else ox.NamedNode(obj), graph))

    def count_documents(self) -> CorpusCounts:
        """The summary counts of every stored document, read from their graphs."""
        counts = CorpusCounts()
        for doc_id in self.documents():
            counts.add(self.document_counts(doc_id))
        return counts

    def compact(self) -> None:
        """Merge the files each bulk load leaves behind: queries on a store just built
        read a few large files instead of many small ones, about three times faster on
        10,000 documents, for a few seconds' work at the end of the build."""
        self.store.optimize()

    def has_graph(self, doc_id: str) -> bool:
        """Whether any of a document's graph is stored, complete or not."""
        return self.store.contains_named_graph(ox.NamedNode(str(iris.document_graph(doc_id))))

    def holds_documents(self) -> bool:
        """Whether any document graph is stored, complete or not."""
        return any(isinstance(graph, ox.NamedNode) and graph.value.startswith(_DOC_GRAPHS)
                   for graph in self.store.named_graphs())

    def documents(self) -> list[str]:
        """Ids of the stored documents: those complete, with their markers."""
        found = []
        for graph in self.store.named_graphs():
            if isinstance(graph, ox.NamedNode) and graph.value.startswith(_DOC_GRAPHS):
                doc_id = unquote(graph.value.removeprefix(_DOC_GRAPHS))
                if self.document_state(doc_id) is not None:
                    found.append(doc_id)
        return sorted(found)

    def quads(self) -> Iterator[ox.Quad]:
        return self.store.quads_for_pattern(None, None, None, None)


def build_into(
    sources: Iterable[str | Path],
    store_path: str | Path,
    *,
    lexicon: Lexicon | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    batch_size: int = BATCH_SIZE,
    shard_dir: str | Path | None = None,
    load_quads: int = LOAD_QUADS,
    on_document: Callable[[str, str], None] | None = None,
) -> UpdateSummary:
    """Bring a persistent store up to date with ``sources``.

    New and changed documents are extracted in batches, here or on ``workers`` local
    processes or the Dask cluster at ``scheduler`` (see :mod:`cartkg.kg.workers`), and
    the shards are loaded a few at a time (growing to ``load_quads`` quads a load, see
    :data:`LOAD_QUADS`) by :meth:`IncrementalStore.load_shards`. ``on_document(outcome,
    name)`` is called once a document is settled (its commit marker written, or found
    unchanged or unreadable), with ``outcome`` one of :data:`OUTCOMES`.
    """
    if load_quads < 1:
        raise ValueError("a load holds at least 1 quad (load_quads)")
    lexicon = lexicon if lexicon is not None else bundled_lexicon()
    summary = UpdateSummary()

    def settle(outcome: str, name: str) -> None:
        getattr(summary, outcome).append(name)
        if on_document is not None:
            on_document(outcome, name)

    with IncrementalStore(store_path) as store:
        ontology_digest = hashlib.sha256(ontology_text().encode("utf-8")).hexdigest()
        shared = {iris.ENTITIES_GRAPH: (list(vocabulary_triples(lexicon)), None),
                  iris.ONTOLOGY_GRAPH: (list(ontology_graph()), ontology_digest)}
        for graph, (triples, digest) in shared.items():
            if store.ensure_shared_graph(graph, triples, digest):
                summary.shared_graphs_written.append(str(graph))
        stored: dict[str, bool] = {}  # documents sent for extraction: was each stored before?
        replace: dict[str, bool] = {}  # and is there a graph of it to drop, complete or not?

        def to_extract() -> Iterator[Document]:
            for item in read_sources(sources):
                if isinstance(item, ReadError):
                    summary.failed.append(item)
                    if on_document is not None:
                        on_document("failed", item.source)
                    continue
                state = store.document_state(item.id)
                if state == (item.sha256, EXTRACTOR_VERSION):
                    settle("unchanged", item.id)
                    continue
                stored[item.id] = state is not None
                replace[item.id] = state is not None or store.has_graph(item.id)  # or left incomplete
                yield item

        # The corpus summary's counts, kept up to date shard by shard; None when a store
        # with documents has no summary, which is then counted from every document at
        # the end (an empty store's counts are all zero).
        totals = store.read_summary()
        if totals is None and not store.holds_documents():
            totals = CorpusCounts()
        written = 0

        def write(shards: list[Shard]) -> None:
            """Load shards and move the summary's counts; runs on the writer thread, one
            load after the other in the documents' order."""
            nonlocal totals, written
            if not written:
                # The summary would be stale from the first change on: a build stopped
                # before its end leaves none, and the next build counts it anew.
                store.drop_summary()
            written += 1
            replacing = [doc_id for shard in shards for doc_id, _ in shard.documents if replace.pop(doc_id)]
            for doc_id in replacing:
                if totals is not None and stored[doc_id]:
                    totals.subtract(store.document_counts(doc_id))
                elif totals is not None:
                    totals = None  # a graph left incomplete: what the summary counted of it is unknown
            started = time.perf_counter()
            store.load_shards(shards, replacing=replacing)
            summary.load_seconds += time.perf_counter() - started
            if totals is not None:
                for shard in shards:
                    totals.add(shard.counts)

        def settle_load(done: Future[None], shards: list[Shard]) -> None:
            done.result()  # a failed write stops the build here
            for shard in shards:
                summary.extraction_cpu_seconds += shard.cpu_seconds
                for doc_id, _ in shard.documents:
                    settle("updated" if stored.pop(doc_id) else "added", doc_id)

        # Oxigraph's bulk loader lets go of the GIL, so a writer thread loads a few shards
        # while this one reads the sources and gathers the next from the workers. The
        # loads grow with the build up to load_quads quads, the first one shard and each
        # next as large as all before it: a small build still settles its documents
        # often, and a large one soon loads in bulk.
        pending: deque[tuple[Future[None], list[Shard]]] = deque()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cartkg-writer") as writer:
            try:
                group: list[Shard] = []
                size = submitted = 0
                for shard in extract_shards(to_extract(), workers=workers, scheduler=scheduler,
                                            batch_size=batch_size, shard_dir=shard_dir):
                    group.append(shard)
                    size += shard.quads
                    if size >= min(load_quads, submitted):
                        pending.append((writer.submit(write, group), group))
                        group, submitted, size = [], submitted + size, 0
                    while pending and (len(pending) > WRITES_IN_FLIGHT or pending[0][0].done()):
                        settle_load(*pending.popleft())
                if group:
                    pending.append((writer.submit(write, group), group))
                while pending:
                    settle_load(*pending.popleft())
            except BaseException:
                writer.shutdown(wait=True, cancel_futures=True)  # the load under way finishes
                raise
        changed = bool(summary.added or summary.updated)
        if changed or not store.has_summary():
            store.write_summary(totals if totals is not None else store.count_documents())
        if changed:
            started = time.perf_counter()
            store.compact()
            summary.compact_seconds = time.perf_counter() - started
    return summary
