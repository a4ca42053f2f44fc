"""The PubMed fetcher against a fake E-utilities server on 127.0.0.1 that the tests start.

The server answers ESearch and EFetch from a dozen small records written here, and plays
the faults NCBI's servers can: a slow answer, 429 with Retry-After, 500, 400, a truncated
body, a short read, a reset connection, an answer missing records. The client's rate
limiter runs on a fake clock and its back-off sleeps are recorded, not slept, so the
tests wait only for the client's 0.2 s timeouts. Connections anywhere but 127.0.0.1 are
refused for the whole module.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from typer.testing import CliRunner

from cartkg.kg.cli import app
from cartkg.kg.fetch import (
    MANIFEST,
    EutilsClient,
    EutilsConfig,
    FetchError,
    RateLimiter,
    RequestRejected,
    RetriesExhausted,
    fetch_pubmed,
    parse_retry_after,
    read_manifest,
    read_pmid_list,
)

#: The fake PubMed, newest first as PubMed lists a search. 30010 is a book record.
TITLES = {
    "30012": "Obecabtagene autoleucel in adults with relapsed B-ALL: a made-up cohort",
    "30011": "CD22 CAR T cells after CD19-negative relapse in children: an invented series",
    "30010": "A handbook chapter on cytokine release syndrome grading",
    "30009": "Tisagenlecleucel outcomes by disease burden: a fictional registry",
    "30008": "Neurotoxicity after CAR T-cell therapy in adolescents: a sample report",
    "30007": "Bridging therapy before CAR T cells: an example review",
    "30006": "Consolidative transplant after CAR T remission: a test abstract",
    "30005": "B-cell aplasia as a marker of CAR persistence: a placeholder study",
    "30004": "Tocilizumab for cytokine release syndrome: a synthetic trial",
    "30003": "Lineage switch after CD19 CAR T therapy: an imaginary case",
    "30002": "Manufacturing failures of autologous CAR T products: a mock audit",
    "30001": "Minimal residual disease before infusion: a dummy analysis",
}
ALL = list(TITLES)
SLOW = 0.6  # seconds the server stalls on a "timeout" fault; the client waits 0.2
HEADER = (
    '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n<PubmedArticleSet>\n'
)


def record(pmid: str) -> str:
    """One record in PubMed's XML; the cited PMID inside must not count as a record."""
    if pmid == "30010":
        return (f'<PubmedBookArticle><BookDocument><PMID Version="1">{pmid}</PMID>'
                f"<ArticleTitle>{TITLES[pmid]}</ArticleTitle></BookDocument></PubmedBookArticle>\n")
    return f"""<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">{pmid}</PMID>
    <Article PubModel="Print">
      <Journal><Title>Journal of Invented Haematology</Title>
        <JournalIssue><PubDate><Year>2024</Year></PubDate></JournalIssue></Journal>
      <ArticleTitle>{TITLES[pmid]}</ArticleTitle>
      <Abstract>
        <AbstractText Label="BACKGROUND">Written for the cartkg tests &amp; nothing else.</AbstractText>
        <AbstractText Label="RESULTS">No patient is real.</AbstractText>
      </Abstract>
      <AuthorList><Author><LastName>Tester</LastName><ForeName>Ada</ForeName></Author></AuthorList>
    </Article>
    <CommentsCorrectionsList><CommentsCorrections RefType="Cites">
      <PMID Version="1">29999</PMID></CommentsCorrections></CommentsCorrectionsList>
  </MedlineCitation>
  <PubmedData><ArticleIdList><ArticleId IdType="pubmed">{pmid}</ArticleId></ArticleIdList></PubmedData>
</PubmedArticle>
"""


def efetch_body(pmids: list[str]) -> bytes:
    return (HEADER + "".join(record(p) for p in pmids if p in TITLES) + "</PubmedArticleSet>\n").encode("utf-8")


