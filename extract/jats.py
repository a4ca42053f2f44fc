"""PMC / JATS full text (``article``, or a ``pmc-articleset`` of them): one document
per article.

What becomes text, in order: the title (section ``Title``); each abstract (section
``Abstract``, ``Abstract (graphical)`` for a typed one); the body; the back matter
(acknowledgements, appendices, notes); floating figures and tables. Every paragraph
is a passage.

Section names are the path of nested section titles joined with ``" / "``, e.g.
``Results / Toxicity / Cytokine release syndrome``, and ``Abstract / Background`` for
a structured abstract: the full path keeps the context an inner title lacks ("Toxicity"
of what?), and a query can still match the outer section with ``STRSTARTS`` or any
level with ``CONTAINS``. A section without a title takes its parent's name. Figure
and table captions are passages of a section named by the label (``Figure 2``,
``Table 1``, or ``Figure``/``Table`` when unlabelled); a table of at most
:data:`MAX_TABLE_ROWS` rows also gives each row as a passage, its cells joined by
``" | "``. Reference lists are left out wherever they stand, and so are
sub-articles (peer review, translations).

Id: ``pmc<digits>`` from the PMCID, else ``doi-<doi>``, else the file name.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from .parsing import Malformed, TextBuilder, collapse, is_number, pmcid_of, text_of, unique, year_of
from .records import Document, DocumentMetadata, ReadError

FORMAT = "jats-xml"
ROOTS = ("article", "pmc-articleset")

#: Tables with more rows than this give their caption only.
MAX_TABLE_ROWS = 60
#: A table row longer than this is not read as a passage.
MAX_ROW_CHARS = 400

#: Never read: citations, and articles inside the article.
_SKIPPED = frozenset({"ref-list", "sub-article", "response", "title", "label", "sec-meta", "object-id",
                      "alt-text", "long-desc", "graphic", "media", "inline-graphic", "table"})
#: Blocks that may stand inside a paragraph; read on their own, after it.
_BLOCKS = frozenset({"fig", "fig-group", "table-wrap", "table-wrap-group", "list", "boxed-text",
                     "disp-quote", "def-list", "supplementary-material", "statement"})
#: Names for untitled back-matter containers.
_DEFAULT_NAMES = {"ack": "Acknowledgments", "app": "Appendix", "fn-group": "Notes", "glossary": "Glossary",
                  "notes": "Notes", "supplementary-material": "Supplementary material"}


def parse_jats(root: Element, *, name: str, source: str, stem: str) -> list[Document | ReadError]:
    """The documents of a parsed JATS ``article`` or ``pmc-articleset``."""
    articles = [root] if root.tag == "article" else root.findall("article")
    if not articles:
        raise Malformed("no article in the pmc-articleset")
    results: list[Document | ReadError] = []
    for index, article in enumerate(articles, start=1):
        fallback = stem if len(articles) == 1 else f"{stem}-{index}"
        try:
            results.append(_article(article, name, fallback))
        except Malformed as exc:
            results.append(ReadError(source, f"article {index}: {exc}"))
    return results


def _article(article: Element, name: str, fallback_id: str) -> Document:
    meta = article.find("front/article-meta")
    if meta is None:
        meta = Element("article-meta")
    metadata = _metadata(article, meta)
    builder = TextBuilder()
    title = text_of(meta.find("title-group/article-title"), frozenset({"xref", "fn"}))
    builder.add("Title", title)
    for abstract in meta.findall("abstract"):
        kind = collapse(abstract.get("abstract-type"))
        _walk(abstract, f"Abstract ({kind})" if kind else "Abstract", builder)
    for part in ("body", "back", "floats-group"):
        element = article.find(part)
        if element is not None:
            _walk(element, "", builder)
    if not builder.passages:
        raise Malformed("no text (no title, abstract or body)")
    if metadata.pmcid:
        doc_id = metadata.pmcid.lower()
    elif metadata.doi:
        doc_id = "doi-" + "".join(c if c.isalnum() else "-" for c in metadata.doi.lower()).strip("-")
    else:
        doc_id = fallback_id
    return Document(id=doc_id, source=name, text=builder.text(), passages=builder.passages,
                    title=title, format=FORMAT, metadata=metadata)


def _join(path: str, title: str) -> str:
    return f"{path} / {title}" if path and title else path or title


def _walk(container: Element, path: str, builder: TextBuilder) -> None:
    """Read the blocks inside a container (body, section, abstract, list…)."""
    for child in container:
        _block(child, path, builder)


def _block(element: Element, path: str, builder: TextBuilder) -> None:
    tag = element.tag
    if tag in _SKIPPED:
        return
    if tag == "p":
        builder.add(path, text_of(element, _BLOCKS))
        for block in _blocks_inside(element):
            _block(block, path, builder)
    elif tag in ("fig", "fig-group", "table-wrap", "supplementary-material"):
        _float(element, builder)
    else:
        # sec, app, ack, boxed-text, list, list-item, fn-group, disp-quote, …: a
        # container, titled or not.
        title = text_of(element.find("title"), frozenset({"xref", "fn"}))
        if title:
            builder.heading(title)
        _walk(element, _join(path, title) if title else path or _DEFAULT_NAMES.get(tag, ""), builder)


def _blocks_inside(paragraph: Element) -> list[Element]:
    """The outermost block elements inside a paragraph, in order."""
    found: list[Element] = []
    stack = list(reversed(paragraph))
    while stack:
        element = stack.pop()
        if element.tag in _BLOCKS:
            found.append(element)
        else:
            stack.extend(reversed(element))
    return found


def _float(element: Element, builder: TextBuilder) -> None:
    """A figure, table or supplement: its caption, the rows of a short table, notes."""
    kind = {"table-wrap": "Table", "supplementary-material": "Supplementary material"}.get(element.tag, "Figure")
    section = text_of(element.find("label")) or kind
    caption = element.find("caption")
    if caption is not None:
        for part in caption:
            if part.tag in ("title", "p"):
                builder.add(section, text_of(part))
    if element.tag == "table-wrap":
        rows = list(element.iter("tr"))
        if len(rows) <= MAX_TABLE_ROWS:
            for row in rows:
                line = " | ".join(c for c in (text_of(cell) for cell in row if cell.tag in ("td", "th")) if c)
                if len(line) <= MAX_ROW_CHARS:
                    builder.add(section, line)
        for foot in element.findall("table-wrap-foot"):
            _walk(foot, section, builder)
    for inner in element:
        if inner.tag in ("fig", "table-wrap"):  # a fig-group's figures
            _float(inner, builder)


def _metadata(article: Element, meta: Element) -> DocumentMetadata:
    ids: dict[str, str] = {}
    for element in meta.findall("article-id"):
        ids.setdefault(element.get("pub-id-type", ""), collapse(element.text))
    journal_meta = article.find("front/journal-meta")
    journal = ""
    if journal_meta is not None:
        journal = (text_of(journal_meta.find("journal-title-group/journal-title"))
                   or text_of(journal_meta.find("journal-title"))
                   or next((collapse(j.text) for j in journal_meta.findall("journal-id")
                            if j.get("journal-id-type") == "nlm-ta"), ""))
    years = [y for y in (year_of(d.findtext("year")) for d in meta.findall("pub-date")) if y is not None]
    pmid = ids.get("pmid", "")
    return DocumentMetadata(
        pmid=pmid if is_number(pmid) else "",
        pmcid=pmcid_of(ids.get("pmc") or ids.get("pmcid")),
        doi=ids.get("doi", ""),
        journal=journal,
        year=min(years) if years else None,
        authors=unique(_author(c) for c in meta.findall("contrib-group/contrib")
                       if c.get("contrib-type", "author") == "author"),
        publication_types=unique([collapse(article.get("article-type"))]),
    )


def _author(contrib: Element) -> str:
    """``"Surname, Given names"``, or a group's name."""
    collab = text_of(contrib.find("collab"))
    if collab:
        return collab
    name = contrib.find("name")
    if name is None:
        name = contrib.find("name-alternatives/name")
    if name is None:
        return text_of(contrib.find("string-name"))
    surname, given = text_of(name.find("surname")), text_of(name.find("given-names"))
    return f"{surname}, {given}" if surname and given else surname or given
