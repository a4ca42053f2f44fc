"""PMC / JATS full text: front matter, nested sections joined into one name, captions
and short tables read, references left out."""

import pytest

from cartkg.extract.jats import MAX_TABLE_ROWS
from cartkg.extract.readers import read_bytes, read_document
from cartkg.extract.records import Document, DocumentMetadata, ReadError


@pytest.fixture(scope="module")
def article(readers_data):
    doc = read_document(readers_data / "jats.nxml")
    assert isinstance(doc, Document)
    return doc


def test_id_title_and_metadata(article):
    assert (article.id, article.format, article.source) == ("pmc9000003", "jats-xml", "jats.nxml")
    # The footnote marker in the title is not part of it.
    assert article.title == "CD19 CAR T cells in pediatric B-ALL: an invented full text"
    assert article.metadata == DocumentMetadata(
        pmid="90000003",
        pmcid="PMC9000003",
        doi="10.5555/cartkg.jats.1",
        journal="Invented Leukemia Reports",
        year=2024,  # the earliest publication date (epub 2024, print 2025)
        authors=("Doe, Jane", "Invented Pediatric CAR T Consortium"),  # not the editor
        publication_types=("research-article",),
    )


def test_sections_paragraphs_and_captions(article):
    assert [(p.section, p.text) for p in article.passages] == [
        ("Title", article.title),
        ("Abstract / Background", "Tisagenlecleucel targets CD19."),
        ("Abstract / Results", "CRS was frequent but manageable."),
        ("Introduction", "Relapsed B-ALL remains hard to treat in children [1]."),
        ("Results", "Forty invented patients received tisagenlecleucel."),
        ("Results / Toxicity", "Cytokine release syndrome was treated with tocilizumab."),
        ("Figure 1", "Timeline of CRS."),
        ("Figure 1", "CRS began a median of 3 days after infusion."),
        ("Results / Toxicity", "ICANS occurred in 10% of patients."),
        ("Table 1", "Products and their targets."),
        ("Table 1", "Product | Target"),
        ("Table 1", "Tisagenlecleucel | CD19"),
        ("Table 1", "Obecabtagene autoleucel | CD19"),
        ("Table 1", "All products are invented for this test."),
        ("Discussion", "Blinatumomab was given before CAR T cells in some patients."),
        ("Acknowledgments", "We thank nobody in particular."),
    ]


def test_references_stay_out_of_the_text(article):
    assert "axicabtagene" not in article.text and "Smith J" not in article.text


def test_passages_slice_the_text_and_titles_stand_in_it(article):
    for p in article.passages:
        assert article.text[p.offset : p.end] == p.text
    assert "\n\nToxicity\n\n" in article.text


def _article(body: str, front: str = "") -> bytes:
    return f"<article><front><article-meta>{front}</article-meta></front><body>{body}</body></article>".encode()


def test_long_tables_give_their_caption_only():
    rows = "".join(f"<tr><td>row {i}</td></tr>" for i in range(MAX_TABLE_ROWS + 1))
    [doc] = read_bytes(_article(f"<table-wrap><caption><p>Many rows.</p></caption><table>{rows}</table></table-wrap>"),
                       "long.nxml")
    assert [(p.section, p.text) for p in doc.passages] == [("Table", "Many rows.")]


def test_untitled_sections_take_their_parents_name_and_typed_abstracts_say_so():
    [doc] = read_bytes(_article(
        "<sec><title>Methods</title><sec><p>Inside.</p></sec></sec><p>Loose.</p>",
        front='<abstract abstract-type="graphical"><p>Picture.</p></abstract>'), "x.nxml")
    assert [(p.section, p.text) for p in doc.passages] == [
        ("Abstract (graphical)", "Picture."), ("Methods", "Inside."), ("", "Loose.")]
    assert doc.id == "x"


def test_ids_fall_back_to_the_doi_then_the_file_name():
    [doc] = read_bytes(_article("<p>Text.</p>", '<article-id pub-id-type="doi">10.5555/A.b</article-id>'), "f.nxml")
    assert doc.id == "doi-10-5555-a-b"


def test_an_articleset_gives_one_document_per_article():
    data = (b"<pmc-articleset>" + _article("<p>One.</p>") + _article("")
            + _article("<p>Three.</p>") + b"</pmc-articleset>")
    results = read_bytes(data, "set.xml")
    assert [r.id if isinstance(r, Document) else r.message for r in results] == [
        "set-1", "article 2: no text (no title, abstract or body)", "set-3"]
    assert read_bytes(b"<pmc-articleset/>", "e.xml") == [ReadError("e.xml", "no article in the pmc-articleset")]
