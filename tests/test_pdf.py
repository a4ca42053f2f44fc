"""PDF through pypdf: pages, sections found by the look of their titles, references
left out, and one error line for a damaged or locked file."""

import doctest
import io
import logging

import pytest

from cartkg.extract import pdf
from cartkg.extract.pdf import section_title
from cartkg.extract.readers import read_bytes
from cartkg.extract.records import Document, ReadError


@pytest.fixture(scope="module")
def review(review_pdf):
    [doc] = read_bytes(review_pdf, "in/Review 2025.pdf")
    assert isinstance(doc, Document)
    return doc


def test_id_title_format_and_doi(review):
    assert (review.id, review.source, review.format) == ("review-2025", "Review 2025.pdf", "pdf")
    assert review.title == "An Invented Review"  # the document information's title
    assert review.metadata.doi == "10.5555/cartkg.pdf.1"


def test_sections_from_title_lines_and_numbering(review):
    assert [(p.section, p.text) for p in review.passages] == [
        ("", "An Invented Review of CAR T Cells\ndoi:10.5555/cartkg.pdf.1"),
        ("Abstract", "Tisagenlecleucel targets CD19 in children."),
        ("Introduction", "Relapsed B-ALL is treated with CAR T cells."),
        ("Results", "Cytokine release syndrome occurred in 30% of patients\nand was managed with tocilizumab."),
        ("Results / Neurotoxicity", "ICANS was rare."),
    ]


def test_references_and_running_heads_stay_out(review):
    assert "References" not in review.text and "Axicabtagene" not in review.text
    assert not any("Invented Leuk Rep" in p.text for p in review.passages)
    for p in review.passages:
        assert review.text[p.offset : p.end] == p.text


def test_title_falls_back_to_the_first_line(make_pdf):
    [doc] = read_bytes(make_pdf([["Obe-cel in adults", "Obe-cel targets CD19."]], title="x"), "t.pdf")
    assert doc.title == "Obe-cel in adults"


@pytest.mark.parametrize(
    "line, title",
    [
        ("2. Methods", "Methods"),
        ("II. Results", "Results"),
        ("4.2 Patient characteristics", "Patient characteristics"),
        ("Materials and Methods:", "Materials and Methods"),
        ("CONCLUSIONS", "CONCLUSIONS"),
        ("Management of Cytokine Release Syndrome", "Management of Cytokine Release Syndrome"),
        ("Tisagenlecleucel targets CD19 in children.", None),
        ("1. Patients were enrolled at three centres", None),
        ("Table 2", None),
        ("Grade 3 CRS", None),
        ("x" * 100, None),
        ("", None),
    ],
)
def test_section_titles(line, title):
    assert section_title(line) == title


def test_encrypted_pdf_needs_its_password(make_pdf):
    from pypdf import PdfReader, PdfWriter

    def locked(user_password: str) -> bytes:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([["Tisagenlecleucel targets CD19."]]))))
        writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    assert read_bytes(locked("secret"), "l.pdf") == [ReadError("l.pdf", "the PDF is encrypted and needs a password")]
    [doc] = read_bytes(locked(""), "open.pdf")
    assert doc.passages[0].text == "Tisagenlecleucel targets CD19."


def test_damaged_pdfs_give_one_line_and_nothing_in_the_log(review_pdf, make_pdf, caplog):
    caplog.set_level(logging.DEBUG)
    for data in (b"%PDF-1.7\n garbage", review_pdf[: len(review_pdf) // 3], b"%PDF-1.4\n" + bytes(range(256)) * 8):
        [result] = read_bytes(data, "d.pdf")
        assert isinstance(result, ReadError), data[:40]
        assert result.message.startswith(("not a readable PDF (", "no text in the PDF")) and "\n" not in result.message
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]
    [empty] = read_bytes(make_pdf([[]]), "blank.pdf")
    assert empty.message == "no text in the PDF (a scan without a text layer?)"


def test_a_pdf_name_without_a_pdf_inside():
    assert read_bytes(b"just words", "fake.pdf") == [ReadError("fake.pdf", "not a PDF (no %PDF- header)")]


def test_docstring_examples():
    assert doctest.testmod(pdf).failed == 0
