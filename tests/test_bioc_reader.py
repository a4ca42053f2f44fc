"""BioC XML and JSON: passages and their sections, and PubTator's annotations moved to
offsets into the document's text."""

import json

import pytest

from cartkg.extract.readers import read_bytes, read_document
from cartkg.extract.records import ExternalAnnotation, ReadError


@pytest.fixture(scope="module")
def from_xml(readers_data):
    return read_document(readers_data / "bioc.xml")


@pytest.fixture(scope="module")
def from_json(readers_data):
    return read_document(readers_data / "bioc.json")


def _slices(doc):
    for p in doc.passages:
        assert doc.text[p.offset : p.end] == p.text
    for a in doc.annotations:
        assert doc.text[a.begin : a.end] == a.text
    return [(a.text, a.type, a.identifier, a.source) for a in doc.annotations]


def test_xml_passages_sections_and_annotations(from_xml):
    assert (from_xml.id, from_xml.format, from_xml.title) == ("bioc-90000004", "bioc-xml", "Tisagenlecleucel and CRS")
    assert [p.section for p in from_xml.passages] == ["Title", "Abstract"]
    assert from_xml.metadata.pmid == "90000004"
    # The annotation at offset 500 lies outside every passage: dropped.
    assert _slices(from_xml) == [
        ("CRS", "Disease", "MESH:D000080424", "PubTator"),
        ("leukemia", "Disease", "MESH:D007938", "PubTator"),
        ("CD19", "Gene", "930", "PubTator"),
        ("cytokine release syndrome", "Disease", "MESH:D000080424", "PubTator"),
    ]


def test_json_sections_headings_references_and_metadata(from_json):
    assert (from_json.id, from_json.format, from_json.title) == (
        "bioc-pmc9000005", "bioc-json", "Obe-cel for adults with B-ALL")
    # PMC's section types read as names; title_1 passages are headings (in the text,
    # not passages); the REF passage is left out.
    assert [(p.section, p.text) for p in from_json.passages] == [
        ("Title", "Obe-cel for adults with B-ALL"),
        ("Introduction", "Obecabtagene autoleucel targets CD19 and causes little severe CRS."),
        ("Results", "ICANS was seen in 7% of adults treated with obe-cel."),
    ]
    assert "\n\nIntroduction\n\n" in from_json.text and "Doe J." not in from_json.text
    meta = from_json.metadata
    assert (meta.pmid, meta.pmcid, meta.doi, meta.year, meta.authors) == (
        "90000005", "PMC9000005", "10.5555/cartkg.bioc.1", 2025, ("Doe, Jane", "Roe, Richard"))


def test_json_annotations_follow_their_passages_across_offset_gaps(from_json):
    # The annotation whose text does not match its location is dropped, and so is
    # the one in the references.
    assert _slices(from_json) == [
        ("B-ALL", "Disease", "MESH:D054198", "PubTator"),
        ("CD19", "Gene", "930", "PubTator"),
        ("CRS", "Disease", "MESH:D000080424", "PubTator"),
        ("ICANS", "Disease", "MESH:D000080425", "PubTator"),
    ]


def _document(**extra):
    return {"id": "42", "passages": [{"offset": 10, "infons": {"type": "abstract"}, "text": "CRS after CAR T.",
                                      "annotations": [{"infons": {"type": "Disease", "MESH": "D000080424"},
                                                       "text": "CRS", "locations": [{"offset": 10, "length": 3}]}]}],
            **extra}


@pytest.mark.parametrize(
    "shape, source",
    [
        ({"source": "PubTator", "documents": [_document()]}, "PubTator"),
        ({"PubTator3": [_document()]}, "PubTator3"),
        (_document(), "BioC"),
    ],
    ids=["collection", "pubtator3", "document"],
)
def test_json_shapes(shape, source):
    [doc] = read_bytes(json.dumps(shape).encode(), "x.json")
    assert doc.id == "bioc-42" and doc.passages[0].section == "Abstract"
    # An identifier under an older PubTator key (MESH) is read too.
    assert doc.annotations == (ExternalAnnotation(0, 3, "CRS", "Disease", "D000080424", source),)


def test_sentences_stand_in_for_passage_text():
    crs = {"text": "CRS", "locations": [{"offset": 9, "length": 3}]}
    doc = {"id": "s", "passages": [{"offset": 0, "infons": {"type": "abstract"}, "sentences": [
        {"offset": 0, "text": "One."}, {"offset": 5, "text": "Two CRS.", "annotations": [crs]}]}]}
    [result] = read_bytes(json.dumps(doc).encode(), "s.json")
    assert [p.text for p in result.passages] == ["One.", "Two CRS."]
    assert [a.text for a in result.annotations] == ["CRS"]


@pytest.mark.parametrize(
    "value, message",
    [
        ({"documents": [{"passages": [{"offset": "ten", "text": "x"}]}]},
         "document 1, passage 1: offset is 'ten', not a whole number"),
        ({"documents": [{"passages": [{"offset": 0, "text": ["x"]}]}]},
         "document 1, passage 1: text should be a string, not list"),
        ({"documents": {"a": 1}}, "documents should be a list, not dict"),
        ({"documents": []}, "no document in the BioC collection"),
        ({"title": "not BioC"}, "JSON but not BioC"),
        ([1, 2], "JSON but not BioC"),
    ],
)
def test_bad_json_is_one_error_naming_the_place(value, message):
    [error] = read_bytes(json.dumps(value).encode(), "in/bad.json")
    assert isinstance(error, ReadError) and error.source == "in/bad.json"
    assert error.message.startswith(message)


def test_bad_xml_offsets_and_empty_documents():
    bad = b"<collection><document><passage><offset>-1</offset><text>x</text></passage></document></collection>"
    assert read_bytes(bad, "b.xml") == [ReadError("b.xml", "document 1, passage 1: offset is '-1', not a whole number")]
    empty = b"<collection><document><id>1</id></document></collection>"
    assert read_bytes(empty, "e.xml") == [ReadError("e.xml", "document 1: no text in its passages")]


def test_bad_json_syntax():
    [error] = read_bytes(b'{"documents": [', "t.json")
    assert error.message.startswith("not valid JSON (line 1, column 16")
    [error] = read_bytes(b"[" * 100_000, "deep.json")
    assert error.message == "JSON nested too deeply"
