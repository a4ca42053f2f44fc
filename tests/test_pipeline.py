"""The spaCy pipeline on the bundled corpus and on small texts written here."""

import pytest

from cartkg.extract.pipeline import Extractor
from cartkg.extract.records import AssertionStatus, Document, Passage


def _ids(extractions, *types):
    return {m.entity_id for e in extractions for m in e.mentions if m.entity_type in types}


def _extract(text: str):
    return Extractor().extract(Document("t", "t.txt", text, (Passage("", 0, text),)))


def test_products_found_in_the_corpus(extractions):
    assert _ids(extractions, "CARTProduct") == {
        "tisagenlecleucel", "brexucabtagene-autoleucel", "obecabtagene-autoleucel",
        "axicabtagene-ciloleucel", "ari-0001", "scri-car19", "hucart19", "cart22", "auto3",
        "nci-cd19-28z-car", "nci-cd22-car", "nci-cd19-cd22-car",
    }


def test_antigens_found_in_the_corpus(extractions):
    assert _ids(extractions, "Antigen") == {"cd19", "cd22"}


def test_working_groups_found_in_the_corpus(extractions):
    assert _ids(extractions, "WorkingGroup", "ExpertGroup", "Consortium") == {
        "westhafen-intercontinental-group", "ibfm-sct-committee",
        "cibmtr-pediatric-cancer-working-committee", "cog-cellular-therapy-committee",
        "ebmt-pdwp", "ptctc",
    }


def test_toxicities_found_in_the_corpus(extractions):
    assert _ids(extractions, "Toxicity") == {
        "crs", "icans", "neurotoxicity", "iec-hs", "hlh", "icaht", "cytopenia",
        "b-cell-aplasia", "hypogammaglobulinemia", "infection", "gvhd", "t-cell-malignancy",
        "seizure", "cerebral-edema", "neutropenia",
    }


def test_product_antigen_pairs(extractions):
    pairs = {
        (r.subject, r.object)
        for e in extractions
        for r in e.relations
        if r.predicate == "targets" and r.status is AssertionStatus.AFFIRMED
    }
    assert pairs == {
        ("tisagenlecleucel", "cd19"), ("brexucabtagene-autoleucel", "cd19"),
        ("obecabtagene-autoleucel", "cd19"), ("axicabtagene-ciloleucel", "cd19"),
        ("ari-0001", "cd19"), ("scri-car19", "cd19"), ("hucart19", "cd19"),
        ("nci-cd19-28z-car", "cd19"), ("cart22", "cd22"), ("nci-cd22-car", "cd22"),
        ("auto3", "cd19"), ("auto3", "cd22"),
        ("nci-cd19-cd22-car", "cd19"), ("nci-cd19-cd22-car", "cd22"),
    }


def test_westhafen_members_and_parents(extractions):
    part_of = {(r.subject, r.object) for e in extractions for r in e.relations if r.predicate == "partOf"}
    members = {s for s, o in part_of if o == "westhafen-intercontinental-group"}
    assert members == {
        "ibfm-sct-committee", "cibmtr-pediatric-cancer-working-committee",
        "cog-cellular-therapy-committee", "ebmt-pdwp", "ptctc",
    }
    assert {
        ("ibfm-sct-committee", "ibfm"),
        ("cibmtr-pediatric-cancer-working-committee", "cibmtr"),
        ("cog-cellular-therapy-committee", "cog"),
        ("ebmt-pdwp", "ebmt"),
    } <= part_of


def test_mention_offsets_slice_the_text(extractions):
    for e in extractions:
        for m in e.mentions:
            assert e.document.text[m.begin : m.end] == m.text
        for s in e.sentences:
            assert e.document.text[s.begin : s.end] == s.text


def test_names_of_any_kind_resolve_to_one_entity():
    found = _extract("Kymriah, tisa-cel and CTL019 are one product; KTE-X19 is Tecartus.")
    assert [m.entity_id for m in found.mentions] == [
        "tisagenlecleucel", "tisagenlecleucel", "tisagenlecleucel",
        "brexucabtagene-autoleucel", "brexucabtagene-autoleucel",
    ]


def test_case_sensitive_abbreviations():
    found = _extract("All patients were treated; no one had crs written in lower case.")
    assert [m.entity_id for m in found.mentions] == []


