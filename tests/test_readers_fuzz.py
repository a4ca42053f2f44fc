"""Fuzzing the readers with hypothesis: more than 10,000 generated malformed inputs
(truncated and mutated files of every format, XML mangled tag by tag, entity bombs
and external entities, wrong encodings, random bytes, huge lines, bad JSON).

Every input must give Documents whose passages and annotations slice their text, or
ReadErrors of one line naming the file: never an exception, never a hang (a timer
interrupts any read that takes longer than :data:`HANG_SECONDS`), and never a
network connection (the socket module refuses and records any attempt).

The examples are the same on every run (the ``ci`` profile in conftest.py); the
whole module takes well under a minute on two cores.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import signal
import socket
import threading
import urllib.request
from collections import Counter
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartkg.extract.readers import read_bytes
from cartkg.extract.records import Document, ReadError

#: A read that takes longer than this is a hang.
HANG_SECONDS = 10
#: How many inputs each test draws; together at least 10,000.
EXAMPLES = {
    "test_truncated_files": 1500,
    "test_mutated_bytes": 2500,
    "test_mangled_xml": 1500,
    "test_entity_attacks": 600,
    "test_wrong_encodings": 800,
    "test_random_bytes": 1800,
    "test_huge_lines": 200,
    "test_bad_bioc_json": 1500,
}
FUZZ = settings(deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])


def fuzz(test: str) -> settings:
    """The settings of one fuzz test: :data:`FUZZ`, and its number of examples."""
    return settings(FUZZ, max_examples=EXAMPLES[test])

READS: Counter[str] = Counter()
NETWORK_ATTEMPTS: list[str] = []


class ReaderHang(BaseException):
    """Raised by the timer; a BaseException, so no ``except Exception`` in a reader
    (or in pypdf) can swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float):
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise ReaderHang(f"a reader ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module", autouse=True)
def no_network():
    """Any attempt to resolve a name or open a socket is refused and recorded."""

    def refuse(*args, **kwargs):
        NETWORK_ATTEMPTS.append(repr(args)[:200])
        raise OSError("network access attempted while reading a file")

    with pytest.MonkeyPatch.context() as patch:
        for name in ("socket", "create_connection", "getaddrinfo", "gethostbyname", "socketpair"):
            patch.setattr(socket, name, refuse)
        yield
    assert not NETWORK_ATTEMPTS


#: Good files of each format, to break (filled in by :func:`load_seeds`; not a fixture
#: argument, so that a failing example does not print them all).
SEEDS: dict[str, bytes] = {}


@pytest.fixture(scope="module", autouse=True)
def load_seeds(readers_data, review_pdf):
    for name in ("pubmed.xml", "jats.nxml", "bioc.xml", "bioc.json"):
        SEEDS[name] = (readers_data / name).read_bytes()
    SEEDS["review.pdf"] = review_pdf
    SEEDS["notes.md"] = "# Notes\n\n## Results\n\nTisagenlecleucel targets CD19; CRS in 30 %.\n".encode()


def check(data: bytes, name: str, test: str) -> list[Document | ReadError]:
    """Read ``data`` as the file ``name`` and hold the result to the readers' promises."""
    source = f"/fuzz/{name}"
    with time_limit(HANG_SECONDS):
        results = read_bytes(data, source)
    READS[test] += 1
    assert results, "a reader gave nothing back"
    for result in results:
        if isinstance(result, ReadError):
            line = str(result)
            assert result.source == source and line.startswith(f"{source}: ")
            assert result.message.strip() and len(result.message) <= 300
            assert "\n" not in line and "\r" not in line, line
        else:
            assert isinstance(result, Document) and result.id and result.passages
            assert len(result.sha256) == 64  # the text encodes
            for passage in result.passages:
                assert passage.text and result.text[passage.offset : passage.end] == passage.text
            for annotation in result.annotations:
                assert result.text[annotation.begin : annotation.end] == annotation.text
    assert not NETWORK_ATTEMPTS, NETWORK_ATTEMPTS
    return results


