"""The receipt PDF read back: every field present, markup literal, QR decodes, signing."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from documents.receipt import (
    RECEIPT_LABEL_KEYS,
    build_receipt_pdf,
    find_unicode_font,
    format_official_time,
    sign_pdf,
    sign_pdf_async,
)
from domain.receipts import Receipt, new_csv_code
from handlers.receipting import receipt_labels
from tests.certs import claimed_times, make_council_p12, validate

# The captions as the service passes them: the English message catalog.
LABELS = receipt_labels("en", "Europe/Madrid")

MARKUP_NAME = '<font color="red">Joan</font> & Co'
MARKUP_FIELD = '<a href="https://evil.example/">click</a> &amp; <b>bold</b> <br/>'


def logo_png() -> bytes:
    image = Image.new("RGB", (160, 160), (31, 58, 95))
    ImageDraw.Draw(image).ellipse((25, 25, 135, 135), fill=(240, 200, 60))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


REGISTERED = dt.datetime(2026, 3, 14, 9, 26, 53, tzinfo=dt.UTC)


def sample_receipt(**changes: object) -> Receipt:
    code = "7K3M-9PXQ-A2HD-T6WB-RC4N"
    receipt = Receipt(
        entry_number="VT/2026/000123",
        registered_at=REGISTERED,
        language="en",
        council_name="Ajuntament de Sant Joan de l'Horta",
        council_address="Plaça de la Vila, 1\n08191 Sant Joan de l'Horta",
        logo=logo_png(),
        citizen_name=MARKUP_NAME,
        citizen_id_masked="***4567**Z",
        procedure_name="Padró: canvi de domicili (l·l, ñ, ü, ç)",
        reference="VT-7K3M9P",
        application=(
            ("New address", "Carrer Major, 12, 2n 1a"),
            ("Reason", MARKUP_FIELD),
        ),
        documents=(
            ("dni-front.jpg", hashlib.sha256(b"front").hexdigest()),
            ("<b>contract</b>.pdf", hashlib.sha256(b"contract").hexdigest()),
        ),
        agreement_text_sha256=hashlib.sha256(b"summary").hexdigest(),
        agreed_at=dt.datetime(2026, 3, 14, 9, 25, 1, tzinfo=dt.UTC),
        clerk_name="Marta Puig i Ferrer",
        csv_code=code,
        verify_url=f"https://seu.example.cat/verify/{code}",
        agreement_statement="I agree that the data above are correct & complete.",
    )
    return dataclasses.replace(receipt, **changes)  # type: ignore[arg-type]


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return build_receipt_pdf(sample_receipt(), LABELS)


def test_every_field_is_printed(pdf: bytes) -> None:
    receipt = sample_receipt()
    text = text_of(pdf)
    expected = [
        receipt.entry_number,
        "14/03/2026 10:26:53 (Spanish mainland official time)",  # 09:26:53 UTC in CET
        "14/03/2026 10:25:01 (Spanish mainland official time)",
        receipt.council_name,
        "Plaça de la Vila, 1",
        "08191 Sant Joan de l'Horta",
        receipt.citizen_id_masked,
        receipt.procedure_name,
        receipt.reference,
        "New address",
        "Carrer Major, 12, 2n 1a",
        receipt.agreement_text_sha256,
        receipt.clerk_name,
        receipt.csv_code,
        receipt.verify_url,
        receipt.agreement_statement,
        "dni-front.jpg",
        "Page 1 of 1",
    ]
    expected += [digest for _name, digest in receipt.documents]
    expected += [LABELS[key] for key in RECEIPT_LABEL_KEYS if key not in ("page", "no_documents")]
    expected += [LABELS["integrity_note"], LABELS["legal_note"]]
    missing = [item for item in expected if item not in text]
    assert missing == []


def test_markup_prints_literally(pdf: bytes) -> None:
    text = text_of(pdf)
    assert MARKUP_NAME in text
    assert MARKUP_FIELD in text
    assert "<b>contract</b>.pdf" in text


def test_qr_code_decodes_to_the_verify_url(pdf: bytes) -> None:
    import pypdfium2 as pdfium
    import zxingcpp

    page = pdfium.PdfDocument(pdf)[0]
    image = page.render(scale=2).to_pil()
    decoded = [barcode.text for barcode in zxingcpp.read_barcodes(image)]
    assert decoded == [sample_receipt().verify_url]


def test_metadata_and_reproducibility(pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None
    assert reader.metadata.title == f"{LABELS['title']} VT/2026/000123"
    assert reader.metadata.author == "Ajuntament de Sant Joan de l'Horta"
    assert str(reader.metadata["/CreationDate"]).startswith("D:20260314092653")
    assert build_receipt_pdf(sample_receipt(), LABELS) == pdf


def test_long_application_flows_onto_more_pages() -> None:
    rows = tuple((f"Field {i}", f"Value number {i} " * 6) for i in range(70))
    pdf = build_receipt_pdf(sample_receipt(application=rows), LABELS)
    reader = PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    assert pages >= 2
    text = text_of(pdf)
    assert f"Page {pages} of {pages}" in text
    assert "Field 69" in text
    # The council header and the CSV code are on every page.
    for page in reader.pages:
        assert "Ajuntament de Sant Joan de l'Horta" in page.extract_text()
        assert sample_receipt().csv_code in page.extract_text()


def test_a_field_longer_than_a_page_is_split_across_pages() -> None:
    essay = "Facts and reasons of the application, written at length. " * 300
    rows = (("Facts and reasons", essay), ("After", "end marker"))
    documents = (("n" * 400 + ".pdf", hashlib.sha256(b"n").hexdigest()),)
    pdf = build_receipt_pdf(sample_receipt(application=rows, documents=documents), LABELS)
    text = text_of(pdf)
    # Every sentence is there (a page break may fall inside one, so count their ends).
    assert text.count("length.") == 300 and "end marker" in text


def test_no_documents_and_no_logo() -> None:
    pdf = build_receipt_pdf(sample_receipt(documents=(), logo=None), LABELS)
    assert LABELS["no_documents"] in text_of(pdf)


def test_broken_logo_does_not_stop_the_receipt() -> None:
    pdf = build_receipt_pdf(sample_receipt(logo=b"not an image"), LABELS)
    assert "VT/2026/000123" in text_of(pdf)


def test_missing_label_is_reported() -> None:
    labels = {k: v for k, v in LABELS.items() if k != "clerk"}
    with pytest.raises(KeyError, match="clerk"):
        build_receipt_pdf(sample_receipt(), labels)


def test_control_characters_removed_and_letters_folded_with_helvetica() -> None:
    pdf = build_receipt_pdf(sample_receipt(citizen_name="Ștefan\x00 Łukasz\x1b[0m"), LABELS)
    assert "Stefan Lukasz[0m" in text_of(pdf)


def test_unicode_font_prints_every_letter() -> None:
    font = find_unicode_font()
    assert font is not None, "DejaVu Sans is missing (scripts/test-services.sh installs it)"
    name = "Ștefan Łukasz Ağaoğlu"
    pdf = build_receipt_pdf(sample_receipt(citizen_name=name), LABELS, font_path=font)
    text = text_of(pdf)
    assert name in text and "<b>contract</b>.pdf" in text


def test_characters_the_font_lacks_are_left_out_and_said() -> None:
    font = find_unicode_font()
    assert font is not None
    note = LABELS["characters_left_out"]
    emoji = sample_receipt(application=(("New address", "Carrer Major 🏠 12"),))
    text = text_of(build_receipt_pdf(emoji, LABELS, font_path=font))
    assert "Carrer Major 12" in " ".join(text.split()) and "🏠" not in text and "?" not in text
    assert note in " ".join(text.split())
    plain = text_of(build_receipt_pdf(sample_receipt(), LABELS, font_path=font))
    assert note not in " ".join(plain.split())
    cyrillic = text_of(build_receipt_pdf(sample_receipt(citizen_name="Олена Ana"), LABELS))
    assert "Ana" in cyrillic and note in " ".join(cyrillic.split())  # Helvetica lacks them


def test_the_verification_box_is_on_the_first_page() -> None:
    from pypdf import PdfReader

    many = tuple((f"Field {n}", "value") for n in range(12))
    pdf = build_receipt_pdf(sample_receipt(application=many), LABELS)
    first = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert LABELS["verification_section"] in first


def test_official_time_in_summer() -> None:
    moment = dt.datetime(2026, 7, 1, 8, 0, 0, tzinfo=dt.UTC)
    assert format_official_time(moment, "Europe/Madrid", "hora oficial peninsular") == (
        "01/07/2026 10:00:00 (hora oficial peninsular)"
    )


# ------------------------------------------------------------------ signing


@pytest.fixture(scope="module")
def council_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    path = tmp_path_factory.mktemp("cert") / "council.p12"
    return path, make_council_p12(path, moment=REGISTERED)


def test_signed_receipt_validates(pdf: bytes, council_certificate: tuple[Path, bytes]) -> None:
    p12, cert_der = council_certificate
    signed = sign_pdf(pdf, p12, "s3cret", signing_time=REGISTERED)
    status = validate(signed, cert_der, moment=REGISTERED)
    assert status.intact and status.valid and status.trusted
    assert signed.startswith(pdf)  # incremental update: the receipt itself is unchanged
    assert MARKUP_NAME in text_of(signed)


async def test_signing_from_async_code(pdf: bytes, council_certificate: tuple[Path, bytes]) -> None:
    p12, cert_der = council_certificate
    signed = await sign_pdf_async(pdf, p12, b"s3cret", signing_time=REGISTERED)
    status = await asyncio.to_thread(validate, signed, cert_der, moment=REGISTERED)
    assert status.bottom_line


@pytest.mark.parametrize("sign", ["sync", "async"])
async def test_the_seal_is_dated_the_registered_time_not_the_machines(
    pdf: bytes, council_certificate: tuple[Path, bytes], sign: str
) -> None:
    p12, cert_der = council_certificate
    # A registered time months from the machine's clock and in another offset (the first
    # 02:30 of the autumn night in Madrid), to the second as PDF dates go: the seal must
    # state exactly this moment.
    registered = dt.datetime(2026, 10, 25, 2, 30, 7, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    if sign == "sync":
        signed = await asyncio.to_thread(sign_pdf, pdf, p12, "s3cret", signing_time=registered)
    else:
        signed = await sign_pdf_async(pdf, p12, "s3cret", signing_time=registered)
    assert claimed_times(signed) == {
        "M": registered,  # the signing time PAdES relies on
        "cms_signing_time": None,  # PAdES forbids the CMS attribute: /M is the claim
        "ModDate": registered,  # the signed revision's modification date
    }
    status = await asyncio.to_thread(validate, signed, cert_der, moment=registered)
    assert status.bottom_line
    assert status.signer_reported_dt == registered  # as a validator reads it back


def test_a_naive_signing_time_is_refused(
    pdf: bytes, council_certificate: tuple[Path, bytes]
) -> None:
    p12, _ = council_certificate
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_pdf(pdf, p12, "s3cret", signing_time=REGISTERED.replace(tzinfo=None))


def test_tampered_signed_receipt_fails(pdf: bytes, council_certificate: tuple[Path, bytes]) -> None:
    p12, cert_der = council_certificate
    signed = bytearray(sign_pdf(pdf, p12, "s3cret", signing_time=REGISTERED))
    position = signed.index(b"VT/2026/000123")
    signed[position + 13] = ord("9")  # entry number ...123 -> ...129 in the info dict
    status = validate(bytes(signed), cert_der, moment=REGISTERED)
    assert not status.intact


def test_wrong_passphrase(pdf: bytes, council_certificate: tuple[Path, bytes]) -> None:
    p12, _ = council_certificate
    with pytest.raises((ValueError, Exception)):
        sign_pdf(pdf, p12, "wrong", signing_time=REGISTERED)


def test_receipt_csv_code_helper_used_in_urls() -> None:
    code = new_csv_code()
    receipt = sample_receipt(csv_code=code, verify_url=f"https://seu.example.cat/verify/{code}")
    assert code in text_of(build_receipt_pdf(receipt, LABELS))
