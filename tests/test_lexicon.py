import csv
import json
from collections import defaultdict
from pathlib import Path
import shutil

import pytest

from cartkg.extract.entities import lexicon_patterns
from cartkg.extract.pipeline import Extractor, build_pipeline
from cartkg.extract.records import Document, Passage
from cartkg.ontology.lexicon import (
    ENTITY_TYPES,
    Approval,
    Lexicon,
    LexiconError,
    bundled_lexicon,
    name_key,
)

SOURCES = Path(__file__).parent / "data" / "sources"


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return bundled_lexicon()


def test_every_entity_has_a_known_type_and_label(lexicon):
    assert len(lexicon) > 80
    for entity in lexicon:
        assert entity.type in ENTITY_TYPES
        assert entity.label and entity.definition


def test_shared_names_are_exactly_the_recorded_ambiguities(lexicon):
    owners = defaultdict(set)
    for entity in lexicon:
        for name in entity.names:
            owners[name_key(name)].add(entity.id)
    shared = {key: ids for key, ids in owners.items() if len(ids) > 1}
    assert shared == {key: set(a.entities) for key, a in lexicon.ambiguities.items()}
    assert {"HSCT", "HCT", "stem cell transplantation"} <= set(shared)
    for ambiguity in lexicon.ambiguities.values():
        assert ambiguity.resolve_to is None or ambiguity.resolve_to in ambiguity.entities
        assert ambiguity.note


def test_name_key_follows_the_case_rule():
    assert name_key("HSCT") == "HSCT"
    assert name_key("Stem Cell Transplantation") == "stem cell transplantation"
    assert name_key("CD19/CD22-CAR") == "CD19/CD22-CAR"


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
        ("mcw", "ROR:00qqv6244"),
        ("nmdp", "ROR:016cke005"),
        ("eliana", "NCT:NCT02435849"),
        ("zuma-4", "NCT:NCT02625480"),
        ("pedi-cart19", "NCT:NCT01626495"),
        ("plat-06", "NCT:NCT03684889"),
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
    # "varnimcabtagene autoleucel" (ARI-0001) and "B2101J" (NCT01626495) were never read
    # next to the product or trial.
    names = {name_key(n) for e in lexicon for n in e.names}
    assert not names & {"varnimcabtagene autoleucel", "B2101J"}


def test_every_xref_expands_to_an_iri(lexicon):
    for entity in lexicon:
        for xref in entity.xrefs:
            assert lexicon.expand(xref.curie).startswith("http")


def test_product_targets_name_antigens(lexicon):
    for product in lexicon.of_type("CARTProduct"):
        assert product.attribute("targets"), product.id
        assert all(lexicon[t].type == "Antigen" for t in product.attribute("targets"))


def test_products_say_where_their_attributes_were_read(lexicon):
    for product in lexicon.of_type("CARTProduct"):
        assert product.attribute("source"), product.id
        assert all(s.startswith("http") for s in product.attribute("source")), product.id
    liso = lexicon["lisocabtagene-maraleucel"]
    assert {"Breyanzi", "JCAR017", "liso-cel"} <= set(liso.synonyms)
    assert liso.attribute("costimulation") == ("4-1BB",)
    assert liso.attribute("vector") == ("lentiviral",)
    assert liso.attribute("developer") == ("juno", "bms")


def test_parents_of_the_organizations(lexicon):
    assert lexicon["cibmtr"].attribute("part_of") == ("mcw", "nmdp")
    assert lexicon["kite"].attribute("part_of") == ("gilead",)
    assert lexicon["juno"].attribute("part_of") == ("bms",)
    for parent in ("mcw", "nmdp", "gilead", "bms"):
        assert any(x.prefix == "ROR" for x in lexicon[parent].xrefs), parent


