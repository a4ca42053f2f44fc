"""Remote stores: pushing the corpus graph to real SPARQL servers and querying it there.

Two servers, each started once for this module on 127.0.0.1 and stopped after it:
Oxigraph server (the ``oxigraph`` binary of the test extra) and Virtuoso (Debian's
``virtuoso-opensource-7-bin``, installed with apt-get when missing and possible;
otherwise its tests are skipped, saying why). Failures the servers cannot be made to
give (timeouts, 5xx, credentials) come from small fake servers on 127.0.0.1.
"""

from __future__ import annotations

import doctest
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from rdflib import BNode, Literal, URIRef
from SPARQLWrapper import POST, SPARQLWrapper
from typer.testing import CliRunner

from cartkg.kg import remote
from cartkg.kg.cli import app
from cartkg.kg.remote import (Endpoint, RemoteError, dataset_graphs, graph_sizes, push, replace_requests,
                              run_remote_query)
from cartkg.kg.store import load_graph
from cartkg.queries.library import QueryError, bind_values, get_query, parse_query, query_names, run_query, sparql_term

runner = CliRunner()
GRAPH = "https://w3id.org/cartkg/graph/"
WESTHAFEN = GRAPH + "doc/westhafen_review"


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch):
    for name in (remote.ENV_USER, remote.ENV_PASSWORD, remote.ENV_TOKEN):
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped (exit {process.returncode}): {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, params={"query": "ASK {}"}, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} within {seconds} s: {log.read_text()[-2000:]}")


class Server:
    """A server process on a folder that outlives it, so it can be stopped and started again."""

    name = ""
    version = ""
    endpoint: Endpoint
    gsp = ""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    @property
    def ready_url(self) -> str:
        return self.endpoint.query.partition("?")[0]

    def start(self) -> None:
        log = self.folder / f"{self.name}.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(self.command(), cwd=self.folder, stdout=out, stderr=subprocess.STDOUT)
        wait_until_ready(self.ready_url, self.process, log)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class Oxigraph(Server):
    name = "oxigraph"

    def __init__(self, folder: Path):
        super().__init__(folder)
        base = f"http://127.0.0.1:{self.port}"
        # The named queries read the union of the named graphs: Oxigraph's default
        # graph is not that union unless asked, here in the URL.
        self.endpoint = Endpoint(f"{base}/query?union-default-graph", update=f"{base}/update")
        self.gsp = f"{base}/store"
        binary = Path(sys.executable).with_name("oxigraph")
        self.binary = str(binary) if binary.exists() else shutil.which("oxigraph")
        self.version = subprocess.run([self.binary, "--version"], capture_output=True, text=True).stdout.strip()

    def command(self) -> list[str]:
        return [self.binary, "serve", "--location", str(self.folder / "data"), "--bind", f"127.0.0.1:{self.port}"]


class Virtuoso(Server):
    name = "virtuoso"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.sql_port = free_port()
        base = f"http://127.0.0.1:{self.port}"
        # Virtuoso's default graph is the union of all its graphs, and one URL takes
        # queries and updates.
        self.endpoint = Endpoint(f"{base}/sparql")
        self.gsp = f"{base}/sparql-graph-crud"
        self.version = subprocess.run(["virtuoso-t", "--help"], capture_output=True, text=True).stderr.splitlines()[1]
        (folder / "virtuoso.ini").write_text(
            "[Database]\n"
            f"DatabaseFile = {folder}/virtuoso.db\nErrorLogFile = {folder}/virtuoso.err\n"
            f"LockFile = {folder}/virtuoso.lck\nTransactionFile = {folder}/virtuoso.trx\n"
            f"xa_persistent_file = {folder}/virtuoso.pxa\n"
            "[TempDatabase]\n"
            f"DatabaseFile = {folder}/virtuoso-temp.db\nTransactionFile = {folder}/virtuoso-temp.trx\n"
            "[Parameters]\n"
            f"ServerPort = 127.0.0.1:{self.sql_port}\nDirsAllowed = ., {folder}\n"
            "NumberOfBuffers = 10000\nMaxDirtyBuffers = 6000\n"
            "[HTTPServer]\n"
            f"ServerPort = 127.0.0.1:{self.port}\nServerRoot = {folder}\n")

    def command(self) -> list[str]:
        return ["virtuoso-t", "-c", str(self.folder / "virtuoso.ini"), "+foreground"]

    def grant_updates(self) -> None:
        """The anonymous /sparql endpoint runs as user SPARQL, which may not update until granted."""
        subprocess.run(["isql-vt", f"127.0.0.1:{self.sql_port}", "dba", "dba", 'exec=grant SPARQL_UPDATE to "SPARQL";'],
                       check=True, capture_output=True, timeout=60)


