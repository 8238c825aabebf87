"""PDFs kept as they are; several photos combined into one PDF."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader, PdfWriter

from documents.intake import IntakeLimits, IntakeRejected, combine_images_to_pdf, intake
from documents.pdfs import PdfRejected, inspect_pdf
from tests.unit.documents.imaging import corner_image, document_image, encode, exif_with


def make_pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_accepted_byte_for_byte() -> None:
    data = make_pdf(3)
    result = intake(data, "certificate.PDF")
    assert result.kind == "pdf" and result.content_type == "application/pdf"
    assert result.data == data and result.sha256 == result.source_sha256
    assert result.pages == 3 and result.filename == "certificate.pdf"
    assert result.width is None and result.warnings == ()


def test_page_limit_boundary() -> None:
    assert intake(make_pdf(50), "x.pdf").pages == 50
    with pytest.raises(IntakeRejected) as caught:
        intake(make_pdf(51), "x.pdf")
    assert caught.value.reason == "too_many_pages"
    assert intake(make_pdf(5), "x.pdf", limits=IntakeLimits(max_pdf_pages=5)).pages == 5


def test_lying_page_count_is_caught_by_walking_the_tree() -> None:
    data = make_pdf(60).replace(b"/Count 60", b"/Count 1 ")
    with pytest.raises(PdfRejected) as caught:
        inspect_pdf(data, max_pages=50)
    assert caught.value.reason == "too_many_pages"


def test_pdf_with_no_pages_is_corrupt() -> None:
    with pytest.raises(IntakeRejected) as caught:
        intake(make_pdf(0), "x.pdf")
    assert caught.value.reason == "corrupt"


def test_combine_photos_into_one_pdf() -> None:
    portrait = intake(encode(document_image(1200, 1600), "JPEG"), "p1.jpg")
    landscape = intake(encode(document_image(1600, 1200), "JPEG"), "p2.jpg")
    pdf = combine_images_to_pdf([portrait.data, landscape.data], title="DNI")

    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    first, second = (page.mediabox for page in reader.pages)
    assert first.height > first.width and second.width > second.height
    embedded = reader.pages[0].images[0].image
    assert embedded is not None and embedded.size == (1200, 1600)
    # Normalised photos are embedded as they are, not re-encoded.
    assert portrait.data in pdf
    assert combine_images_to_pdf([portrait.data, landscape.data], title="DNI") == pdf
    # And the result is itself an acceptable document.
    assert intake(pdf, "dni.pdf").pages == 2


def test_combine_normalises_raw_photos() -> None:
    sideways = corner_image(800, 600).rotate(90, expand=True)
    raw = encode(sideways, "JPEG", exif=exif_with(6, gps=True))
    pdf = combine_images_to_pdf([raw])
    assert b"PhoneMaker" not in pdf and raw not in pdf
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert page.mediabox.width > page.mediabox.height  # upright photo is landscape


def test_combine_refusals() -> None:
    with pytest.raises(IntakeRejected) as caught:
        combine_images_to_pdf([])
    assert caught.value.reason == "empty"
    with pytest.raises(IntakeRejected) as caught:
        combine_images_to_pdf([b"junk"])
    assert caught.value.reason == "not_an_image"
    photo = intake(encode(document_image(600, 500), "JPEG"), "x.jpg").data
    with pytest.raises(IntakeRejected) as caught:
        combine_images_to_pdf([photo] * 3, limits=IntakeLimits(max_pdf_pages=2))
    assert caught.value.reason == "too_many_pages"
    with pytest.raises(IntakeRejected) as caught:
        combine_images_to_pdf([make_pdf(1)])
    assert caught.value.reason == "unsupported_type"
