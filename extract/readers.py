"""Readers: files on disk to :class:`~cartkg.extract.records.Document` records.

Plain text and Markdown for now. A reader never raises on bad input: it returns a
:class:`~cartkg.extract.records.ReadError` with one line naming the problem, so the
rest of a batch goes on.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from .records import Document, Passage, ReadError

#: File name endings read when a folder is given.
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
#: Files larger than this are refused (bytes).
MAX_BYTES = 20 * 1024 * 1024

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_BLANK = re.compile(r"\n[ \t]*\n")


def slugify(name: str) -> str:
    """A document identifier from a file name: lower case, ``[a-z0-9_-]`` only.

    >>> slugify("Westhafen Review (2025).md")
    'westhafen-review-2025-md'
    """
    slug = re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-")
    return slug or "document"


def decode(data: bytes) -> str:
    """Bytes to text, or :class:`ValueError` with a one-line reason."""
    if not data.strip():
        raise ValueError("empty file")
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes), not text")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.05 * min(len(text), 8192):
        raise ValueError("binary file (control characters), not text")
    # One newline convention, so offsets agree on every platform.
    return text.replace("\r\n", "\n").replace("\r", "\n")


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


def read_document(path: str | Path, *, doc_id: str | None = None) -> Document | ReadError:
    """Read one text or Markdown file."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            return ReadError(source, "is a folder, not a file")
        if size > MAX_BYTES:
            return ReadError(source, f"file too large ({size} bytes; limit {MAX_BYTES})")
        text = decode(path.read_bytes())
    except FileNotFoundError:
        return ReadError(source, "file not found")
    except PermissionError:
        return ReadError(source, "permission denied")
    except OSError as exc:
        return ReadError(source, f"cannot read ({exc.strerror or exc})")
    except ValueError as exc:
        return ReadError(source, str(exc))
    is_markdown = path.suffix.lower() in (".md", ".markdown")
    title, passages = parse_markdown(text) if is_markdown else parse_text(text)
    if not passages:
        return ReadError(source, "no text to read")
    return Document(
        id=doc_id or slugify(path.stem),
        source=path.name,
        text=text,
        passages=passages,
        title=title,
        format="markdown" if is_markdown else "text",
    )


def expand_sources(sources: Iterable[str | Path]) -> list[Path]:
    """Files named, plus the text files under folders named, in a stable order."""
    paths: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            paths.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
            )
        else:
            paths.append(path)
    return paths


def read_sources(sources: Iterable[str | Path]) -> Iterator[Document | ReadError]:
    """Read every source in turn; identifiers stay unique within the batch."""
    seen: dict[str, int] = {}
    for path in expand_sources(sources):
        result = read_document(path)
        if isinstance(result, Document):
            base = result.id
            count = seen.get(base, 0) + 1
            seen[base] = count
            if count > 1:
                result = dataclasses.replace(result, id=f"{base}-{count}")
        yield result