def _virtuoso_missing() -> str | None:
    """Why Virtuoso cannot run here, after trying to install it; None when it can."""
    if shutil.which("virtuoso-t") and shutil.which("isql-vt"):
        return None
    if not shutil.which("apt-get") or os.geteuid() != 0:
        return ("virtuoso-t is not installed, and apt-get cannot install Debian's virtuoso-opensource-7-bin "
                "here (no apt-get, or not root)")
    install = ["apt-get", "install", "-y", "--no-install-recommends", "virtuoso-opensource-7-bin"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=900)
        done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0 or not shutil.which("virtuoso-t"):
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"virtuoso-t is not installed and 'apt-get install virtuoso-opensource-7-bin' failed: {last[0]}"
    return None


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory):
    server = Oxigraph(tmp_path_factory.mktemp("oxigraph"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory):
    reason = _virtuoso_missing()
    if reason:
        pytest.skip(reason)
    server = Virtuoso(tmp_path_factory.mktemp("virtuoso"))
    server.start()
    try:
        server.grant_updates()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def server(request) -> Server:
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def local(quads_file):
    """The corpus in N-Quads on the embedded store, as ``cartkg query --graph`` reads it."""
    return load_graph(quads_file)


@pytest.fixture(scope="module")
def local_sizes(local) -> dict[str, int]:
    return {graph: len(triples) for graph, triples in dataset_graphs(local).items()}


@pytest.fixture(scope="module")
def pushed(server, quads_file) -> Server:
    report = push(quads_file, server.endpoint)
    assert report.complete, report.failed
    return server


def drop_graphs(server: Server, graphs) -> None:
    client = SPARQLWrapper(server.endpoint.update_url)
    client.setMethod(POST)
    client.setQuery(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in graphs))
    client.query().response.read()


def cartkg_triples(server: Server) -> int:
    """Every triple in the project's graphs on the server, copies included."""
    text = f'SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{GRAPH}")) }}'
    count = parse_query(text, name="count")
    return int(run_remote_query(server.endpoint, count).values("n")[0])


# ------------------------------------------------------------------ real servers

def test_servers_report_their_versions(server):
    print(f"{server.name}: {server.version}")
    assert server.version


@pytest.mark.parametrize("name", query_names())
def test_every_named_query_answers_as_on_the_embedded_store(name, pushed, local, comparable):
    """Same rows, same order (each query's ORDER BY). Neither server differed from the
    embedded store in any value or order on this corpus, so nothing is normalised but
    the order inside GROUP_CONCAT, which SPARQL leaves to each engine."""
    query = get_query(name)
    here = run_query(local, query, query.example_parameters)
    there = run_remote_query(pushed.endpoint, query, query.example_parameters)
    assert len(here) > 0
    assert there.variables == here.variables
    assert comparable(name, there) == comparable(name, here)


def test_pushing_twice_leaves_one_copy(pushed, local, local_sizes):
    again = push(local, pushed.endpoint, batch_size=700)
    assert again.complete and again.pushed == local_sizes
    assert graph_sizes(pushed.endpoint, local_sizes) == local_sizes
    assert cartkg_triples(pushed) == sum(local_sizes.values())