def esearch_body(pmids: list[str], retstart: int, retmax: int) -> bytes:
    ids = "".join(f"<Id>{p}</Id>" for p in pmids[retstart:retstart + retmax])
    return (f'<?xml version="1.0" encoding="UTF-8" ?>\n<eSearchResult><Count>{len(pmids)}</Count>'
            f"<RetMax>{retmax}</RetMax><RetStart>{retstart}</RetStart><IdList>{ids}</IdList>"
            "</eSearchResult>\n").encode("utf-8")


@dataclass
class Request:
    method: str
    endpoint: str
    query: dict[str, str]
    form: dict[str, str]

    @property
    def params(self) -> dict[str, str]:
        return {**self.query, **self.form}


@dataclass
class FakeEutils:
    """The server's state: what it was asked, and the faults still to play."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    once: dict[str, list[str]] = field(default_factory=lambda: {"esearch": [], "efetch": []})
    always: dict[str, str] = field(default_factory=dict)

    def calls(self, endpoint: str) -> list[Request]:
        return [r for r in self.requests if r.endpoint == endpoint]

    def fault(self, endpoint: str) -> str | None:
        return self.once[endpoint].pop(0) if self.once[endpoint] else self.always.get(endpoint)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each answer waits out a delayed ACK

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.answer("")

    def do_POST(self) -> None:  # noqa: N802
        self.answer(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8"))

    def answer(self, body: str) -> None:
        fake: FakeEutils = self.server.fake  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        endpoint = url.path.rsplit("/", 1)[-1].removesuffix(".fcgi")
        request = Request(self.command, endpoint, dict(parse_qsl(url.query)), dict(parse_qsl(body)))
        fake.requests.append(request)
        fault = fake.fault(endpoint) if endpoint in fake.once else None
        params = request.params
        if endpoint == "esearch":
            if params["term"] == "bad[[":
                payload = b"<eSearchResult><ERROR>Invalid query syntax near [[</ERROR></eSearchResult>"
            else:
                payload = esearch_body(ALL, int(params.get("retstart", 0)), int(params.get("retmax", 20)))
        elif endpoint == "efetch":
            ids = params["id"].split(",")
            payload = efetch_body(ids[1:] if fault == "incomplete" else ids)
        else:
            return self.send(404, b"unknown E-utility")
        try:
            self.play(fault, payload)
        except OSError:  # the client hung up first (a timeout)
            self.close_connection = True

    def play(self, fault: str | None, payload: bytes) -> None:
        if fault == "timeout":
            time.sleep(SLOW)
        if fault == "429":
            return self.send(429, b'{"error":"API rate limit exceeded","count":"11"}', {"Retry-After": "7"})
        if fault == "500":
            return self.send(500, b"<html>Internal error</html>")
        if fault == "400":
            return self.send(400, b'{"error":"API key invalid","api-key":"bogus"}')
        if fault == "truncated":
            return self.send(200, payload[: len(payload) // 2])
        if fault == "error-body":
            return self.send(200, b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>")
        if fault == "short":  # promises the whole body, sends half, hangs up
            self.send(200, payload[: len(payload) // 2], {"Content-Length": str(len(payload))})
            self.close_connection = True
            return None
        if fault == "reset":  # closes with a TCP RST, nothing sent
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return None
        return self.send(200, payload)

    def send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {"Content-Type": "text/xml; charset=UTF-8", "Content-Length": str(len(payload)), **(headers or {})}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Refuse every connection but to 127.0.0.1, and keep the real NCBI settings out."""
    real = socket.create_connection

    def local_only(address, *args, **kwargs):
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError(f"the tests refuse connections to {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", local_only)
    for name in ("NCBI_API_KEY", "NCBI_EMAIL", "NCBI_EUTILS_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def eutils():
    fake = FakeEutils()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.fake = fake  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/entrez/eutils/"
    yield fake
    server.shutdown()
    server.server_close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Harness:
    client: EutilsClient
    clock: FakeClock
    backoffs: list[float]


def connect(fake: FakeEutils, **options) -> Harness:
    options = {"email": "curator@example.org", "timeout": 0.2, "attempts": 3, "backoff": 0.5, **options}
    config = EutilsConfig(base_url=fake.url, **options)
    clock = FakeClock()
    backoffs: list[float] = []
    limiter = RateLimiter(config.rate, clock=clock, sleep=clock.sleep)
    return Harness(EutilsClient(config, limiter=limiter, sleep=backoffs.append), clock, backoffs)


@pytest.fixture
def harness(eutils):
    made = connect(eutils)
    yield made
    made.client.close()


def saved_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# -- rate limiting -----------------------------------------------------------------------


def test_the_limiter_spaces_calls_by_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock, sleep=clock.sleep)
    assert [limiter.wait() for _ in range(4)] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert clock.sleeps == pytest.approx([1 / 3] * 3)
    clock.now += 5  # a call long after the last one goes at once
    assert limiter.wait() == pytest.approx(6) and len(clock.sleeps) == 3
    clock.now += 0.25  # a call 0.25 s after one waits out the rest of the 1/3 s
    assert limiter.wait() == pytest.approx(6 + 1 / 3) and clock.sleeps[-1] == pytest.approx(1 / 3 - 0.25)


