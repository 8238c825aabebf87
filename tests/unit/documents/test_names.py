"""File names from chat clients are cleaned; the extension follows the content."""

from __future__ import annotations

import pytest

from documents.intake import intake
from documents.names import extension_for, sanitize_filename
from tests.unit.documents.imaging import document_image, encode


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd.jpg"),
        ("..\\..\\windows\\system32\\config.sys", "config.jpg"),
        ("/var/lib/x/DNI front.JPG", "DNI front.jpg"),
        ("dni\x00\x1b[31m\r\nback.jpeg", "dni[31mback.jpg"),
        ("invoice\u202egpj.exe", "invoicegpj.jpg"),  # right-to-left override removed
        ("zero\u200bwidth.png", "zerowidth.jpg"),
        (".bashrc", "bashrc.jpg"),
        ("...", "document.jpg"),
        ("", "document.jpg"),
        (None, "document.jpg"),
        ("CON.txt", "_CON.jpg"),
        ('a<b>c:d"e|f?g*h.png', "a_b_c_d_e_f_g_h.jpg"),
        ("Certificat d'empadronament – Pérez.heic", "Certificat d'empadronament – Pérez.jpg"),
        ("  spaced   out  .jpg", "spaced out.jpg"),
    ],
)
def test_sanitize(given: str | None, expected: str) -> None:
    assert sanitize_filename(given, extension=".jpg") == expected


def test_length_is_limited_in_characters_and_bytes() -> None:
    name = sanitize_filename("é" * 500 + ".pdf", extension=".pdf", max_length=120)
    assert len(name) <= 120 and name.endswith(".pdf")
    assert len(sanitize_filename("x" * 500, extension=".pdf").encode()) <= 255


def test_extension_follows_content_not_name() -> None:
    png_named_pdf = encode(document_image(700, 500), "PNG")
    assert intake(png_named_pdf, "contract.pdf").filename == "contract.jpg"
    assert intake(png_named_pdf, "../../etc/passwd").filename == "passwd.jpg"
    assert intake(png_named_pdf, "evil\x00name\n.png").filename == "evilname.jpg"


def test_extension_for() -> None:
    assert extension_for("application/pdf") == ".pdf"
    with pytest.raises(ValueError):
        extension_for("text/html")
    with pytest.raises(ValueError):
        sanitize_filename("x", extension="jpg")