KINDS = ("pubmed.xml", "jats.nxml", "bioc.xml", "bioc.json", "review.pdf", "notes.md")
XML_KINDS = ("pubmed.xml", "jats.nxml", "bioc.xml")
NAMES = st.sampled_from(["in.xml", "in.nxml", "in.json", "in.pdf", "in.txt", "in.md", "in"])


def test_network_guard_records_an_attempt():
    with pytest.raises(OSError):
        urllib.request.urlopen("http://127.0.0.1:9/", timeout=1)
    assert NETWORK_ATTEMPTS
    NETWORK_ATTEMPTS.clear()


@fuzz("test_truncated_files")
@given(kind=st.sampled_from(KINDS), cut=st.integers(min_value=0, max_value=10**6))
def test_truncated_files(kind, cut):
    data = SEEDS[kind]
    check(data[: cut % len(data)], kind, "test_truncated_files")


EDITS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10**6), st.sampled_from(["delete", "insert", "replace", "repeat"]),
              st.binary(min_size=1, max_size=8)),
    min_size=1, max_size=8,
)


def _edit(data: bytes, edits) -> bytes:
    for position, how, chunk in edits:
        i = position % (len(data) + 1)
        if how == "delete":
            data = data[:i] + data[i + len(chunk):]
        elif how == "insert":
            data = data[:i] + chunk + data[i:]
        elif how == "replace":
            data = data[:i] + chunk + data[i + len(chunk):]
        else:
            data = data[:i] + data[i : i + 64] * (1 + len(chunk)) + data[i + 64:]
    return data


@fuzz("test_mutated_bytes")
@given(kind=st.sampled_from(KINDS), edits=EDITS, name=NAMES)
def test_mutated_bytes(kind, edits, name):
    check(_edit(SEEDS[kind], edits), name, "test_mutated_bytes")


#: Element names the readers look for, to rename elements into.
XML_TAGS = [
    "PubmedArticle", "MedlineCitation", "PMID", "Article", "ArticleTitle", "Abstract", "AbstractText", "Author",
    "LastName", "PubDate", "Year", "MedlineDate", "ArticleId", "MeshHeading", "DescriptorName", "article", "front",
    "article-meta", "article-id", "title-group", "article-title", "abstract", "body", "back", "sec", "title", "p",
    "fig", "fig-group", "caption", "label", "table-wrap", "tr", "td", "list", "list-item", "ref-list", "contrib",
    "name", "collab", "pub-date", "year", "collection", "source", "document", "id", "passage", "offset", "text",
    "infon", "annotation", "location", "sentence",
]
#: Attributes the readers read, and values that are wrong for them.
XML_ATTRIBUTES = ["offset", "length", "key", "Label", "IdType", "EIdType", "ValidYN", "pub-id-type", "abstract-type",
                  "contrib-type", "article-type", "journal-id-type"]
XML_VALUES = ["", "-1", "0", "99999999999", "1e3", "PMC", "PMC12", "doi", "pmc", "pmid", "type", "section_type",
              "REF", "title_1", "N", "x" * 300, "\u00e9\u2028", "²", " 12 ", "identifier"]


def _mangle(root, operations) -> None:
    """Change a parsed XML tree in place: the result is well-formed, so the readers'
    own code (not the parser) meets it."""
    for how, i, j, value_index in operations:
        elements = list(root.iter())
        parents = {child: parent for parent in elements for child in parent}
        element = elements[i % len(elements)]
        parent = parents.get(element)
        value = XML_VALUES[value_index % len(XML_VALUES)]
        if how == "drop" and parent is not None:
            parent.remove(element)
        elif how == "rename":
            element.tag = XML_TAGS[j % len(XML_TAGS)]
        elif how == "move" and parent is not None:
            target = elements[j % len(elements)]
            if element not in target.iter() and target is not element:
                parent.remove(element)
                target.append(element)
        elif how == "duplicate" and parent is not None:
            parent.insert(list(parent).index(element), copy.deepcopy(element))
        elif how == "text":
            element.text = value
        elif how == "attribute":
            element.set(XML_ATTRIBUTES[j % len(XML_ATTRIBUTES)], value)
        elif how == "wrap" and parent is not None:
            wrapper = ElementTree.Element(XML_TAGS[j % len(XML_TAGS)])
            parent.insert(list(parent).index(element), wrapper)
            parent.remove(element)
            wrapper.append(element)


