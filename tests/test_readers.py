"""The readers' dispatcher: text and Markdown, the format told by content, several
documents per file, one error line per bad file, and a build over every format."""

import dataclasses
import doctest
import hashlib
import shutil
from pathlib import Path

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS
from typer.testing import CliRunner

from cartkg.extract import readers
from cartkg.extract.readers import (
    decode, detect_format, expand_sources, parse_markdown, read_bytes, read_document, read_documents, read_sources,
)
from cartkg.extract.records import Document, DocumentMetadata, ExternalAnnotation, ReadError
from cartkg.kg.cli import app
from cartkg.kg.store import load_graph
from cartkg.ontology.owl import CK


@pytest.fixture
def markdown(tmp_path: Path) -> Path:
    path = tmp_path / "note.md"
    path.write_text(
        "# A short note\n\n## Background\n\nFirst paragraph here.\nStill first.\n\n"
        "Second paragraph.\n\n## Results\n\nCRS was common.\n",
        encoding="utf-8",
    )
    return path


def test_markdown_headings_become_sections(markdown):
    doc = read_document(markdown)
    assert isinstance(doc, Document)
    assert doc.title == "A short note"
    assert [(p.section, p.text) for p in doc.passages] == [
        ("Background", "First paragraph here.\nStill first."),
        ("Background", "Second paragraph."),
        ("Results", "CRS was common."),
    ]


def test_passage_offsets_slice_the_document_text(markdown):
    doc = read_document(markdown)
    for passage in doc.passages:
        assert doc.text[passage.offset : passage.end] == passage.text


def test_plain_text_has_paragraphs_and_title(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("Title line\n\nBody one.\n\n\nBody two.\n", encoding="utf-8")
    doc = read_document(path)
    assert doc.title == "Title line"
    assert [p.text for p in doc.passages] == ["Title line", "Body one.", "Body two."]


def test_crlf_is_normalised():
    assert decode(b"a\r\nb\rc") == "a\nb\nc"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n ", "empty file"),
        ("binary.txt", bytes(range(256)) * 4, "binary file"),
        ("latin1.txt", "Hémophagocytose".encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 1)"),
    ],
)
def test_bad_files_give_one_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = read_document(path)
    assert isinstance(result, ReadError)
    assert str(result).startswith(str(path))
    assert message in result.message
    assert "\n" not in str(result)


def test_missing_file(tmp_path):
    result = read_document(tmp_path / "nowhere.md")
    assert isinstance(result, ReadError) and result.message == "file not found"


def test_batch_goes_on_and_ids_stay_unique(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "same.md").write_text("Tisagenlecleucel targets CD19.\n", encoding="utf-8")
    (tmp_path / "b" / "same.md").write_text("Obe-cel targets CD19.\n", encoding="utf-8")
    (tmp_path / "b" / "zz.txt").write_bytes(b"\x00\x01")
    results = list(read_sources([tmp_path / "a", tmp_path / "b", tmp_path / "gone.txt"]))
    docs = [r for r in results if isinstance(r, Document)]
    errors = [r for r in results if isinstance(r, ReadError)]
    assert [d.id for d in docs] == ["same", "same-2"]
    assert sorted(Path(e.source).name for e in errors) == ["gone.txt", "zz.txt"]


def test_parse_markdown_without_headings():
    title, passages = parse_markdown("Just text.\n")
    assert title == "" and passages[0].section == "" and passages[0].text == "Just text."


def test_utf16_text_with_or_without_its_mark():
    assert decode("Obe-cel targets CD19.\r\n".encode("utf-16")) == "Obe-cel targets CD19.\n"
    assert decode("Obe-cel targets CD19.".encode("utf-16-le")) == "Obe-cel targets CD19."
    assert decode(b"\xef\xbb\xbfCD19") == "CD19"
    with pytest.raises(ValueError, match="not UTF-16-LE text"):
        decode(b"\xff\xfe" + b"\x00\xd8" + b"a\x00")