def test_graph_store_protocol_replaces_each_graph(pushed, local_sizes, local):
    for _ in range(2):
        report = push(local, Endpoint(gsp=pushed.gsp))
        assert report.complete and report.pushed == local_sizes
    assert graph_sizes(pushed.endpoint, local_sizes) == local_sizes
    assert cartkg_triples(pushed) == sum(local_sizes.values())
    query = get_query("toxicities-by-product")
    assert run_remote_query(pushed.endpoint, query).records() == run_query(local, query).records()


def test_a_server_stopped_mid_push_is_reported_and_a_rerun_completes_it(pushed, local_sizes, local):
    drop_graphs(pushed, local_sizes)
    requests = []

    def stop_after_first_batch(graph: str, written: int, total: int) -> None:
        requests.append((graph, written))
        if graph == WESTHAFEN:
            pushed.stop()

    try:
        report = push(local, pushed.endpoint, batch_size=300, on_request=stop_after_first_batch)
    finally:
        pushed.start()
    graphs = list(local_sizes)  # sorted: the abstract, the review, entities, ontology, summary
    assert report.pushed == {graphs[0]: local_sizes[graphs[0]]}
    assert list(report.failed) == [WESTHAFEN] and "connection refused" in report.failed[WESTHAFEN]
    assert report.skipped == graphs[2:]
    assert not report.complete and "run the push again" in report.summary()
    # What the report says is what the server holds: the review's first batch only.
    assert graph_sizes(pushed.endpoint, graphs) == {graphs[0]: local_sizes[graphs[0]], WESTHAFEN: 300,
                                                    **{graph: 0 for graph in graphs[2:]}}
    rerun = push(local, pushed.endpoint, batch_size=300)
    assert rerun.complete and rerun.pushed == local_sizes
    assert graph_sizes(pushed.endpoint, graphs) == local_sizes
    assert cartkg_triples(pushed) == sum(local_sizes.values())
    query = get_query("evidence-for-pair")
    params = query.example_parameters
    assert run_remote_query(pushed.endpoint, query, params).records() == run_query(local, query, params).records()


def test_a_parameter_cannot_change_the_query(pushed, local):
    query = get_query("documents-mentioning")
    sneaky = {"label": 'Kymriah" } UNION { ?entity <http://www.w3.org/2000/01/rdf-schema#label> ?label } #'}
    assert len(run_query(local, query, sneaky)) == 0
    assert len(run_remote_query(pushed.endpoint, query, sneaky)) == 0
    kymriah = run_remote_query(pushed.endpoint, query, {"label": "Kymriah"})
    assert len(kymriah) > 0 and set(kymriah.values("label")) == {"Kymriah"}
    with pytest.raises(QueryError, match="needs an IRI"):
        run_remote_query(pushed.endpoint, "diseases-treated", {"product": "http://x/> } UNION { ?s ?p ?o } #"})


def test_a_summary_query_on_an_endpoint_without_the_summary_is_an_error(pushed, local):
    summary = "https://w3id.org/cartkg/graph/summary"
    assert len(run_remote_query(pushed.endpoint, "co-mentions")) > 0
    drop_graphs(pushed, [summary])
    try:
        with pytest.raises(QueryError, match="co-mentions: the graph has no corpus summary"):
            run_remote_query(pushed.endpoint, "co-mentions")
        assert len(run_remote_query(pushed.endpoint, "approvals")) > 0  # the others still answer
    finally:
        assert push(local, pushed.endpoint).complete
    assert len(run_remote_query(pushed.endpoint, "co-mentions")) > 0


def test_an_oxigraph_default_graph_that_is_not_the_union_is_named(oxigraph, local):
    assert push(local, oxigraph.endpoint).complete
    plain = Endpoint(oxigraph.ready_url)
    with pytest.raises(RemoteError, match=r"\?union-default-graph"):
        run_remote_query(plain, "product-antigens")


