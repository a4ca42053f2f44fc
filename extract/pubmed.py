"""PubMed XML, as E-utilities' efetch writes it (``PubmedArticleSet``): one document
per ``PubmedArticle``, with id ``pmid-<PMID>``.

The text is the title (section ``Title``) and the abstract: an unlabelled abstract is
section ``Abstract``; a structured one gives each part the section
``Abstract / <Label>`` (``Abstract / BACKGROUND``), so a query can ask for the abstract
as a whole or for one part. The record's metadata (PMID, PMCID, DOI, journal, year,
authors, MeSH headings, publication types) goes into
:class:`~cartkg.extract.records.DocumentMetadata`. Book records
(``PubmedBookArticle``) and deletions are not read.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from .parsing import Malformed, TextBuilder, collapse, is_number, pmcid_of, text_of, unique, year_of
from .records import Document, DocumentMetadata, ReadError

FORMAT = "pubmed-xml"
ROOTS = ("PubmedArticleSet", "PubmedArticle")


def parse_pubmed(root: Element, *, name: str, source: str) -> list[Document | ReadError]:
    """The documents of a parsed ``PubmedArticleSet`` (or a lone ``PubmedArticle``);
    an article that cannot be read is a :class:`ReadError` in the list."""
    articles = [root] if root.tag == "PubmedArticle" else root.findall("PubmedArticle")
    if not articles:
        books = root.findall("PubmedBookArticle")
        raise Malformed("only book records (PubmedBookArticle), which are not read" if books
                        else "no PubmedArticle in the PubmedArticleSet")
    results: list[Document | ReadError] = []
    for index, article in enumerate(articles, start=1):
        try:
            results.append(_article(article, name))
        except Malformed as exc:
            results.append(ReadError(source, f"article {index}: {exc}"))
    return results


def _article(element: Element, name: str) -> Document:
    citation = element.find("MedlineCitation")
    if citation is None:
        raise Malformed("no MedlineCitation")
    pmid = collapse(citation.findtext("PMID"))
    if not is_number(pmid):
        raise Malformed("no PMID" if not pmid else f"PMID {pmid!r} is not a number")
    article = citation.find("Article")
    if article is None:
        raise Malformed(f"PMID {pmid}: no Article")

    builder = TextBuilder()
    title = text_of(article.find("ArticleTitle")) or text_of(article.find("VernacularTitle"))
    builder.add("Title", title)
    for part in article.findall("Abstract/AbstractText"):
        label = collapse(part.get("Label"))
        if label:
            builder.heading(label)
        builder.add(f"Abstract / {label}" if label else "Abstract", text_of(part))
    if not builder.passages:
        raise Malformed(f"PMID {pmid}: no title or abstract")
    return Document(
        id=f"pmid-{pmid}",
        source=name,
        text=builder.text(),
        passages=builder.passages,
        title=title,
        format=FORMAT,
        metadata=_metadata(pmid, citation, article, element.find("PubmedData")),
    )


def _metadata(pmid: str, citation: Element, article: Element, pubmed_data: Element | None) -> DocumentMetadata:
    # Only the article's own ids: a ReferenceList holds the ids of the works it cites.
    ids = {} if pubmed_data is None else {
        el.get("IdType", ""): collapse(el.text) for el in pubmed_data.findall("ArticleIdList/ArticleId")
    }
    doi = next((collapse(el.text) for el in article.findall("ELocationID")
                if el.get("EIdType") == "doi" and el.get("ValidYN", "Y") == "Y"), "") or ids.get("doi", "")
    journal = (text_of(article.find("Journal/Title")) or text_of(article.find("Journal/ISOAbbreviation"))
               or text_of(citation.find("MedlineJournalInfo/MedlineTA")))
    return DocumentMetadata(
        pmid=pmid,
        pmcid=pmcid_of(ids.get("pmc")),
        doi=doi,
        journal=journal,
        year=_year(article),
        authors=unique(_author(a) for a in article.findall("AuthorList/Author") if a.get("ValidYN", "Y") == "Y"),
        mesh_terms=unique(text_of(d) for d in citation.findall("MeshHeadingList/MeshHeading/DescriptorName")),
        publication_types=unique(text_of(t) for t in article.findall("PublicationTypeList/PublicationType")),
    )


def _year(article: Element) -> int | None:
    """The year of the journal issue, else of the electronic publication."""
    for path in ("Journal/JournalIssue/PubDate/Year", "Journal/JournalIssue/PubDate/MedlineDate",
                 "ArticleDate/Year"):
        year = year_of(article.findtext(path))
        if year is not None:
            return year
    return None


def _author(author: Element) -> str:
    """``"Surname, Given names"``, or a group's name."""
    group = text_of(author.find("CollectiveName"))
    if group:
        return group
    last = text_of(author.find("LastName"))
    first = text_of(author.find("ForeName")) or text_of(author.find("Initials"))
    suffix = text_of(author.find("Suffix"))
    given = " ".join(p for p in (first, suffix) if p)
    return f"{last}, {given}" if last and given else last or given
