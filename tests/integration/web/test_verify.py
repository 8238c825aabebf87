"""`/verify/{code}`: anyone holding a receipt checks it and downloads the original."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser

from bot.app import App
from tests.integration.web.conftest import Browser, Done

UNKNOWN = "7K3M-9PXQ-A2HD-T6WB-RC4N"


class _Outline(HTMLParser):
    """The page's language, headings and links, as assistive technology reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.lang = ""
        self.headings: list[str] = []
        self.links: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang") or ""
        if tag in ("h1", "h2"):
            self._in = tag
            self.headings.append("")
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.headings[-1] += data


def outline(page: str) -> _Outline:
    parser = _Outline()
    parser.feed(page)
    return parser


async def test_authentic_receipt_page_and_download(
    app: App, done: Done, base_url: str, browser: Browser
) -> None:
    receipt = done.receipt
    session = browser()
    async with session.get(
        f"{base_url}/verify/{receipt.csv_code}", headers={"Accept-Language": "en-GB,en;q=0.8"}
    ) as response:
        assert response.status == 200
        page = await response.text()
        assert response.headers["Content-Language"] == "en"
        assert "script-src" not in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    parsed = outline(page)
    assert parsed.lang == "en"
    assert parsed.headings[0] == "Authentic receipt"
    assert "is authentic" in page  # said in words, not only by a colour or a tick
    assert receipt.entry_number in page
    assert receipt.csv_code in page
    # Official time: 07:50 UTC is 08:50 in Madrid.
    assert "30/11/2026 08:50:00" in page and "Spanish mainland official time" in page
    shown = re.search(r'<code id="sha256">([0-9a-f]{64})</code>', page)
    assert shown is not None and shown.group(1) == receipt.sha256

    [download] = [link for link in parsed.links if link.endswith("receipt.pdf")]
    assert download == f"/verify/{receipt.csv_code}/receipt.pdf"
    async with session.get(base_url + download) as response:
        assert response.status == 200
        pdf = await response.read()
        assert response.headers["Content-Type"] == "application/pdf"
        disposition = response.headers["Content-Disposition"]
        assert disposition == 'attachment; filename="VT-2026-000001.pdf"'
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == shown.group(1)
    # And it is the very file the citizen got in the chat.
    assert pdf == await app.services.documents.read(receipt.sha256)


async def test_code_as_people_type_it(done: Done, base_url: str, browser: Browser) -> None:
    typed = done.receipt.csv_code.replace("-", " ").lower().replace("0", "o").replace("1", "l")
    async with browser().get(f"{base_url}/verify/{typed}") as response:
        assert response.status == 200
        assert done.receipt.entry_number in await response.text()


async def test_language_of_the_page(done: Done, base_url: str, browser: Browser) -> None:
    url = f"{base_url}/verify/{done.receipt.csv_code}"
    cases = {
        "": ("ca", "Justificant autèntic"),
        "es-ES,es;q=0.9,en;q=0.8": ("es", "Justificante auténtico"),
        "fr-FR,fr;q=0.9,en;q=0.5": ("en", "Authentic receipt"),
        "de,fr": ("ca", "Justificant autèntic"),
        "en;q=0.4,ca;q=0.9": ("ca", "Justificant autèntic"),
    }
    session = browser()
    for header, (language, heading) in cases.items():
        async with session.get(url, headers={"Accept-Language": header}) as response:
            page = await response.text()
        assert outline(page).lang == language, header
        assert outline(page).headings[0] == heading, header
    async with session.get(url + "?lang=es", headers={"Accept-Language": "en"}) as response:
        assert outline(await response.text()).lang == "es"


async def test_unknown_code(base_url: str, browser: Browser, done: Done) -> None:
    session = browser()
    async with session.get(f"{base_url}/verify/{UNKNOWN}", headers={"Accept-Language": "en"}) as r:
        assert r.status == 404
        page = await r.text()
    assert outline(page).headings[0] == "Receipt not found"
    assert f"There is no receipt with the code {UNKNOWN}" in page
    async with session.get(f"{base_url}/verify/{UNKNOWN}/receipt.pdf") as r:
        assert r.status == 404
        assert r.headers["Content-Type"].startswith("text/html")


async def test_malformed_code(base_url: str, browser: Browser) -> None:
    session = browser()
    codes = ("ABC", "7K3M-9PXQ-A2HD-T6WB-RC4", "7K3M-9PXQ-A2HD-T6WB-RC4U", "%3Cb%3Ex%3C%2Fb%3E")
    for code in codes:
        async with session.get(f"{base_url}/verify/{code}", headers={"Accept-Language": "en"}) as r:
            assert r.status == 400, code
            page = await r.text()
            assert outline(page).headings[0] == "This is not a valid verification code"
        async with session.get(f"{base_url}/verify/{code}/receipt.pdf") as r:
            assert r.status == 400, code


async def test_form_and_markup_is_escaped(base_url: str, browser: Browser, done: Done) -> None:
    session = browser()
    async with session.get(f"{base_url}/verify", headers={"Accept-Language": "en"}) as r:
        assert r.status == 200
        page = await r.text()
    assert outline(page).headings[0] == "Verify a receipt"
    assert '<form method="get" action="/verify">' in page
    assert '<label for="code">' in page and 'id="code"' in page

    typed = done.receipt.csv_code.lower()
    form = f"{base_url}/verify"
    async with session.get(form, params={"code": typed}, allow_redirects=False) as r:
        assert r.status == 303
        assert r.headers["Location"] == f"/verify/{done.receipt.csv_code}"
    async with session.get(f"{base_url}/verify", params={"code": typed}) as r:
        assert r.status == 200 and done.receipt.entry_number in await r.text()

    hostile = '"><script>alert(1)</script>&amp;'
    async with session.get(f"{base_url}/verify", params={"code": hostile}) as r:
        assert r.status == 400
        page = await r.text()
    assert "<script>" not in page
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;" in page
    assert 'aria-invalid="true"' in page
