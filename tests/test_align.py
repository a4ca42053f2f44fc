"""Lexical alignment with small ontologies written by the tests: the matches expected,
and none of the decoys."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cartkg.kg.cli import app
from cartkg.ontology.align import (
    MATCH_RULES,
    AlignError,
    align_file,
    is_case_sensitive,
    match_rule,
    normalize,
    read_ontology,
)
from cartkg.ontology.lexicon import Entity, Lexicon, bundled_lexicon

runner = CliRunner()
# sssom-py's own pandas calls warn under pandas 3; nothing this project can mend.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:sssom.*")

TURTLE = """\
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix oboInOwl: <http://www.geneontology.org/formats/oboInOwl#> .
@prefix obo: <http://purl.obolibrary.org/obo/> .
@prefix ex: <http://example.org/onto/> .

obo:TEST_0000001 a owl:Class ; rdfs:label "Tisagenlecleucel" ; oboInOwl:hasExactSynonym "CTL019" .
obo:TEST_0000002 a owl:Class ; rdfs:label "cytokine\u00a0release syndrome"@en .
obo:TEST_0000003 a owl:Class ; rdfs:label "B\u2010cell acute lymphoblastic leukemia" ; skos:altLabel "B-ALL" .
obo:TEST_0000004 a owl:Class ; rdfs:label "CD19 molecule" ; oboInOwl:hasExactSynonym "CD19" .
obo:TEST_0000010 a owl:Class ; rdfs:label "hypercytokinemia" ; oboInOwl:hasRelatedSynonym "Cytokine Release Syndrome" .
obo:TEST_0000011 a owl:Class ; rdfs:label "Blinatumomab" .
ex:Blinatumomab a owl:Class ; rdfs:label "blinatumomab" .
<http://other.example.net/terms#Dex> a owl:Class ; skos:prefLabel "dexamethasone" .

# Decoys: none of these may match.
obo:TEST_0000005 a owl:Class ; rdfs:label "acute lymphoblastic leukemia in remission" .
obo:TEST_0000006 a owl:Class ; rdfs:label "T-cell acute lymphoblastic leukemia" .
obo:TEST_0000007 a owl:Class ; rdfs:label "all" .
obo:TEST_0000008 a owl:Class ; rdfs:label "obsolete tisagenlecleucel" ;
    oboInOwl:hasExactSynonym "Kymriah" ; owl:deprecated true .
obo:TEST_0000009 a owl:Class ; rdfs:label "CD190" .
obo:TEST_0000012 a owl:Class ; rdfs:label "Cd19 molecule (mouse)" ; oboInOwl:hasExactSynonym "Cd19" .
obo:TEST_0000013 a owl:Class ; rdfs:label "siltuximab" ;
    rdfs:subClassOf oboInOwl:ObsoleteClass .
obo:TEST_0000014 a owl:Class ; rdfs:label "obsolete anakinra" ; oboInOwl:hasExactSynonym "anakinra" .
"""

TURTLE_EXPECTED = {
    ("cartkg:tisagenlecleucel", "TEST:0000001", "skos:exactMatch"),
    ("cartkg:crs", "TEST:0000002", "skos:exactMatch"),
    ("cartkg:b-all", "TEST:0000003", "skos:exactMatch"),
    ("cartkg:cd19", "TEST:0000004", "skos:exactMatch"),
    ("cartkg:crs", "TEST:0000010", "skos:relatedMatch"),
    ("cartkg:blinatumomab", "TEST:0000011", "skos:exactMatch"),
    ("cartkg:blinatumomab", "ex:Blinatumomab", "skos:exactMatch"),
    ("cartkg:dexamethasone", "ext:Dex", "skos:exactMatch"),
}

#: The entities the exact-set tests align: a fixed part of the bundled lexicon, so that
#: entities added later (a "T-cell ALL" entity, say) do not turn a decoy into a match.
ENTITIES = ("all", "b-all", "blinatumomab", "cd19", "crs", "dexamethasone", "mrd", "tisagenlecleucel", "tocilizumab")

OBO = """\
format-version: 1.2
ontology: testobo

