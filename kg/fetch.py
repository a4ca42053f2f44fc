"""PubMed records by query or PMID list, saved as the raw XML that NCBI sends.

The fetcher talks to NCBI's E-utilities: ESearch turns a query into PMIDs, EFetch returns
their records as one ``PubmedArticleSet`` per batch. Each batch is saved as received
(``pubmed-0001.xml``, ...) beside ``manifest.json``, which lists the query and the PMIDs
of each file, so a build can run again offline on exactly the same input. Files are
written atomically and recorded one by one, so an interrupted fetch resumes where it
stopped, and a second run fetches only what is not saved yet.

The fetcher lives in ``kg`` rather than ``extract`` because it writes files through
:func:`cartkg.kg.export.atomic_write` and ``extract`` may not import ``kg``.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
import httpx
import tenacity
from defusedxml import DefusedXmlException

from cartkg import __version__

from .export import atomic_write

T = TypeVar("T")

DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
#: Sent as ``tool`` with every request, as NCBI asks of programs (E-utilities Help, NBK25499).
TOOL = "cartkg"
# NCBI's published limits: 3 requests per second by default, up to 10 with an API key;
# above that NCBI answers 429. NLM Support, "E-utilities usage policy"
# (https://support.nlm.nih.gov/kbArticle/?pn=KA-05510) and "What is an API Key"
# (https://support.nlm.nih.gov/kbArticle/?pn=KA-05317).
RATE_WITHOUT_KEY = 3.0
RATE_WITH_KEY = 10.0
#: NCBI asks for HTTP POST above about 200 UIDs per request; a batch holds at most this many.
MAX_EFETCH_IDS = 200
#: PubMed's ESearch hands out at most the first 10,000 PMIDs of a query.
MAX_ESEARCH_RESULTS = 10_000
#: After this many batches in a row fail, the rest are reported, not tried.
MAX_CONSECUTIVE_FAILURES = 3

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "cartkg-pubmed-fetch/1"
_BATCH_NAME = re.compile(r"pubmed-([0-9]{4,})\.xml")
_PMID = re.compile(r"[1-9][0-9]{0,11}")


class FetchError(Exception):
    """A fetch that cannot go on; the message is one line."""


class RequestRejected(FetchError):
    """NCBI refused the request (a 4xx answer, or an error in the answer): retrying will not help."""


class TransientError(FetchError):
    """An answer worth asking again for: 429, 5xx, a truncated or malformed body."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IncompleteResponse(TransientError):
    """A well-formed ``PubmedArticleSet`` that lacks some of the PMIDs asked for."""

    def __init__(self, articles: Articles) -> None:
        super().__init__(f"efetch returned {len(articles.pmids)} of "
                         f"{len(articles.pmids) + len(articles.missing)} records")
        self.articles = articles


class RetriesExhausted(FetchError):
    """Every attempt failed; ``last`` is the last attempt's error."""

    def __init__(self, message: str, last: BaseException) -> None:
        super().__init__(message)
        self.last = last


# -- configuration and rate limiting ---------------------------------------------------


@dataclass(frozen=True)
class EutilsConfig:
    """Where and how to reach E-utilities; :meth:`from_env` reads the key and e-mail."""

    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = None
    email: str | None = None
    tool: str = TOOL
    #: Seconds to wait for a connection or for the next bytes of an answer.
    timeout: float = 60.0
    #: Requests per call, the first included.
    attempts: int = 5
    #: Wait before the first retry, in seconds; doubled for each later one, up to ``max_wait``.
    backoff: float = 1.0
    max_wait: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: object) -> EutilsConfig:
        """The configuration with ``NCBI_API_KEY`` and ``NCBI_EMAIL`` from the environment.

        >>> EutilsConfig.from_env({"NCBI_API_KEY": "abc", "NCBI_EMAIL": "me@example.org"}).rate
        10.0
        """
        env = os.environ if environ is None else environ
        return cls(api_key=env.get("NCBI_API_KEY") or None, email=env.get("NCBI_EMAIL") or None, **options)

    @property
    def rate(self) -> float:
        """Requests per second that NCBI allows this configuration."""
        return RATE_WITH_KEY if self.api_key else RATE_WITHOUT_KEY

    def identity(self) -> dict[str, str]:
        """The ``tool``, ``email`` and ``api_key`` parameters sent with every request."""
        params = {"tool": self.tool}
        if self.email:
            params["email"] = self.email
        if self.api_key:
            params["api_key"] = self.api_key
        return params