def test_ncbi_rates_and_identity_come_from_the_environment():
    anonymous = EutilsConfig.from_env({})
    assert anonymous.rate == 3 and anonymous.identity() == {"tool": "cartkg"}
    keyed = EutilsConfig.from_env({"NCBI_API_KEY": "k3y", "NCBI_EMAIL": "me@example.org"})
    assert keyed.rate == 10
    assert keyed.identity() == {"tool": "cartkg", "email": "me@example.org", "api_key": "k3y"}
    with EutilsClient(keyed) as client:
        assert client.limiter.interval == pytest.approx(0.1)
    with EutilsClient(anonymous) as client:
        assert client.limiter.interval == pytest.approx(1 / 3)


def test_every_request_waits_its_turn_and_carries_key_email_and_tool(eutils, tmp_path):
    keyed = connect(eutils, api_key="k3y")
    with keyed.client:
        fetch_pubmed(tmp_path / "out", query="car t", batch_size=5, client=keyed.client)
    assert len(eutils.requests) == 4  # one search, three batches
    assert keyed.clock.sleeps == pytest.approx([0.1] * 3)  # 10 requests/s with a key
    for request in eutils.requests:
        assert {k: request.params.get(k) for k in ("tool", "email", "api_key")} == {
            "tool": "cartkg", "email": "curator@example.org", "api_key": "k3y"}
    for request in eutils.calls("efetch"):  # PMIDs go in a POST body, not the URL
        assert request.method == "POST" and "id" in request.form and "id" not in request.query
        assert request.form["db"] == "pubmed" and request.form["retmode"] == "xml"


# -- search and batches ------------------------------------------------------------------


def test_esearch_pages_through_retstart(harness, eutils):
    result = harness.client.esearch("car t", page_size=5)
    assert result.pmids == tuple(ALL) and result.count == 12 and not result.capped
    assert [(r.params["retstart"], r.params["retmax"]) for r in eutils.requests] == [("0", "5"), ("5", "5"), ("10", "5")]
    eutils.requests.clear()
    result = harness.client.esearch("car t", max_results=7, page_size=5)
    assert result.pmids == tuple(ALL[:7])
    assert [(r.params["retstart"], r.params["retmax"]) for r in eutils.requests] == [("0", "5"), ("5", "2")]


def test_a_fetch_saves_raw_batches_and_a_manifest(harness, eutils, tmp_path):
    out = tmp_path / "out"
    progress = []
    result = fetch_pubmed(out, query="car t", batch_size=5, client=harness.client,
                          on_progress=lambda done, total: progress.append((done, total)))
    ascending = sorted(ALL)
    batches = [ascending[:5], ascending[5:10], ascending[10:]]
    assert [len(r.form["id"].split(",")) for r in eutils.calls("efetch")] == [5, 5, 2]
    assert set(saved_files(out)) == {MANIFEST, "pubmed-0001.xml", "pubmed-0002.xml", "pubmed-0003.xml"}
    for number, batch in enumerate(batches, start=1):  # the bytes as the server sent them
        assert (out / f"pubmed-{number:04d}.xml").read_bytes() == efetch_body(batch)
    manifest = json.loads((out / MANIFEST).read_text("utf-8"))
    assert manifest["query"] == "car t" and "fetched" not in json.dumps(manifest)
    assert [(f["file"], f["pmids"]) for f in manifest["files"]] == [
        (f"pubmed-{n:04d}.xml", b) for n, b in enumerate(batches, start=1)]
    assert result.pmids == tuple(ascending) and len(result.written) == 3 and not result.failures
    assert result.summary().endswith("12 PMID(s) asked for; 12 saved in 3 new file(s), 0 file(s) already saved")
    assert progress == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert "30010" in manifest["files"][1]["pmids"]  # the book record counts; the cited 29999 does not


