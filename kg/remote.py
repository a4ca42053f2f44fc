"""Remote stores: push a built graph to any SPARQL 1.1 endpoint, and run the named
queries there.

Pushing works named graph by named graph, each one *replaced*, so pushing twice leaves
one copy and a re-run after a failure completes the job:

- SPARQL Update (through SPARQLWrapper, POST to the update endpoint). A graph of at
  most ``batch_size`` triples goes in one request, ``DROP SILENT GRAPH <g> ; INSERT
  DATA { GRAPH <g> { ... } }``, which is atomic on a server that applies an update
  request as one transaction (Oxigraph does): readers see the old graph or the new one.
  A larger graph goes in batches: the first request drops the graph and inserts the
  first batch, each next one inserts a batch. **Batched pushes are not atomic**: while
  they run, and after a failure part-way, the server holds part of the graph. Running
  the push again drops that part and writes the whole graph.
- The Graph Store HTTP Protocol (through httpx), when a GSP URL is given: one ``PUT
  URL?graph=<g>`` per graph, with the graph as N-Triples; the server replaces the graph
  with the body in one request, however large.

Blank nodes (the ontology's OWL restrictions) are written with ``INSERT { ... } WHERE
{}``, which every SPARQL 1.1 server takes (Virtuoso refuses blank nodes in ``INSERT
DATA``), and the triples that share a blank node stay in one request, since a label
names a fresh node in each request.

Queries: the named queries read the *union* of the named graphs through the default
graph, so the endpoint's default graph must be that union. Virtuoso's is by default.
Oxigraph server's is not: add ``?union-default-graph`` to its query URL, or start it
with ``oxigraph serve --union-default-graph``. A query that finds no row on an endpoint
whose default graph is empty while its named graphs are not fails with that hint.
Parameters are bound as a ``VALUES`` block at the start of the query's WHERE group,
built from RDF terms checked and serialised by rdflib, never from the raw strings.

Credentials come from the environment only: ``CARTKG_SPARQL_USER`` and
``CARTKG_SPARQL_PASSWORD`` (HTTP basic), or ``CARTKG_SPARQL_TOKEN`` (bearer).
"""

from __future__ import annotations

import ast
import base64
import http.client
import json
import os
import socket
import urllib.error
from collections.abc import Callable, Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID, Graph
from rdflib.term import Identifier

from cartkg.queries.library import (HAS_SUMMARY, IRIREF, NamedQuery, QueryError, QueryResult, bind_values, get_query,
                                    no_summary)

from . import iris
from .build import Triple
from .export import to_oxigraph
from .store import load_graph

#: The environment variables that carry credentials.
ENV_USER, ENV_PASSWORD, ENV_TOKEN = "CARTKG_SPARQL_USER", "CARTKG_SPARQL_PASSWORD", "CARTKG_SPARQL_TOKEN"
#: Triples per SPARQL Update request; Virtuoso 7.2 fails to compile ``INSERT DATA`` of
#: about 5,000 triples ("memory exhausted") and takes 2,000.
DEFAULT_BATCH_SIZE = 1000
#: Seconds to wait for an answer to one request.
DEFAULT_TIMEOUT = 60
#: HTTP statuses that say the endpoint itself is wrong (not one graph), so a push stops.
_ENDPOINT_WIDE_STATUSES = {401, 403, 404, 405}
class RemoteError(RuntimeError):
    """A request an endpoint refused or never answered; the message is one line.

    ``endpoint_wide`` is true when the fault is the endpoint's (unreachable, timed out,
    not found, credentials refused) rather than one request's, so a push stops there.
    """

    def __init__(self, message: str, *, endpoint_wide: bool = False):
        super().__init__(message)
        self.endpoint_wide = endpoint_wide


# ------------------------------------------------------------------------ endpoints