def test_every_trial_evaluates_a_product_and_has_its_nct_number(lexicon):
    for trial in lexicon.of_type("ClinicalTrial"):
        assert trial.attribute("evaluates"), trial.id
        assert all(lexicon[p].type == "CARTProduct" for p in trial.attribute("evaluates"))
        nct = [x for x in trial.xrefs if x.prefix == "NCT"]
        assert len(nct) == 1, trial.id
        assert nct[0].curie.split(":", 1)[1] in trial.synonyms


# --- Regulatory approvals -----------------------------------------------------------


def test_approvals_are_loaded_in_id_order(lexicon):
    approvals = lexicon.approvals
    assert [a.id for a in approvals] == sorted(a.id for a in approvals)
    assert len(approvals) >= 6
    by_key = {(a.product, a.agency): a for a in approvals}
    kymriah = by_key["tisagenlecleucel", "fda"]
    assert (kymriah.date, kymriah.year, kymriah.min_age, kymriah.max_age) == ("2017-08-30", 2017, None, 25)
    assert by_key["tisagenlecleucel", "european-commission"].year == 2018
    assert by_key["brexucabtagene-autoleucel", "fda"].min_age == 18
    assert by_key["brexucabtagene-autoleucel", "european-commission"].min_age == 26
    assert by_key["obecabtagene-autoleucel", "fda"].date == "2024-11-08"
    assert by_key["tocilizumab", "fda"].date == "2017-08-30"
    for approval in approvals:
        assert lexicon[approval.agency].type == "RegulatoryAgency"
        assert approval.source.startswith("http")


def test_year_of_a_partial_date():
    approval = Approval("x", "tisagenlecleucel", "fda", "2018-08", None, 25, "B-ALL", "https://example.org")
    assert approval.year == 2018


def test_lexicon_constructor_without_approvals_or_ambiguities(lexicon):
    bare = Lexicon(lexicon.entities, lexicon.converter)
    assert bare.approvals == ()
    assert bare.ambiguities == {}
    assert len(bare) == len(lexicon)


def _copy_lexicon(tmp_path: Path) -> Path:
    from importlib import resources

    source = Path(str(resources.files("cartkg.ontology") / "lexicon"))
    target = tmp_path / "lexicon"
    shutil.copytree(source, target)
    return target


def test_lexicon_without_approvals_file(tmp_path):
    root = _copy_lexicon(tmp_path)
    (root / "approvals.tsv").unlink()
    assert Lexicon.load(root).approvals == ()


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize(
    "row, message",
    [
        ("a1\tno-such-product\tfda\t2020-01-01\t\t\tB-ALL\thttps://example.org", "unknown product 'no-such-product'"),
        ("a1\ttisagenlecleucel\tno-such-agency\t2020\t\t\tB-ALL\thttps://example.org", "unknown agency"),
        ("a1\ttisagenlecleucel\tnovartis\t2020\t\t\tB-ALL\thttps://example.org", "not a RegulatoryAgency"),
        ("a1\ttisagenlecleucel\tfda\t30/08/2017\t\t\tB-ALL\thttps://example.org", "date '30/08/2017'"),
        ("a1\ttisagenlecleucel\tfda\t2017-13\t\t\tB-ALL\thttps://example.org", "does not exist"),
        ("a1\ttisagenlecleucel\tfda\t2017-02-30\t\t\tB-ALL\thttps://example.org", "does not exist"),
        ("a1\ttisagenlecleucel\tfda\t2017\tten\t\tB-ALL\thttps://example.org", "age 'ten'"),
        ("a1\ttisagenlecleucel\tfda\t2017\t30\t25\tB-ALL\thttps://example.org", "above max_age"),
        ("a1\ttisagenlecleucel\tfda\t2017\t\t\tB-ALL\t", "no source"),
        ("kymriah-fda-2017\ttisagenlecleucel\tfda\t2017\t\t\tB-ALL\thttps://example.org", "duplicate id"),
    ],
)
def test_bad_approval_row_names_file_and_line(tmp_path, row, message):
    root = _copy_lexicon(tmp_path)
    path = root / "approvals.tsv"
    line = _lines(path) + 1
    with path.open("a", encoding="utf-8") as handle:
        handle.write(row + "\n")
    with pytest.raises(LexiconError, match=rf"approvals\.tsv:{line}: .*{message}"):
        Lexicon.load(root)