@pytest.mark.parametrize(
    "data, name, fmt",
    [
        (b"%PDF-1.7\n...", "paper.bin", "pdf"),
        (b'  <?xml version="1.0"?><PubmedArticleSet/>', "pubmed_result.txt", "xml"),
        (b"<!DOCTYPE PubmedArticleSet><PubmedArticleSet/>", "download.txt", "xml"),
        (b"<collection><source>x</source></collection>", "noext", "xml"),
        (b"<anything/>", "a.nxml", "xml"),
        ("<article/>".encode("utf-16"), "a", "xml"),
        (b"<!-- a comment -->\n# Title\n", "note.md", "markdown"),
        (b"<b>bold</b> words", "note.txt", "text"),
        (b'{"source": "PubTator", "documents": []}', "pubtator.txt", "json"),
        (b'[{"documents": []}]', "no-suffix", "json"),
        (b"{not json", "x.json", "json"),
        (b"{a brace in text}", "x.txt", "text"),
        (b"# Title", "x.markdown", "markdown"),
        (b"Just text.", "x", "text"),
    ],
)
def test_format_is_told_by_content(data, name, fmt):
    assert detect_format(data, name) == fmt


def test_content_wins_over_the_name(readers_data, tmp_path):
    saved = tmp_path / "pubmed_result.txt"
    shutil.copy(readers_data / "pubmed.xml", saved)
    assert [d.id for d in read_documents(saved)] == ["pmid-90000001", "pmid-90000002"]
    renamed = tmp_path / "annotations"
    shutil.copy(readers_data / "bioc.json", renamed)
    assert read_document(renamed).format == "bioc-json"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bomb.xml", b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                     b"<PubmedArticleSet>&b;</PubmedArticleSet>", "XML entity declarations are not allowed"),
        ("other.xml", b"<html><body/></html>", "XML of an unknown kind (root element <html>)"),
        ("broken.nxml", b"<article><front>", "not well-formed XML (no element found: line 1, column 16)"),
        ("fake.pdf", b"\x00\x01\x02", "not a PDF (no %PDF- header)"),
        ("blank.json", b" \n ", "empty file"),
    ],
)
def test_bad_structured_files_give_one_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    [result] = read_documents(path)
    assert result == ReadError(str(path), message) or result.message.startswith(message)
    assert str(result).startswith(str(path)) and "\n" not in str(result)


def test_size_limit_holds_for_bytes_too(monkeypatch):
    monkeypatch.setattr(readers, "MAX_BYTES", 10)
    assert read_bytes(b"x" * 11, "big.txt") == [ReadError("big.txt", "file too large (11 bytes; limit 10)")]


def test_read_document_wants_one_document(readers_data):
    result = read_document(readers_data / "pubmed.xml")
    assert result == ReadError(str(readers_data / "pubmed.xml"), "holds 2 documents; read it with read_documents")
    assert read_document(readers_data / "jats.nxml", doc_id="mine").id == "mine"


def test_folders_give_every_readable_format(readers_data, tmp_path, review_pdf):
    folder = tmp_path / "inbox"
    shutil.copytree(readers_data, folder)
    (folder / "review.pdf").write_bytes(review_pdf)
    (folder / "notes.md").write_text("# Notes\n\nTisagenlecleucel targets CD19.\n", encoding="utf-8")
    (folder / "make.py").write_text("print()\n", encoding="utf-8")
    assert [p.name for p in expand_sources([folder])] == [
        "bioc.json", "bioc.xml", "jats.nxml", "notes.md", "pubmed.xml", "review.pdf"]
    docs = list(read_sources([folder]))
    assert [(d.id, d.format) for d in docs] == [
        ("bioc-pmc9000005", "bioc-json"), ("bioc-90000004", "bioc-xml"), ("pmc9000003", "jats-xml"),
        ("notes", "markdown"), ("pmid-90000001", "pubmed-xml"), ("pmid-90000002", "pubmed-xml"), ("review", "pdf")]


def test_hash_covers_metadata_and_annotations_only_when_there_are_some():
    plain = Document("d", "d.md", "CAR T", ())
    assert plain.sha256 == hashlib.sha256(b"CAR T").hexdigest()
    indexed = dataclasses.replace(plain, metadata=DocumentMetadata(pmid="1", mesh_terms=("Child",)))
    reindexed = dataclasses.replace(indexed, metadata=DocumentMetadata(pmid="1", mesh_terms=("Child", "Adult")))
    annotated = dataclasses.replace(plain, annotations=(ExternalAnnotation(0, 3, "CAR", "Gene", "", "PubTator"),))
    assert len({plain.sha256, indexed.sha256, reindexed.sha256, annotated.sha256}) == 4