def test_nearest_product_takes_the_antigen():
    found = _extract("Tisagenlecleucel targets CD19, whereas the CART22 product targets CD22.")
    assert {(r.subject, r.object) for r in found.relations} == {("tisagenlecleucel", "cd19"), ("cart22", "cd22")}


def test_negated_toxicity_is_not_affirmed():
    found = _extract("No ICANS was observed with obecabtagene autoleucel in this small series.")
    (relation,) = [r for r in found.relations if r.predicate == "hasAdverseEvent"]
    assert relation.status is AssertionStatus.NEGATED
    assert {m.entity_id: m.status for m in found.mentions}["icans"] is AssertionStatus.NEGATED


def test_hedged_toxicity_is_uncertain():
    found = _extract("ICANS may occur after AUTO3.")
    (relation,) = found.relations
    assert (relation.status, relation.trigger) == (AssertionStatus.UNCERTAIN, "may")


def test_conditional_toxicity_is_hypothetical_and_the_product_stays_affirmed():
    found = _extract("If CRS develops after tisagenlecleucel, tocilizumab is given.")
    status = {m.entity_id: m.status for m in found.mentions}
    assert status["crs"] is AssertionStatus.HYPOTHETICAL
    assert status["tisagenlecleucel"] is AssertionStatus.AFFIRMED


@pytest.mark.parametrize(
    "text, entity, expected",
    [
        ("Every responder was negative for minimal residual disease (MRD).", "mrd", AssertionStatus.NEGATED),
        ("Progenitors lacking CD19 may seed relapse.", "cd19", AssertionStatus.NEGATED),
        ("Graft-versus-host disease is not expected after tisagenlecleucel.", "gvhd", AssertionStatus.NEGATED),
        ("Prior blinatumomab was common among the patients.", "blinatumomab", AssertionStatus.HISTORICAL),
        ("Severe CRS was not a frequent problem with obe-cel.", "crs", AssertionStatus.AFFIRMED),
        ("CRS was absent, but febrile neutropenia required antibiotics.", "crs", AssertionStatus.NEGATED),
        ("Bridging therapy was not given.", "bridging-therapy", AssertionStatus.NEGATED),
        ("Tocilizumab does not cross the blood-brain barrier well.", "tocilizumab", AssertionStatus.AFFIRMED),
        ("CRS should be graded with the ASTCT consensus rather than the Lee criteria.", "lee-criteria",
         AssertionStatus.NEGATED),
        ("CRS should be graded with the ASTCT consensus rather than the Lee criteria.", "astct-consensus-grading",
         AssertionStatus.AFFIRMED),
        ("None of the patients developed HLH-like syndrome.", "iec-hs", AssertionStatus.NEGATED),
    ],
)
def test_assertion_status_cases(text, entity, expected):
    statuses = {m.entity_id: m.status for m in _extract(text).mentions}
    assert statuses[entity] is expected


@pytest.mark.parametrize("text", ["Tocilizumab with or without corticosteroids is given for CRS."])
def test_pseudo_trigger_does_not_negate(text):
    found = _extract(text)
    assert all(r.status is AssertionStatus.AFFIRMED for r in found.relations)
    assert ("crs", "corticosteroids") in {(r.subject, r.object) for r in found.relations}


@pytest.mark.parametrize("text", [
    "In May 2017 tisagenlecleucel caused CRS in many patients.",
    "May 2017 saw tisagenlecleucel cause CRS in many patients.",
])
def test_month_may_is_not_a_hedge(text):
    found = _extract(text)
    assert [r.status for r in found.relations] == [AssertionStatus.AFFIRMED]


def test_name_nesting_gives_parent_and_target():
    found = _extract("The CIBMTR Pediatric Cancer Working Committee met. The NCI CD22 CAR was infused.")
    assert {(r.predicate, r.subject, r.object, r.evidence.rule) for r in found.relations} == {
        ("partOf", "cibmtr-pediatric-cancer-working-committee", "cibmtr", "part_of_in_name"),
        ("targets", "nci-cd22-car", "cd22", "targets_in_name"),
    }


def _triples(text: str) -> set[tuple[str, str, str, str]]:
    return {(r.predicate, r.subject, r.object, r.status.value) for r in _extract(text).relations}


def test_this_product_points_back_to_the_last_named_product():
    found = _extract("Obecabtagene autoleucel binds CD19. This product caused CRS in 2.4% of adults.").relations
    (event,) = [r for r in found if r.predicate == "hasAdverseEvent"]
    assert (event.subject, event.object) == ("obecabtagene-autoleucel", "crs")
    assert event.evidence.text == "This product caused CRS in 2.4% of adults."
    assert [(q.kind, q.value) for q in event.quantities] == [("incidence", 2.4)]