@fuzz("test_mangled_xml")
@given(
    kind=st.sampled_from(XML_KINDS),
    operations=st.lists(
        st.tuples(st.sampled_from(["drop", "rename", "move", "duplicate", "text", "attribute", "wrap"]),
                  st.integers(0, 10**4), st.integers(0, 10**4), st.integers(0, 100)),
        min_size=1, max_size=6),
)
def test_mangled_xml(kind, operations):
    root = ElementTree.fromstring(SEEDS[kind])
    _mangle(root, operations)
    check(ElementTree.tostring(root, encoding="utf-8"), kind, "test_mangled_xml")


ROOTS = ["PubmedArticleSet", "article", "collection", "pmc-articleset"]


@st.composite
def entity_attacks(draw) -> bytes:
    root = draw(st.sampled_from(ROOTS))
    kind = draw(st.sampled_from(["laughs", "quadratic", "external", "parameter", "unparsed", "nested-doctype"]))
    width, depth = draw(st.integers(2, 12)), draw(st.integers(1, 12))
    url = draw(st.sampled_from(["http://127.0.0.1:9/x", "https://example.org/x.dtd", "file:///etc/passwd",
                                "ftp://127.0.0.1/x", "x.dtd", "\\\\host\\share\\x"]))
    if kind == "laughs":
        decls = ['<!ENTITY e0 "lol">'] + [
            f'<!ENTITY e{i} "{f"&e{i - 1};" * width}">' for i in range(1, depth + 1)]
        body = f"&e{depth};"
    elif kind == "quadratic":
        decls, body = [f'<!ENTITY a "{"a" * (1000 * width)}">'], "&a;" * (100 * depth)
    elif kind == "external":
        decls, body = [f'<!ENTITY x SYSTEM "{url}">'], "&x;"
    elif kind == "parameter":
        decls, body = [f'<!ENTITY % p SYSTEM "{url}">', "%p;"], ""
    elif kind == "unparsed":
        decls, body = ['<!NOTATION n SYSTEM "n">', f'<!ENTITY u SYSTEM "{url}" NDATA n>'], ""
    else:
        decls, body = [f'<!ENTITY x PUBLIC "-//x//EN" "{url}">'], "&x;" * width
    declaration = draw(st.sampled_from(['<?xml version="1.0"?>\n', ""]))
    return f"{declaration}<!DOCTYPE {root} [{''.join(decls)}]><{root}>{body}</{root}>".encode()


@fuzz("test_entity_attacks")
@given(data=entity_attacks(), name=NAMES)
def test_entity_attacks(data, name):
    [result] = check(data, name, "test_entity_attacks")
    assert isinstance(result, ReadError) and result.message == "XML entity declarations are not allowed", result


ENCODINGS = ["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "shift_jis", "cp037", "utf-7",
             "koi8-r", "utf-8-sig", "gb18030"]


@fuzz("test_wrong_encodings")
@given(
    kind=st.sampled_from(("pubmed.xml", "jats.nxml", "bioc.xml", "bioc.json", "notes.md")),
    actual=st.sampled_from(ENCODINGS),
    declared=st.sampled_from(ENCODINGS + ["UTF-8", "nonsense", ""]),
    extra=st.text(alphabet="éüß–μ日本\u00a0\u2028", min_size=0, max_size=20),
    bom=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00"]),
)
def test_wrong_encodings(kind, actual, declared, extra, bom):
    text = SEEDS[kind].decode("utf-8").replace("Tisagenlecleucel", "Tisagenlecleucel " + extra, 1)
    if declared:
        text = re.sub(r"encoding=['\"][^'\"]*['\"]", f'encoding="{declared}"', text, count=1)
    check(bom + text.encode(actual, errors="replace"), kind, "test_wrong_encodings")


