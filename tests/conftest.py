"""Shared fixtures: the bundled corpus built once per test session; the readers' small
files of each format, and PDFs made on the spot."""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

from cartkg.extract.pipeline import Extractor
from cartkg.extract.readers import read_sources
from cartkg.kg.build import build_graph
from cartkg.kg.export import write_rdf
from cartkg.kg.store import load_graph


@pytest.fixture(scope="session")
def bench_script() -> Callable[[str], ModuleType]:
    """Imports ``bench/<name>.py`` (the benchmarks are scripts, not a package)."""
    folder = Path(__file__).resolve().parent.parent / "bench"

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"cartkg_bench_{name}", folder / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return Path(str(resources.files("cartkg.extract") / "corpus"))


@pytest.fixture(scope="session")
def extractions(corpus_dir):
    extractor = Extractor()
    return [extractor.extract(doc) for doc in read_sources([corpus_dir])]


@pytest.fixture(scope="session")
def built(corpus_dir):
    return build_graph([corpus_dir])


@pytest.fixture(scope="session")
def graph_file(built, tmp_path_factory) -> Path:
    return write_rdf(built.dataset, tmp_path_factory.mktemp("graph") / "cartkg.ttl", "ttl")


@pytest.fixture(scope="session")
def quads_file(built, graph_file) -> Path:
    """The corpus graph in N-Quads, which keeps each document's named graph."""
    return write_rdf(built.dataset, graph_file.with_suffix(".nq"), "nq")


@pytest.fixture(scope="session")
def graph(graph_file):
    return load_graph(graph_file)


#: Columns made by GROUP_CONCAT, whose order SPARQL leaves to the engine.
_CONCATENATED = {"entities-by-type": "xrefs"}


def _comparable(name, result):
    records = result.records()
    column = _CONCATENATED.get(name)
    for record in records if column else ():
        record[column] = sorted(record[column].split())
    return records


@pytest.fixture(scope="session")
def comparable():
    """``comparable(name, result)``: the records of a named query's answer, in its order,
    with the values of a GROUP_CONCAT column sorted, so that engines can be compared."""
    return _comparable


# ------------------------------------------------------------------------ browser

@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed with apt-get when missing and when this user may."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if not shutil.which("apt-get") or getattr(os, "geteuid", lambda: -1)() != 0:
        pytest.skip("chromium is not installed, and only root with apt-get could install it here")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "chromium"]
    for command in (install, ["apt-get", "update"], install):
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
        if command[1] == "install" and done.returncode == 0 and shutil.which("chromium"):
            return shutil.which("chromium")
    pytest.skip(f"apt-get could not install chromium: {done.stderr.strip().splitlines()[-1:]}")


# ------------------------------------------------------------------------- readers

#: Hypothesis runs the same examples every time, and remembers nothing between runs,
#: so a failure in CI is a failure on every machine. HYPOTHESIS_PROFILE=explore
#: draws new examples each run, for looking for bugs by hand.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def readers_data() -> Path:
    """Small files of each input format, written by the team (tests/data/readers):
    ``pubmed.xml`` (two articles, one with a structured abstract), ``jats.nxml`` (nested
    sections, a figure, a table, a reference list), ``bioc.xml`` and ``bioc.json``
    (PubTator-style annotations; the JSON in PMC's shape, with offset gaps, headings
    and a reference passage). The records are invented: PMIDs 9000000x, DOIs under the
    10.5555 test prefix. The folder holds nothing else, since tests build all of it."""
    return Path(__file__).parent / "data" / "readers"


def pdf_bytes(pages: list[list[str]], *, title: str | None = None) -> bytes:
    """A PDF with one page per list of lines, in Helvetica, written with pypdf."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        shown = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
        stream = DecodedStreamObject()
        stream.set_data("\n".join(["BT /F1 11 Tf 14 TL 72 720 Td", *(f"({s}) Tj T*" for s in shown), "ET"])
                        .encode("latin-1"))
        page.replace_contents(stream)
    if title is not None:
        writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


#: A short review as a PDF: a running head on every page, numbered sections, a
#: References section that must be left out.
REVIEW_PDF_PAGES = [
    ["Invented Leuk Rep 2025", "An Invented Review of CAR T Cells", "doi:10.5555/cartkg.pdf.1", "Abstract",
     "Tisagenlecleucel targets CD19 in children.", "", "1. Introduction",
     "Relapsed B-ALL is treated with CAR T cells."],
    ["Invented Leuk Rep 2025", "2. Results", "Cytokine release syndrome occurred in 30% of patients",
     "and was managed with tocilizumab.", "2.1 Neurotoxicity", "ICANS was rare.", "References",
     "1. Doe J. Axicabtagene ciloleucel in adults. 2020."],
]


@pytest.fixture(scope="session")
def make_pdf():
    """:func:`pdf_bytes`, for tests that write PDFs of their own."""
    return pdf_bytes


@pytest.fixture(scope="session")
def review_pdf() -> bytes:
    return pdf_bytes(REVIEW_PDF_PAGES, title="An Invented Review")
