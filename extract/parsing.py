"""What the format readers share: the error a parser raises for input it cannot read,
safe XML parsing, whitespace, and the builder that lays passages out into a
document's text.

Nothing here touches the disk or the network; :mod:`cartkg.extract.readers` reads the
bytes and turns a :class:`Malformed` into a :class:`~cartkg.extract.records.ReadError`.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_etree
from defusedxml import DefusedXmlException, EntitiesForbidden, ExternalReferenceForbidden

from .records import Passage

#: Elements nested deeper than this are refused: real articles stay far below it, and
#: the readers walk sections recursively.
MAX_XML_DEPTH = 200

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class Malformed(ValueError):
    """Input a reader cannot read. The message is one line, without the file's name."""


def one_line(message: str, limit: int = 300) -> str:
    """A message on one line, cut to ``limit`` characters.

    >>> one_line("line 1\\n  line 2")
    'line 1 line 2'
    """
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def collapse(text: str | None) -> str:
    """Runs of whitespace (newlines, tabs, no-break spaces) as one space, trimmed.

    >>> collapse("  CD19\\n\\t CAR\\u00a0T ")
    'CD19 CAR T'
    """
    return " ".join(text.split()) if text else ""


def clean_controls(text: str) -> str:
    """Control characters and lone surrogates replaced one for one, so offsets keep.

    >>> clean_controls("a\\x00b\\rc")
    'a b\\nc'
    """
    return _CONTROLS.sub(lambda m: "\ufffd" if m.group() >= "\ud800" else " ", text.replace("\r", "\n"))


def parse_xml(data: bytes) -> Element:
    """Parse XML safely: no entity declarations, no external references, nothing
    fetched. A DOCTYPE naming an external DTD (as PubMed and PMC write) is allowed,
    and never loaded. Namespaces are dropped from element names.

    Raises :class:`Malformed` with one line saying what is wrong.
    """
    try:
        root = safe_etree.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except EntitiesForbidden:
        raise Malformed("XML entity declarations are not allowed") from None
    except ExternalReferenceForbidden:
        raise Malformed("XML external references are not allowed") from None
    except DefusedXmlException as exc:
        raise Malformed(f"unsafe XML refused ({type(exc).__name__})") from None
    except ParseError as exc:
        raise Malformed(f"not well-formed XML ({one_line(str(exc))})") from None
    except (ValueError, LookupError) as exc:  # "multi-byte encodings are not supported", "unknown encoding"
        raise Malformed(f"cannot read the XML's encoding ({one_line(str(exc))})") from None
    _strip_namespaces(root)
    return root


def _strip_namespaces(root: Element) -> None:
    """Drop ``{namespace}`` from element names, checking the depth on the way."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_XML_DEPTH:
            raise Malformed(f"XML nested too deeply (more than {MAX_XML_DEPTH} levels)")
        if element.tag[0] == "{":
            element.tag = element.tag.rpartition("}")[2]
        stack.extend((child, depth + 1) for child in element)


def element_text(element: Element | None, skip: frozenset[str] = frozenset()) -> str:
    """All the text inside an element, in document order, leaving out the elements
    named in ``skip`` (but not the text that follows them). Whitespace is kept."""
    if element is None:
        return ""
    parts: list[str] = []
    stack: list[Element | str] = [element]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        if item is not element and item.tag in skip:
            continue
        parts.append(item.text or "")
        for child in reversed(item):
            if child.tail:
                stack.append(child.tail)
            stack.append(child)
    return "".join(parts)


def text_of(element: Element | None, skip: frozenset[str] = frozenset()) -> str:
    """:func:`element_text`, collapsed to one line."""
    return collapse(element_text(element, skip))


def is_number(text: str) -> bool:
    """True for a non-empty run of ASCII digits (``str.isdigit`` also takes "²" and "٣").

    >>> is_number("38572754"), is_number("²"), is_number("")
    (True, False, False)
    """
    return text.isascii() and text.isdigit()


def pmcid_of(value: str | None) -> str:
    """A PMCID as ``PMC<digits>``, from either form a source writes; else empty.

    >>> pmcid_of("11223843"), pmcid_of("pmc11223843"), pmcid_of("n/a")
    ('PMC11223843', 'PMC11223843', '')
    """
    value = collapse(value)
    digits = value[3:] if value[:3].upper() == "PMC" else value
    return f"PMC{digits}" if is_number(digits) else ""


def year_of(text: str | None) -> int | None:
    """The first plausible four-digit year in a date as written.

    >>> year_of("2024 Nov-Dec"), year_of("Spring"), year_of(None)
    (2024, None, None)
    """
    match = re.search(r"(?<![0-9])(1[5-9][0-9][0-9]|2[0-9][0-9][0-9])(?![0-9])", text or "")
    return int(match.group(1)) if match else None


def unique(values) -> tuple[str, ...]:
    """Non-empty values, first occurrence kept, in order."""
    return tuple(dict.fromkeys(v for v in values if v))


class TextBuilder:
    """Lays pieces of text out one after another, a blank line between them, and
    records the passages: the text a reader builds is the document's text, and every
    passage slices it.

    >>> b = TextBuilder()
    >>> b.add("Title", "CAR T cells")
    0
    >>> b.heading("Results")
    >>> b.add("Results", " CRS was common. ")
    22
    >>> b.text(), b.passages[1]
    ('CAR T cells\\n\\nResults\\n\\n CRS was common. ', Passage(section='Results', offset=23, text='CRS was common.'))
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._passages: list[Passage] = []

    def add(self, section: str, text: str, *, passage: bool = True) -> int | None:
        """Append ``text`` (kept as it is, so offsets into it stay valid) and, unless
        ``passage`` is false, a passage of its stripped text. Returns where ``text``
        starts in the document's text, or None for blank text (nothing is added)."""
        if not text.strip():
            return None
        if self._parts:
            self._parts.append("\n\n")
            self._length += 2
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        if passage:
            lead = len(text) - len(text.lstrip())
            self._passages.append(Passage(section=section, offset=start + lead, text=text.strip()))
        return start

    def heading(self, text: str) -> None:
        """A section title: in the text, for a reader to see, but not a passage."""
        self.add("", text, passage=False)

    @property
    def passages(self) -> tuple[Passage, ...]:
        return tuple(self._passages)

    def text(self) -> str:
        return "".join(self._parts)
