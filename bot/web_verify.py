"""`/verify/{code}`: anyone holding a receipt checks that it is authentic (CSV code,
art. 27.3.c Ley 39/2015), sees its entry number, date and time and the SHA-256 of the
PDF, and can download the original. `GET /verify` is a form for a typed code.

| request | answer |
|---|---|
| `GET /verify` | 200 form |
| `GET /verify?code=...` | 303 to `/verify/{canonical code}`; 400 if it cannot be a code |
| `GET /verify/{code}` | 200 authentic; 404 no receipt with that code; 400 malformed |
| `GET /verify/{code}/receipt.pdf` | 200 the stored PDF; 404 unknown; 400 malformed |
"""

from __future__ import annotations

import logging
from html import escape
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.app import App
from bot.web_pages import (
    SECURITY_HEADERS,
    html_response,
    negotiate_language,
    render_page,
    t,
    text,
)
from domain.model import IssuedReceipt
from domain.receipts import normalize_csv_code
from handlers.i18n import official_time
from storage.blobs import BlobError, BlobNotFound

log = logging.getLogger("videotramit.web.verify")

EXAMPLE_CODE = "7K3M-9PXQ-A2HD-T6WB-RC4N"


class Verifier:
    def __init__(self, app: App) -> None:
        self.app = app

    def _language(self, request: web.Request) -> str:
        return negotiate_language(request, self.app.settings.default_language)

    def _form(self, language: str, value: str = "", invalid: bool = False) -> str:
        described = "code-hint code-error" if invalid else "code-hint"
        error = (
            f'<p id="code-error"><strong>'
            f"{t(language, 'malformed_text', example=EXAMPLE_CODE)}</strong></p>\n"
            if invalid
            else ""
        )
        invalid_attr = ' aria-invalid="true"' if invalid else ""
        return (
            f'<form method="get" action="/verify">\n'
            f'<input type="hidden" name="lang" value="{escape(language)}">\n'
            f'<p><label for="code">{t(language, "code_label")}</label></p>\n'
            f'<p id="code-hint">{t(language, "code_hint", example=EXAMPLE_CODE)}</p>\n'
            f"{error}"
            f'<p><input id="code" name="code" type="text" value="{escape(value)}" '
            f'autocomplete="off" autocapitalize="characters" spellcheck="false" '
            f'maxlength="64" required aria-describedby="{described}"{invalid_attr}></p>\n'
            f'<p><button type="submit">{t(language, "verify_button")}</button></p>\n'
            "</form>"
        )

    def _page(
        self, request: web.Request, language: str, title_key: str, body: str, status: int
    ) -> web.Response:
        page = render_page(
            language,
            title=text(language, title_key),
            body=body,
            council=self.app.settings.council.name,
            switch_path=request.path,
        )
        return html_response(page, language, status=status)

    async def form(self, request: web.Request) -> web.StreamResponse:
        language = self._language(request)
        if "code" not in request.query:
            body = f"<p>{t(language, 'verify_intro')}</p>\n{self._form(language)}"
            return self._page(request, language, "verify_title", body, 200)
        typed = request.query["code"][:200]
        code = normalize_csv_code(typed)
        if code is None:
            return self._malformed(request, language, typed)
        query = urlencode({"lang": request.query["lang"]}) if "lang" in request.query else ""
        location = f"/verify/{quote(code)}" + (f"?{query}" if query else "")
        raise web.HTTPSeeOther(location, headers=dict(SECURITY_HEADERS))

    def _malformed(self, request: web.Request, language: str, typed: str) -> web.Response:
        body = self._form(language, typed, invalid=True)
        return self._page(request, language, "malformed_title", body, 400)

    async def _find(self, code: str) -> IssuedReceipt | None:
        async with self.app.uow() as uow:
            return await uow.receipts.by_code(code)

    async def page(self, request: web.Request) -> web.StreamResponse:
        language = self._language(request)
        typed = request.match_info["code"][:200]
        code = normalize_csv_code(typed)
        if code is None:
            return self._malformed(request, language, typed)
        receipt = await self._find(code)
        if receipt is None:
            body = (
                f"<p><strong>{t(language, 'unknown_text', code=code)}</strong></p>\n"
                f"<p>{t(language, 'unknown_hint')}</p>\n"
                f"<h2>{t(language, 'another')}</h2>\n{self._form(language, code)}"
            )
            return self._page(request, language, "unknown_title", body, 404)
        return self._page(
            request, language, "authentic_title", self._authentic(language, receipt), 200
        )

    def _authentic(self, language: str, receipt: IssuedReceipt) -> str:
        settings = self.app.settings
        local = receipt.registered_at.astimezone(settings.tz)
        when = f"{local:%d/%m/%Y %H:%M:%S}"
        official = escape(official_time(language, settings.timezone))
        download = f"/verify/{quote(receipt.csv_code)}/receipt.pdf"
        council = self.app.office.council.said(language)
        return (
            f"<p><strong>{t(language, 'authentic_text', council=council)}</strong></p>\n"
            "<dl>\n"
            f"<dt>{t(language, 'csv_code')}</dt><dd><code>{escape(receipt.csv_code)}</code></dd>\n"
            f"<dt>{t(language, 'entry_number')}</dt><dd>{escape(receipt.entry_number)}</dd>\n"
            f"<dt>{t(language, 'registered_at')}</dt>"
            f'<dd><time datetime="{escape(local.isoformat())}">{escape(when)}</time> '
            f"({official})</dd>\n"
            f'<dt>{t(language, "sha256")}</dt><dd><code id="sha256">{escape(receipt.sha256)}'
            "</code></dd>\n"
            "</dl>\n"
            f'<p><a href="{escape(download)}" type="application/pdf" download>'
            f"{t(language, 'download')}</a></p>\n"
            f"<h2>{t(language, 'hash_title')}</h2>\n"
            f"<p>{t(language, 'hash_help')}</p>\n"
            f"<p><code>sha256sum {escape(_pdf_name(receipt))}</code></p>\n"
            f'<p><a href="/verify?lang={escape(language)}">{t(language, "another")}</a></p>'
        )

    async def pdf(self, request: web.Request) -> web.StreamResponse:
        language = self._language(request)
        code = normalize_csv_code(request.match_info["code"][:200])
        if code is None:
            body = f"<p>{t(language, 'malformed_text', example=EXAMPLE_CODE)}</p>"
            return self._page(request, language, "malformed_title", body, 400)
        receipt = await self._find(code)
        if receipt is None:
            body = f"<p>{t(language, 'unknown_text', code=code)}</p>"
            return self._page(request, language, "unknown_title", body, 404)
        try:
            data = await self.app.services.documents.read(receipt.sha256)
        except BlobNotFound:
            body = f"<p>{t(language, 'receipt_gone_text')}</p>"
            return self._page(request, language, "receipt_gone_title", body, 404)
        except BlobError:
            log.exception("verify: the stored receipt cannot be read")
            body = f"<p>{t(language, 'error_text')}</p>"
            return self._page(request, language, "error_title", body, 500)
        response = web.Response(body=data, content_type="application/pdf")
        response.headers.update(SECURITY_HEADERS)
        response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
        response.headers["Content-Disposition"] = f'attachment; filename="{_pdf_name(receipt)}"'
        return response


def _pdf_name(receipt: IssuedReceipt) -> str:
    """`VT-2026-000001.pdf`, as the citizen received it in the chat."""
    safe = "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in receipt.entry_number)
    return f"{safe}.pdf"


def add_verify_routes(server: web.Application, app: App) -> None:
    verifier = Verifier(app)
    server.router.add_get("/verify", verifier.form)
    server.router.add_get("/verify/{code}", verifier.page)
    server.router.add_get("/verify/{code}/receipt.pdf", verifier.pdf)