# --- Shared names -------------------------------------------------------------------


def _with_antigen_named(tmp_path: Path, synonym: str) -> Path:
    """A lexicon copy with one more antigen that carries ``synonym``."""
    root = _copy_lexicon(tmp_path)
    with (root / "antigens.tsv").open("a", encoding="utf-8") as handle:
        handle.write(f"cd79b\tCD79B\t{synonym}\tB-cell receptor component.\tCD79B\n")
    return root


def _without_hsct_row(root: Path, *rows: str) -> int:
    """Drop the recorded HSCT ambiguity and add ``rows``; returns the file line (the
    header is line 1) of the last one."""
    path = root / "ambiguities.tsv"
    kept = [l for l in path.read_text(encoding="utf-8").splitlines() if not l.startswith("HSCT\t")]
    path.write_text("\n".join([*kept, *rows]) + "\n", encoding="utf-8")
    return len(kept) + len(rows)


def test_unrecorded_shared_name_is_refused(tmp_path):
    root = _with_antigen_named(tmp_path, "CRS")
    with pytest.raises(LexiconError, match=r"not recorded: 'CRS': cd79b, crs"):
        Lexicon.load(root)


def test_ambiguity_that_leaves_out_a_carrier_is_refused(tmp_path):
    root = _with_antigen_named(tmp_path, "HSCT")
    with pytest.raises(LexiconError, match=r"'HSCT' is also a name of \['cd79b'\]"):
        Lexicon.load(root)


def test_removing_a_recorded_ambiguity_is_refused(tmp_path):
    root = _copy_lexicon(tmp_path)
    _without_hsct_row(root)
    with pytest.raises(LexiconError, match=r"'HSCT': allogeneic-hsct, autologous-hsct"):
        Lexicon.load(root)


@pytest.mark.parametrize(
    "row, message",
    [
        ("CRS\tcrs|icans\tcrs\tnot shared", r"'CRS' is not a name of \['icans'\]"),
        ("HSCT\tallogeneic-hsct|autologous-hsct|cd19\tallogeneic-hsct\tx", r"is not a name of \['cd19'\]"),
        ("HSCT\tallogeneic-hsct|autologous-hsct\tcd19\tx", "resolve_to 'cd19' is not among"),
        ("HSCT\tallogeneic-hsct|no-such-entity\tallogeneic-hsct\tx", r"unknown entities \['no-such-entity'\]"),
        ("HSCT\tallogeneic-hsct\tallogeneic-hsct\tx", "fewer than two"),
        ("HSCT\tallogeneic-hsct|crs\tallogeneic-hsct\tx", r"is not a name of \['crs'\]"),
    ],
)
def test_bad_ambiguity_row_names_file_and_line(tmp_path, row, message):
    root = _copy_lexicon(tmp_path)
    line = _without_hsct_row(root, row)
    with pytest.raises(LexiconError, match=rf"ambiguities\.tsv:{line}: .*{message}"):
        Lexicon.load(root)


def _mentions(lexicon: Lexicon, text: str) -> list[tuple[str, str]]:
    extraction = Extractor(build_pipeline(lexicon)).extract(Document("t", "t.txt", text, (Passage("", 0, text),)))
    return [(m.text, m.entity_id) for m in extraction.mentions]


def test_shared_name_is_tagged_as_its_recorded_entity(lexicon):
    patterns = [p for p in lexicon_patterns(lexicon) if p["pattern"] == "HSCT"]
    assert [p["id"] for p in patterns] == ["allogeneic-hsct"]
    found = _mentions(lexicon, "Consolidative HSCT was done; one patient had autologous HSCT before.")
    assert found == [("HSCT", "allogeneic-hsct"), ("autologous HSCT", "autologous-hsct")]


