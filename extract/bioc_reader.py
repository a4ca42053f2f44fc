"""BioC XML (``collection``) and BioC JSON: one document per BioC document, with id
``bioc-<id>``, and the annotations it carries (PubTator's genes, diseases,
chemicals…) as :class:`~cartkg.extract.records.ExternalAnnotation`.

Both forms are parsed here rather than by the ``bioc`` package: its XML decoder uses
lxml with entity expansion on, and its JSON decoder fails with ``KeyError`` or
``TypeError`` on malformed input. Parsing ourselves keeps the XML defused and gives one
clear error for either form.

The passages are laid out one after another, a blank line between them, so BioC's
offsets (which count from the start of the BioC document, with gaps of any size)
are converted: an annotation location inside a passage keeps its place within that
passage. A location outside every passage, or whose text is not the text at that
place, is dropped. A passage's section is its ``section_type`` infon (PMC's
``RESULTS``, read as ``Results``), else its ``type`` (``title``, ``abstract``).
Reference passages are left out; section titles (``title_1``…) are kept in the text
but are not passages.

Accepted JSON shapes: a collection (``{"source": …, "documents": [...]}``), a list of
collections (PMC's BioC API), PubTator3's ``{"PubTator3": [documents]}``, or one
document (``{"id": …, "passages": [...]}``).
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from .parsing import (Malformed, TextBuilder, clean_controls, collapse, is_number, one_line, pmcid_of, unique,
                      year_of)
from .records import Document, DocumentMetadata, ExternalAnnotation, ReadError

XML_FORMAT = "bioc-xml"
JSON_FORMAT = "bioc-json"
ROOTS = ("collection",)

#: PMC's ``section_type`` values, as section names.
SECTION_TYPES = {
    "TITLE": "Title", "ABSTRACT": "Abstract", "INTRO": "Introduction", "METHODS": "Methods",
    "RESULTS": "Results", "DISCUSS": "Discussion", "CONCL": "Conclusions", "CASE": "Case report",
    "FIG": "Figure", "TABLE": "Table", "SUPPL": "Supplementary material", "ACK_FUND": "Acknowledgments",
    "APPENDIX": "Appendix", "ABBR": "Abbreviations", "KEYWORD": "Keywords", "AUTH_CONT": "Author contributions",
    "COMP_INT": "Competing interests", "REVIEW_INFO": "Review information",
}
#: ``type`` values (PubTator's), as section names; others are kept as they are.
PASSAGE_TYPES = {"title": "Title", "front": "Title", "abstract": "Abstract"}
_HEADING_TYPE = re.compile(r"(?:^|_)title(?:_[0-9]+)?$")
#: Infons that carry an annotation's identifier, in order of preference.
_IDENTIFIER_KEYS = ("identifier", "Identifier", "MESH", "MeSH", "NCBI Gene", "NCBI_Gene", "NCBI Taxonomy",
                    "NCBI_Taxonomy", "ChEBI", "OMIM", "tmVar")


@dataclass
class _Unit:
    """A run of BioC text: a passage, or a sentence of a passage that has no text."""

    offset: int
    text: str
    infons: dict[str, str]


@dataclass
class _Annotation:
    infons: dict[str, str]
    text: str
    locations: list[tuple[int, int]]


@dataclass
class _BiocDocument:
    id: str
    infons: dict[str, str]
    units: list[_Unit] = field(default_factory=list)
    annotations: list[_Annotation] = field(default_factory=list)


# --------------------------------------------------------------------------- XML


def parse_bioc_xml(root: Element, *, name: str, source: str, stem: str) -> list[Document | ReadError]:
    """The documents of a parsed BioC XML ``collection``."""
    origin = collapse(root.findtext("source")) or "BioC"
    documents = []
    for i, element in enumerate(root.findall("document")):
        where = f"document {i + 1}"
        doc = _BiocDocument(collapse(element.findtext("id")), _xml_infons(element))
        for j, passage in enumerate(element.findall("passage")):
            at = f"{where}, passage {j + 1}"
            infons = _xml_infons(passage)
            text = passage.findtext("text")
            if text is not None:
                doc.units.append(_Unit(_xml_int(passage.findtext("offset"), f"{at}: offset"), text, infons))
            for k, sentence in enumerate(passage.findall("sentence")):
                doc.units.append(_Unit(_xml_int(sentence.findtext("offset"), f"{at}, sentence {k + 1}: offset"),
                                       sentence.findtext("text") or "", infons))
                doc.annotations.extend(_xml_annotations(sentence, f"{at}, sentence {k + 1}"))
            doc.annotations.extend(_xml_annotations(passage, at))
        doc.annotations.extend(_xml_annotations(element, where))
        documents.append(doc)
    return _documents(documents, origin, XML_FORMAT, name=name, source=source, stem=stem)


def _xml_infons(element: Element) -> dict[str, str]:
    return {infon.get("key", ""): infon.text or "" for infon in element.findall("infon")}


def _xml_int(value: str | None, where: str) -> int:
    value = (value or "").strip()
    if not is_number(value) or len(value) > 12:
        raise Malformed(f"{where} is {value!r}, not a whole number")
    return int(value)


def _xml_annotations(element: Element, where: str) -> list[_Annotation]:
    found = []
    for n, annotation in enumerate(element.findall("annotation")):
        at = f"{where}, annotation {n + 1}"
        locations = [(_xml_int(loc.get("offset"), f"{at}: location offset"),
                      _xml_int(loc.get("length"), f"{at}: location length"))
                     for loc in annotation.findall("location")]
        found.append(_Annotation(_xml_infons(annotation), annotation.findtext("text") or "", locations))
    return found


# -------------------------------------------------------------------------- JSON


def parse_bioc_json(data: bytes, *, name: str, source: str, stem: str) -> list[Document | ReadError]:
    """The documents of a BioC JSON file."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise Malformed("JSON nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise Malformed(f"JSON is not UTF-8, UTF-16 or UTF-32 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise Malformed(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except ValueError as exc:  # e.g. an integer too long to convert
        raise Malformed(f"not valid JSON ({one_line(str(exc))})") from None

    if isinstance(value, dict) and "documents" in value:
        collections = [value]
    elif isinstance(value, list) and value and all(isinstance(c, dict) and "documents" in c for c in value):
        collections = value
    elif isinstance(value, dict) and isinstance(value.get("PubTator3"), list):
        collections = [{"source": "PubTator3", "documents": value["PubTator3"]}]
    elif isinstance(value, dict) and "passages" in value:
        collections = [{"documents": [value]}]
    else:
        raise Malformed("JSON but not BioC: expected a collection with \"documents\", or a document with \"passages\"")

    results: list[Document | ReadError] = []
    for c, collection in enumerate(collections):
        where = f"collection {c + 1}" if len(collections) > 1 else ""
        origin = _json_str(collection.get("source"), f"{where} source".strip()) or "BioC"
        documents = [_json_document(d, _at(where, f"document {i + 1}"))
                     for i, d in enumerate(_json_list(collection.get("documents"), _at(where, "documents")))]
        results.extend(_documents(documents, origin, JSON_FORMAT, name=name, source=source,
                                  stem=f"{stem}-{c + 1}" if len(collections) > 1 else stem))
    return results


def _at(where: str, what: str) -> str:
    return f"{where}, {what}" if where else what


def _json_list(value: object, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{where} should be a list, not {type(value).__name__}")
    return value


def _json_dict(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise Malformed(f"{where} should be an object, not {type(value).__name__}")
    return value


def _json_str(value: object, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Malformed(f"{where} should be a string, not {type(value).__name__}")
    return clean_controls(str(value))


def _json_int(value: object, where: str) -> int:
    if isinstance(value, str) and is_number(value.strip()) and len(value) <= 12:
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**12:
        raise Malformed(f"{where} is {one_line(repr(value), 40)}, not a whole number")
    return value


def _json_infons(value: object, where: str) -> dict[str, str]:
    infons = {}
    for key, item in _json_dict(value or {}, where).items():
        if item is not None and not isinstance(item, (dict, list)):
            infons[clean_controls(key)] = _json_str(item, f"{where}.{key}")
    return infons


def _json_document(value: object, where: str) -> _BiocDocument:
    value = _json_dict(value, where)
    doc = _BiocDocument(collapse(_json_str(value.get("id"), f"{where}: id")),
                        _json_infons(value.get("infons"), f"{where}: infons"))
    for j, passage in enumerate(_json_list(value.get("passages"), f"{where}: passages")):
        at = f"{where}, passage {j + 1}"
        passage = _json_dict(passage, at)
        infons = _json_infons(passage.get("infons"), f"{at}: infons")
        if passage.get("text") is not None:
            doc.units.append(_Unit(_json_int(passage.get("offset"), f"{at}: offset"),
                                   _json_str(passage.get("text"), f"{at}: text"), infons))
        for k, sentence in enumerate(_json_list(passage.get("sentences"), f"{at}: sentences")):
            sat = f"{at}, sentence {k + 1}"
            sentence = _json_dict(sentence, sat)
            doc.units.append(_Unit(_json_int(sentence.get("offset"), f"{sat}: offset"),
                                   _json_str(sentence.get("text"), f"{sat}: text"), infons))
            doc.annotations.extend(_json_annotations(sentence.get("annotations"), sat))
        doc.annotations.extend(_json_annotations(passage.get("annotations"), at))
    doc.annotations.extend(_json_annotations(value.get("annotations"), where))
    return doc


def _json_annotations(value: object, where: str) -> list[_Annotation]:
    found = []
    for n, annotation in enumerate(_json_list(value, f"{where}: annotations")):
        at = f"{where}, annotation {n + 1}"
        annotation = _json_dict(annotation, at)
        locations = []
        for m, location in enumerate(_json_list(annotation.get("locations"), f"{at}: locations")):
            location = _json_dict(location, f"{at}, location {m + 1}")
            locations.append((_json_int(location.get("offset"), f"{at}, location {m + 1}: offset"),
                              _json_int(location.get("length"), f"{at}, location {m + 1}: length")))
        found.append(_Annotation(_json_infons(annotation.get("infons"), f"{at}: infons"),
                                 _json_str(annotation.get("text"), f"{at}: text"), locations))
    return found


# ------------------------------------------------------------- BioC to documents


def _documents(documents: list[_BiocDocument], origin: str, fmt: str, *,
               name: str, source: str, stem: str) -> list[Document | ReadError]:
    if not documents:
        raise Malformed("no document in the BioC collection")
    results: list[Document | ReadError] = []
    for index, bioc_doc in enumerate(documents, start=1):
        document = _document(bioc_doc, index, origin, fmt, name=name, stem=stem)
        results.append(document if document is not None
                       else ReadError(source, f"document {index}: no text in its passages"))
    return results


def _section(infons: dict[str, str]) -> str:
    section_type = collapse(infons.get("section_type"))
    if section_type:
        return SECTION_TYPES.get(section_type.upper(), section_type)
    kind = collapse(infons.get("type"))
    return PASSAGE_TYPES.get(kind.lower(), kind)


def _is_reference(infons: dict[str, str]) -> bool:
    return infons.get("section_type", "").upper() == "REF" or infons.get("type", "").lower() == "ref"


def _document(bioc_doc: _BiocDocument, index: int, origin: str, fmt: str, *, name: str, stem: str) -> Document | None:
    builder = TextBuilder()
    placed: list[tuple[int, int, int]] = []  # (BioC offset, end, offset in our text)
    title = ""
    for unit in bioc_doc.units:
        if _is_reference(unit.infons):
            continue
        text = clean_controls(unit.text)
        section = _section(unit.infons)
        if _HEADING_TYPE.search(unit.infons.get("type", "")) and section != "Title":
            start = builder.add("", text, passage=False)
        else:
            start = builder.add(section, text)
            if section == "Title" and not title:
                title = collapse(text)
        if start is not None:
            placed.append((unit.offset, unit.offset + len(text), start))
    if not builder.passages:
        return None
    text = builder.text()
    placed.sort()
    starts = [p[0] for p in placed]
    annotations = []
    for annotation in bioc_doc.annotations:
        annotations.extend(_place(annotation, placed, starts, text, origin))
    bioc_id = bioc_doc.id or f"{stem}-{index}"
    infons = {**(bioc_doc.units[0].infons if bioc_doc.units else {}), **bioc_doc.infons}
    return Document(
        id="bioc-" + "".join(c if c.isalnum() or c in "-_." else "-" for c in bioc_id.lower()),
        source=name,
        text=text,
        passages=builder.passages,
        title=title,
        format=fmt,
        metadata=_metadata(bioc_doc.id, infons),
        annotations=tuple(sorted(set(annotations), key=lambda a: (a.begin, a.end, a.type, a.identifier))),
    )


def _place(annotation: _Annotation, placed: list[tuple[int, int, int]], starts: list[int],
           text: str, origin: str) -> list[ExternalAnnotation]:
    """The annotation's locations as offsets into our text; those that fall outside
    every passage, or whose text does not match, are dropped."""
    kind = collapse(annotation.infons.get("type"))
    identifier = next((collapse(annotation.infons[k]) for k in _IDENTIFIER_KEYS if annotation.infons.get(k)), "")
    found = []
    for offset, length in annotation.locations:
        i = bisect.bisect_right(starts, offset) - 1
        if i < 0 or length == 0:
            continue
        unit_offset, unit_end, ours = placed[i]
        if offset + length > unit_end:
            continue
        begin = ours + offset - unit_offset
        span = text[begin : begin + length]
        if len(annotation.locations) == 1 and annotation.text and collapse(annotation.text) != collapse(span):
            continue
        found.append(ExternalAnnotation(begin, begin + length, span, kind, identifier, origin))
    return found


def _metadata(bioc_id: str, infons: dict[str, str]) -> DocumentMetadata:
    """What PMC's and PubTator's infons say about the article."""
    pmid = collapse(infons.get("article-id_pmid")) or (bioc_id if is_number(bioc_id) else "")
    names = sorted((k for k in infons if re.fullmatch(r"name_[0-9]+", k)), key=lambda k: int(k[5:]))
    authors = [_pmc_name(infons[k]) for k in names]
    if not authors and infons.get("authors"):
        authors = [collapse(a) for a in infons["authors"].split(",")]
    return DocumentMetadata(
        pmid=pmid if is_number(pmid) else "",
        pmcid=pmcid_of(infons.get("article-id_pmc")) or (pmcid_of(bioc_id) if bioc_id[:3].upper() == "PMC" else ""),
        doi=collapse(infons.get("article-id_doi") or infons.get("doi")),
        journal=collapse(infons.get("journal")),
        year=year_of(infons.get("year")),
        authors=unique(authors),
    )


def _pmc_name(value: str) -> str:
    """PMC's ``surname:Wei;given-names:Chih-Hsuan`` as ``Wei, Chih-Hsuan``."""
    parts = dict(p.partition(":")[::2] for p in value.split(";"))
    surname, given = collapse(parts.get("surname")), collapse(parts.get("given-names"))
    return f"{surname}, {given}" if surname and given else surname or given or collapse(value)
