"""Numbers read as typed values, and attached to the relation they qualify."""

from __future__ import annotations

import pytest

from cartkg.extract.pipeline import Extractor
from cartkg.extract.quantities import find_quantities
from cartkg.extract.records import Document, Passage


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Grade 3 or higher CRS occurred in 11.6% of 255 patients.",
         [("grade", 3), ("incidence", 11.6), ("count", 255)]),
        ("grade ≥3 ICANS in 7.1%", [("grade", 3), ("incidence", 7.1)]),
        ("grade >2 CRS", [("grade", 3)]),
        ("grades 3-4 neutropenia", [("grade", 3)]),
        ("an overall remission rate of 81% and 12-month EFS of 50% and OS of 76%",
         [("complete_remission", 81), ("duration", 12), ("efs", 50), ("os", 76)]),
        ("MRD-negative CR was 89%", [("mrd_negativity", 89)]),
        ("approved in August 2017 for patients up to 25 years of age", [("year", 2017), ("max_age", 25)]),
        ("patients aged 1 to 24 years", [("min_age", 1), ("max_age", 24)]),
        ("adults aged 18 and over", [("population", "adults"), ("min_age", 18)]),
        ("in children and young adults with B-ALL", [("population", "children and young adults")]),
        ("aged at least 3 years at screening", [("min_age", 3)]),
        ("a median age of 11 years; n = 94", [("age", 11), ("count", 94)]),
        ("registered as NCT02435849 in 2015", [("year", 2015)]),
    ],
)
def test_typed_values(text, expected):
    assert [(q.kind, q.value) for q in find_quantities(text)] == [
        (k, v if isinstance(v, str) else float(v)) for k, v in expected
    ]


def test_offsets_slice_the_number():
    text = "CRS occurred in 77% of patients and ICANS in 40%."
    assert [text[q.begin:q.end] for q in find_quantities(text)] == ["77%", "40%"]
    assert {q.unit for q in find_quantities(text)} == {"%"}


def _relations(text: str):
    return Extractor().extract(Document("q", "q.txt", text, (Passage("", 0, text),))).relations


def test_each_toxicity_keeps_its_own_incidence():
    relations = _relations("Tisagenlecleucel caused CRS in 77% of patients and ICANS in 40%.")
    by_object = {r.object: [(q.kind, q.value) for q in r.quantities]
                 for r in relations if r.predicate == "hasAdverseEvent"}
    assert by_object == {"crs": [("incidence", 77.0)], "icans": [("incidence", 40.0)]}


def test_numbers_of_an_unpaired_toxicity_are_not_given_to_another():
    relations = _relations("Tisagenlecleucel caused ICANS in 12% of patients; in another series CRS was seen in 90%.")
    ae = [r for r in relations if r.predicate == "hasAdverseEvent"]
    assert [(r.object, [q.value for q in r.quantities]) for r in ae if r.object == "icans"] == [("icans", [12.0])]
    assert all(90.0 not in [q.value for q in r.quantities] for r in ae if r.object != "crs")


def test_approval_year_and_ages():
    relations = _relations("The FDA approved tisagenlecleucel in 2017 for patients up to 25 years old.")
    approval = next(r for r in relations if r.predicate == "approvedBy")
    assert {(q.kind, q.value) for q in approval.quantities} == {("year", 2017.0), ("max_age", 25.0)}


def test_every_match_holds_one_of_the_words_its_pattern_is_run_for(corpus_dir):
    """find_quantities runs a pattern only on texts that hold one of its words
    (``_NEEDED_WORDS``): a pattern that matched without any would lose numbers."""
    from pathlib import Path

    from cartkg.extract import quantities

    folders = [corpus_dir, Path(__file__).parent / "data" / "gold"]
    texts = [path.read_text(encoding="utf-8") for folder in folders for path in sorted(folder.glob("*.md"))]
    matched = 0
    for pattern, words in quantities._NEEDED_WORDS.items():
        for text in texts:
            for match in pattern.finditer(text):
                matched += 1
                assert any(word in quantities._folded(match.group()) for word in words), (pattern.pattern, match)
    assert matched > 200
