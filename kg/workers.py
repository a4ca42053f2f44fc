"""Extraction spread over processes or a Dask cluster, written back as N-Quads shards.

The main process reads the sources (so document ids stay unique and in order) and
sends the documents out in batches; each batch is extracted where it lands and comes
back as one shard: the documents' named graphs in N-Quads, and their counts. The shards
come back in the order the batches went out, so the same input gives the same graph
whatever the number of workers. Only a bounded number of batches is in flight at once:
a large corpus streams through without being held in memory.

Three executors do the same work: in this process (``workers=1``), a pool of local
processes (``workers=N``), and a Dask distributed cluster (``scheduler="tcp://…"``).
With ``shard_dir``, a worker writes its shard to a file there (a folder every worker
and the client can reach) and sends back only the path, for a bulk loader or for the
client to load.
"""

from __future__ import annotations

import gc
import hashlib
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from cartkg.extract.records import Document, ExtractionSummary
from cartkg.ontology.owl import CK

from . import iris
from .build import OxTriple, document_terms
from .export import atomic_write
from .summary import CorpusCounts, document_counts

#: Documents per batch by default: enough to amortise the trip to a worker.
BATCH_SIZE = 64
#: Batches in flight per worker: keeps every worker busy while the main process writes.
IN_FLIGHT_PER_WORKER = 2


#: The triples that mark a document as complete in a store: written last, in a
#: transaction of their own, after the rest of the document's graph.
MARKERS = (ox.NamedNode(str(CK.sha256)), ox.NamedNode(str(CK.extractorVersion)))


@dataclass
class Shard:
    """One extracted batch: its documents' named graphs as N-Quads (``data``, or a file
    at ``path`` written by the worker), the documents' ids and sources, and their counts
    (``summary`` for the build's report, ``counts`` for the corpus summary).
    ``markers`` holds each document's :data:`MARKERS` triples, which ``data`` holds too."""

    index: int
    documents: list[tuple[str, str]]
    summary: ExtractionSummary = field(default_factory=ExtractionSummary)
    data: bytes | None = None
    path: str | None = None
    markers: bytes = b""
    quads: int = 0
    counts: CorpusCounts = field(default_factory=CorpusCounts)
    #: CPU seconds the worker spent on the batch, from the documents to the N-Quads
    #: (the batch's extraction, for the build's report).
    cpu_seconds: float = 0.0

    def nquads(self) -> bytes:
        """The shard's N-Quads, read from its file when the worker wrote one."""
        if self.data is not None:
            return self.data
        if self.path is None:
            raise ValueError(f"shard {self.index} holds no data")
        return Path(self.path).read_bytes()

    def body(self) -> memoryview:
        """The shard's N-Quads without the markers, which :func:`extract_batch` writes
        last (a view, not a copy, of what :meth:`nquads` returns)."""
        data = self.nquads()
        if not data.endswith(self.markers):
            raise ValueError(f"shard {self.index} does not end with its markers")
        return memoryview(data)[: len(data) - len(self.markers)]


_EXTRACTOR: Any = None


def _extractor() -> Any:
    """One extractor per process, built on first use (the spaCy pipeline takes a second)."""
    global _EXTRACTOR
    if _EXTRACTOR is None:
        from cartkg.extract.pipeline import Extractor

        _EXTRACTOR = Extractor()
        # The pipeline's hundred thousand objects live as long as the process: out of the
        # collector's sight, each collection costs less (about a tenth of a batch's time).
        gc.freeze()
    return _EXTRACTOR


def shard_name(documents: list[Document]) -> str:
    """A shard file's name, from its documents' ids: the same batch gets the same name."""
    digest = hashlib.sha256("\x1f".join(d.id for d in documents).encode("utf-8")).hexdigest()[:16]
    return f"shard-{digest}.nq"


