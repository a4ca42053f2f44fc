"""The command line, through typer's CliRunner and, for determinism, real processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cartkg.kg.cli import app

runner = CliRunner()


@pytest.fixture
def inputs(tmp_path: Path, corpus_dir: Path) -> dict[str, Path]:
    good = tmp_path / "good.md"
    good.write_text((corpus_dir / "obecel_abstract.md").read_text("utf-8"), encoding="utf-8")
    files = {
        "good": good,
        "missing": tmp_path / "missing.md",
        "empty": tmp_path / "empty.txt",
        "binary": tmp_path / "binary.txt",
        "latin1": tmp_path / "latin1.txt",
    }
    files["empty"].write_bytes(b"")
    files["binary"].write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    files["latin1"].write_bytes("Le syndrome de relargage cytokinique a été observé.".encode("latin-1"))
    return files


def test_bad_inputs_each_give_one_error_line_and_the_rest_is_built(inputs, tmp_path):
    out = tmp_path / "out" / "graph.ttl"
    result = runner.invoke(app, ["build", *map(str, inputs.values()), "-o", str(out)])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4
    for name in ("missing", "empty", "binary", "latin1"):
        assert sum(str(inputs[name]) in line for line in errors) == 1, name
    assert "file not found" in result.stderr and "empty file" in result.stderr
    assert "binary file" in result.stderr and "not UTF-8" in result.stderr
    assert out.is_file() and "obe-cel" in out.read_text("utf-8")
    assert "documents" in result.stdout
    assert not list(out.parent.glob(".*.tmp"))


def test_nothing_readable_writes_nothing(inputs, tmp_path):
    out = tmp_path / "graph.ttl"
    result = runner.invoke(app, ["build", str(inputs["empty"]), "-o", str(out)])
    assert result.exit_code == 1 and not out.exists()


def test_query_csv_and_json(graph_file):
    result = runner.invoke(app, ["query", "trials-products", "--graph", str(graph_file), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "trial,trialLabel,nct,product,productLabel"
    assert any(line.startswith("https://w3id.org/cartkg/entity/eliana,ELIANA,NCT:NCT02435849") for line in result.stdout.splitlines())
    result = runner.invoke(app, ["query", "group-members", "-g", str(graph_file), "-f", "json"])
    assert len(json.loads(result.stdout)["results"]["bindings"]) == 5


def test_query_with_parameter_and_errors(graph_file, tmp_path):
    ok = runner.invoke(app, ["query", "documents-mentioning", "-g", str(graph_file), "-p", "label=ICANS", "-f", "csv"])
    assert ok.exit_code == 0 and "ICANS" in ok.stdout
    bad = runner.invoke(app, ["query", "nope", "-g", str(graph_file)])
    assert bad.exit_code == 2 and "no named query" in bad.stderr
    missing = runner.invoke(app, ["query", "approvals", "-g", str(tmp_path / "none.ttl")])
    assert missing.exit_code == 2 and "graph file not found" in missing.stderr
    broken = tmp_path / "broken.ttl"
    broken.write_text("@prefix x: <http://x/> .\nx:a x:b ", encoding="utf-8")
    result = runner.invoke(app, ["stats", "-g", str(broken)])
    assert result.exit_code == 2 and str(broken) in result.stderr


def test_queries_analyze_stats(graph_file):
    listing = runner.invoke(app, ["queries"], env={"COLUMNS": "200"})
    assert "product-antigens" in listing.stdout and "group-members" in listing.stdout
    analysis = runner.invoke(app, ["analyze", "-g", str(graph_file), "-e", "CRS"], env={"COLUMNS": "200"})
    assert analysis.exit_code == 0 and "tocilizumab" in analysis.stdout
    stats = runner.invoke(app, ["stats", "-g", str(graph_file)], env={"COLUMNS": "200"})
    assert "sentences" in stats.stdout


@pytest.mark.parametrize("fmt", ["ttl", "nq", "jsonld", "xml"])
def test_build_is_byte_identical_across_runs(corpus_dir, tmp_path, fmt):
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.{fmt}"
        env = dict(os.environ, PYTHONHASHSEED=str(len(run) + ord(run)))
        subprocess.run(
            [sys.executable, "-m", "cartkg.kg.cli", "build", str(corpus_dir), "-o", str(out), "-f", fmt],
            check=True, env=env, capture_output=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 10_000


def test_validate_reports_consistency_inferences_and_shapes(graph_file):
    result = runner.invoke(app, ["validate", "-g", str(graph_file)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stdout
    assert "reasoner (HermiT): consistent" in result.stdout
    assert "CD19DirectedProduct" in result.stdout
    assert "shapes (pySHACL): the graph conforms" in result.stdout


def test_validate_catches_a_product_declared_an_antigen(graph_file, tmp_path):
    wrong = tmp_path / "wrong.ttl"
    wrong.write_text(
        graph_file.read_text(encoding="utf-8")
        + "\n<https://w3id.org/cartkg/entity/tisagenlecleucel> a <https://w3id.org/cartkg/ontology/Antigen> .\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", "-g", str(wrong), "--no-shapes"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "inconsistent" in result.stdout
    assert "cke:tisagenlecleucel (tisagenlecleucel) is Antigen and CARTProduct" in result.stdout


def test_validate_without_java_says_so_in_one_line(graph_file, tmp_path):
    result = runner.invoke(app, ["validate", "-g", str(graph_file), "--java", str(tmp_path / "java")])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Java was not found" in result.stderr