def test_the_same_fetch_gives_the_same_bytes_and_a_second_run_fetches_nothing(harness, eutils, tmp_path):
    fetch_pubmed(tmp_path / "a", query="car t", batch_size=5, client=harness.client)
    fetch_pubmed(tmp_path / "b", query="car t", batch_size=5, client=harness.client)
    assert saved_files(tmp_path / "a") == saved_files(tmp_path / "b")
    eutils.requests.clear()
    again = fetch_pubmed(tmp_path / "a", query="car t", batch_size=5, client=harness.client)
    assert not eutils.calls("efetch") and len(again.skipped) == 3 and not again.written
    assert saved_files(tmp_path / "a") == saved_files(tmp_path / "b")


def test_the_fetch_date_is_recorded_only_when_given(harness, tmp_path):
    fetch_pubmed(tmp_path / "out", pmids=["30001"], fetched="2025-06-01", client=harness.client)
    assert read_manifest(tmp_path / "out").files[0].fetched == "2025-06-01"


def test_a_pmid_list_is_fetched_deduplicated_and_cut_at_max(harness, eutils, tmp_path):
    result = fetch_pubmed(tmp_path / "out", pmids=["30005", "30002", "30005", "30009"], max_results=2,
                          client=harness.client)
    assert not eutils.calls("esearch") and result.pmids == ("30002", "30005") and result.count is None
    assert eutils.calls("efetch")[0].form["id"] == "30002,30005"


def test_a_folder_holds_one_query(harness, tmp_path):
    fetch_pubmed(tmp_path / "out", query="car t", max_results=1, client=harness.client)
    with pytest.raises(FetchError, match="holds records fetched for query 'car t'; fetch into another folder"):
        fetch_pubmed(tmp_path / "out", query="b-all", client=harness.client)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(FetchError, match="not a readable cartkg PubMed manifest"):
        fetch_pubmed(tmp_path / "bad", query="car t", client=harness.client)


# -- faults ------------------------------------------------------------------------------

FAULTS = ["timeout", "429", "500", "truncated", "short", "reset", "incomplete", "error-body"]


@pytest.mark.parametrize("fault", FAULTS)
def test_a_batch_is_fetched_again_after_a_fault(harness, eutils, tmp_path, fault):
    eutils.once["efetch"].append(fault)
    result = fetch_pubmed(tmp_path / "out", query="car t", batch_size=200, client=harness.client)
    assert len(eutils.calls("efetch")) == 2 and not result.failures
    assert (tmp_path / "out" / "pubmed-0001.xml").read_bytes() == efetch_body(sorted(ALL))
    assert harness.backoffs == [7.0 if fault == "429" else 0.5]  # Retry-After is honoured
    assert len(harness.clock.sleeps) == len(eutils.requests) - 1  # the retry waited its turn too


@pytest.mark.parametrize("fault", ["timeout", "500", "truncated", "reset"])
def test_a_search_is_asked_again_after_a_fault(harness, eutils, fault):
    eutils.once["esearch"] += [fault, fault]
    assert harness.client.esearch("car t").pmids == tuple(ALL)
    assert len(eutils.calls("esearch")) == 3 and harness.backoffs == [0.5, 1.0]  # doubling back-off