def test_no_antecedent_no_relation():
    assert not [r for r in _extract("This product caused CRS in most patients.").relations]


def test_treats_links_products_and_drugs_to_the_disease_of_their_patients():
    assert ("treats", "tisagenlecleucel", "rr-b-all", "affirmed") in _triples(
        "Tisagenlecleucel is approved for patients up to 25 years with relapsed/refractory B-ALL.")
    assert ("treats", "blinatumomab", "b-all", "affirmed") in _triples(
        "Blinatumomab induces remission in children with B-ALL.")
    # A disease state is not what a product treats.
    assert not {t for t in _triples("Tisagenlecleucel was followed by CD19-negative relapse in patients.")
                if t[0] == "treats"}


def test_antigen_loss_causes_relapse():
    assert ("antigenLossCauses", "cd19", "cd19-negative-relapse", "affirmed") in _triples(
        "Loss of CD19 on the blasts led to CD19-negative relapse.")
    assert not {t for t in _triples("CD19 is expressed in B-ALL and its loss is rare.") if t[0] == "antigenLossCauses"}


def test_a_clause_break_separates_two_findings():
    found = _triples("No ICANS was observed with obecabtagene autoleucel, "
                     "but CRS occurred with obecabtagene autoleucel in 2 patients.")
    assert {t for t in found if t[0] == "hasAdverseEvent"} == {
        ("hasAdverseEvent", "obecabtagene-autoleucel", "icans", "negated"),
        ("hasAdverseEvent", "obecabtagene-autoleucel", "crs", "affirmed"),
    }


def test_statuses_carry_their_trigger():
    extraction = _extract("No ICANS was observed after tisagenlecleucel.")
    icans = next(m for m in extraction.mentions if m.entity_id == "icans")
    assert (icans.status, icans.trigger) == (AssertionStatus.NEGATED, "No")
    (event,) = extraction.relations
    assert (event.status, event.trigger) == (AssertionStatus.NEGATED, "No")


def test_sentence_opening_it_points_back_to_the_first_entity_named_before():
    found = _triples("UCART19 is an allogeneic CD19-directed product. It was tested in children in PALL.")
    assert ("evaluates", "pall", "ucart19", "affirmed") in found


def test_of_joins_only_the_nearest_working_group():
    found = _triples("Its members are the COG Cellular Therapy Committee, "
                     "the Pediatric Diseases Working Party (PDWP) of the EBMT and the PTCTC.")
    part_of = {(t[1], t[2]) for t in found if t[0] == "partOf"}
    assert ("ebmt-pdwp", "ebmt") in part_of
    assert ("cog-cellular-therapy-committee", "ebmt") not in part_of
    assert ("ebmt-pdwp", "ptctc") not in part_of


def test_product_in_trial():
    assert ("evaluates", "felix", "obecabtagene-autoleucel", "affirmed") in _triples(
        "With obecabtagene autoleucel in FELIX, grade 3 or higher ICANS occurred in 7.1% of patients.")


def test_doc_words_read_what_the_tokens_say():
    from cartkg.extract.pipeline import default_pipeline
    from cartkg.extract.words import DocWords, token_texts

    doc = default_pipeline()("In May 2017, CRS occurred. It resolved in 5 days.")
    words = DocWords.of(doc)
    assert words.text == [t.text for t in doc] == token_texts(doc)
    assert words.lower == [t.lower_ for t in doc]
    assert words.sent_start == [bool(t.is_sent_start) for t in doc]
    assert words.like_num == [t.like_num for t in doc]
    assert DocWords.of(default_pipeline()("")) == DocWords([], [], [], [])


def test_sentence_lookups_agree_with_spacy():
    from cartkg.extract.pipeline import default_pipeline
    from cartkg.extract.words import ents_by_sentence, sentence_of

    doc = default_pipeline()("Tisagenlecleucel targets CD19. CRS was seen. Axi-cel caused ICANS and CRS.")
    sents = list(doc.sents)
    starts = [s.start for s in sents]
    assert ents_by_sentence(sents, doc.ents) == [list(s.ents) for s in sents]
    for token in doc:
        assert sents[sentence_of(starts, token.i)] == doc[token.i : token.i + 1].sent