def nquads_lines(triples: Iterable[OxTriple], graph: ox.NamedNode, markers: list[str]) -> Iterator[str]:
    """The triples as N-Quads lines in ``graph``; the :data:`MARKERS` lines go to
    ``markers`` instead. A pyoxigraph term's ``str`` is its N-Triples form, escapes
    included, so the lines are those ``pyoxigraph.serialize`` writes, at half the cost of
    making a ``Quad`` of each triple first."""
    tail = f" {graph} .\n"
    for s, p, o in triples:
        line = f"{s} {p} {o}{tail}"
        if p in MARKERS:
            markers.append(line)
        else:
            yield line


def extract_batch(index: int, documents: list[Document], shard_dir: str | None = None) -> Shard:
    """Extract a batch of documents into one shard; runs wherever the batch was sent."""
    extractor = _extractor()
    started = time.thread_time()  # this thread's: with workers=1 the writer thread runs beside it
    summary = ExtractionSummary()
    counts = CorpusCounts()
    body: list[str] = []
    marker_lines: list[str] = []
    for document in documents:
        extraction = extractor.extract(document)
        summary.add(extraction)
        triples = list(document_terms(extraction))
        counts.add(document_counts(triples))
        body.extend(nquads_lines(triples, ox.NamedNode(str(iris.document_graph(document.id))), marker_lines))
    # The markers go last, so that Shard.body() can cut them off without a scan.
    markers = "".join(marker_lines).encode("utf-8")
    data = "".join(body).encode("utf-8") + markers
    shard = Shard(index, [(d.id, d.source) for d in documents], summary, markers=markers,
                  quads=len(body) + len(marker_lines), counts=counts, cpu_seconds=time.thread_time() - started)
    if shard_dir is None:
        shard.data = data
    else:
        path = atomic_write(Path(shard_dir) / shard_name(documents), lambda tmp: tmp.write_bytes(data))
        shard.path = str(path)
    return shard


def batched(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    batch: list[Document] = []
    for document in documents:
        batch.append(document)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _in_order(submit: Callable[[int, list[Document]], Future], batches: Iterable[list[Document]],
              window: int, result: Callable[[Future], Shard]) -> Iterator[Shard]:
    """Submit batches with at most ``window`` in flight; yield their shards in order."""
    pending: deque[Future] = deque()
    for index, batch in enumerate(batches):
        pending.append(submit(index, batch))
        if len(pending) >= window:
            yield result(pending.popleft())
    while pending:
        yield result(pending.popleft())


def extract_shards(
    documents: Iterable[Document],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    batch_size: int = BATCH_SIZE,
    shard_dir: str | Path | None = None,
) -> Iterator[Shard]:
    """Extract documents in batches on ``workers`` local processes, or on the Dask
    cluster at ``scheduler``; yield the shards in the documents' order."""
    if batch_size < 1 or workers < 1:
        raise ValueError("the batch size and the number of workers are at least 1")
    directory = None if shard_dir is None else str(Path(shard_dir).resolve())
    if directory is not None:
        os.makedirs(directory, exist_ok=True)
    batches = batched(documents, batch_size)
    if scheduler is not None:
        yield from _on_dask(batches, scheduler, directory)
    elif workers == 1:
        for index, batch in enumerate(batches):
            yield extract_batch(index, batch, directory)
    else:
        import multiprocessing

        # forkserver: workers start from a clean process, not a copy of one that may hold
        # an open store and its threads.
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            yield from _in_order(lambda i, b: pool.submit(extract_batch, i, b, directory), batches,
                                 workers * IN_FLIGHT_PER_WORKER, lambda future: future.result())


def _on_dask(batches: Iterable[list[Document]], scheduler: str, directory: str | None) -> Iterator[Shard]:
    try:
        from distributed import Client
    except ImportError:
        raise RuntimeError("--scheduler needs Dask: pip install 'cartkg[distributed]'") from None
    with Client(scheduler, set_as_default=False) as client:
        window = max(1, sum(client.nthreads().values())) * IN_FLIGHT_PER_WORKER
        yield from _in_order(lambda i, b: client.submit(extract_batch, i, b, directory, pure=False), batches,
                             window, lambda future: future.result())