def test_a_persistent_fault_is_reported_and_a_rerun_finishes(harness, eutils, tmp_path):
    out = tmp_path / "out"
    eutils.always["efetch"] = "500"
    result = fetch_pubmed(out, query="car t", batch_size=3, client=harness.client)
    assert len(eutils.calls("efetch")) == 9  # three batches tried three times; the fourth not tried
    assert [len(f.pmids) for f in result.failures] == [3, 3, 3, 3]
    assert str(result.failures[0]) == (
        "3 PMIDs not saved (30001, 30002, 30003): efetch of 3 PMIDs from 30001: "
        "gave up after 3 attempts: HTTP 500 Internal Server Error")
    assert "not tried: the 3 batches before failed" in str(result.failures[3])
    assert saved_files(out) == {MANIFEST: b'{\n  "format": "cartkg-pubmed-fetch/1",\n  "query": "car t",\n  "files": []\n}\n'}
    del eutils.always["efetch"]
    rerun = fetch_pubmed(out, query="car t", batch_size=3, client=harness.client)
    assert not rerun.failures and [f.file for f in rerun.written] == [f"pubmed-{n:04d}.xml" for n in range(1, 5)]


def test_a_persistent_timeout_names_the_problem(harness, eutils):
    eutils.always["esearch"] = "timeout"
    with pytest.raises(RetriesExhausted, match=r"^esearch 'car t': gave up after 3 attempts: no answer in time"):
        harness.client.esearch("car t")


def test_records_pubmed_lacks_are_reported_and_the_rest_saved(harness, eutils, tmp_path):
    result = fetch_pubmed(tmp_path / "out", pmids=["30001", "40404", "30002"], client=harness.client)
    assert len(eutils.calls("efetch")) == 3  # an incomplete answer is asked for again first
    assert [(f.pmids, f.reason) for f in result.failures] == [(("40404",), "not in PubMed's answer (deleted or unknown PMID?)")]
    assert read_manifest(tmp_path / "out").files[0].pmids == ("30001", "30002")


def test_a_rejected_request_stops_at_once_with_ncbis_reason(harness, eutils, tmp_path):
    eutils.always["efetch"] = "400"
    with pytest.raises(RequestRejected, match="efetch of 1 PMID from 30001: HTTP 400 Bad Request: API key invalid"):
        fetch_pubmed(tmp_path / "out", pmids=["30001"], client=harness.client)
    assert len(eutils.calls("efetch")) == 1 and not harness.backoffs
    with pytest.raises(RequestRejected, match=r"PubMed refused the search: Invalid query syntax near \[\["):
        harness.client.esearch("bad[[")


def test_an_interrupted_fetch_resumes_where_it_stopped(harness, eutils, tmp_path):
    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch_pubmed(tmp_path / "out", query="car t", batch_size=5, client=harness.client, on_progress=stop_after_two)
    assert [f.file for f in read_manifest(tmp_path / "out").files] == ["pubmed-0001.xml", "pubmed-0002.xml"]
    eutils.requests.clear()
    result = fetch_pubmed(tmp_path / "out", query="car t", batch_size=5, client=harness.client)
    assert [r.form["id"] for r in eutils.calls("efetch")] == ["30011,30012"]
    assert len(result.skipped) == 2 and [f.file for f in result.written] == ["pubmed-0003.xml"]
    fetch_pubmed(tmp_path / "whole", query="car t", batch_size=5, client=harness.client)
    assert saved_files(tmp_path / "out") == saved_files(tmp_path / "whole")


def test_a_damaged_file_is_fetched_again_under_its_name(harness, eutils, tmp_path):
    out = tmp_path / "out"
    fetch_pubmed(out, query="car t", batch_size=5, client=harness.client)
    before = saved_files(out)
    (out / "pubmed-0002.xml").write_bytes(before["pubmed-0002.xml"][:100])
    eutils.requests.clear()
    result = fetch_pubmed(out, query="car t", batch_size=5, client=harness.client)
    assert [r.form["id"] for r in eutils.calls("efetch")] == [",".join(sorted(ALL)[5:10])]
    assert [f.file for f in result.written] == ["pubmed-0002.xml"] and saved_files(out) == before


