from pathlib import Path

import pytest

from cartkg.extract.readers import decode, parse_markdown, read_document, read_sources
from cartkg.extract.records import Document, ReadError


@pytest.fixture
def markdown(tmp_path: Path) -> Path:
    path = tmp_path / "note.md"
    path.write_text(
        "# A short note\n\n## Background\n\nFirst paragraph here.\nStill first.\n\n"
        "Second paragraph.\n\n## Results\n\nCRS was common.\n",
        encoding="utf-8",
    )
    return path


def test_markdown_headings_become_sections(markdown):
    doc = read_document(markdown)
    assert isinstance(doc, Document)
    assert doc.title == "A short note"
    assert [(p.section, p.text) for p in doc.passages] == [
        ("Background", "First paragraph here.\nStill first."),
        ("Background", "Second paragraph."),
        ("Results", "CRS was common."),
    ]


def test_passage_offsets_slice_the_document_text(markdown):
    doc = read_document(markdown)
    for passage in doc.passages:
        assert doc.text[passage.offset : passage.end] == passage.text


def test_plain_text_has_paragraphs_and_title(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("Title line\n\nBody one.\n\n\nBody two.\n", encoding="utf-8")
    doc = read_document(path)
    assert doc.title == "Title line"
    assert [p.text for p in doc.passages] == ["Title line", "Body one.", "Body two."]


def test_crlf_is_normalised():
    assert decode(b"a\r\nb\rc") == "a\nb\nc"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n ", "empty file"),
        ("binary.txt", bytes(range(256)) * 4, "binary file"),
        ("latin1.txt", "Hémophagocytose".encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 1)"),
    ],
)
def test_bad_files_give_one_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = read_document(path)
    assert isinstance(result, ReadError)
    assert str(result).startswith(str(path))
    assert message in result.message
    assert "\n" not in str(result)


def test_missing_file(tmp_path):
    result = read_document(tmp_path / "nowhere.md")
    assert isinstance(result, ReadError) and result.message == "file not found"


def test_batch_goes_on_and_ids_stay_unique(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "same.md").write_text("Tisagenlecleucel targets CD19.\n", encoding="utf-8")
    (tmp_path / "b" / "same.md").write_text("Obe-cel targets CD19.\n", encoding="utf-8")
    (tmp_path / "b" / "zz.txt").write_bytes(b"\x00\x01")
    results = list(read_sources([tmp_path / "a", tmp_path / "b", tmp_path / "gone.txt"]))
    docs = [r for r in results if isinstance(r, Document)]
    errors = [r for r in results if isinstance(r, ReadError)]
    assert [d.id for d in docs] == ["same", "same-2"]
    assert sorted(Path(e.source).name for e in errors) == ["gone.txt", "zz.txt"]


def test_parse_markdown_without_headings():
    title, passages = parse_markdown("Just text.\n")
    assert title == "" and passages[0].section == "" and passages[0].text == "Just text."
