"""Shared fixtures: the bundled corpus built once per test session."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from cartkg.extract.pipeline import Extractor
from cartkg.extract.readers import read_sources
from cartkg.kg.build import build_graph
from cartkg.kg.export import write_rdf
from cartkg.kg.store import load_graph


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
def graph(graph_file):
    return load_graph(graph_file)