def test_virtuoso_refused_credentials_are_one_line(virtuoso, monkeypatch):
    """Virtuoso's /sparql-auth wants digest authentication, which cartkg does not speak:
    basic credentials are refused with 401."""
    monkeypatch.setenv(remote.ENV_USER, "dba")
    monkeypatch.setenv(remote.ENV_PASSWORD, "wrong")
    endpoint = Endpoint.from_env(virtuoso.ready_url + "-auth")
    with pytest.raises(RemoteError) as caught:
        run_remote_query(endpoint, "approvals")
    assert "HTTP 401" in str(caught.value) and "\n" not in str(caught.value)


def test_cli_push_and_query_an_endpoint(oxigraph, quads_file, local, local_sizes):
    base = oxigraph.ready_url.rsplit("/", 1)[0]
    pushed = runner.invoke(app, ["push", "-g", str(quads_file), "--endpoint", oxigraph.endpoint.query,
                                 "--update-endpoint", f"{base}/update", "--batch-size", "2000", "-v"])
    assert pushed.exit_code == 0, pushed.output
    assert f"pushed 5 of 5 graph(s), {sum(local_sizes.values()):,} triples" in pushed.stdout
    assert "pushed ckg:ontology" in pushed.stderr
    csv = runner.invoke(app, ["query", "trials-products", "--endpoint", oxigraph.endpoint.query, "-f", "csv"])
    assert csv.exit_code == 0, csv.output
    assert csv.stdout == run_query(local, "trials-products").to_csv()
    answer = runner.invoke(app, ["query", "trials-products", "--endpoint", oxigraph.endpoint.query, "-f", "json"])
    assert answer.exit_code == 0, answer.output
    # The server writes an xsd:string literal without its datatype, as SPARQL results JSON
    # does; the embedded store's rdflib adapter spells it out. RDF 1.1 makes them one term.
    expected = json.loads(run_query(local, "trials-products").to_json())
    for binding in expected["results"]["bindings"]:
        for term in binding.values():
            if term.get("datatype") == "http://www.w3.org/2001/XMLSchema#string":
                del term["datatype"]
    assert json.loads(answer.stdout) == expected
    both = runner.invoke(app, ["query", "approvals", "-g", str(quads_file), "--endpoint", oxigraph.endpoint.query])
    assert both.exit_code == 2 and "either --graph" in both.stderr


# ------------------------------------------------------------- failures, faked

