from collections import defaultdict
from pathlib import Path
import shutil

import pytest

from cartkg.extract.entities import is_case_sensitive
from cartkg.ontology.lexicon import ENTITY_TYPES, Lexicon, LexiconError, bundled_lexicon


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return bundled_lexicon()


def test_every_entity_has_a_known_type_and_label(lexicon):
    assert len(lexicon) > 80
    for entity in lexicon:
        assert entity.type in ENTITY_TYPES
        assert entity.label and entity.definition


def test_no_two_entities_share_a_name(lexicon):
    owners = defaultdict(set)
    for entity in lexicon:
        for name in entity.names:
            key = name if is_case_sensitive(name) else name.lower()
            owners[key].add(entity.id)
    shared = {name: ids for name, ids in owners.items() if len(ids) > 1}
    assert shared == {}


@pytest.mark.parametrize(
    "entity_id, curie",
    [
        ("cd19", "HGNC:1633"),
        ("cd22", "HGNC:1643"),
        ("cd20", "HGNC:7315"),
        ("tisagenlecleucel", "NCIT:C102758"),
        ("tisagenlecleucel", "DRUGBANK:DB13881"),
        ("brexucabtagene-autoleucel", "NCIT:C170439"),
        ("crs", "MESH:D000080424"),
        ("b-all", "MONDO:0004947"),
        ("fda", "ROR:034xvzb47"),
        ("cog", "ROR:03yyg2352"),
        ("eliana", "NCT:NCT02435849"),
        ("zuma-4", "NCT:NCT02625480"),
    ],
)
def test_sample_of_checked_identifiers(lexicon, entity_id, curie):
    xrefs = {x.curie: x for x in lexicon[entity_id].xrefs}
    assert curie in xrefs
    assert xrefs[curie].source, "every identifier records where it was checked"


def test_unconfirmed_leads_stay_out(lexicon):
    curies = {x.curie for e in lexicon for x in e.xrefs}
    # Leads that the checks rejected: D059467 is Transcriptome, DB14513 is magnesium,
    # 03vek6s52 is Harvard University.
    assert not curies & {"MESH:D059467", "DRUGBANK:DB14513", "ROR:03vek6s52"}
    assert not [x for x in lexicon["obecabtagene-autoleucel"].xrefs if x.prefix in ("NCIT", "DRUGBANK")]


def test_every_xref_expands_to_an_iri(lexicon):
    for entity in lexicon:
        for xref in entity.xrefs:
            assert lexicon.expand(xref.curie).startswith("http")


def test_product_targets_name_antigens(lexicon):
    for product in lexicon.of_type("CARTProduct"):
        assert product.attribute("targets"), product.id
        assert all(lexicon[t].type == "Antigen" for t in product.attribute("targets"))


def _copy_lexicon(tmp_path: Path) -> Path:
    from importlib import resources

    source = Path(str(resources.files("cartkg.ontology") / "lexicon"))
    target = tmp_path / "lexicon"
    shutil.copytree(source, target)
    return target


def test_bad_row_names_file_and_line(tmp_path):
    root = _copy_lexicon(tmp_path)
    with (root / "antigens.tsv").open("a", encoding="utf-8") as handle:
        handle.write("cd79b\tCD79B\n")
    with pytest.raises(LexiconError, match=r"antigens.tsv:5: wrong number of fields"):
        Lexicon.load(root)


def test_unknown_prefix_is_refused(tmp_path):
    root = _copy_lexicon(tmp_path)
    with (root / "xrefs.tsv").open("a", encoding="utf-8") as handle:
        handle.write("cd19\tFOO:1\texactMatch\tCD19\thttps://example.org\n")
    with pytest.raises(LexiconError, match="FOO:1"):
        Lexicon.load(root)
