"""Readers: files on disk to :class:`~cartkg.extract.records.Document` records.

Plain text, Markdown, PubMed XML (:mod:`.pubmed`), PMC/JATS full text (:mod:`.jats`),
BioC XML and JSON (:mod:`.bioc_reader`) and PDF (:mod:`.pdf`). The format is told by
the content (:func:`detect_format`); the file name only settles what the content
leaves open. One file may hold several documents (a PubMed download, a BioC
collection), so :func:`read_documents` gives a list.

A reader never raises on bad input: it returns a
:class:`~cartkg.extract.records.ReadError` with one line naming the file and the
problem, so the rest of a batch goes on. XML is parsed with defusedxml (no entity
declarations, nothing fetched), files over :data:`MAX_BYTES` are refused, and
nothing here opens a network connection.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from . import bioc_reader, jats, pdf, pubmed
from .parsing import Malformed, one_line, parse_xml
from .records import Document, Passage, ReadError

#: File name endings read as text when a folder is given.
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
#: File name endings read when a folder is given.
READABLE_SUFFIXES = TEXT_SUFFIXES + (".xml", ".nxml", ".json", ".pdf")
#: Files larger than this are refused (bytes).
MAX_BYTES = 20 * 1024 * 1024

#: The formats :func:`detect_format` tells apart.
FORMATS = ("pdf", "xml", "json", "markdown", "text")

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_BLANK = re.compile(r"\n[ \t]*\n")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: Root elements that name an XML format, so a ``.txt`` file holding one is still read as XML.
_XML_ROOTS = re.compile(r"<(?:!DOCTYPE\s+)?(PubmedArticleSet|PubmedArticle|pmc-articleset|article|collection)[\s>/]")
_BIOC_JSON_KEYS = re.compile(r'"(documents|passages|PubTator3)"\s*:')


def slugify(name: str) -> str:
    """A document identifier from a file name: lower case, ``[a-z0-9_-]`` only.

    >>> slugify("Westhafen Review (2025).md")
    'westhafen-review-2025-md'
    """
    slug = re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-")
    return slug or "document"


def _bom(data: bytes) -> tuple[str, int] | None:
    """The encoding a byte-order mark announces, and the mark's length."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return None


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 told by its zero bytes (ASCII text has one in every other byte)."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def decode(data: bytes) -> str:
    """Bytes to text, or :class:`ValueError` with a one-line reason.

    UTF-8, or UTF-16/UTF-32 announced by a byte-order mark (or UTF-16 told by its zero
    bytes); anything else is refused rather than guessed, since a wrong guess would
    quietly change the text.

    >>> decode("CAR T\\r\\n".encode("utf-16"))
    'CAR T\\n'
    """
    if not data.strip():
        raise Malformed("empty file")
    found = _bom(data)
    encoding = found[0] if found else _utf16_without_bom(data)
    if encoding is not None:
        start = found[1] if found else 0
        try:
            text = data[start:].decode(encoding)
        except UnicodeDecodeError as exc:
            raise Malformed(
                f"not {encoding.upper()} text, as its start says (bad bytes at offset {exc.start + start})"
            ) from None
    else:
        if b"\x00" in data[:8192]:
            raise Malformed("binary file (contains NUL bytes), not text")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Malformed(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    if not text.strip():
        raise Malformed("empty file")
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.05 * min(len(text), 8192):
        raise Malformed("binary file (control characters), not text")
    # One newline convention, so offsets agree on every platform.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _head(data: bytes, size: int = 4096) -> str:
    """The start of the file as text, for sniffing; undecodable bytes replaced."""
    found = _bom(data)
    if found:
        encoding, start = found
    else:
        encoding, start = _utf16_without_bom(data) or "utf-8", 0
    return data[start : start + size].decode(encoding, errors="replace").lstrip()


def detect_format(data: bytes, name: str = "") -> str:
    """The format of a file's content: ``pdf``, ``xml``, ``json``, ``markdown`` or
    ``text`` (one of :data:`FORMATS`). The name's ending only decides what the
    content leaves open: a ``.md`` file is Markdown, an ``.xml`` file that starts
    with ``<`` is XML.

    >>> detect_format(b"%PDF-1.7 ..."), detect_format(b'<?xml version="1.0"?><collection/>', "a.txt")
    ('pdf', 'xml')
    >>> detect_format(b'{"source": "PubTator", "documents": []}', "x"), detect_format(b"# Title", "a.md")
    ('json', 'markdown')
    """
    suffix = Path(name).suffix.lower()
    head = _head(data)
    if head.startswith("%PDF-"):
        return "pdf"
    if head.startswith("<"):
        if head.startswith("<?xml") or _XML_ROOTS.match(head) or suffix in (".xml", ".nxml"):
            return "xml"
    elif head[:1] in ("{", "[") and (suffix == ".json" or _BIOC_JSON_KEYS.search(head)):
        return "json"
    if suffix == ".json":
        return "json"
    return "markdown" if suffix in (".md", ".markdown") else "text"


def _paragraphs(text: str, start: int, end: int, section: str) -> Iterator[Passage]:
    """The blank-line separated paragraphs of ``text[start:end]`` as passages."""
    pos = start
    for sep in _BLANK.finditer(text, start, end):
        yield from _passage(text, pos, sep.start(), section)
        pos = sep.end()
    yield from _passage(text, pos, end, section)


def _passage(text: str, start: int, end: int, section: str) -> Iterator[Passage]:
    chunk = text[start:end]
    stripped = chunk.strip()
    if stripped:
        offset = start + chunk.index(stripped)
        yield Passage(section=section, offset=offset, text=stripped)


def parse_markdown(text: str) -> tuple[str, tuple[Passage, ...]]:
    """Title and passages of a Markdown text; headings become section names."""
    title = ""
    section = ""
    passages: list[Passage] = []
    body_start = 0
    pos = 0
    for line in text.splitlines(keepends=True):
        match = _HEADING.match(line.rstrip("\n"))
        if match:
            passages.extend(_paragraphs(text, body_start, pos, section))
            level, heading = len(match.group(1)), match.group(2)
            if level == 1 and not title:
                title = heading
            section = heading
            body_start = pos + len(line)
        pos += len(line)
    passages.extend(_paragraphs(text, body_start, len(text), section))
    return title, tuple(passages)


def parse_text(text: str) -> tuple[str, tuple[Passage, ...]]:
    """Title (the first line, if short) and paragraphs of a plain text."""
    first = text.strip().split("\n", 1)[0].strip()
    title = first if len(first) <= 200 else ""
    return title, tuple(_paragraphs(text, 0, len(text), ""))


#: XML root element → the reader of that format.
_XML_READERS = {
    **{root: "pubmed" for root in pubmed.ROOTS},
    **{root: "jats" for root in jats.ROOTS},
    **{root: "bioc" for root in bioc_reader.ROOTS},
}


def _read_xml(data: bytes, *, name: str, source: str, stem: str) -> list[Document | ReadError]:
    root = parse_xml(data)
    kind = _XML_READERS.get(root.tag)
    if kind == "pubmed":
        return pubmed.parse_pubmed(root, name=name, source=source)
    if kind == "jats":
        return jats.parse_jats(root, name=name, source=source, stem=stem)
    if kind == "bioc":
        return bioc_reader.parse_bioc_xml(root, name=name, source=source, stem=stem)
    raise Malformed(
        f"XML of an unknown kind (root element <{one_line(root.tag, 40)}>); expected PubmedArticleSet "
        "(PubMed), article or pmc-articleset (PMC/JATS), or collection (BioC)"
    )


def _read_text(data: bytes, *, name: str, stem: str, markdown: bool) -> list[Document | ReadError]:
    text = decode(data)
    title, passages = parse_markdown(text) if markdown else parse_text(text)
    if not passages:
        raise Malformed("no text to read")
    return [Document(id=stem, source=name, text=text, passages=passages, title=title,
                     format="markdown" if markdown else "text")]


def read_bytes(data: bytes, source: str | Path) -> list[Document | ReadError]:
    """Read a file's content: its documents, with a :class:`ReadError` for the file
    (or for each part of it) that cannot be read. ``source`` is the file's path, for
    the errors; its name goes into :attr:`Document.source` and its stem makes the id
    of a document that carries none of its own."""
    source = str(source)
    path = Path(source)
    name, stem = path.name, slugify(path.stem)
    if len(data) > MAX_BYTES:
        return [ReadError(source, f"file too large ({len(data)} bytes; limit {MAX_BYTES})")]
    try:
        if not data.strip():
            raise Malformed("empty file")
        fmt = detect_format(data, name)
        if fmt == "pdf":
            results = pdf.parse_pdf(data, name=name, source=source, stem=stem)
        elif fmt == "xml":
            results = _read_xml(data, name=name, source=source, stem=stem)
        elif fmt == "json":
            results = bioc_reader.parse_bioc_json(data, name=name, source=source, stem=stem)
        elif path.suffix.lower() == ".pdf":
            raise Malformed("not a PDF (no %PDF- header)")
        else:
            results = _read_text(data, name=name, stem=stem, markdown=fmt == "markdown")
    except Malformed as exc:
        return [ReadError(source, one_line(str(exc)))]
    return [dataclasses.replace(r, message=one_line(r.message)) if isinstance(r, ReadError) else r
            for r in results]


def read_documents(path: str | Path) -> list[Document | ReadError]:
    """Read one file of any supported format: its documents (and errors)."""
    path = Path(path)
    source = str(path)
    try:
        if path.is_dir():
            return [ReadError(source, "is a folder, not a file")]
        size = path.stat().st_size
        if size > MAX_BYTES:
            return [ReadError(source, f"file too large ({size} bytes; limit {MAX_BYTES})")]
        data = path.read_bytes()
    except FileNotFoundError:
        return [ReadError(source, "file not found")]
    except PermissionError:
        return [ReadError(source, "permission denied")]
    except OSError as exc:
        return [ReadError(source, f"cannot read ({exc.strerror or exc})")]
    return read_bytes(data, path)


def read_document(path: str | Path, *, doc_id: str | None = None) -> Document | ReadError:
    """Read a file that holds one document (any format); ``doc_id`` overrides its id.
    A file with several documents is an error here: use :func:`read_documents`."""
    results = read_documents(path)
    errors = [r for r in results if isinstance(r, ReadError)]
    if len(results) > 1:
        return ReadError(str(path), f"holds {len(results)} documents; read it with read_documents")
    if errors:
        return errors[0]
    document = results[0]
    return dataclasses.replace(document, id=doc_id) if doc_id else document


#: Files cartkg itself writes beside documents, which a folder scan passes over: the
#: manifest of ``cartkg fetch-pubmed`` and the gold set's annotations.
OWN_FILES = ("manifest.json", ".ann.json")


def _is_own_file(path: Path) -> bool:
    return path.name == OWN_FILES[0] or path.name.endswith(OWN_FILES[1])


def expand_sources(sources: Iterable[str | Path]) -> list[Path]:
    """Files named, plus the readable files under folders named, in a stable order.
    In a folder, cartkg's own side files (:data:`OWN_FILES`) are passed over."""
    paths: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            paths.extend(sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in READABLE_SUFFIXES and not _is_own_file(p)
            ))
        else:
            paths.append(path)
    return paths


def read_sources(sources: Iterable[str | Path]) -> Iterator[Document | ReadError]:
    """Read every source in turn; identifiers stay unique within the batch."""
    seen: dict[str, int] = {}
    for path in expand_sources(sources):
        for result in read_documents(path):
            if isinstance(result, Document):
                base = result.id
                count = seen.get(base, 0) + 1
                seen[base] = count
                if count > 1:
                    result = dataclasses.replace(result, id=f"{base}-{count}")
            yield result
