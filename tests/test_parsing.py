"""What the readers share: safe XML, text of elements, the text builder."""

import doctest

import pytest

from cartkg.extract import parsing
from cartkg.extract.parsing import MAX_XML_DEPTH, Malformed, TextBuilder, element_text, parse_xml, text_of

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<PubmedArticleSet>&lol3;</PubmedArticleSet>"""


@pytest.mark.parametrize(
    "data",
    [
        BILLION_LAUGHS,
        b'<!DOCTYPE article [<!ENTITY x SYSTEM "http://127.0.0.1:9/evil">]><article>&x;</article>',
        b'<!DOCTYPE article [<!ENTITY x SYSTEM "file:///etc/passwd">]><article>&x;</article>',
        b'<!DOCTYPE collection [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]><collection/>',
    ],
    ids=["billion-laughs", "external-http", "external-file", "parameter-entity"],
)
def test_entity_declarations_are_refused(data):
    with pytest.raises(Malformed, match="^XML entity declarations are not allowed$"):
        parse_xml(data)


def test_doctype_with_an_external_dtd_is_read_and_never_fetched():
    data = b'<!DOCTYPE collection SYSTEM "http://127.0.0.1:9/BioC.dtd"><collection><source>x</source></collection>'
    root = parse_xml(data)
    assert root.tag == "collection" and root.findtext("source") == "x"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"<article><p>open</article>", "not well-formed XML (mismatched tag: line 1, column 18)"),
        (b"<article>&nbsp;</article>", "not well-formed XML (undefined entity"),
        ('<?xml version="1.0" encoding="shift_jis"?><a>日本</a>'.encode("shift_jis"),
         "cannot read the XML's encoding"),
    ],
)
def test_bad_xml_gives_one_line(data, message):
    with pytest.raises(Malformed) as caught:
        parse_xml(data)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_too_deep_xml_is_refused():
    depth = MAX_XML_DEPTH + 1
    with pytest.raises(Malformed, match="nested too deeply"):
        parse_xml(b"<a>" * depth + b"</a>" * depth)
    assert parse_xml(b"<a>" * MAX_XML_DEPTH + b"</a>" * MAX_XML_DEPTH).tag == "a"


def test_namespaces_are_dropped_from_names():
    root = parse_xml(b'<x:article xmlns:x="http://jats.nlm.nih.gov"><x:body/></x:article>')
    assert root.tag == "article" and root[0].tag == "body"


def test_encodings_declared_or_marked_are_read():
    assert parse_xml('<?xml version="1.0" encoding="windows-1252"?><a>é€</a>'.encode("cp1252")).text == "é€"
    assert parse_xml("<a>é</a>".encode("utf-16")).text == "é"


def test_element_text_skips_elements_but_keeps_what_follows_them():
    p = parse_xml(b"<p>CRS <italic>was</italic> common<fig><caption>no</caption></fig> after <b>infusion</b>.</p>")
    assert element_text(p, frozenset({"fig"})) == "CRS was common after infusion."
    assert text_of(parse_xml(b"<t>\n  CAR\n\tT </t>")) == "CAR T"
    assert element_text(None) == ""


def test_text_builder_passages_slice_its_text():
    builder = TextBuilder()
    assert builder.add("Title", "  ") is None
    builder.add("Title", "A title")
    builder.heading("Results")
    builder.add("Results", "\n CRS was common.\n")
    text = builder.text()
    assert [(p.section, text[p.offset : p.end]) for p in builder.passages] == [
        ("Title", "A title"), ("Results", "CRS was common.")]
    assert "Results" in text


def test_docstring_examples():
    assert doctest.testmod(parsing).failed == 0
