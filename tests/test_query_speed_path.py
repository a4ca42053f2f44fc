"""run_query asks pyoxigraph directly on a union-default Oxigraph dataset, skipping
oxrdflib's per-row conversion; its answers must be those of ``graph.query``, term for
term (datatypes included)."""

import pytest
from oxrdflib import OxigraphStore
from rdflib import BNode, Dataset, Literal, URIRef

from cartkg.kg import iris
from cartkg.kg.store import load_graph
from cartkg.queries.library import (QueryError, _union_oxigraph, bind_values, get_query, parse_query,
                                    query_names, run_query)


def _terms(rows):
    """Rows as tuples of (kind, text, datatype, language), so that a literal's datatype
    and language count in the comparison."""
    return [tuple(None if t is None else (type(t).__name__, str(t), getattr(t, "datatype", None),
                                          getattr(t, "language", None)) for t in row) for row in rows]


def _through_oxrdflib(graph, query, parameters):
    """What run_query gave before the fast path: oxrdflib's answer to the bound text."""
    result = graph.query(bind_values(query.text, query.bindings(parameters)))
    return [str(v) for v in result.vars], [tuple(row) for row in result]


class CountingStore(OxigraphStore):
    """oxrdflib's store, counting the queries that go through it: a store class of
    someone else's, which run_query leaves to graph.query."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.queries = 0

    def query(self, *args, **kwargs):
        self.queries += 1
        return super().query(*args, **kwargs)


def _dataset(inner, *, default_union=True, store=OxigraphStore):
    dataset = Dataset(store=store(store=inner), default_union=default_union)
    for prefix, namespace in iris.PREFIXES.items():
        dataset.bind(prefix, namespace)
    return dataset


def _count_queries(monkeypatch, dataset):
    """The list of the queries oxrdflib's store is asked, as the dataset is queried."""
    asked = []
    query = dataset.store.query

    def counted(text, *args, **kwargs):
        asked.append(text)
        return query(text, *args, **kwargs)

    monkeypatch.setattr(dataset.store, "query", counted)
    return asked


@pytest.fixture(scope="module", params=["ttl", "nq"])
def oxigraph(request, graph_file, quads_file):
    """The corpus graph on Oxigraph, from triples and from quads (where a fact can sit
    in several named graphs of the union)."""
    graph = load_graph(graph_file if request.param == "ttl" else quads_file)
    assert _union_oxigraph(graph) is not None
    return graph


@pytest.mark.parametrize("name", query_names())
def test_fast_path_gives_what_oxrdflib_gives(name, oxigraph):
    query = get_query(name)
    parameters = query.example_parameters
    fast = run_query(oxigraph, query, parameters)
    variables, rows = _through_oxrdflib(oxigraph, query, parameters)
    assert len(fast) > 0
    assert fast.variables == variables
    assert _terms(fast.rows) == _terms(rows)
    assert fast.rows == rows


def test_plain_literals_keep_xsd_string_as_oxrdflib_does(oxigraph):
    result = run_query(oxigraph, "group-members")
    labels = [t for row in result.rows for t in row if isinstance(t, Literal)]
    assert labels and all(t.datatype == URIRef("http://www.w3.org/2001/XMLSchema#string") for t in labels)


def test_the_fast_path_is_taken_and_the_fallback_agrees(graph, monkeypatch):
    inner = graph.store._inner
    query = get_query("trial-outcomes")  # reads no summary: no ASK through oxrdflib first
    parameters = query.example_parameters
    expected = _through_oxrdflib(graph, query, parameters)[1]

    fast_graph = _dataset(inner)
    asked = _count_queries(monkeypatch, fast_graph)
    fast = run_query(fast_graph, query, parameters)
    assert fast.rows and not asked
    assert _terms(fast.rows) == _terms(expected)

    # Not a union-default Dataset: oxrdflib answers, as before.
    only_default = _dataset(inner, default_union=False)
    assert _union_oxigraph(only_default) is None
    asked = _count_queries(monkeypatch, only_default)
    slow = run_query(only_default, query, parameters)
    assert len(asked) == 1
    assert _terms(slow.rows) == _terms(_through_oxrdflib(only_default, query, parameters)[1])

    # A store class of another module: graph.query, as before.
    other = _dataset(inner, store=CountingStore)
    assert _union_oxigraph(other) is None
    assert _terms(run_query(other, query, parameters).rows) == _terms(expected)
    assert other.store.queries == 1


def test_a_store_without_its_pyoxigraph_store_falls_back(graph, monkeypatch):
    """A closed oxrdflib store has no pyoxigraph store: run_query goes through
    graph.query, whose error it reports."""
    closed = _dataset(graph.store._inner)
    closed.store.close()
    assert _union_oxigraph(closed) is None
    asked = _count_queries(monkeypatch, closed)
    with pytest.raises(QueryError, match="^trial-outcomes: AttributeError"):
        run_query(closed, "trial-outcomes")
    assert len(asked) == 1


def test_prefixes_are_the_graphs_namespace_bindings(graph):
    """A query may use the prefixes bound on the graph without declaring them, as
    through oxrdflib."""
    query = parse_query("SELECT ?p WHERE { ?p ck:targets cke:cd19 } ORDER BY ?p", name="bare")
    fast = run_query(graph, query)
    assert fast.rows
    assert fast.rows == _through_oxrdflib(graph, query, {})[1]


@pytest.mark.parametrize("text, kind", [
    ("ASK { ?s ?p ?o }", "ASK"),
    ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1", "CONSTRUCT"),
    ("DESCRIBE <https://w3id.org/cartkg/entity/cd19>", "CONSTRUCT"),
])
def test_only_select_has_rows(graph, text, kind):
    assert graph.query(text).type == kind  # what oxrdflib says, and so what run_query said
    with pytest.raises(QueryError, match=f"^mine: only SELECT queries have rows, this is {kind}$"):
        run_query(graph, parse_query(text, name="mine"))


def test_engine_errors_are_query_errors(graph):
    with pytest.raises(QueryError, match="^mine: SyntaxError: "):
        run_query(graph, parse_query("SELECT ?x WHERE { ?x nope:p ?y }", name="mine"))


def test_blank_nodes_and_unbound_values(graph):
    query = parse_query("SELECT ?b ?x ?l WHERE { BIND(BNODE() AS ?b) OPTIONAL { ?b ?p ?x } "
                        "BIND(STRLANG(\"hi\", \"en\") AS ?l) }", name="mine")
    (row,) = run_query(graph, query).rows
    assert isinstance(row[0], BNode) and row[1] is None and row[2] == Literal("hi", lang="en")
