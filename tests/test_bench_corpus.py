"""The benchmark's corpus generator (bench/corpus.py): deterministic, distinct,
abstract-sized documents that the readers read and the extractor finds entities in.
No timings are asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from cartkg.extract.pipeline import Extractor
from cartkg.extract.readers import read_sources
from cartkg.extract.records import Document, ReadError

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def corpus(bench_script) -> ModuleType:
    return bench_script("corpus")


@pytest.fixture(scope="module")
def written(corpus, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bench-corpus")
    corpus.write_corpus(folder, 60, seed=3)
    return folder


def test_templates_come_from_the_bundled_corpus(corpus):
    templates = corpus.load_templates()
    assert templates.results and templates.others and templates.methods
    for template in (*templates.results, *templates.others, *templates.methods):
        assert any(isinstance(part, corpus.Slot) for part in template)


def test_same_seed_same_documents(corpus):
    assert list(corpus.documents(25, seed=7)) == list(corpus.documents(25, seed=7))


def test_other_seed_other_documents(corpus):
    first = [text for _, text in corpus.documents(10, seed=1)]
    second = [text for _, text in corpus.documents(10, seed=2)]
    assert not set(first) & set(second)


def test_a_smaller_corpus_is_a_prefix_of_a_larger_one(corpus):
    assert list(corpus.documents(10, seed=5)) == list(corpus.documents(30, seed=5))[:10]


def test_n_distinct_abstract_sized_documents(corpus):
    docs = list(corpus.documents(200, seed=0))
    assert len(docs) == 200
    assert len({path for path, _ in docs}) == 200
    assert len({text for _, text in docs}) == 200
    for _, text in docs:
        assert corpus.MIN_WORDS <= len(text.split()) <= corpus.MAX_WORDS


def test_entities_and_numbers_vary(corpus):
    texts = [text for _, text in corpus.documents(50, seed=0)]
    sentences = [s for t in texts for line in t.splitlines() if line and not line.startswith("#")
                 for s in line.split(". ")]
    # Recombined templates with swapped names and redrawn numbers: sentences rarely repeat.
    assert len(set(sentences)) > 0.9 * len(sentences)


def test_the_readers_read_every_document(written):
    paths = sorted(written.rglob("*.md"))
    assert len(paths) == 60
    results = list(read_sources([written]))
    assert not [r for r in results if isinstance(r, ReadError)]
    assert len(results) == 60
    assert len({d.id for d in results}) == 60
    for document in results:
        assert isinstance(document, Document)
        assert document.format == "markdown" and document.title
        assert {p.section for p in document.passages} <= {"Background", "Methods", "Results", "Conclusions"}
        assert "Results" in {p.section for p in document.passages}


def test_the_extractor_finds_entities_and_relations(written):
    extractor = Extractor()
    extractions = [extractor.extract(d) for d in read_sources([written]) if isinstance(d, Document)]
    assert all(e.mentions for e in extractions)
    types = {m.entity_type for e in extractions for m in e.mentions}
    assert {"CARTProduct", "Toxicity", "Disease", "ClinicalTrial"} <= types
    assert sum(len(e.relations) for e in extractions) > len(extractions)


def test_command_line(tmp_path):
    out = tmp_path / "corpus"
    done = subprocess.run([sys.executable, str(BENCH / "corpus.py"), "--n", "12", "--seed", "1", "-o", str(out)],
                          capture_output=True, text=True, check=True)
    assert "12 documents" in done.stdout
    assert len(list(out.rglob("*.md"))) == 12
