"""PubMed XML: one document per article, the abstract's parts as sections, the record's
metadata; a bad article is one error and the others are read."""

import pytest

from cartkg.extract.readers import read_bytes, read_documents
from cartkg.extract.records import Document, DocumentMetadata, ReadError


@pytest.fixture(scope="module")
def articles(readers_data):
    results = read_documents(readers_data / "pubmed.xml")
    assert all(isinstance(r, Document) for r in results)
    return results


def test_one_document_per_article(articles):
    assert [d.id for d in articles] == ["pmid-90000001", "pmid-90000002"]
    assert {d.format for d in articles} == {"pubmed-xml"} and {d.source for d in articles} == {"pubmed.xml"}


def test_title_and_labelled_abstract_become_sections(articles):
    first = articles[0]
    assert first.title == "Tisagenlecleucel in children with relapsed B-ALL: a made-up cohort."
    assert [(p.section, p.text) for p in first.passages] == [
        ("Title", first.title),
        ("Abstract / BACKGROUND", "Tisagenlecleucel is a CD19-directed CAR T-cell product."),
        ("Abstract / METHODS", "We followed 40 invented patients treated in the ELIANA trial."),
        ("Abstract / RESULTS",
         "Cytokine release syndrome occurred in 30% of patients and was managed with tocilizumab."),
        ("Abstract / CONCLUSIONS", "No patient had ICANS of grade 3 or higher."),
    ]
    assert "Copyright" not in first.text


def test_unlabelled_abstract_is_section_abstract(articles):
    assert [p.section for p in articles[1].passages] == ["Title", "Abstract"]


def test_passages_slice_the_text(articles):
    for doc in articles:
        for p in doc.passages:
            assert doc.text[p.offset : p.end] == p.text


def test_metadata_of_a_full_record(articles):
    assert articles[0].metadata == DocumentMetadata(
        pmid="90000001",
        pmcid="PMC9000001",
        doi="10.5555/cartkg.pubmed.1",
        journal="Journal of Invented Cell Therapy",
        year=2024,
        authors=("Doe, Jane A", "Roe, Richard Jr", "Invented CAR T Study Group"),
        mesh_terms=("Child", "Receptors, Chimeric Antigen", "Cytokine Release Syndrome"),
        publication_types=("Journal Article", "Clinical Trial, Phase II"),
    )


def test_metadata_of_a_sparse_record(articles):
    # Year from a MedlineDate, journal from the ISO abbreviation, initials for a fore name;
    # the ids of cited works (ReferenceList) never leak into the citing record.
    meta = articles[1].metadata
    assert (meta.year, meta.journal, meta.authors, meta.doi, meta.pmcid) == (
        2025, "Invent Leuk Rep", ("Poe, E",), "", "")


def _set(*articles: str) -> bytes:
    return ("<PubmedArticleSet>" + "".join(articles) + "</PubmedArticleSet>").encode()


GOOD = ("<PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>Obe-cel.</ArticleTitle>"
        "</Article></MedlineCitation></PubmedArticle>")


@pytest.mark.parametrize(
    "bad, message",
    [
        ("<PubmedArticle><MedlineCitation><Article/></MedlineCitation></PubmedArticle>", "article 2: no PMID"),
        ("<PubmedArticle><MedlineCitation><PMID>x1</PMID></MedlineCitation></PubmedArticle>",
         "article 2: PMID 'x1' is not a number"),
        ("<PubmedArticle><MedlineCitation><PMID>7</PMID><Article/></MedlineCitation></PubmedArticle>",
         "article 2: PMID 7: no title or abstract"),
        ("<PubmedArticle/>", "article 2: no MedlineCitation"),
    ],
)
def test_a_bad_article_is_one_error_and_the_rest_is_read(bad, message):
    results = read_bytes(_set(GOOD, bad), "in/set.xml")
    assert isinstance(results[0], Document) and results[0].id == "pmid-1"
    assert results[1] == ReadError("in/set.xml", message)


@pytest.mark.parametrize(
    "data, message",
    [
        (_set(), "no PubmedArticle in the PubmedArticleSet"),
        (_set("<PubmedBookArticle/>"), "only book records (PubmedBookArticle), which are not read"),
    ],
)
def test_a_set_without_articles_is_an_error(data, message):
    assert read_bytes(data, "in/set.xml") == [ReadError("in/set.xml", message)]


def test_a_lone_article_is_read():
    [doc] = read_bytes(GOOD.encode(), "one.xml")
    assert doc.id == "pmid-1" and doc.passages[0].section == "Title"