[Term]
id: TESTO:0000001
name: cytokine release syndrome
synonym: "CRS" EXACT []

[Term]
id: TESTO:0000002
name: obsolete tisagenlecleucel
synonym: "tisagenlecleucel" EXACT []
is_obsolete: true

[Term]
id: TESTO:0000003
name: T-cell acute lymphoblastic leukemia
synonym: "T-ALL" EXACT []

[Term]
id: TESTO:0000004
name: all

[Term]
id: TESTO:0000005
name: interleukin-6 receptor antagonist
synonym: "tocilizumab" NARROW []

[Term]
id: TESTO:0000006
name: Minimal Residual Disease
synonym: "mrd" EXACT []

[Term]
id: TESTO:0000007
name: CD19-directed CAR T-cell product
synonym: "Kymriah" RELATED []

[Term]
id: LOCAL1
name: CD190
"""

OBO_EXPECTED = {
    ("cartkg:crs", "TESTO:0000001", "skos:exactMatch"),
    ("cartkg:tocilizumab", "TESTO:0000005", "skos:closeMatch"),
    ("cartkg:mrd", "TESTO:0000006", "skos:exactMatch"),
    ("cartkg:tisagenlecleucel", "TESTO:0000007", "skos:relatedMatch"),
}


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    bundled = bundled_lexicon()
    return Lexicon({entity_id: bundled[entity_id] for entity_id in ENTITIES}, bundled.converter)


@pytest.fixture
def turtle(tmp_path: Path) -> Path:
    path = tmp_path / "onto.ttl"
    path.write_text(TURTLE, encoding="utf-8")
    return path


@pytest.fixture
def obo(tmp_path: Path) -> Path:
    path = tmp_path / "onto.obo"
    path.write_text(OBO, encoding="utf-8")
    return path


def triples(mapping_set) -> set[tuple[str, str, str]]:
    return {(m.subject_id, m.object_id, m.predicate_id) for m in mapping_set.mappings}


def by_object(mapping_set) -> dict[str, object]:
    return {m.object_id: m for m in mapping_set.mappings}


def validation_errors(tsv: str, tmp_path: Path) -> list[str]:
    from sssom.parsers import parse_sssom_table
    from sssom.validators import validate

    path = tmp_path / "check.sssom.tsv"
    path.write_text(tsv, encoding="utf-8")
    reports = validate(parse_sssom_table(path), fail_on_error=False)
    return [f"{kind}: {result.message}" for kind, report in reports.items() for result in report.results]


def test_turtle_finds_the_matches_and_no_decoy(turtle, lexicon):
    result = align_file(turtle, lexicon)
    assert triples(result.mapping_set) == TURTLE_EXPECTED
    assert result.ontology.obsolete == 3
    assert len(result.ontology.classes) == 13


def test_obo_finds_the_matches_and_no_decoy(obo, lexicon):
    result = align_file(obo, lexicon)
    assert triples(result.mapping_set) == OBO_EXPECTED
    assert result.ontology.obsolete == 1
    # An unprefixed OBO id expands as OBO 1.4 says, under a generated prefix.
    assert result.ontology.prefixes["ext"] == "http://purl.obolibrary.org/obo/testobo#"


def test_the_whole_lexicon_takes_no_decoy(turtle, obo):
    """With every entity of the bundled lexicon, the expected matches are found, and a
    decoy is never matched (T-cell ALL may match a T-ALL entity, never ALL or B-ALL)."""
    found = triples(align_file(turtle).mapping_set) | triples(align_file(obo).mapping_set)
    assert TURTLE_EXPECTED | OBO_EXPECTED <= found
    objects = {o for _, o, _ in found}
    for decoy in ("0000005", "0000007", "0000008", "0000009", "0000012", "0000013", "0000014"):
        assert f"TEST:{decoy}" not in objects
    assert not {"TESTO:0000002", "TESTO:0000004", "ext:LOCAL1"} & objects
    t_cell = {s for s, o, _ in found if o in ("TEST:0000006", "TESTO:0000003")}
    assert not t_cell & {"cartkg:all", "cartkg:b-all"}


def test_entities_sharing_a_name_share_the_confidence(tmp_path):
    lexicon = Lexicon(
        {
            "allo": Entity("allo", "Intervention", "allogeneic transplantation", ("HSCT",), ""),
            "auto": Entity("auto", "Intervention", "autologous transplantation", ("HSCT",), ""),
        },
        bundled_lexicon().converter,
    )
    path = tmp_path / "hsct.ttl"
    path.write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "@prefix oboInOwl: <http://www.geneontology.org/formats/oboInOwl#> .\n"
        "<http://purl.obolibrary.org/obo/X_1> a owl:Class ; rdfs:label \"stem cell transplant\" ;\n"
        "    oboInOwl:hasExactSynonym \"HSCT\" .\n",
        encoding="utf-8",
    )
    found = align_file(path, lexicon).mapping_set.mappings
    assert [(m.subject_id, m.confidence) for m in found] == [("cartkg:allo", 0.35), ("cartkg:auto", 0.35)]


def test_rdf_xml_gives_the_same_matches(turtle, tmp_path, lexicon):
    import rdflib

    owl = tmp_path / "onto.owl"
    rdflib.Graph().parse(turtle).serialize(owl, format="xml")
    from_turtle, from_owl = align_file(turtle, lexicon).mapping_set, align_file(owl, lexicon).mapping_set

    def expanded(mapping_set):
        expand = {p: ns for p, ns in mapping_set.prefixes.items()}
        return {(s, expand[o.split(":")[0]] + o.split(":", 1)[1], p) for s, o, p in triples(mapping_set)}

    assert expanded(from_owl) == expanded(from_turtle)


def test_confidence_and_match_fields(turtle, obo, lexicon):
    found = by_object(align_file(turtle, lexicon).mapping_set)
    assert found["TEST:0000001"].confidence == 0.9  # label to label, in another case
    assert found["TEST:0000001"].match_string == ("tisagenlecleucel",)
    assert found["TEST:0000004"].confidence == 0.8  # label to exact synonym
    assert found["TEST:0000004"].object_match_field == ("oboInOwl:hasExactSynonym",)
    assert found["TEST:0000004"].match_string == ("CD19",)
    assert found["TEST:0000010"].confidence == 0.5  # to a related synonym
    # One name, the label of two classes: both kept, the confidence shared.
    assert found["TEST:0000011"].confidence == found["ex:Blinatumomab"].confidence == 0.45
    assert "2 candidates" in found["ex:Blinatumomab"].comment
    # A related synonym elsewhere does not rival a label match.
    assert found["TEST:0000002"].confidence == 0.9
    assert found["ext:Dex"].object_match_field == ("skos:prefLabel",)
    for mapping in found.values():
        assert mapping.mapping_justification == "semapv:LexicalMatching"
    obo_found = by_object(align_file(obo, lexicon).mapping_set)
    assert obo_found["TESTO:0000005"].confidence == 0.4
    assert obo_found["TESTO:0000005"].object_match_field == ("oboInOwl:hasNarrowSynonym",)
    assert obo_found["TESTO:0000006"].subject_match_field == ("rdfs:label",)  # not "mrd" ~ "MRD"
    assert obo_found["TESTO:0000007"].subject_match_field == ("skos:altLabel",)


def test_output_validates_with_sssom_py(turtle, obo, tmp_path):
    for path in (turtle, obo):
        result = align_file(path)
        assert validation_errors(result.mapping_set.to_tsv(), tmp_path) == []
        assert result.mapping_set.prefixes["cartkg"] == "https://w3id.org/cartkg/entity/"


def test_same_file_same_bytes(turtle, tmp_path):
    copy = tmp_path / "again" / "onto.ttl"
    copy.parent.mkdir()
    copy.write_bytes(turtle.read_bytes())
    first, second = align_file(turtle).mapping_set, align_file(copy).mapping_set
    assert first.to_tsv() == second.to_tsv()
    assert first.metadata["mapping_set_id"].startswith("https://w3id.org/cartkg/mappings/align/")


def test_no_match_gives_a_header_only_set(tmp_path, lexicon):
    path = tmp_path / "unrelated.ttl"
    path.write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "<http://example.org/A> a owl:Class ; rdfs:label \"photosynthesis\" .\n",
        encoding="utf-8",
    )
    tsv = align_file(path, lexicon).mapping_set.to_tsv()
    assert tsv.splitlines()[-1] == "subject_id\tpredicate_id\tobject_id\tmapping_justification"


def test_min_confidence_leaves_out_weaker_candidates(turtle, lexicon):
    kept = align_file(turtle, lexicon, min_confidence=0.6).mapping_set
    assert triples(kept) == {t for t in TURTLE_EXPECTED if t[1] not in ("TEST:0000010", "TEST:0000011", "ex:Blinatumomab")}
    assert "below confidence 0.6" in kept.metadata["mapping_set_description"]


def test_normalize_is_conservative():
    assert normalize("B\u2011cell\u00a0ALL") == normalize("b cell all") == "b cell all"
    assert normalize("Children\u2019s  Oncology\tGroup") == "children's oncology group"
    assert normalize("leukaemia") != normalize("leukemia")  # no spelling or stem folding
    assert normalize("CD19-negative") == normalize("CD19 negative")


def test_abbreviations_match_in_their_own_case():
    assert is_case_sensitive("ALL") and is_case_sensitive("CRS") and is_case_sensitive("B-ALL")
    assert is_case_sensitive("Flu")  # three characters: case counts even with lower case
    assert not is_case_sensitive("tisagenlecleucel")


def test_each_pair_of_scopes_has_exactly_one_rule():
    for subject_scope in ("label", "synonym"):
        for object_scope in ("label", "exact", "related", "broad", "narrow"):
            covering = [r for r in MATCH_RULES if subject_scope in r.subject_scopes and object_scope in r.object_scopes]
            assert len(covering) == 1
    assert match_rule("label", "label").predicate == "skos:exactMatch"
    assert match_rule("synonym", "broad").predicate == "skos:closeMatch"


def test_cli_writes_the_alignment(turtle, tmp_path):
    out = tmp_path / "out" / "onto.sssom.tsv"
    result = runner.invoke(app, ["align", str(turtle), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8") == align_file(turtle).mapping_set.to_tsv()
    alignment = align_file(turtle)
    summary = result.stderr.strip().splitlines()
    assert summary == [
        f"aligned onto.ttl: 13 class(es), 3 obsolete skipped; {len(alignment.mapping_set.mappings)} "
        f"candidate mapping(s) for {alignment.entities} entities"
    ]
    filtered = runner.invoke(app, ["align", str(turtle), "--min-confidence", "0.85"])
    assert filtered.exit_code == 0
    assert "cartkg:tisagenlecleucel" in filtered.stdout and "cartkg:blinatumomab" not in filtered.stdout


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("broken.ttl", "@prefix ex: <http://example.org/> .\nex:A a ex:B ; garbage", "not valid Turtle"),
        ("broken.obo", 'format-version: 1.2\n\n[Term]\nid: X:1\nsynonym: "y" WRONG []\n', "not valid OBO"),
        ("broken.owl", "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><unclosed>", "not valid RDF/XML"),
        ("owlxml.owl", "<?xml version='1.0'?><Ontology xmlns='http://www.w3.org/2002/07/owl#'/>", "no classes found"),
        ("empty.ttl", "", "no classes found"),
        ("latin1.ttl", "ex:A rdfs:label \"r\xe9ponse\" .", "not valid Turtle"),
        ("onto.xyz", "whatever", "unknown ontology format '.xyz'"),
        ("missing.ttl", None, "file not found"),
    ],
)
def test_a_bad_file_is_one_error_line_and_exit_2(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content.encode("latin-1"))
    with pytest.raises(AlignError, match=message):
        read_ontology(path)
    result = runner.invoke(app, ["align", str(path), "-o", str(tmp_path / "out.tsv")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and name in lines[0] and message in lines[0]
    assert not (tmp_path / "out.tsv").exists()


def test_docstring_examples():
    import doctest

    import cartkg.ontology.align as module

    assert doctest.testmod(module).failed == 0
