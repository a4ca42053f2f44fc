"""The biomedical tokenizer: the field's tokens stay whole, ordinary text splits as
before, and the lexicon still finds its names, the ones inside whole tokens included."""

import doctest

import pytest
import spacy

from cartkg.extract import tokenizer as tokenizer_module
from cartkg.extract.pipeline import Extractor, default_pipeline
from cartkg.extract.records import Document, Passage
from cartkg.extract.tokenizer import TOKENIZER_NAME, lexicon_tokenizer_config
from cartkg.ontology.lexicon import bundled_lexicon

WHOLE = [
    "B-ALL", "CAR-T", "4-1BB", "IL-6", "obe-cel", "tisa-cel", "brexu-cel", "KTE-X19",
    "CTL-019", "ARI-0001", "CD19-negative", "T-ALL", "r/r",
]


@pytest.fixture(scope="module")
def nlp():
    return default_pipeline()


def _words(nlp, text: str) -> list[str]:
    return [t.text for t in nlp.make_doc(text)]


def _mentions(text: str) -> list[tuple[str, str]]:
    extraction = Extractor().extract(Document("t", "t.txt", text, (Passage("", 0, text),)))
    return [(m.text, m.entity_id) for m in extraction.mentions]


@pytest.mark.parametrize("word", WHOLE)
def test_biomedical_token_stays_whole(nlp, word):
    assert _words(nlp, f"In {word}, and ({word}). {word}") == [
        "In", word, ",", "and", "(", word, ")", ".", word,
    ]


@pytest.mark.parametrize(
    "text, words",
    [
        ("well-known first-line", ["well", "-", "known", "first", "-", "line"]),
        ("B-cell aplasia", ["B", "-", "cell", "aplasia"]),
        ("CD19-directed", ["CD19", "-", "directed"]),
        ("anti-CD22", ["anti", "-", "CD22"]),
        ("CD19/CD22", ["CD19", "/", "CD22"]),
        ("relapsed/refractory", ["relapsed", "/", "refractory"]),
        ("2017-2019", ["2017", "-", "2019"]),
        ("(CRS).", ["(", "CRS", ")", "."]),
        ("obe-cel-treated", ["obe-cel", "-", "treated"]),
        # A shape that would hide a lexicon name is not kept whole.
        ("CD19-CD22", ["CD19", "-", "CD22"]),
        ("CD19-28z", ["CD19", "-", "28z"]),
    ],
)
def test_ordinary_hyphens_and_punctuation_still_split(nlp, text, words):
    assert _words(nlp, text) == words


def test_lexicon_special_cases_stay_whole_in_any_case(nlp):
    assert _words(nlp, "SCRI-huCAR19 and Scri-hucar19 after allo-HSCT") == [
        "SCRI-huCAR19", "and", "Scri-hucar19", "after", "allo-HSCT",
    ]


def test_lexicon_config_keeps_antigens_apart():
    config = lexicon_tokenizer_config(bundled_lexicon())
    assert {"B-ALL", "tisa-cel", "KTE-X19", "allo-HSCT", "CART22-65s"} <= set(config["special_cases"])
    # Names that hide a name of another type split, so the antigen stays visible.
    assert not {"CD19-28z", "CD19/CD22-CAR", "CD19-22.BB.z-CAR"} & set(config["special_cases"])
    assert {"CD19", "CD22", "ALL", "CRS"} <= set(config["keep_apart"])


def test_lexicon_names_stay_whole_inside_longer_strings():
    assert _mentions("Given brexu-cel/KTE-X19/Tecartus (2020).") == [
        ("brexu-cel", "brexucabtagene-autoleucel"), ("KTE-X19", "brexucabtagene-autoleucel"),
        ("Tecartus", "brexucabtagene-autoleucel"),
    ]


def test_lexicon_matches_whole_tokens():
    assert _mentions("Tisa-cel and tisa-cel were given for B-ALL and T-ALL.") == [
        ("Tisa-cel", "tisagenlecleucel"), ("tisa-cel", "tisagenlecleucel"),
        ("B-ALL", "b-all"), ("T-ALL", "t-all"),
    ]


def test_costimulatory_domain_is_one_token_and_no_entity(nlp):
    assert "4-1BB" not in {name for entity in bundled_lexicon() for name in entity.names}
    assert "4-1BB" in _words(nlp, "a 4-1BB costimulatory domain")
    assert _mentions("a 4-1BB costimulatory domain") == []


def test_antigen_in_a_directed_product_is_found_and_paired():
    text = "The CD19-directed product KTE-X19 was infused."
    extraction = Extractor().extract(Document("t", "t.txt", text, (Passage("", 0, text),)))
    assert [(m.text, m.entity_id) for m in extraction.mentions] == [
        ("CD19", "cd19"), ("KTE-X19", "brexucabtagene-autoleucel"),
    ]
    assert {(r.predicate, r.subject, r.object) for r in extraction.relations} == {
        ("targets", "brexucabtagene-autoleucel", "cd19"),
    }


def test_marker_status_hides_its_antigen_only_inside_a_longer_name(nlp):
    assert _mentions("CD19-negative relapse followed.") == [("CD19-negative relapse", "cd19-negative-relapse")]
    assert _mentions("CD19-negative blasts were seen.") == [("CD19", "cd19")]
    doc = nlp("CD19-negative blasts were seen. CD22-low blasts too.")
    assert [t.text for t in doc][:3] == ["CD19", "-", "negative"]
    assert [s.text for s in doc.sents] == ["CD19-negative blasts were seen.", "CD22-low blasts too."]


def test_other_whole_tokens_keep_their_names_hidden():
    # spaCy keeps "NCI-2025" whole; a registration number is no mention of the NCI.
    assert _mentions("It was registered as NCI-2025-04660 in May.") == []


def test_antigen_inside_a_construct_name_is_nested():
    text = "The NCI CD19-28z CAR was infused."
    extraction = Extractor().extract(Document("t", "t.txt", text, (Passage("", 0, text),)))
    assert [(m.text, m.entity_id) for m in extraction.mentions] == [("NCI CD19-28z CAR", "nci-cd19-28z-car")]
    assert {(r.subject, r.object, r.evidence.rule) for r in extraction.relations} == {
        ("nci-cd19-28z-car", "cd19", "targets_in_name"),
    }


def test_pipeline_config_names_the_tokenizer_and_survives_saving(nlp, tmp_path):
    assert nlp.config["nlp"]["tokenizer"]["@tokenizers"] == TOKENIZER_NAME
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    text = "r/r B-ALL after tisa-cel (CRS) and CD19-directed therapy."
    assert _words(loaded, text) == _words(nlp, text)
    assert [(e.text, e.kb_id_) for e in loaded(text).ents] == [(e.text, e.kb_id_) for e in nlp(text).ents]


def test_docstring_examples():
    assert doctest.testmod(tokenizer_module).failed == 0
