"""A read-only SPARQL 1.1 Protocol endpoint over a built graph, and a page to query it.

Queries run on pyoxigraph's own engine, over the union of the graph's named graphs, and
its serializers write the answers: SPARQL results JSON (the default), XML, CSV or TSV
for SELECT and ASK; Turtle (the default), N-Triples, RDF/XML or JSON-LD for CONSTRUCT
and DESCRIBE. The server is the standard library's ``ThreadingHTTPServer``.

Budgets, and what they can and cannot do:

- *Result limit.* An answer holds at most ``limit`` rows (or triples). Rows past it are
  not read from the engine; the answer carries ``Cartkg-Truncated: true`` and
  ``Cartkg-Result-Limit: N`` headers. No query text is rewritten.
- *Timeout.* Each query runs in a worker thread; the client gets 503 when ``timeout``
  seconds pass. Oxigraph offers no way to cancel a query, so the worker checks the
  deadline between rows: a query that streams (no ORDER BY, GROUP BY or aggregate over
  everything) stops there. One that works before its first row (a sort, a count) runs
  on in its worker until the engine is done, although its client has had its 503. At
  most ``workers`` queries run at once; more wait, within their own deadline, for a
  free worker.

Read-only: an update (an ``update=`` parameter, an ``application/sparql-update`` body,
or update text given as ``query=``) is refused with 403, and so is a federated query
(``SERVICE``), which would make the server fetch from other hosts.
"""

from __future__ import annotations

import html
import ipaddress
import json
import logging
import re
import socket
import socketserver
import threading
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pyoxigraph as ox

from cartkg import __version__
from cartkg.queries.library import NamedQuery, QueryError, bind_values, list_queries

from . import iris
from .store import load_graph

#: Media types of SELECT and ASK answers; the first is the default, and the order
#: settles a wildcard such as ``text/*``.
SOLUTION_TYPES = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
    "text/xml": ox.QueryResultsFormat.XML,
}
#: Media types of CONSTRUCT and DESCRIBE answers, likewise.
GRAPH_TYPES = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/turtle": ox.RdfFormat.TURTLE,  # what SPARQLWrapper asks for
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}
#: Short names a ``format=`` parameter may give (SPARQLWrapper sends one beside Accept).
FORMAT_NAMES = {
    "solutions": {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
                  "csv": "text/csv", "tsv": "text/tab-separated-values"},
    "graph": {"turtle": "text/turtle", "ttl": "text/turtle", "nt": "application/n-triples",
              "ntriples": "application/n-triples", "xml": "application/rdf+xml", "rdf": "application/rdf+xml",
              "json": "application/ld+json", "jsonld": "application/ld+json", "json-ld": "application/ld+json"},
}

log = logging.getLogger(__name__)

READ_ONLY = "this endpoint is read-only: SPARQL updates are refused"
NO_SERVICE = "federated queries (SERVICE) are refused: this endpoint fetches nothing from other hosts"
MAX_BODY = 1 << 20

# Strings, IRIs and comments, blanked out before looking for the SERVICE keyword.
_OPAQUE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""' r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"' r"|'(?:[^'\\\n]|\\.)*'"
    r'|<[^<>"{}|^`\\\s]*>' r"|#[^\n]*",
    re.DOTALL,
)
# Not part of a variable or a prefixed name: a stray match refuses a query, never lets one through.
_SERVICE = re.compile(r"(?<![\w?$:])SERVICE(?![\w:-])", re.IGNORECASE)