PREFIXES = [b"", b"%PDF-1.7\n", b"%PDF-", b'<?xml version="1.0"?>', b"<PubmedArticleSet>", b"<article>",
            b"<collection>", b"<pmc-articleset>", b"{", b"[", b'{"documents": [', b"\xef\xbb\xbf", b"\xff\xfe",
            b"\xfe\xff", b"\x00\x00\xfe\xff", b"# ", b"\x89PNG\r\n\x1a\n"]


@fuzz("test_random_bytes")
@given(prefix=st.sampled_from(PREFIXES), body=st.binary(max_size=2000), name=NAMES)
def test_random_bytes(prefix, body, name):
    check(prefix + body, name, "test_random_bytes")


@fuzz("test_huge_lines")
@given(
    container=st.sampled_from(["text", "markdown", "xml-text", "xml-attribute", "json-string", "pdf-comment"]),
    size=st.integers(min_value=10_000, max_value=400_000),
    unit=st.sampled_from(["a", "CD19 ", "#", "-", " ", "é", "<", "\t", "1. ", "A "]),
)
def test_huge_lines(container, size, unit):
    line = unit * (size // len(unit))
    data = {
        "text": line.encode(),
        "markdown": ("# " + line).encode(),
        "xml-text": f"<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>"
                    f"{line.replace('<', '&lt;')}</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
                    f"</PubmedArticleSet>".encode(),
        "xml-attribute": f'<collection><document><passage><infon key="{line.replace("<", "")}">x</infon>'
                         f"<offset>0</offset><text>t</text></passage></document></collection>".encode(),
        "json-string": json.dumps({"documents": [{"passages": [{"offset": 0, "text": line}]}]}).encode(),
        "pdf-comment": b"%PDF-1.4\n%" + line.encode() + b"\n%%EOF",
    }[container]
    name = {"markdown": "in.md", "json-string": "in.json", "pdf-comment": "in.pdf"}.get(container, "in.xml")
    check(data, name, "test_huge_lines")


BAD_VALUES = st.sampled_from([None, True, False, -1, 0, 1.5, "", "x", "12", [], {}, [1], {"a": None},
                              10**30, "9" * 20, float("inf"), "\ud800", "\x00\x1b"])


def _paths(value, path=()):
    """Every place in a JSON value, as a path of keys and indexes."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _replace(value, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    return [*value[:head], _replace(value[head], rest, new), *value[head + 1:]]


@fuzz("test_bad_bioc_json")
@given(
    where=st.lists(st.tuples(st.integers(min_value=0, max_value=10**6), BAD_VALUES), min_size=1, max_size=4),
    raw=st.sampled_from(["", "deep", "trailing", "big-int", "bad-escape", "nan", "truncate"]),
    depth=st.integers(min_value=1, max_value=200_000),
)
def test_bad_bioc_json(where, raw, depth):
    value = json.loads(SEEDS["bioc.json"])
    for position, new in where:
        paths = list(_paths(value))
        value = _replace(value, paths[position % len(paths)], new)
    text = json.dumps(value)
    if raw == "deep":
        text = "[" * depth + text + "]" * depth
    elif raw == "trailing":
        text += "}" * (depth % 5 + 1)
    elif raw == "big-int":
        text = text.replace('"offset": 0', f'"offset": {"9" * (depth % 6000 + 1)}', 1)
    elif raw == "bad-escape":
        text = text.replace('"text": "', '"text": "\\ud800\\x', 1)
    elif raw == "nan":
        text = text.replace('"offset": 0', '"offset": NaN', 1)
    elif raw == "truncate":
        text = text[: depth % (len(text) + 1)]
    check(text.encode("utf-8", "surrogatepass"), "in.json", "test_bad_bioc_json")


def test_at_least_ten_thousand_inputs_were_read():
    if set(READS) != set(EXAMPLES):
        pytest.skip("only part of the fuzz module ran")
    assert sum(EXAMPLES.values()) >= 10_000
    assert sum(READS.values()) >= 10_000, dict(READS)
