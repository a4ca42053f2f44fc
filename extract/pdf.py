"""PDF, through pypdf: the text of each page, passages per page, and sections found
by the look of their titles.

The document's text is the pages' text, a blank line between pages. A line is taken
for a section title (best effort) when it is short and is one of the usual names
(Abstract, Introduction, Methods, Results, Discussion, Conclusions, References…,
numbered or not), or is numbered (``2. Methods``, ``3.1 Toxicity``) or in Title Case
without digits or a final full stop. A numbered subsection's name is joined to the
titles it sits under, as JATS sections are (``Results / Toxicity`` for ``3.1
Toxicity`` under ``3. Results``). Lines repeated on most pages (running heads and
feet) are never titles, and stay out of the passages. A title line stays in the text but is not a passage, and
its number is dropped from the section name. Everything from a ``References``
(or ``Bibliography``, ``Literature cited``) title on is left out of the text.

A passage is a run of lines within one page and one section, split at blank lines.
The title is the PDF's own (its document information) when it has at least two
words, else the first line of the first page. A DOI printed on the first page is
kept in the metadata.

pypdf raises many kinds of exceptions on damaged files; :func:`parse_pdf` turns every
one of them into :class:`~cartkg.extract.parsing.Malformed`, and keeps pypdf's
warnings about damaged files out of the log, so a bad PDF gives one error line.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from .parsing import Malformed, clean_controls, collapse, one_line
from .records import Document, DocumentMetadata, Passage, ReadError

FORMAT = "pdf"
#: PDFs with more pages than this are refused.
MAX_PAGES = 2000

_KNOWN_TITLES = frozenset({
    "abstract", "summary", "background", "introduction", "methods", "materials and methods",
    "patients and methods", "methods and materials", "study design", "results", "results and discussion",
    "discussion", "conclusion", "conclusions", "case report", "case presentation", "acknowledgments",
    "acknowledgements", "funding", "keywords", "abbreviations", "references", "bibliography",
    "literature cited", "supplementary material",
})
_END_TITLES = frozenset({"references", "bibliography", "literature cited"})
_NUMBERED = re.compile(r"(?:\d{1,2}(?:\.\d{1,2}){0,3}\.?|[IVX]{1,4}\.)\s+(\S.*)")
_SMALL_WORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to",
                          "vs", "vs.", "versus", "with", "without", "from", "after", "before", "into"})
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"})
_DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+")


def parse_pdf(data: bytes, *, name: str, source: str, stem: str) -> list[Document | ReadError]:
    """The document of a PDF file: a list of one, with the other readers' signature
    (``source`` is not needed: a PDF is one document, so its errors are the file's and
    are raised as :class:`Malformed`)."""
    pages, info_title = _extract(data)
    text, passages = _layout(pages)
    if not passages:
        raise Malformed("no text in the PDF (a scan without a text layer?)")
    first_line = next((collapse(line) for line in text.splitlines() if line.strip()), "")
    title = info_title if len(info_title.split()) >= 2 else first_line if len(first_line) <= 200 else ""
    doi = _DOI.search(pages[0] if pages else "")
    return [Document(
        id=stem, source=name, text=text, passages=passages, title=title, format=FORMAT,
        metadata=DocumentMetadata(doi=doi.group().rstrip(".,;:)]") if doi else ""),
    )]


@contextmanager
def _quiet() -> Iterator[None]:
    """pypdf's warnings about damaged files, kept out of the log for the call."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _extract(data: bytes) -> tuple[list[str], str]:
    """The text of each page, and the title in the document information."""
    from pypdf import PdfReader

    with _quiet():
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise Malformed("the PDF is encrypted and needs a password")
            count = len(reader.pages)
            if count > MAX_PAGES:
                raise Malformed(f"too many pages ({count}; limit {MAX_PAGES})")
            pages = [_clean(page.extract_text() or "") for page in reader.pages]
            info = reader.metadata
            title = collapse(str(info.title)) if info is not None and info.title else ""
        except Malformed:
            raise
        except Exception as exc:  # noqa: BLE001 - pypdf's errors on damaged files are of many kinds
            raise Malformed(f"not a readable PDF ({type(exc).__name__}: {one_line(str(exc), 200)})") from None
    return pages, clean_controls(title)


