"""The SPARQL endpoint: the protocol through SPARQLWrapper and httpx, the read-only rule,
the budgets, the page (in headless Chromium too), and the CLI command."""

from __future__ import annotations

import csv
import doctest
import html
import io
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import httpx
import pyoxigraph as ox
import pytest
from SPARQLWrapper import CSV, JSON, SPARQLWrapper
from typer.testing import CliRunner

from cartkg.kg import iris, serve
from cartkg.kg.cli import app
from cartkg.kg.serve import Endpoint, EndpointServer, QueryRequest, _named_item, open_store
from cartkg.queries.library import get_query, list_queries, parse_query, run_query

RDFS_LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
LABELS = f"SELECT ?s ?label WHERE {{ ?s {RDFS_LABEL} ?label }} ORDER BY ?s ?label"
INSERT = "INSERT DATA { <urn:x:a> <urn:x:b> <urn:x:c> }"
INSERTED = "ASK { <urn:x:a> <urn:x:b> <urn:x:c> }"
#: A count over a cross product: the engine works before its first row, for about 0.5 s here.
BLOCKING = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?t . ?b a ?u }"
#: A cross product that streams (tens of millions of rows).
STREAMING = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"


@contextmanager
def running(endpoint: Endpoint):
    """The endpoint served on 127.0.0.1, on a free port, from a thread."""
    server = EndpointServer(endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def store(graph_file):
    return open_store(graph_file)


@pytest.fixture(scope="module")
def server(store):
    with running(Endpoint(store, timeout=30, limit=10_000)) as server:
        yield server


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def _records(answer: dict) -> list[dict]:
    """SPARQL results JSON as the query library's records."""
    return [{v: b[v]["value"] if v in b else None for v in answer["head"]["vars"]}
            for b in answer["results"]["bindings"]]


# ----------------------------------------------------------------------------- the protocol

def test_sparqlwrapper_gets_the_rows_run_query_gets(server, graph):
    named = get_query("product-antigens")
    expected = run_query(graph, named).records()
    assert expected
    for fmt in (JSON, CSV):
        client = SPARQLWrapper(server.url + "sparql")
        client.setQuery(named.text)
        client.setReturnFormat(fmt)
        answer = client.query().convert()
        if fmt == JSON:
            assert _records(answer) == expected
        else:
            rows = list(csv.DictReader(io.StringIO(answer.decode("utf-8"))))
            assert rows == [{k: v or "" for k, v in r.items()} for r in expected]


@pytest.mark.parametrize("name", ["toxicities-by-product", "evidence-for-pair"])
def test_named_route_binds_parameters_as_the_library_does(client, graph, name):
    named = get_query(name)
    response = client.get(f"named/{name}", params=named.example_parameters)
    assert response.status_code == 200, response.text
    assert _records(response.json()) == run_query(graph, named, named.example_parameters).records()


def test_named_route_refuses_bad_parameters_and_unknown_names(client):
    injected = client.get("named/toxicities-by-product", params={"product": "cke:x> } ?s ?p ?o { <a"})
    assert injected.status_code == 400 and "IRI" in injected.text
    assert client.get("named/toxicities-by-product", params={"colour": "red"}).status_code == 400
    assert client.get("named/no-such-query").status_code == 404
    assert client.get("named/..%2F..%2Fpyproject.rq").status_code == 404


def test_get_and_post_forms_answer_alike(client):
    by_get = client.get("sparql", params={"query": LABELS})
    by_form = client.post("sparql", data={"query": LABELS})
    by_body = client.post("sparql", content=LABELS.encode(), headers={"Content-Type": "application/sparql-query"})
    for response in (by_get, by_form, by_body):
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == "application/sparql-results+json"
    assert by_get.json() == by_form.json() == by_body.json()
    assert len(by_get.json()["results"]["bindings"]) > 100


@pytest.mark.parametrize(("accept", "media", "first_line"), [
    (None, "application/sparql-results+json", '{"head":{"vars":["s","label"]}'),
    ("application/sparql-results+json", "application/sparql-results+json", '{"head":{"vars":["s","label"]}'),
    ("application/sparql-results+xml", "application/sparql-results+xml", '<?xml version="1.0"?>'),
    ("text/csv", "text/csv", "s,label"),
    ("text/tab-separated-values", "text/tab-separated-values", "?s\t?label"),
    ("text/html, application/xml;q=0.9, */*;q=0.8", "application/sparql-results+xml", '<?xml version="1.0"?>'),
    ("text/csv;q=0.4, text/tab-separated-values", "text/tab-separated-values", "?s\t?label"),
])
def test_select_answers_in_the_negotiated_format(client, accept, media, first_line):
    response = client.get("sparql", params={"query": LABELS}, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media
    assert response.text.startswith(first_line)


def test_xml_results_carry_the_rows(client):
    response = client.get("sparql", params={"query": LABELS + " LIMIT 3"},
                          headers={"Accept": "application/sparql-results+xml"})
    assert response.text.count("<result>") == 3


@pytest.mark.parametrize(("accept", "media"), [
    (None, "text/turtle"),
    ("application/n-triples", "application/n-triples"),
    ("application/rdf+xml", "application/rdf+xml"),
])
def test_construct_answers_in_the_negotiated_format(client, accept, media):
    query = f"CONSTRUCT WHERE {{ <{iris.ENTITY}tisagenlecleucel> {RDFS_LABEL} ?label }}"
    response = client.get("sparql", params={"query": query}, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media
    parsed = list(ox.parse(response.content, format=ox.RdfFormat.from_media_type(media)))
    assert [str(t.object.value) for t in parsed] == ["tisagenlecleucel"]


def test_docstring_examples():
    assert doctest.testmod(serve).failed == 0


def test_ask_and_an_unacceptable_format(client):
    assert client.get("sparql", params={"query": "ASK { ?s ?p ?o }"}).json() == {"head": {}, "boolean": True}
    refused = client.get("sparql", params={"query": LABELS}, headers={"Accept": "image/png"})
    assert refused.status_code == 406 and "text/csv" in refused.text


def test_default_graph_uri_narrows_the_dataset(client):
    query = {"query": "ASK { ?s ?p ?o }"}
    assert client.get("sparql", params={**query, "default-graph-uri": "urn:x:empty"}).json()["boolean"] is False
    ontology = {**query, "default-graph-uri": str(iris.ONTOLOGY_GRAPH)}
    assert client.get("sparql", params=ontology).json()["boolean"] is True


# ----------------------------------------------------------------------------- read-only

@pytest.mark.parametrize("how", ["update-form", "update-get", "sparql-update-body", "update-as-query"])
def test_updates_are_refused_and_change_nothing(client, store, how):
    before = len(store)
    if how == "update-form":
        response = client.post("sparql", data={"update": INSERT})
    elif how == "update-get":
        response = client.get("sparql", params={"update": INSERT})
    elif how == "sparql-update-body":
        response = client.post("sparql", content=INSERT.encode(), headers={"Content-Type": "application/sparql-update"})
    else:
        response = client.post("sparql", data={"query": INSERT})
    assert response.status_code == 403
    assert "read-only" in response.text
    assert len(store) == before
    assert client.get("sparql", params={"query": INSERTED}).json()["boolean"] is False


def test_federated_queries_are_refused(client):
    service = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    response = client.get("sparql", params={"query": service})
    assert response.status_code == 403 and "SERVICE" in response.text
    # The word elsewhere (a variable, a string, an IRI, a comment) is no SERVICE clause.
    harmless = ('SELECT ?service WHERE { BIND("SERVICE" AS ?service) FILTER(?service != <urn:SERVICE>) }'
                " # SERVICE")
    assert client.get("sparql", params={"query": harmless}).status_code == 200


def test_a_malformed_query_is_a_400_with_the_parser_message(client):
    response = client.get("sparql", params={"query": "SELECT ?s WHERE { ?s ?p }"})
    assert response.status_code == 400
    assert response.text.startswith("malformed query: error at 1:")
    assert client.get("sparql").status_code == 400
    assert client.post("sparql", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    assert client.get("nowhere").status_code == 404


# ----------------------------------------------------------------------------- budgets

def test_the_limit_truncates_and_says_so(store):
    with running(Endpoint(store, limit=5)) as server, httpx.Client(base_url=server.url) as client:
        cut = client.get("sparql", params={"query": LABELS})
        assert len(cut.json()["results"]["bindings"]) == 5
        assert cut.headers["Cartkg-Truncated"] == "true" and cut.headers["Cartkg-Result-Limit"] == "5"
        whole = client.get("sparql", params={"query": LABELS + " LIMIT 5"})
        assert len(whole.json()["results"]["bindings"]) == 5 and "Cartkg-Truncated" not in whole.headers
        graph = client.get("sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"},
                           headers={"Accept": "application/n-triples"})
        assert len(graph.text.splitlines()) == 5 and graph.headers["Cartkg-Truncated"] == "true"


def test_a_streaming_query_past_its_timeout_is_a_503_and_stops(store):
    endpoint = Endpoint(store, timeout=0.2, limit=10**9, workers=1)
    with running(endpoint) as server, httpx.Client(base_url=server.url) as client:
        started = time.monotonic()
        response = client.get("sparql", params={"query": STREAMING})
        assert response.status_code == 503 and "timeout of 0.2 s" in response.text
        assert time.monotonic() - started < 2
        # The only worker stopped at the deadline, so the next query gets it.
        assert client.get("sparql", params={"query": "ASK {}"}).status_code == 200


def test_a_blocking_query_past_its_timeout_is_a_503_at_the_deadline(store):
    endpoint = Endpoint(store, timeout=0.05)
    started = time.monotonic()
    reply = endpoint.answer(QueryRequest(BLOCKING))
    assert reply.status == 503 and b"timeout of 0.05 s" in reply.body
    assert time.monotonic() - started < 0.4


# ----------------------------------------------------------------------------- the page

def test_the_page_lists_every_named_question(client):
    response = client.get("")
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    for query in list_queries():
        assert html.escape(query.question) in response.text, query.name
    assert client.get("page.js").headers["Content-Type"].startswith("text/javascript")


def test_the_page_escapes_what_it_writes():
    hostile = parse_query('# question: <script>alert(1)</script>?\n'
                          '# parameter: p (literal) "><img src=x onerror=alert(1)>\n'
                          "# example: cartkg query x --param 'p=\"><b>'\nSELECT * WHERE {} # </pre><script>",
                          name='x"><i>')
    item = _named_item(hostile)
    assert "<script>" not in item and "<img" not in item and "<b>" not in item and "<i>" not in item
    assert "&lt;script&gt;alert(1)&lt;/script&gt;?" in item


def test_a_named_query_round_trip_in_headless_chromium(chromium, server, graph, tmp_path):
    named = get_query("toxicities-by-product")
    expected = run_query(graph, named, {"product": "cke:tisagenlecleucel"})
    url = f"{server.url}?named=toxicities-by-product&product=cke:tisagenlecleucel"
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path}", "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    table = re.search(r'<table id="results">(.*?)</table>', done.stdout, re.DOTALL)
    assert table, f"no results table in the page Chromium rendered; stderr: {done.stderr[-500:]}"
    assert "tisagenlecleucel" in table.group(1) and "cytokine release syndrome" in table.group(1)
    assert table.group(1).count("<tr>") == len(expected) + 1  # the header row too
    assert f"toxicities-by-product: {len(expected)} row(s)" in done.stdout


# ----------------------------------------------------------------------------- the command

def test_serve_command_prints_the_url_answers_and_stops_on_ctrl_c(graph_file, tmp_path):
    folder = tmp_path / "store"
    built = ox.Store(str(folder))
    built.bulk_load(path=str(graph_file), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(str(iris.GRAPH["loaded"])))
    built.flush()
    del built
    process = subprocess.Popen(
        [sys.executable, "-m", "cartkg.kg.cli", "serve", "--graph", str(folder), "--port", "0", "--limit", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell's background job ignores SIGINT, and a child would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"at (http://127\.0\.0\.1:\d+/) ", line)
        assert url, line + process.stderr.read()
        answer = httpx.get(url.group(1) + "named/product-antigens", timeout=30)
        assert len(answer.json()["results"]["bindings"]) == 3 and answer.headers["Cartkg-Truncated"] == "true"
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "stopped" in errors and "Traceback" not in errors


def test_serve_command_errors_are_one_line(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(app, ["serve", "--graph", str(tmp_path / "none.ttl")])
    assert missing.exit_code == 2 and "graph file not found" in missing.output
    zero = runner.invoke(app, ["serve", "--graph", str(tmp_path), "--timeout", "0"])
    assert zero.exit_code == 2 and "--timeout 0" in zero.output