class EndpointError(Exception):
    """A request the endpoint answers with an HTTP error status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def reply(self) -> Reply:
        return Reply(self.status, "text/plain; charset=utf-8", f"{self}\n".encode())


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QueryRequest:
    """A query as the protocol delivers it: its text, the client's wishes for the answer,
    and its dataset (``default-graph-uri``, ``named-graph-uri``). A named query's
    parameters are in its text already (see :meth:`Endpoint.answer_named`)."""

    text: str
    accept: str | None = None
    format: str | None = None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()


def open_store(path: str | Path) -> ox.Store:
    """The pyoxigraph store under a built graph file (loaded in memory, with the
    ontology) or a store folder (opened read-only)."""
    # oxrdflib keeps its pyoxigraph store as ``_inner``, and reads it so itself.
    return load_graph(path).store._inner


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach an address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def negotiate(kind: str, accept: str | None, name: str | None = None) -> ox.QueryResultsFormat | ox.RdfFormat:
    """The answer format for a ``solutions`` or ``graph`` query: a ``format=`` name or
    media type the query form has, else the first acceptable media type.

    >>> negotiate("solutions", "text/csv;q=0.5, application/sparql-results+xml")
    <QueryResultsFormat SPARQL Results in XML>
    >>> negotiate("graph", "*/*", name="nt")
    <RdfFormat N-Triples>
    """
    types = SOLUTION_TYPES if kind == "solutions" else GRAPH_TYPES
    if name:
        media = name.lower() if "/" in name else FORMAT_NAMES[kind].get(name.lower())
        if media in types:
            return types[media]
    for media_range in _accepted(accept or "*/*"):
        for media, fmt in types.items():
            if media_range in ("*/*", media) or (media_range.endswith("/*") and media.startswith(media_range[:-1])):
                return fmt
    raise EndpointError(406, f"no acceptable format for this {'SELECT or ASK' if kind == 'solutions' else 'graph'} "
                             f"answer in Accept: {accept}; this endpoint writes {', '.join(types)}")


def _accepted(accept: str) -> list[str]:
    """The media ranges of an Accept header, most wanted first, without the refused ones."""
    ranges = []
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranges.append((-quality, len(ranges), media.lower()))
    return [media for *_, media in sorted(ranges)]


def _take(items: Iterator, limit: int, deadline: float) -> tuple[list, bool]:
    """At most ``limit`` items, and whether there were more; stops at the deadline."""
    kept: list = []
    for item in items:
        if time.monotonic() > deadline:
            raise TimeoutError
        if len(kept) == limit:
            return kept, True
        kept.append(item)
    return kept, False


def _solutions(variables: list[ox.Variable], rows: Iterable[ox.QuerySolution]) -> ox.QuerySolutions:
    """Rows kept from one answer, as a results object pyoxigraph can serialize: written
    as SPARQL TSV (N-Triples terms between tabs) and read back."""
    lines = ["\t".join(str(v) for v in variables)]
    lines += ["\t".join("" if term is None else str(term) for term in row) for row in rows]
    return ox.parse_query_results("\n".join(lines) + "\n", ox.QueryResultsFormat.TSV)


def _is_update(text: str) -> bool:
    from pyparsing import ParseBaseException
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        parseUpdate(text)
    except ParseBaseException:
        return False
    return True


def _graph_names(iris_given: tuple[str, ...]) -> list[ox.NamedNode]:
    try:
        return [ox.NamedNode(iri) for iri in iris_given]
    except ValueError as exc:
        raise EndpointError(400, f"not a graph IRI: {exc}") from None


class Endpoint:
    """Answers SPARQL queries on one store, read-only, within a time and a size budget."""

    def __init__(self, store: ox.Store, *, timeout: float = 30.0, limit: int = 10_000, workers: int = 4) -> None:
        if timeout <= 0 or limit < 1 or workers < 1:
            raise ValueError("timeout must be positive, limit and workers at least 1")
        self.store = store
        self.timeout = timeout
        self.limit = limit
        self._workers = threading.BoundedSemaphore(workers)

    def answer(self, request: QueryRequest) -> Reply:
        """Evaluate a query in a worker thread: its answer, or an error reply (503 when
        the deadline passes first)."""
        deadline = time.monotonic() + self.timeout
        if not self._workers.acquire(timeout=self.timeout):
            busy = f"busy: every worker is still on an earlier query after {self.timeout:g} s"
            return EndpointError(503, busy).reply()
        future: Future[Reply] = Future()

        def work() -> None:
            # pyoxigraph's results must be dropped on the thread that made them, so no
            # exception (whose traceback holds them) leaves this thread: only a Reply.
            try:
                reply = self.evaluate(request, deadline)
            except EndpointError as exc:
                reply = exc.reply()
            except TimeoutError:
                reply = self._late().reply()
            except Exception:  # a bug: the client gets 500, the log the traceback
                log.error("query failed:\n%s", traceback.format_exc())
                reply = EndpointError(500, "internal error; the server's log has the details").reply()
            finally:
                self._workers.release()
            future.set_result(reply)

        threading.Thread(target=work, name="cartkg-query", daemon=True).start()
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            return self._late().reply()

    def _late(self) -> EndpointError:
        return EndpointError(503, f"the query ran past the endpoint's timeout of {self.timeout:g} s")

    def evaluate(self, request: QueryRequest, deadline: float = float("inf")) -> Reply:
        """Evaluate a query here and now, stopping between rows at the deadline."""
        if _SERVICE.search(_OPAQUE.sub(" ", request.text)):
            raise EndpointError(403, NO_SERVICE)
        default, named = _graph_names(request.default_graphs), _graph_names(request.named_graphs)
        try:
            result = self.store.query(
                request.text,
                use_default_graph_as_union=not default,
                default_graph=default or None,
                named_graphs=named or None,
            )
        except SyntaxError as exc:
            if _is_update(request.text):
                raise EndpointError(403, READ_ONLY) from None
            raise EndpointError(400, f"malformed query: {exc}".splitlines()[0]) from None
        truncated = False
        try:
            if isinstance(result, ox.QueryBoolean):
                fmt = negotiate("solutions", request.accept, request.format)
                body = result.serialize(format=fmt)
            elif isinstance(result, ox.QuerySolutions):
                fmt = negotiate("solutions", request.accept, request.format)
                variables = result.variables
                rows, truncated = _take(result, self.limit, deadline)
                body = _solutions(variables, rows).serialize(format=fmt)
            else:
                fmt = negotiate("graph", request.accept, request.format)
                triples, truncated = _take(result, self.limit, deadline)
                body = ox.serialize(triples, format=fmt, prefixes={p: str(ns) for p, ns in iris.PREFIXES.items()})
        except OSError as exc:  # the engine's evaluation errors
            raise EndpointError(500, f"the query failed: {exc}".splitlines()[0]) from None
        headers = {"Cartkg-Result-Limit": str(self.limit)}
        if truncated:
            headers["Cartkg-Truncated"] = "true"
        return Reply(200, fmt.media_type, body, headers)

    def answer_named(self, query: NamedQuery, parameters: Mapping[str, str], *, accept: str | None = None,
                     format: str | None = None) -> Reply:
        """Run a named query with its parameters bound by the query library, as a VALUES
        block at the start of its WHERE group: Oxigraph's substitutions would join them
        with the whole answer after computing it."""
        try:
            text = bind_values(query.text, query.bindings(parameters))
        except QueryError as exc:
            return EndpointError(400, str(exc)).reply()
        return self.answer(QueryRequest(text, accept, format))


# ----------------------------------------------------------------------------- the page

@cache
def _asset(name: str) -> bytes:
    return (resources.files(__package__) / "web" / name).read_bytes()


@cache
def _named_queries() -> dict[str, NamedQuery]:
    return {q.name: q for q in list_queries()}


@cache
def _page() -> bytes:
    """The query page, with the named queries written in (every value escaped)."""
    items = "\n".join(_named_item(q) for q in _named_queries().values())
    prefixes = json.dumps({p: str(ns) for p, ns in iris.PREFIXES.items()})
    text = _asset("index.html").decode("utf-8")
    return text.replace("{{prefixes}}", html.escape(prefixes)).replace("{{named}}", items).encode("utf-8")


def _named_item(query: NamedQuery) -> str:
    e = html.escape
    examples = query.example_parameters
    fields = "".join(
        f'<label title="{e(p.description)}">{e(p.name)} <input name="{e(p.name)}" '
        f'value="{e(examples.get(p.name, ""))}" placeholder="{e(p.default or ("required" if p.required else "any"))}">'
        "</label> "
        for p in query.parameters
    )
    return (
        f'<li><form class="named" method="get" action="named/{e(quote(query.name))}" data-name="{e(query.name)}">'
        f'<p class="question">{e(query.question or query.name)}</p>'
        f'<p class="fields">{fields}<button type="submit">Run</button> '
        f'<button type="button" class="show">Show query</button></p>'
        f'<pre class="text" hidden>{e(query.text)}</pre></form></li>'
    )


# ----------------------------------------------------------------------------- HTTP

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
ASSETS = {"/page.js": "text/javascript; charset=utf-8", "/page.css": "text/css; charset=utf-8"}


class _Handler(BaseHTTPRequestHandler):
    server: EndpointServer
    server_version = f"cartkg/{__version__}"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._respond(self._get)

    def do_POST(self) -> None:  # noqa: N802
        self._respond(self._post)

    def _respond(self, route) -> None:
        try:
            reply = route(urlsplit(self.path))
        except EndpointError as exc:
            reply = exc.reply()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except ConnectionError:
            pass  # the client left

    def _get(self, url) -> Reply:
        params = parse_qs(url.query, keep_blank_values=True)
        if url.path == "/":
            return Reply(200, "text/html; charset=utf-8", _page(), PAGE_HEADERS)
        if url.path in ASSETS:
            return Reply(200, ASSETS[url.path], _asset(url.path[1:]))
        if url.path == "/sparql":
            return self._query(params)
        if url.path.startswith("/named/"):
            return self._named(unquote(url.path[len("/named/"):]), params)
        raise EndpointError(404, f"no such page: {url.path}; the endpoint is /sparql")

    def _post(self, url) -> Reply:
        if url.path != "/sparql":
            raise EndpointError(404, f"POST a query to /sparql, not to {url.path}")
        params = parse_qs(url.query, keep_blank_values=True)
        media = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media == "application/sparql-update":
            raise EndpointError(403, READ_ONLY)
        body = self._body()
        if media == "application/x-www-form-urlencoded":
            for key, values in parse_qs(body, keep_blank_values=True).items():
                params.setdefault(key, []).extend(values)
        elif media == "application/sparql-query":
            params["query"] = [body]
        else:
            raise EndpointError(415, f"POST a query as application/x-www-form-urlencoded or application/sparql-query, "
                                     f"not {media or 'no Content-Type'}")
        return self._query(params)

    def _body(self) -> str:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise EndpointError(411, "a POST needs a Content-Length")
        if int(length) > MAX_BODY:
            raise EndpointError(413, f"a query may be at most {MAX_BODY} bytes")
        try:
            return self.rfile.read(int(length)).decode("utf-8")
        except UnicodeDecodeError:
            raise EndpointError(400, "the request body is not UTF-8") from None

    def _query(self, params: dict[str, list[str]]) -> Reply:
        if "update" in params:
            raise EndpointError(403, READ_ONLY)
        texts = params.get("query", [])
        if len(texts) != 1:
            raise EndpointError(400, "give one query, as query=... (or POST it as application/sparql-query)")
        return self.server.endpoint.answer(QueryRequest(
            texts[0], self.headers.get("Accept"), (params.get("format") or [None])[0],
            tuple(params.get("default-graph-uri", ())), tuple(params.get("named-graph-uri", ())),
        ))

    def _named(self, name: str, params: dict[str, list[str]]) -> Reply:
        query = _named_queries().get(name)  # by name only: never a path to a file
        if query is None:
            raise EndpointError(404, f"no named query {name!r}; the page at / lists them")
        fmt = params.pop("format", [None])[0]
        if any(len(values) > 1 for values in params.values()):
            raise EndpointError(400, "give each parameter once")
        values = {key: values[0] for key, values in params.items()}
        return self.server.endpoint.answer_named(query, values, accept=self.headers.get("Accept"), format=fmt)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        if self.server.log_requests:
            super().log_message(format, *args)


class EndpointServer(ThreadingHTTPServer):
    """The HTTP server of one :class:`Endpoint`; ``port=0`` picks a free port."""

    daemon_threads = True

    def __init__(self, endpoint: Endpoint, host: str = "127.0.0.1", port: int = 0, *,
                 log_requests: bool = False) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.endpoint = endpoint
        self.log_requests = log_requests
        super().__init__((host.strip("[]"), port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host's name up in the DNS, which may hang offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def make_server(graph: str | Path, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0,
                limit: int = 10_000, log_requests: bool = False) -> EndpointServer:
    """A server for a built graph file or store folder, listening and ready to
    ``serve_forever()``."""
    return EndpointServer(Endpoint(open_store(graph), timeout=timeout, limit=limit), host, port,
                          log_requests=log_requests)