def authorization_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The ``Authorization`` header the environment asks for, if any.

    >>> authorization_from_env({"CARTKG_SPARQL_TOKEN": "t0k"})
    'Bearer t0k'
    >>> authorization_from_env({"CARTKG_SPARQL_USER": "ann", "CARTKG_SPARQL_PASSWORD": "pw"})
    'Basic YW5uOnB3'
    >>> authorization_from_env({}) is None
    True
    """
    environ = os.environ if environ is None else environ
    user, password, token = (environ.get(name) or None for name in (ENV_USER, ENV_PASSWORD, ENV_TOKEN))
    if token and (user or password):
        raise RemoteError(f"set either {ENV_TOKEN} or {ENV_USER}/{ENV_PASSWORD}, not both")
    if token:
        return f"Bearer {token}"
    if (user is None) != (password is None):
        given, missing = (ENV_USER, ENV_PASSWORD) if user else (ENV_PASSWORD, ENV_USER)
        raise RemoteError(f"{given} is set but {missing} is not")
    if user is not None:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return None


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteError(f"{url!r} is not an http(s) URL")


@dataclass(frozen=True)
class Endpoint:
    """Where requests go. ``query`` answers SELECT queries; ``update`` takes SPARQL
    Update (the query URL when not given, as on Virtuoso's ``/sparql``); ``gsp`` is a
    Graph Store Protocol URL, and when given a push writes through it."""

    query: str | None = None
    _: KW_ONLY
    update: str | None = None
    gsp: str | None = None
    timeout: int = DEFAULT_TIMEOUT
    authorization: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for url in (self.query, self.update, self.gsp):
            if url is not None:
                _check_url(url)
        if self.timeout < 1:
            raise RemoteError(f"timeout {self.timeout}: give at least 1 second")

    @classmethod
    def from_env(cls, query: str | None = None, *, update: str | None = None, gsp: str | None = None,
                 timeout: int = DEFAULT_TIMEOUT, environ: Mapping[str, str] | None = None) -> Endpoint:
        """An endpoint with the credentials of the environment (see :func:`authorization_from_env`)."""
        return cls(query, update=update, gsp=gsp, timeout=timeout, authorization=authorization_from_env(environ))

    @property
    def update_url(self) -> str | None:
        return self.update or self.query

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": self.authorization} if self.authorization else {}


def _first_line(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= 200 else line[:199] + "…"


def _status_error(url: str, status: int, body: bytes | str) -> RemoteError:
    detail = _first_line(body)
    return RemoteError(f"{url}: HTTP {status}" + (f": {detail}" if detail else ""),
                       endpoint_wide=status in _ENDPOINT_WIDE_STATUSES)


def _connection_error(url: str, reason: object, timeout: int) -> RemoteError:
    if isinstance(reason, (TimeoutError, socket.timeout)):
        message = f"no answer within {timeout} s"
    elif isinstance(reason, ConnectionRefusedError):
        message = "connection refused (is the server running?)"
    elif isinstance(reason, (ConnectionError, http.client.HTTPException)):
        message = f"connection lost ({type(reason).__name__})"
    elif isinstance(reason, socket.gaierror):
        message = f"unknown host ({reason.strerror})"
    else:
        message = _first_line(str(reason)) or type(reason).__name__
    return RemoteError(f"{url}: {message}", endpoint_wide=True)


def _sparql_request(url: str, text: str, endpoint: Endpoint, *, update: bool) -> bytes:
    """POST one query or update through SPARQLWrapper; the response body."""
    from SPARQLWrapper import JSON, POST, SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import (EndPointInternalError, EndPointNotFound, QueryBadFormed,
                                                SPARQLWrapperException, Unauthorized, URITooLong)

    statuses = {QueryBadFormed: 400, Unauthorized: 401, EndPointNotFound: 404, URITooLong: 414,
                EndPointInternalError: 500}
    client = SPARQLWrapper(url, updateEndpoint=url if update else None)
    client.setMethod(POST)
    client.setReturnFormat(JSON)
    client.setTimeout(endpoint.timeout)
    for name, value in endpoint.headers.items():
        client.addCustomHttpHeader(name, value)
    client.setQuery(text)
    try:
        response = client.query().response
        try:
            return response.read()
        finally:
            response.close()
    except SPARQLWrapperException as exc:
        # SPARQLWrapper keeps the body only in its message, as the repr of the bytes.
        _, _, body = str(exc).partition("Response:\n")
        try:
            body = ast.literal_eval(body) if body else b""
        except (SyntaxError, ValueError):
            pass
        raise _status_error(url, statuses.get(type(exc), 0), body) from None
    except urllib.error.HTTPError as exc:
        raise _status_error(url, exc.code, exc.read() or (exc.reason or "")) from None
    except urllib.error.URLError as exc:
        raise _connection_error(url, exc.reason, endpoint.timeout) from None
    except (OSError, http.client.HTTPException) as exc:
        raise _connection_error(url, exc, endpoint.timeout) from None


# ------------------------------------------------------------------------------ push

@dataclass
class PushReport:
    """What a push did, graph by graph, in the order the graphs were sent."""

    target: str
    #: Graphs replaced on the server, with their triple counts.
    pushed: dict[str, int] = field(default_factory=dict)
    #: Graphs that failed, with the reason (one line each).
    failed: dict[str, str] = field(default_factory=dict)
    #: Graphs not tried, because the endpoint stopped answering before their turn.
    skipped: list[str] = field(default_factory=list)

    @property
    def triples(self) -> int:
        return sum(self.pushed.values())

    @property
    def complete(self) -> bool:
        return not self.failed and not self.skipped

    def summary(self) -> str:
        total = len(self.pushed) + len(self.failed) + len(self.skipped)
        line = (f"pushed {len(self.pushed)} of {total} graph(s), {self.triples:,} triples, to {self.target}; "
                f"{len(self.failed)} failed")
        if self.skipped:
            line += f", {len(self.skipped)} not tried"
        return line if self.complete else line + "; run the push again to complete it"


#: ``on_request(graph, written, total)``: called after each request a server accepted,
#: with the triples of ``graph`` written so far and its size.
OnRequest = Callable[[str, int, int], None]


def dataset_graphs(dataset: Dataset) -> dict[str, list[Triple]]:
    """The triples of each named graph, by graph IRI in sorted order. Triples in the
    dataset's default graph go into the graph ``ckg:loaded``, as :func:`load_graph` does."""
    graphs: dict[str, set[Triple]] = {}
    for s, p, o, g in dataset.quads((None, None, None, None)):
        name = g.identifier if isinstance(g, Graph) else g
        name = iris.GRAPH["loaded"] if name in (None, DATASET_DEFAULT_GRAPH_ID) else name
        if not isinstance(name, URIRef):
            raise RemoteError(f"graph {name!r}: only graphs named by an IRI can be pushed")
        graphs.setdefault(str(name), set()).add((s, p, o))
    return {name: sorted(graphs[name], key=_line) for name in sorted(graphs)}


def _line(triple: Triple) -> str:
    return " ".join(str(to_oxigraph(term)) for term in triple) + " ."


def _graph_iri(graph: str) -> str:
    if not IRIREF.match(graph):
        raise RemoteError(f"graph {graph!r} is not an IRI")
    return f"<{graph}>"


def _batches(triples: list[Triple], size: int) -> list[list[Triple]]:
    """``triples`` in batches of at most ``size``, in order, except that the triples
    sharing a blank node stay together (a group larger than ``size`` is one batch)."""
    parent: dict[BNode, BNode] = {}

    def root(node: BNode) -> BNode:
        while parent.setdefault(node, node) != node:
            parent[node] = node = parent[parent[node]]
        return node

    for triple in triples:
        blanks = [root(t) for t in triple if isinstance(t, BNode)]
        for other in blanks[1:]:
            parent[other] = blanks[0]
    groups: dict[object, list[Triple]] = {}
    for i, triple in enumerate(triples):
        blank = next((t for t in triple if isinstance(t, BNode)), None)
        groups.setdefault(root(blank) if blank is not None else i, []).append(triple)
    batches: list[list[Triple]] = [[]]
    for group in groups.values():
        if batches[-1] and len(batches[-1]) + len(group) > size:
            batches.append([])
        batches[-1].extend(group)
    return [batch for batch in batches if batch]


def _insert(graph: str, triples: list[Triple]) -> str:
    body = "\n".join(_line(t) for t in triples)
    if any(isinstance(term, BNode) for triple in triples for term in triple):
        return f"INSERT {{ GRAPH {_graph_iri(graph)} {{\n{body}\n}} }} WHERE {{}}"
    return f"INSERT DATA {{ GRAPH {_graph_iri(graph)} {{\n{body}\n}} }}"


def replace_requests(graph: str, triples: list[Triple], batch_size: int = DEFAULT_BATCH_SIZE
                     ) -> list[tuple[str, int]]:
    """The SPARQL updates that replace ``graph`` with ``triples``, each with the number of
    triples it writes: one request when they fit in a batch, else the first request
    drops the graph and inserts the first batch and each next one inserts a batch.

    >>> [n for _, n in replace_requests("urn:g", [(URIRef("urn:s"), URIRef("urn:p"), Literal(i)) for i in range(5)], 2)]
    [2, 2, 1]
    """
    if batch_size < 1:
        raise RemoteError(f"batch size {batch_size}: give at least 1")
    drop = f"DROP SILENT GRAPH {_graph_iri(graph)}"
    batches = _batches(triples, batch_size)
    if not batches:
        return [(drop, 0)]
    requests = [(f"{drop} ;\n{_insert(graph, batches[0])}", len(batches[0]))]
    return requests + [(_insert(graph, batch), len(batch)) for batch in batches[1:]]


def _push_sparql(endpoint: Endpoint, graph: str, triples: list[Triple], batch_size: int,
                 on_request: OnRequest | None) -> None:
    written = 0
    for text, count in replace_requests(graph, triples, batch_size):
        _sparql_request(endpoint.update_url, text, endpoint, update=True)
        written += count
        if on_request is not None:
            on_request(graph, written, len(triples))


def _os_error(exc: BaseException) -> OSError | None:
    """The socket error under an httpx error (httpx wraps httpcore's, which wraps it)."""
    while exc is not None and not isinstance(exc, OSError):
        exc = exc.__cause__ or exc.__context__
    return exc


def _push_gsp(client, endpoint: Endpoint, graph: str, triples: list[Triple],
              on_request: OnRequest | None) -> None:
    import httpx

    body = "".join(_line(t) + "\n" for t in triples).encode("utf-8")
    url = endpoint.gsp
    try:
        response = client.put(url, params={"graph": graph}, content=body,
                              headers={"Content-Type": "application/n-triples; charset=utf-8"})
    except httpx.TimeoutException:
        raise _connection_error(url, TimeoutError(), endpoint.timeout) from None
    except httpx.TransportError as exc:
        raise _connection_error(url, _os_error(exc) or ConnectionError(str(exc)), endpoint.timeout) from None
    if response.status_code >= 300:
        raise _status_error(url, response.status_code, response.content)
    if on_request is not None:
        on_request(graph, len(triples), len(triples))


def push(source: str | Path | Dataset, endpoint: Endpoint, *, batch_size: int = DEFAULT_BATCH_SIZE,
         on_request: OnRequest | None = None) -> PushReport:
    """Replace each named graph of ``source`` (a graph file, a store folder or a dataset)
    on the endpoint: through the Graph Store Protocol when ``endpoint.gsp`` is set, else
    through SPARQL Update. A file is pushed as ``cartkg query --graph`` reads it, with
    the ontology graph beside it.

    A graph that fails is reported and the push goes on with the next; once the
    endpoint itself fails (unreachable, timed out, credentials refused) the rest are
    reported as not tried. Nothing is raised for a failed graph: see the report.
    """
    if endpoint.gsp is None and endpoint.update_url is None:
        raise RemoteError("give a SPARQL endpoint or a Graph Store Protocol URL to push to")
    if batch_size < 1:
        raise RemoteError(f"batch size {batch_size}: give at least 1")
    dataset = source if isinstance(source, Dataset) else load_graph(source)
    graphs = dataset_graphs(dataset)
    report = PushReport(target=endpoint.gsp or endpoint.update_url)
    client = None
    if endpoint.gsp is not None:
        import httpx

        client = httpx.Client(timeout=endpoint.timeout, headers=endpoint.headers)
    stopped = False
    try:
        for graph, triples in graphs.items():
            if stopped:
                report.skipped.append(graph)
                continue
            try:
                if client is not None:
                    _push_gsp(client, endpoint, graph, triples, on_request)
                else:
                    _push_sparql(endpoint, graph, triples, batch_size, on_request)
            except RemoteError as exc:
                report.failed[graph] = str(exc)
                stopped = exc.endpoint_wide
            else:
                report.pushed[graph] = len(triples)
    finally:
        if client is not None:
            client.close()
    return report


# --------------------------------------------------------------------------- queries

def _result_term(value: dict) -> Identifier:
    kind = value.get("type")
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    if kind in ("literal", "typed-literal"):  # Virtuoso writes the old "typed-literal"
        datatype = value.get("datatype")
        return Literal(value["value"], lang=value.get("xml:lang"),
                       datatype=URIRef(datatype) if datatype and not value.get("xml:lang") else None)
    raise RemoteError(f"unknown term type {kind!r} in the results")


def _select(endpoint: Endpoint, text: str) -> dict:
    body = _sparql_request(endpoint.query, text, endpoint, update=False)
    try:
        return json.loads(body)
    except ValueError:
        raise RemoteError(f"{endpoint.query}: the answer is not SPARQL results JSON: {_first_line(body)}") from None


def run_remote_query(endpoint: Endpoint, query: NamedQuery | str,
                     parameters: Mapping[str, str | Identifier] | None = None) -> QueryResult:
    """Run a SELECT query (named, by file, or a NamedQuery) on ``endpoint.query``; the
    same :class:`QueryResult` as :func:`cartkg.queries.library.run_query`."""
    if endpoint.query is None:
        raise RemoteError("give a SPARQL query endpoint")
    if not isinstance(query, NamedQuery):
        query = get_query(query)
    answer = _select(endpoint, bind_values(query.text, query.bindings(parameters)))
    if "boolean" in answer or "results" not in answer:
        raise QueryError(f"{query.name}: only SELECT queries have rows")
    variables = list(answer.get("head", {}).get("vars", []))
    rows = [tuple(_result_term(b[v]) if v in b else None for v in variables)
            for b in answer["results"].get("bindings", [])]
    if not rows:
        _check_union_default_graph(endpoint)
        if query.reads_summary and not _ask(endpoint, HAS_SUMMARY):
            raise no_summary(query.name)
    return QueryResult(variables, rows)


def _ask(endpoint: Endpoint, text: str) -> bool:
    return bool(_select(endpoint, text).get("boolean"))


def _check_union_default_graph(endpoint: Endpoint) -> None:
    """Fail when the default graph is empty but the named graphs are not: the queries
    read the union of the named graphs, which this endpoint does not give them."""
    if not _ask(endpoint, "ASK { ?s ?p ?o }") and _ask(endpoint, "ASK { GRAPH ?g { ?s ?p ?o } }"):
        raise RemoteError(
            f"{endpoint.query}: the default graph is empty but named graphs are not, and the named queries "
            "read their union: on Oxigraph server add ?union-default-graph to the query URL "
            "(or serve with --union-default-graph)")


def graph_sizes(endpoint: Endpoint, graphs: Iterable[str]) -> dict[str, int]:
    """The number of triples of each graph on the server (0 for a missing graph)."""
    sizes = {}
    for graph in graphs:
        answer = _select(endpoint, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {_graph_iri(graph)} {{ ?s ?p ?o }} }}")
        sizes[graph] = int(answer["results"]["bindings"][0]["n"]["value"])
    return sizes