class Recorder(BaseHTTPRequestHandler):
    """Answers every request with the server's ``status`` and records its headers."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.seen.append(dict(self.headers))
        status, body = self.server.status, self.server.body
        self.send_response(status)
        self.send_header("Content-Type", "application/sparql-results+json" if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_GET = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.daemon_threads = True
    server.seen, server.status = [], 200
    server.body = b'{"head": {"vars": ["n"]}, "results": {"bindings": [{"n": {"type": "literal", "value": "1"}}]}}'
    server.url = f"http://127.0.0.1:{server.server_address[1]}/sparql"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """Two one-triple graphs, ``a`` and ``b``; the ontology graph joins them when loaded."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.nq"
    path.write_text(f'<urn:s> <urn:p> "x" <{GRAPH}a> .\n<urn:s> <urn:p> "y" <{GRAPH}b> .\n', encoding="utf-8")
    return path


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_credentials_come_from_the_environment(fake, monkeypatch, tiny):
    monkeypatch.setenv(remote.ENV_TOKEN, "s3cret-token")
    result = runner.invoke(app, ["query", "approvals", "--endpoint", fake.url, "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert fake.seen[-1]["Authorization"] == "Bearer s3cret-token"
    monkeypatch.delenv(remote.ENV_TOKEN)
    monkeypatch.setenv(remote.ENV_USER, "ann")
    monkeypatch.setenv(remote.ENV_PASSWORD, "pw")
    fake.body = b""
    report = push(tiny, Endpoint.from_env(fake.url))
    assert report.complete
    assert {seen["Authorization"] for seen in fake.seen[1:]} == {"Basic YW5uOnB3"}
    assert "pw" not in repr(Endpoint.from_env(fake.url))
    monkeypatch.setenv(remote.ENV_TOKEN, "t")
    clash = runner.invoke(app, ["push", "-g", str(tiny), "--endpoint", fake.url])
    assert clash.exit_code == 2 and "not both" in clash.stderr
    options = runner.invoke(app, ["push", "--help"]).stdout
    assert not {"--user", "--password", "--token"} & set(options.split())


def test_connection_refused_stops_the_push_and_names_every_graph(tiny):
    url = f"http://127.0.0.1:{free_port()}/sparql"
    report = push(tiny, Endpoint(url))
    assert not report.pushed and list(report.failed) == [GRAPH + "a"]
    assert report.skipped == [GRAPH + "b", GRAPH + "ontology"]
    result = runner.invoke(app, ["push", "-g", str(tiny), "--endpoint", url])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"error: ckg:a: {url}: connection refused (is the server running?)"
    assert "not tried: ckg:b, ckg:ontology" in result.stderr
    with pytest.raises(RemoteError, match="connection refused"):
        run_remote_query(Endpoint(url), "approvals")
    through_gsp = push(tiny, Endpoint(gsp=url))
    assert "connection refused" in through_gsp.failed[GRAPH + "a"] and len(through_gsp.skipped) == 2


def test_a_silent_server_times_out(silent_port, tiny):
    url = f"http://127.0.0.1:{silent_port}/sparql"
    with pytest.raises(RemoteError, match="no answer within 1 s"):
        run_remote_query(Endpoint(url, timeout=1), "approvals")
    report = push(tiny, Endpoint(gsp=url, timeout=1))
    assert "no answer within 1 s" in report.failed[GRAPH + "a"] and report.skipped


@pytest.mark.parametrize("status", [400, 500, 503])
def test_server_errors_are_one_line_and_the_push_goes_on(fake, status, tiny):
    fake.status, fake.body = status, b"Broken: no room\nfor this graph\n"
    for endpoint in (Endpoint(fake.url), Endpoint(gsp=fake.url)):
        report = push(tiny, endpoint)
        assert set(report.failed) == {GRAPH + "a", GRAPH + "b", GRAPH + "ontology"} and not report.skipped
        assert all(reason == f"{fake.url}: HTTP {status}: Broken: no room" for reason in report.failed.values())


# ------------------------------------------------------------------ pure parts

def test_doctests():
    assert doctest.testmod(remote).failed == 0


def test_batches_keep_blank_node_groups_together():
    p = URIRef("urn:p")
    a, b = BNode("a"), BNode("b")
    triples = [(URIRef(f"urn:s{i}"), p, Literal(i)) for i in range(3)] + [
        (URIRef("urn:x"), p, a), (a, p, b), (b, p, Literal("end")), (URIRef("urn:y"), p, Literal("y"))]
    requests = replace_requests("urn:g", triples, batch_size=2)
    assert [n for _, n in requests] == [2, 1, 3, 1]
    assert requests[0][0].startswith("DROP SILENT GRAPH <urn:g> ;\nINSERT DATA")
    assert requests[2][0].startswith("INSERT { GRAPH <urn:g>") and requests[2][0].endswith("WHERE {}")
    assert replace_requests("urn:g", [], 2) == [("DROP SILENT GRAPH <urn:g>", 0)]


def test_values_go_into_the_where_group_past_braces_in_strings_comments_and_iris():
    text = ('# a { comment\nPREFIX x: <http://x/a#>\n'
            'SELECT (GROUP_CONCAT(?a; separator="{") AS ?b) (""" } """ AS ?c) FROM <http://x/g#1> WHERE { ?a ?p ?q }')
    bound = bind_values(text, {"p": URIRef("urn:p"), "q": Literal('a "quoted" {value}')})
    assert bound.endswith('WHERE {\n  VALUES ?p { <urn:p> }\n  VALUES ?q { "a \\"quoted\\" {value}" }\n ?a ?p ?q }')
    with pytest.raises(QueryError):
        sparql_term(URIRef("urn:a> } ; DROP ALL #"))
    with pytest.raises(QueryError):
        sparql_term(BNode())
