"""Receipt PDF generation (unsigned) vs a bare one-page reportlab document.

    python -m benchmarks.bench_receipt

Prints ``BENCH receipt_median <ms> ms ratio=<receipt/bare>`` (target: median <= 60 ms).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import statistics
import time

from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from documents.receipt import build_receipt_pdf
from domain.receipts import Receipt, new_csv_code
from handlers.receipting import receipt_labels

ROUNDS = 40

LABELS = receipt_labels("en", "Europe/Madrid")


def sample() -> Receipt:
    logo = Image.new("RGB", (160, 160), (31, 58, 95))
    ImageDraw.Draw(logo).ellipse((25, 25, 135, 135), fill=(240, 200, 60))
    logo_png = io.BytesIO()
    logo.save(logo_png, "PNG")
    code = new_csv_code()
    when = dt.datetime(2026, 3, 14, 9, 26, 53, tzinfo=dt.UTC)
    return Receipt(
        entry_number="VT/2026/000123",
        registered_at=when,
        language="en",
        council_name="Ajuntament de Sant Joan de l'Horta",
        council_address="Plaça de la Vila, 1\n08191 Sant Joan de l'Horta",
        logo=logo_png.getvalue(),
        citizen_name="Joan Garcia i Puig",
        citizen_id_masked="***4567**Z",
        procedure_name="Padró municipal: canvi de domicili",
        reference="VT-7K3M9P",
        application=tuple((f"Field {i}", f"Value {i} " * 4) for i in range(8)),
        documents=tuple(
            (f"document-{i}.jpg", hashlib.sha256(bytes([i])).hexdigest()) for i in range(4)
        ),
        agreement_text_sha256=hashlib.sha256(b"summary").hexdigest(),
        agreed_at=when - dt.timedelta(minutes=2),
        clerk_name="Marta Puig i Ferrer",
        csv_code=code,
        verify_url=f"https://seu.example.cat/verify/{code}",
        agreement_statement="I agree that the data above are correct and complete.",
    )


def bare_pdf() -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    canvas.setFont("Helvetica", 12)
    for line in range(40):
        canvas.drawString(72, 770 - line * 18, f"Line {line} of a bare one-page document")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def main() -> None:
    receipt = sample()
    build_receipt_pdf(receipt, LABELS)  # warm up (font metrics, imports)
    bare_pdf()
    receipt_ms: list[float] = []
    bare_ms: list[float] = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        pdf = build_receipt_pdf(receipt, LABELS)
        receipt_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        bare_pdf()
        bare_ms.append((time.perf_counter() - start) * 1000)
    ours, theirs = statistics.median(receipt_ms), statistics.median(bare_ms)
    print(
        f"# receipt {len(pdf)} bytes; bare one-page document {theirs:.2f} ms (medians of {ROUNDS})"
    )
    print(f"BENCH receipt_median {ours:.1f} ms ratio={ours / theirs:.1f}")


if __name__ == "__main__":
    main()