def test_shared_name_without_a_resolution_is_not_tagged(tmp_path):
    root = _copy_lexicon(tmp_path)
    path = root / "ambiguities.tsv"
    text = path.read_text(encoding="utf-8").replace(
        "HSCT\tallogeneic-hsct|autologous-hsct\tallogeneic-hsct\t", "HSCT\tallogeneic-hsct|autologous-hsct\t\t"
    )
    path.write_text(text, encoding="utf-8")
    lexicon = Lexicon.load(root)
    assert lexicon.ambiguities["HSCT"].resolve_to is None
    assert _mentions(lexicon, "Consolidative HSCT was done after allo-HSCT.") == [("allo-HSCT", "allogeneic-hsct")]


# --- Identifiers against excerpts of their sources ----------------------------------


def _index() -> dict[str, Path]:
    with (SOURCES / "index.tsv").open(encoding="utf-8", newline="") as handle:
        return {row["source"]: SOURCES / row["fixture"] for row in csv.DictReader(handle, delimiter="\t")}


def _strings(value) -> set[str]:
    """Every string in a JSON value, however deep."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def _records(path: Path) -> list[set[str]]:
    """The fixture's records, each as the set of its values: rows of a TSV, objects
    of a JSON list (or the one JSON object)."""
    if path.suffix == ".tsv":
        with path.open(encoding="utf-8", newline="") as handle:
            return [{cell.strip() for cell in row} for row in csv.reader(handle, delimiter="\t")]
    data = json.loads(path.read_text(encoding="utf-8"))
    return [_strings(item) for item in (data if isinstance(data, list) else [data])]


def _id_forms(lexicon: Lexicon, curie: str) -> set[str]:
    prefix, local = curie.split(":", 1)
    return {curie, local, f"{prefix.lower()}:{local}", lexicon.expand(curie)}


def test_sampled_identifiers_match_their_sources(lexicon):
    index = _index()
    sampled = [(e.id, x) for e in lexicon for x in e.xrefs if x.source in index]
    assert len(sampled) >= 15
    assert {"HGNC", "NCIT", "MONDO", "MESH", "DRUGBANK", "CHEBI", "ROR", "NCT", "WIKIDATA"} <= {x.prefix for _, x in sampled}
    for entity_id, xref in sampled:
        forms = _id_forms(lexicon, xref.curie)
        records = _records(index[xref.source])
        assert any(forms & values and xref.label_at_source in values for values in records), (
            f"{entity_id}: {xref.curie} {xref.label_at_source!r} not in {index[xref.source].name}"
        )


def test_every_source_fixture_is_indexed_and_used(lexicon):
    index = _index()
    assert set(index.values()) == set(SOURCES.iterdir()) - {SOURCES / "index.tsv"}
    used = {x.source for e in lexicon for x in e.xrefs}
    assert set(index) <= used


def test_products_cover_the_kinds_the_field_names(lexicon):
    products = {p.id: p for p in lexicon.of_type("CARTProduct")}
    approved = {a.product for a in lexicon.approvals} & set(products)
    assert {"tisagenlecleucel", "brexucabtagene-autoleucel", "obecabtagene-autoleucel"} <= approved
    by_targets = {p.id: frozenset(p.attribute("targets")) for p in products.values()}
    assert any(t == {"cd22"} for t in by_targets.values())
    dual = {i for i, t in by_targets.items() if t == {"cd19", "cd22"}}
    # bicistronic, bispecific, sequential and co-administered dual-target strategies
    assert {"auto3", "cd19-22-bbz-car", "sequential-cd19-cd22-car", "cd19-cd22-car-coadministration"} <= dual
    donor_derived = {i for i, p in products.items() if "donor" in p.definition.lower()}
    assert {"ucart19", "tt52car19"} <= donor_derived
    for trial in lexicon.of_type("ClinicalTrial"):
        assert trial.attribute("evaluates"), trial.id
        assert any(x.curie.startswith("NCT:") for x in trial.xrefs), trial.id