@pytest.fixture(scope="module")
def built_inbox(readers_data, review_pdf, tmp_path_factory):
    """``cartkg build`` over a folder with a file of each format, loaded back."""
    folder = tmp_path_factory.mktemp("inbox")
    shutil.copytree(readers_data, folder, dirs_exist_ok=True)
    (folder / "review.pdf").write_bytes(review_pdf)
    out = folder.parent / "inbox.nq"
    result = CliRunner().invoke(app, ["build", str(folder), "-o", str(out), "-f", "nq"])
    assert result.exit_code == 0, result.output
    assert "unreadable inputs" in result.stdout
    return load_graph(out)


GYEAR = URIRef("http://www.w3.org/2001/XMLSchema#gYear")


def _doc(doc_id):
    return URIRef(f"https://w3id.org/cartkg/doc/{doc_id}")


def test_build_keeps_every_format_and_their_sections(built_inbox):
    rows = built_inbox.query("""
        PREFIX ck: <https://w3id.org/cartkg/ontology/>
        PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT DISTINCT ?format ?section WHERE {
            ?s a ck:Sentence ; ck:inDocument ?d ; ck:section ?section .
            ?d dcterms:format ?format .
            FILTER(CONTAINS(LCASE(?section), "results"))
        }""")
    found = {(str(f), str(s)) for f, s in rows}
    assert {("pubmed-xml", "Abstract / RESULTS"), ("jats-xml", "Abstract / Results"), ("jats-xml", "Results"),
            ("jats-xml", "Results / Toxicity"), ("bioc-json", "Results"), ("pdf", "Results"),
            ("pdf", "Results / Neurotoxicity")} <= found


def test_build_carries_the_metadata(built_inbox):
    doc = _doc("pmid-90000001")

    def values(predicate):
        return {str(o) for o in built_inbox.objects(doc, predicate)}

    assert values(CK.bibliographicIdentifier) == {"PMID:90000001", "PMCID:PMC9000001", "DOI:10.5555/cartkg.pubmed.1"}
    assert values(DCTERMS.identifier) == {"pmid-90000001"}  # the one id queries join on
    assert values(DCTERMS.isPartOf) == {"Journal of Invented Cell Therapy"}
    assert set(built_inbox.objects(doc, DCTERMS.date)) == {Literal("2024", datatype=GYEAR)}
    assert values(DCTERMS.creator) == {"Doe, Jane A", "Roe, Richard Jr", "Invented CAR T Study Group"}
    assert values(CK.authorList) == {"Doe, Jane A; Roe, Richard Jr; Invented CAR T Study Group"}
    assert values(DCTERMS.subject) == {"Child", "Receptors, Chimeric Antigen", "Cytokine Release Syndrome"}
    assert values(DCTERMS.type) == {"Journal Article", "Clinical Trial, Phase II"}


def test_build_keeps_external_annotations_apart_from_mentions(built_inbox):
    rows = list(built_inbox.query("""
        PREFIX ck: <https://w3id.org/cartkg/ontology/>
        PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?x ?text ?type ?id ?source WHERE {
            ?x a ck:ExternalAnnotation ; dcterms:isPartOf ?d ; ck:text ?text ; ck:annotationType ?type ;
               ck:identifier ?id ; dcterms:source ?source ; ck:beginOffset ?b .
            FILTER(?d = <https://w3id.org/cartkg/doc/bioc-90000004>)
        } ORDER BY ?b"""))
    assert [(str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows] == [
        ("CRS", "Disease", "MESH:D000080424", "PubTator"),
        ("leukemia", "Disease", "MESH:D007938", "PubTator"),
        ("CD19", "Gene", "930", "PubTator"),
        ("cytokine release syndrome", "Disease", "MESH:D000080424", "PubTator"),
    ]
    assert str(rows[0][0]) == "https://w3id.org/cartkg/doc/bioc-90000004/x21-24"
    assert not set(built_inbox.subjects(None, CK.Mention)) & {r[0] for r in rows}


def test_docstring_examples():
    assert doctest.testmod(readers).failed == 0


def test_a_folder_scan_passes_over_cartkgs_own_side_files(tmp_path):
    from cartkg.extract.readers import expand_sources

    (tmp_path / "paper.md").write_text("Tisagenlecleucel targets CD19.\n", encoding="utf-8")
    (tmp_path / "manifest.json").write_text('{"format": "cartkg-pubmed-fetch/1"}', encoding="utf-8")
    (tmp_path / "paper.ann.json").write_text('{"id": "paper"}', encoding="utf-8")
    assert [p.name for p in expand_sources([tmp_path])] == ["paper.md"]