class RateLimiter:
    """Spaces calls at least ``1 / rate`` seconds apart, start to start.

    The clock and the sleep are arguments, so a test can drive the limiter without waiting.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, not {rate!r}")
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Sleep until the next call is allowed; return the time it starts at."""
        with self._lock:
            now = self._clock()
            start = now if self._next is None else max(now, self._next)
            if start > now:
                self._sleep(start - now)
            self._next = start + self.interval
            return start


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None.

    >>> parse_retry_after("7"), parse_retry_after("soon")
    (7.0, None)
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


# -- the client --------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """The PMIDs that ESearch found for a query, in PubMed's order."""

    query: str
    #: How many records match, by PubMed's count; may exceed ``len(pmids)``.
    count: int
    pmids: tuple[str, ...]
    #: True when PubMed's 10,000 cap, not ``max_results``, cut the list short.
    capped: bool = False


@dataclass(frozen=True)
class Articles:
    """One EFetch answer: the XML as received and the PMIDs it holds."""

    xml: bytes
    pmids: tuple[str, ...]
    #: PMIDs asked for but absent from the answer (deleted or unknown records).
    missing: tuple[str, ...] = ()


def _one_line(text: object, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _parse_xml(body: bytes, what: str) -> Element:
    """Parse an E-utilities answer safely; a broken body is worth asking again for."""
    try:
        return SafeET.fromstring(body)
    except (ParseError, DefusedXmlException) as exc:
        raise TransientError(f"{what} answer is not well-formed XML (truncated?): {_one_line(exc)}") from None


def _error_detail(response: httpx.Response) -> str:
    """NCBI's own error message from an error answer (JSON or XML), if it has one."""
    text = response.text[:4000]
    try:
        data = json.loads(text)
    except ValueError:
        match = re.search(r"<ERROR>(.*?)</ERROR>", text, re.DOTALL | re.IGNORECASE)
        return f": {_one_line(match.group(1))}" if match else ""
    message = data.get("error") or data.get("ERROR") if isinstance(data, dict) else None
    return f": {_one_line(message)}" if message else ""


def _check_status(response: httpx.Response) -> None:
    code = response.status_code
    if code < 400:
        return
    problem = f"HTTP {code} {response.reason_phrase}{_error_detail(response)}"
    if code in (408, 429) or code >= 500:
        raise TransientError(problem, retry_after=parse_retry_after(response.headers.get("Retry-After")))
    raise RequestRejected(problem)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in time ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {_one_line(exc) or type(exc).__name__}"
    if isinstance(exc, httpx.HTTPError):
        return f"connection failed: {_one_line(exc) or type(exc).__name__}"
    return _one_line(exc)


def _retriable(exc: BaseException) -> bool:
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return False
    return isinstance(exc, (TransientError, httpx.TransportError, httpx.DecodingError))


def parse_esearch(body: bytes) -> tuple[int, list[str]]:
    """PubMed's count and the page of PMIDs from an ESearch XML answer."""
    root = _parse_xml(body, "esearch")
    error = root.findtext("ERROR")
    if error:
        raise RequestRejected(f"PubMed refused the search: {_one_line(error)}")
    count = (root.findtext("Count") or "").strip()
    if root.tag != "eSearchResult" or not re.fullmatch(r"[0-9]+", count):
        raise TransientError("esearch answer has no eSearchResult count")
    pmids = [(node.text or "").strip() for node in root.iterfind("IdList/Id")]
    bad = [pmid for pmid in pmids if not _PMID.fullmatch(pmid)]
    if bad:
        raise TransientError(f"esearch answer holds a malformed PMID {bad[0]!r}")
    return int(count), pmids


def parse_articles(body: bytes, requested: Sequence[str]) -> Articles:
    """Check an EFetch answer: a complete ``PubmedArticleSet`` holding every PMID requested.

    Raises :class:`TransientError` for a body that is not one, and
    :class:`IncompleteResponse` (which carries what came) when PMIDs are missing.
    """
    root = _parse_xml(body, "efetch")
    if root.tag != "PubmedArticleSet":
        error = root.findtext(".//ERROR")
        detail = f": {_one_line(error)}" if error else ""
        raise TransientError(f"efetch answer is a <{root.tag}>, not a PubmedArticleSet{detail}")
    found = []
    for record in root:
        path = {"PubmedArticle": "MedlineCitation/PMID", "PubmedBookArticle": "BookDocument/PMID"}.get(record.tag)
        pmid = (record.findtext(path) or "").strip() if path else ""
        if pmid:
            found.append(pmid)
    present = set(found)
    articles = Articles(body, tuple(found), tuple(p for p in requested if p not in present))
    if articles.missing:
        raise IncompleteResponse(articles)
    return articles


class EutilsClient:
    """ESearch and EFetch on PubMed, rate-limited and retried.

    Every request waits on ``limiter`` (NCBI's rate for the configuration by default) and
    carries ``tool``, ``email`` and ``api_key``. Timeouts, dropped connections, 429 (after
    its ``Retry-After``), 5xx and truncated or malformed bodies are retried with
    exponential back-off; a 4xx answer raises :class:`RequestRejected` at once. ``sleep``
    is the back-off's sleep, an argument so tests need not wait.
    """

    def __init__(
        self,
        config: EutilsConfig | None = None,
        *,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config or EutilsConfig.from_env()
        self.limiter = limiter or RateLimiter(self.config.rate)
        self._sleep = sleep
        self._backoff = tenacity.wait_exponential(multiplier=self.config.backoff, max=self.config.max_wait)
        self._http = httpx.Client(
            base_url=self.config.base_url,
            timeout=self.config.timeout,
            follow_redirects=True,
            headers={"User-Agent": f"cartkg/{__version__} (+{TOOL})"},
        )

    def __enter__(self) -> EutilsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.config.max_wait)
        return self._backoff(state)

    def _call(self, what: str, send: Callable[[], httpx.Response], parse: Callable[[bytes], T]) -> T:
        """Send a request until its answer parses, within the configured attempts."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.config.attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception(_retriable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self.limiter.wait()
                    response = send()
                    _check_status(response)
                    return parse(response.content)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise FetchError(f"{what}: bad E-utilities URL {self.config.base_url!r}: {_one_line(exc)}") from None
        except RequestRejected as exc:
            raise RequestRejected(f"{what}: {exc}") from None
        except (TransientError, httpx.HTTPError) as exc:
            n = retrying.statistics.get("attempt_number", self.config.attempts)
            message = f"{what}: gave up after {n} attempt{'s' * (n != 1)}: {_describe(exc)}"
            raise RetriesExhausted(message, exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def esearch(
        self, query: str, *, max_results: int | None = None, page_size: int = MAX_ESEARCH_RESULTS
    ) -> SearchResult:
        """The PMIDs matching ``query``, paged through ``retstart`` ``page_size`` at a time."""
        if not 1 <= page_size <= MAX_ESEARCH_RESULTS:
            raise ValueError(f"page_size must be 1 to {MAX_ESEARCH_RESULTS}, not {page_size}")
        if max_results is not None and max_results < 0:
            raise ValueError(f"max_results must be 0 or more, not {max_results}")
        limit = MAX_ESEARCH_RESULTS if max_results is None else min(max_results, MAX_ESEARCH_RESULTS)
        pmids: dict[str, None] = {}
        count, retstart = 0, 0
        while True:
            params = {"db": "pubmed", "term": query, "retstart": str(retstart),
                      "retmax": str(min(page_size, limit - retstart)), **self.config.identity()}
            page_count, page = self._call(
                f"esearch {query!r}", lambda: self._http.get("esearch.fcgi", params=params), parse_esearch
            )
            count = page_count if retstart == 0 else count
            pmids.update(dict.fromkeys(page))
            retstart += len(page)
            if not page or retstart >= min(count, limit):
                break
        capped = count > MAX_ESEARCH_RESULTS and (max_results is None or max_results > MAX_ESEARCH_RESULTS)
        return SearchResult(query, count, tuple(pmids)[:limit], capped)

    def efetch(self, pmids: Sequence[str]) -> Articles:
        """The PubMed XML of ``pmids`` (at most 200), by HTTP POST.

        PMIDs still missing after the last attempt come back in ``missing``.
        """
        if not 1 <= len(pmids) <= MAX_EFETCH_IDS:
            raise ValueError(f"efetch takes 1 to {MAX_EFETCH_IDS} PMIDs, not {len(pmids)}")
        data = {"db": "pubmed", "retmode": "xml", "id": ",".join(pmids), **self.config.identity()}
        what = f"efetch of {len(pmids)} PMID{'s' * (len(pmids) != 1)} from {pmids[0]}"
        try:
            return self._call(what, lambda: self._http.post("efetch.fcgi", data=data),
                              lambda body: parse_articles(body, pmids))
        except RetriesExhausted as exc:
            if isinstance(exc.last, IncompleteResponse):
                return exc.last.articles
            raise


# -- the saved folder --------------------------------------------------------------------


@dataclass(frozen=True)
class SavedFile:
    """One saved EFetch answer, as the manifest records it."""

    file: str
    pmids: tuple[str, ...]
    sha256: str
    #: The fetch date, when one was given; left out otherwise so outputs stay identical.
    fetched: str | None = None

    def to_json(self) -> dict:
        entry = {"file": self.file, "pmids": list(self.pmids), "sha256": self.sha256}
        if self.fetched:
            entry["fetched"] = self.fetched
        return entry


@dataclass
class Manifest:
    """``manifest.json``: the query (None for PMID lists) and the files saved for it."""

    query: str | None = None
    files: list[SavedFile] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        data = {"format": MANIFEST_FORMAT, "query": self.query,
                "files": [f.to_json() for f in sorted(self.files, key=lambda f: f.file)]}
        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    def put(self, saved: SavedFile) -> None:
        self.files = [f for f in self.files if f.file != saved.file] + [saved]


def read_manifest(directory: str | Path) -> Manifest | None:
    """The manifest of a fetch folder, None if there is none, :class:`FetchError` if unreadable."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"format is not {MANIFEST_FORMAT!r}")
        files = []
        for entry in data["files"]:
            if not _BATCH_NAME.fullmatch(entry["file"]) or not all(_PMID.fullmatch(p) for p in entry["pmids"]):
                raise ValueError(f"bad entry {_one_line(entry, 80)}")
            files.append(SavedFile(entry["file"], tuple(entry["pmids"]), str(entry["sha256"]), entry.get("fetched")))
        return Manifest(data["query"], files)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FetchError(f"{path}: not a readable cartkg PubMed manifest ({_one_line(exc, 120)})") from None


def read_pmid_list(path: str | Path) -> list[str]:
    """PMIDs from a text file: one or more a line (split by spaces or commas), ``#`` comments."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise FetchError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise FetchError(f"{path}: not UTF-8 text") from None
    pmids = []
    for number, line in enumerate(text.splitlines(), start=1):
        for token in re.split(r"[\s,;]+", line.split("#", 1)[0].strip()):
            if token and not _PMID.fullmatch(token):
                raise FetchError(f"{path}, line {number}: {_one_line(token, 40)!r} is not a PMID")
            if token:
                pmids.append(token)
    return pmids


@dataclass(frozen=True)
class BatchFailure:
    """PMIDs that could not be saved, and why."""

    pmids: tuple[str, ...]
    reason: str

    def __str__(self) -> str:
        shown = ", ".join(self.pmids[:5]) + (", …" if len(self.pmids) > 5 else "")
        return f"{len(self.pmids)} PMID{'s' * (len(self.pmids) != 1)} not saved ({shown}): {self.reason}"


@dataclass(frozen=True)
class FetchResult:
    """What a fetch did: files written now, files already saved, PMIDs it could not save."""

    directory: Path
    query: str | None
    #: The PMIDs asked for, ascending.
    pmids: tuple[str, ...]
    written: tuple[SavedFile, ...]
    skipped: tuple[SavedFile, ...]
    failures: tuple[BatchFailure, ...]
    #: PubMed's count for the query; None for a PMID list.
    count: int | None = None
    #: True when PubMed's 10,000 cap cut the query's PMIDs short.
    capped: bool = False

    def summary(self) -> str:
        saved = sum(len(f.pmids) for f in self.written)
        line = (f"{self.directory}: {len(self.pmids)} PMID(s) asked for; {saved} saved in "
                f"{len(self.written)} new file(s), {len(self.skipped)} file(s) already saved")
        failed = sum(len(f.pmids) for f in self.failures)
        return line + (f"; {failed} PMID(s) not saved" if failed else "")


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _names(taken: set[str]) -> Iterator[str]:
    """Batch file names in order, skipping those taken."""
    index = 1
    while True:
        name = f"pubmed-{index:04d}.xml"
        if name not in taken:
            yield name
        index += 1


def _plan(
    directory: Path, manifest: Manifest, wanted: Sequence[str], batch_size: int
) -> tuple[list[SavedFile], list[tuple[str, tuple[str, ...]]]]:
    """Files still good, and the batches to fetch: damaged files again, then new PMIDs.

    New PMIDs fill the lowest free names, so a resumed fetch names its files as an
    uninterrupted one would have.
    """
    good, batches = [], []
    for saved in sorted(manifest.files, key=lambda f: f.file):
        if _sha256(directory / saved.file) == saved.sha256:
            good.append(saved)
        else:
            batches.append((saved.file, saved.pmids))
    listed = {pmid for saved in manifest.files for pmid in saved.pmids}
    pending = [pmid for pmid in wanted if pmid not in listed]
    names = _names({saved.file for saved in manifest.files})
    for start in range(0, len(pending), batch_size):
        batches.append((next(names), tuple(pending[start:start + batch_size])))
    return good, batches


def _write(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def _fetch_batches(
    client: EutilsClient,
    directory: Path,
    manifest: Manifest,
    batches: Sequence[tuple[str, tuple[str, ...]]],
    fetched: str | None,
    on_progress: Callable[[int, int], None] | None,
) -> tuple[list[SavedFile], list[BatchFailure]]:
    """Fetch and save each batch, recording it in the manifest as soon as it is saved."""
    written: list[SavedFile] = []
    failures: list[BatchFailure] = []
    in_a_row = 0
    for done, (name, batch) in enumerate(batches, start=1):
        if in_a_row >= MAX_CONSECUTIVE_FAILURES:
            rest = tuple(pmid for _, later in batches[done - 1:] for pmid in later)
            failures.append(BatchFailure(rest, f"not tried: the {in_a_row} batches before failed"))
            break
        try:
            articles = client.efetch(batch)
        except RetriesExhausted as exc:
            failures.append(BatchFailure(batch, str(exc)))
            in_a_row += 1
            continue
        in_a_row = 0
        if articles.pmids:
            _write(directory / name, articles.xml)
            saved = SavedFile(name, articles.pmids, hashlib.sha256(articles.xml).hexdigest(), fetched)
            manifest.put(saved)
            _write(directory / MANIFEST, manifest.to_bytes())
            written.append(saved)
        if articles.missing:
            failures.append(BatchFailure(articles.missing, "not in PubMed's answer (deleted or unknown PMID?)"))
        if on_progress:
            on_progress(done, len(batches))
    return written, failures


def fetch_pubmed(
    directory: str | Path,
    *,
    query: str | None = None,
    pmids: Sequence[str] | None = None,
    max_results: int | None = None,
    batch_size: int = MAX_EFETCH_IDS,
    fetched: str | None = None,
    client: EutilsClient | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> FetchResult:
    """Fetch the records of ``query`` (or of the ``pmids`` given) into ``directory``.

    PMIDs are taken in PubMed's order (or the list's) up to ``max_results``, then saved
    ascending, ``batch_size`` to a file. Files the manifest lists whose bytes still match
    are kept; damaged ones are fetched again under their name. A batch that fails after
    the client's retries is reported in ``failures`` and the rest goes on; a request NCBI
    rejects raises :class:`FetchError`. ``fetched`` (a date) is recorded only if given.
    ``on_progress(done, total)`` counts batches. Without ``client``, one is made from the
    environment (:meth:`EutilsConfig.from_env`).
    """
    if (query is None) == (pmids is None):
        raise ValueError("give either query or pmids")
    if not 1 <= batch_size <= MAX_EFETCH_IDS:
        raise FetchError(f"batch size must be 1 to {MAX_EFETCH_IDS}, not {batch_size}")
    if max_results is not None and max_results < 0:
        raise FetchError(f"max results must be 0 or more, not {max_results}")
    bad = [pmid for pmid in pmids or () if not _PMID.fullmatch(pmid)]
    if bad:
        raise FetchError(f"{_one_line(bad[0], 40)!r} is not a PMID")
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest is not None and manifest.query != query:
        held = f"query {manifest.query!r}" if manifest.query is not None else "a PMID list"
        raise FetchError(f"{directory} holds records fetched for {held}; fetch into another folder")
    manifest = manifest or Manifest(query)
    own_client = client is None
    client = client or EutilsClient()
    try:
        search = client.esearch(query, max_results=max_results) if query is not None else None
        chosen = search.pmids if search else tuple(dict.fromkeys(pmids or ()))[:max_results]
        wanted = tuple(sorted(chosen, key=int))
        skipped, batches = _plan(directory, manifest, wanted, batch_size)
        if on_progress:
            on_progress(0, len(batches))
        written, failures = _fetch_batches(client, directory, manifest, batches, fetched, on_progress)
        if not (directory / MANIFEST).exists():
            _write(directory / MANIFEST, manifest.to_bytes())
    finally:
        if own_client:
            client.close()
    return FetchResult(
        directory, query, wanted, tuple(written), tuple(skipped), tuple(failures),
        count=search.count if search else None, capped=search.capped if search else False,
    )