def test_nothing_reaches_the_internet(eutils):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("eutils.ncbi.nlm.nih.gov", 443))
    real = connect(eutils)
    real.client.config = replace(real.client.config, base_url="https://eutils.ncbi.nlm.nih.gov/entrez/eutils/")
    with EutilsClient(real.client.config, limiter=real.client.limiter, sleep=real.backoffs.append) as client:
        with pytest.raises(RetriesExhausted, match="gave up after 3 attempts: cannot connect"):
            client.esearch("car t")
    assert not eutils.requests


# -- small parts -------------------------------------------------------------------------


def test_retry_after_in_seconds_or_as_a_date():
    now = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("7") == 7.0 and parse_retry_after("-3") == 0.0
    assert parse_retry_after("Sun, 01 Jun 2025 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("later") is None and parse_retry_after(None) is None and parse_retry_after("nan") is None


def test_a_pmid_list_file(tmp_path):
    good = tmp_path / "pmids.txt"
    good.write_text("# CAR T reviews\n30001, 30002\n\n30003   # the lineage switch\n", encoding="utf-8")
    assert read_pmid_list(good) == ["30001", "30002", "30003"]
    bad = tmp_path / "bad.txt"
    bad.write_text("30001\nPMC12345\n", encoding="utf-8")
    with pytest.raises(FetchError, match=r"bad.txt, line 2: 'PMC12345' is not a PMID"):
        read_pmid_list(bad)
    with pytest.raises(FetchError, match="cannot read"):
        read_pmid_list(tmp_path / "missing.txt")


# -- the command -------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_env(eutils, monkeypatch):
    """The command against the fake server: a key (10 requests/s) and no back-off wait."""
    from_env = EutilsConfig.from_env.__func__

    def quick(cls, environ=None, **options):
        return replace(from_env(cls, environ, **options), timeout=0.2, attempts=2, backoff=0.0)

    monkeypatch.setattr(EutilsConfig, "from_env", classmethod(quick))
    return {"NCBI_EUTILS_URL": eutils.url, "NCBI_API_KEY": "k3y", "NCBI_EMAIL": "curator@example.org"}


def test_the_command_fetches_a_query(cli_env, eutils, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["fetch-pubmed", "--query", "car t", "-o", str(out), "--batch-size", "10"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{out}: 12 PMID(s) asked for; 12 saved in 2 new file(s), 0 file(s) already saved"
    assert result.stderr == ""  # no progress bar when not a terminal
    assert eutils.requests[0].params["api_key"] == "k3y"
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "pubmed-0001.xml", "pubmed-0002.xml"]


def test_the_command_fetches_a_pmid_list_and_reports_what_is_missing(cli_env, tmp_path):
    listed = tmp_path / "pmids.txt"
    listed.write_text("30003\n40404\n", encoding="utf-8")
    result = runner.invoke(app, ["fetch-pubmed", "--pmids", str(listed), "-o", str(tmp_path / "out")], env=cli_env)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: 1 PMID not saved (40404): not in PubMed's answer (deleted or unknown PMID?)"]
    assert "1 saved in 1 new file(s)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: give --query or --pmids (one of them)"),
        (["--query", "x", "--pmids", "p.txt"], "error: give --query or --pmids (one of them)"),
        (["--query", "bad[["], "error: esearch 'bad[[': PubMed refused the search: Invalid query syntax near [["),
        (["--query", "x", "--date", "June"], "error: --date 'June': write it as YYYY-MM-DD"),
        (["--pmids", "missing.txt"], "error: missing.txt: cannot read: No such file or directory"),
    ],
)
def test_the_command_fails_in_one_line(cli_env, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["fetch-pubmed", *args, "-o", "out"], env=cli_env)
    assert result.exit_code == 2 and result.stderr.splitlines() == [message]


def test_the_command_stops_on_a_rejected_request(cli_env, eutils, tmp_path):
    eutils.always["efetch"] = "400"
    result = runner.invoke(app, ["fetch-pubmed", "-q", "car t", "-o", str(tmp_path / "out")], env=cli_env)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: efetch of 12 PMIDs from 30001: HTTP 400 Bad Request: API key invalid"]


def test_the_docstring_examples():
    import doctest

    from cartkg.kg import fetch

    assert doctest.testmod(fetch).failed == 0