def _clean(page: str) -> str:
    return clean_controls(page.translate(_LIGATURES))


def section_title(line: str) -> str | None:
    """The section a line opens, if it looks like a section title.

    >>> section_title("2. Methods"), section_title("3.1 Cytokine Release Syndrome")
    ('Methods', 'Cytokine Release Syndrome')
    >>> section_title("RESULTS"), section_title("Results of the trial were good.")
    ('RESULTS', None)
    """
    found = _heading(line)
    return found[1] if found else None


def _heading(line: str) -> tuple[int, str] | None:
    """A section title's level (``3.1`` is level 2; an unnumbered title, level 1) and
    its text without the number."""
    stripped = collapse(line).rstrip(":").rstrip()
    if not stripped or len(stripped) > 80:
        return None
    numbered = _NUMBERED.fullmatch(stripped)
    body = numbered.group(1) if numbered else stripped
    level = max(1, len(re.findall(r"[0-9]+", stripped[: numbered.start(1)]))) if numbered else 1
    if body.lower() in _KNOWN_TITLES:
        return level, body
    words = body.split()
    if not 1 <= len(words) <= (8 if numbered else 6) or body[-1] in ".,;!?" or not body[0].isupper():
        return None
    if not numbered and (any(c.isdigit() for c in body) or len(words) < 2):
        return None
    if not any(len(w) >= 3 and w.isalpha() for w in words):
        return None
    if all(w[0].isupper() or not w[0].isalpha() or w.lower() in _SMALL_WORDS for w in words):
        return level, body
    if numbered and sum(w[0].islower() for w in words) <= len(words) // 2:
        return level, body
    return None


def _running_lines(pages: list[str]) -> set[str]:
    """Lines (digits ignored) that stand on at least two pages and half of them."""
    if len(pages) < 2:
        return set()
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({_line_key(line) for line in page.splitlines() if line.strip()})
    return {key for key, n in counts.items() if n >= 2 and 2 * n >= len(pages)}


def _line_key(line: str) -> str:
    return re.sub(r"\d+", "#", collapse(line).lower())


def _layout(pages: list[str]) -> tuple[str, tuple[Passage, ...]]:
    """The document's text and passages: pages one after another, a blank line
    between, cut at a References title."""
    running = _running_lines(pages)
    text_parts: list[str] = []
    passages: list[Passage] = []
    section = ""
    open_titles: list[tuple[int, str]] = []  # the titles a numbered subsection sits under
    length = 0
    for number, page in enumerate(pages):
        if number:
            text_parts.append("\n\n")
            length += 2
        run_start: int | None = None
        run_end = 0
        pos = 0
        ended = False
        for line in page.splitlines(keepends=True):
            repeated = _line_key(line) in running
            heading = None if repeated else _heading(line)
            if heading is not None or repeated or not line.strip():
                if run_start is not None:
                    passages.extend(_passage(page, run_start, run_end, section, length))
                    run_start = None
                if heading is not None:
                    level, title = heading
                    if title.lower() in _END_TITLES:
                        page = page[:pos]
                        ended = True
                        break
                    open_titles = [t for t in open_titles if t[0] < level] + [heading]
                    section = " / ".join(t for _, t in open_titles)
            else:
                if run_start is None:
                    run_start = pos
                run_end = pos + len(line)
            pos += len(line)
        if run_start is not None and not ended:
            passages.extend(_passage(page, run_start, run_end, section, length))
        text_parts.append(page)
        length += len(page)
        if ended:
            break
    return "".join(text_parts).rstrip(), tuple(passages)


def _passage(page: str, start: int, end: int, section: str, base: int) -> Iterator[Passage]:
    chunk = page[start:end]
    stripped = chunk.strip()
    if stripped:
        yield Passage(section=section, offset=base + start + chunk.index(stripped), text=stripped)
