"""Abbreviations a document defines: short forms after the definition mean what the
long form names, across the document's sections, and say which rule made them."""

import pytest

from cartkg.extract.abbreviations import Definition, defining_occurrences, occurrences, pipe_passages
from cartkg.extract.pipeline import Extractor, default_pipeline
from cartkg.extract.records import Document, Passage


@pytest.fixture(scope="module")
def nlp():
    return default_pipeline()


def _document(*sections: str) -> Document:
    """A document of one passage per section, as the Markdown reader makes them."""
    passages, offset = [], 0
    for index, text in enumerate(sections):
        passages.append(Passage(f"section {index}", offset, text))
        offset += len(text) + 1
    return Document("t", "t.md", "\n".join(sections), tuple(passages))


def _mentions(*sections: str) -> list[tuple[str, str, str]]:
    extraction = Extractor().extract(_document(*sections))
    return [(m.text, m.entity_id, m.rule) for m in extraction.mentions]


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(
            "Cytokine release syndrome (CRS) was mild. CRS resolved in a week.",
            [("Cytokine release syndrome", "crs", "lexicon"),
             ("CRS", "crs", "abbreviation"), ("CRS", "crs", "abbreviation")],
            id="long form then short form: the short form and later ones",
        ),
        pytest.param(
            "ICANS (immune effector cell-associated neurotoxicity syndrome) was rare. ICANS was graded.",
            [("ICANS", "icans", "abbreviation"),
             ("immune effector cell-associated neurotoxicity syndrome", "icans", "lexicon"),
             ("ICANS", "icans", "abbreviation")],
            id="short form then long form",
        ),
        pytest.param(
            # The document's definition overrides the lexicon's ALL, but only from there on.
            "ALL is common. B-cell acute lymphoblastic leukemia (ALL) relapsed. ALL was treated.",
            [("ALL", "all", "lexicon"), ("B-cell acute lymphoblastic leukemia", "b-all", "lexicon"),
             ("ALL", "b-all", "abbreviation"), ("ALL", "b-all", "abbreviation")],
            id="before the definition the lexicon holds; after it the document's meaning",
        ),
    ],
)
def test_definition_tags_the_short_form_from_there_on(text, expected):
    assert _mentions(text) == expected


def test_longer_lexicon_name_holding_the_short_form_stays():
    found = _mentions("B-cell acute lymphoblastic leukemia (ALL) relapsed. Ph-like ALL was rare.")
    assert found[-1] == ("Ph-like ALL", "ph-like-all", "lexicon")


def test_long_form_outside_the_lexicon_untags_a_lexicon_short_form():
    assert _mentions("TLS was not seen.") == [("TLS", "tls", "lexicon")]
    found = _mentions("TLS came first. The total lymphocyte score (TLS) rose. TLS fell.")
    assert found == [("TLS", "tls", "lexicon")]


def test_definitions_carry_across_sections():
    found = _mentions(
        "# Toxicity\nCRS came first. Cytokine release syndrome (CRS) followed. "
        "A matched related donor (MRD) was found.",
        "# Outcome\nCRS resolved. MRD was negative.",
    )
    assert found == [
        ("CRS", "crs", "lexicon"),
        ("Cytokine release syndrome", "crs", "lexicon"),
        ("CRS", "crs", "abbreviation"),
        ("CRS", "crs", "abbreviation"),
    ]


def test_first_definition_in_the_document_holds(nlp):
    docs = list(
        pipe_passages(nlp, ["B-cell acute lymphoblastic leukemia (ALL) relapsed.",
                            "Acute lymphoblastic leukemia (ALL) is broader. ALL again."])
    )
    assert docs[0]._.cartkg_abbreviations == docs[1]._.cartkg_abbreviations == (
        Definition(("ALL",), "acute lymphoblastic leukemia", "b-all", "Disease"),
    )
    assert [(e.text, e.kb_id_, e._.cartkg_rule) for e in docs[1].ents] == [
        ("Acute lymphoblastic leukemia", "all", "lexicon"),
        ("ALL", "b-all", "abbreviation"),
        ("ALL", "b-all", "abbreviation"),
    ]


def test_relations_read_the_short_form():
    extraction = Extractor().extract(_document(
        "Cytokine release syndrome (CRS) is the commonest toxicity.",
        "CRS occurred in 40% of patients given tisagenlecleucel.",
    ))
    (relation,) = [r for r in extraction.relations if r.predicate == "hasAdverseEvent"]
    assert (relation.subject, relation.object) == ("tisagenlecleucel", "crs")
    assert extraction.document.text[slice(*relation.object_mention)] == "CRS"


def test_defining_occurrence_is_the_one_nearest_the_long_form():
    found = [
        {"short_start": 9, "short_end": 10, "long_start": 0, "long_end": 3},
        {"short_start": 4, "short_end": 5, "long_start": 0, "long_end": 3},
        {"short_start": 20, "short_end": 21, "long_start": 14, "long_end": 19},
    ]
    assert defining_occurrences(found) == [((0, 3), (4, 5)), ((14, 19), (20, 21))]


def test_occurrences_of_a_short_form(nlp):
    doc = nlp.make_doc("r/r B-ALL then r/r B-ALL and B-ALL")
    assert occurrences(doc, ("r/r", "B-ALL")) == [(0, 2), (3, 5)]
    assert occurrences(doc, ("B-ALL",), start=2) == [(4, 5), (6, 7)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cytokine release syndrome (CRS) was seen", True),
        ("CRS (cytokine release syndrome) was seen", True),
        ("no brackets at all", False),
        ("a closing ) before an opening (", False),
        ("an opening ( never closed", False),
    ],
)
def test_may_define_only_with_brackets(nlp, text, expected):
    from cartkg.extract.abbreviations import may_define

    assert may_define(nlp.make_doc(text)) is expected
