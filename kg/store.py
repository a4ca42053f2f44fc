"""Stores: where a built graph lives while it is queried.

The default is rdflib over an embedded Oxigraph store (oxrdflib), whose SPARQL engine
answers queries natively; rdflib's own memory store stays selectable for comparison.
Queries run over the union of the named graphs, so the same SPARQL text works here and
on a remote endpoint whose default graph is the union.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import Dataset

from cartkg.ontology.owl import ontology_graph

from . import iris

#: Store names accepted by :func:`open_dataset`, and the rdflib plugin of each.
STORES = {"oxigraph": "Oxigraph", "memory": "default"}

#: File suffixes and the rdflib format of each.
SUFFIX_FORMATS = {
    ".ttl": "turtle",
    ".nt": "nt",
    ".nq": "nquads",
    ".trig": "trig",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
}


class StoreError(ValueError):
    """A graph that cannot be opened; the message names the file."""


def open_dataset(store: str = "oxigraph") -> Dataset:
    """An empty dataset on the named store, querying the union of its graphs."""
    if store not in STORES:
        raise StoreError(f"unknown store {store!r}; choose one of {', '.join(STORES)}")
    dataset = Dataset(store=STORES[store], default_union=True)
    for prefix, namespace in iris.PREFIXES.items():
        dataset.bind(prefix, namespace)
    return dataset


def guess_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        raise StoreError(f"{path}: cannot tell the RDF format from the suffix {suffix!r}")
    return SUFFIX_FORMATS[suffix]


def load_graph(path: str | Path, *, store: str = "oxigraph", with_ontology: bool = True) -> Dataset:
    """Load a built graph file (any RDF format) into a store, with the ontology beside it."""
    path = Path(path)
    if path.is_dir():
        return open_store_folder(path)
    if not path.is_file():
        raise StoreError(f"{path}: graph file not found (run 'cartkg build' first)")
    fmt = guess_format(path)
    dataset = open_dataset(store)
    try:
        if fmt in ("nquads", "trig"):
            dataset.parse(path, format=fmt)
        else:
            # Triples without a graph name go into a named graph of their own, so that
            # the union default graph sees them on every store.
            dataset.graph(iris.GRAPH["loaded"]).parse(path, format=fmt)
    except Exception as exc:  # rdflib raises many parser-specific types
        raise StoreError(f"{path}: not valid {fmt} ({type(exc).__name__}: {exc})".splitlines()[0]) from None
    if with_ontology:
        target = dataset.graph(iris.ONTOLOGY_GRAPH)
        target.addN((s, p, o, target) for s, p, o in ontology_graph())
    return dataset


def open_store_folder(path: str | Path) -> Dataset:
    """A persistent store written by ``cartkg build --into``, opened read-only (it holds
    the ontology graph already)."""
    import pyoxigraph as ox
    from oxrdflib import OxigraphStore

    try:
        store = ox.Store.read_only(str(path))
    except OSError as exc:
        raise StoreError(f"{path}: not an Oxigraph store ({exc})".splitlines()[0]) from None
    dataset = Dataset(store=OxigraphStore(store=store), default_union=True)
    for prefix, namespace in iris.PREFIXES.items():
        dataset.bind(prefix, namespace)
    return dataset
