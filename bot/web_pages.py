"""Small, accessible HTML pages for the public web endpoints (`/verify`, `/files` errors).

Every page: `lang` attribute, one `<h1>`, text that never relies on colour alone, all
values HTML-escaped, texts from the `[web]` table of the message catalogs (ca/es/en), and
strict security headers (no scripts, no framing, no referrer, not cached).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from html import escape
from typing import Any

from aiohttp import web

from handlers.i18n import LANGUAGE_NAMES, LANGUAGES, translate

# Constant, so the Content-Security-Policy can allow exactly this style block by its hash.
STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
    "line-height:1.5;margin:0;color:#1a1a1a;background:#fff}"
    "header,main,footer{max-width:44rem;margin:0 auto;padding:1rem}"
    "header{border-bottom:1px solid #767676}"
    "h1{font-size:1.6rem}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem}"
    "dt{font-weight:bold}dd{margin:0;overflow-wrap:anywhere}"
    "code{font-size:1rem}"
    "input{font-size:1.1rem;padding:.4rem;width:100%;max-width:24rem;box-sizing:border-box}"
    "button{font-size:1.1rem;padding:.4rem 1rem;margin-top:.5rem}"
    "a{color:#0645ad}"
    ":focus{outline:3px solid #1a1a1a;outline-offset:2px}"
    "nav ul{list-style:none;padding:0;margin:0;display:flex;gap:1rem}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

PAGE_CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{_STYLE_HASH}'; "
    "img-src 'none'; "
    "form-action 'self'; "
    "frame-ancestors 'none'; "
    "base-uri 'none'"
)

SECURITY_HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def negotiate_language(request: web.Request, default: str = "ca") -> str:
    """`?lang=` if it names a supported language, else the best of `Accept-Language`
    (q-values honoured, `ca-ES` counts as `ca`), else `default`."""
    chosen = request.query.get("lang", "").strip().lower()
    if chosen in LANGUAGES:
        return chosen
    best: tuple[float, int, str] | None = None
    header = request.headers.get("Accept-Language", "")
    for position, part in enumerate(header.split(",")[:20]):
        pieces = [p.strip() for p in part.split(";")]
        tag = pieces[0].lower().replace("_", "-").split("-")[0]
        if tag not in LANGUAGES:
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        # Highest quality first; on a tie the one listed first.
        candidate = (-quality, position, tag)
        if best is None or candidate < best:
            best = candidate
    if best is not None:
        return best[2]
    return default if default in LANGUAGES else "ca"


def text(language: str, key: str, **values: Any) -> str:
    """A `[web]` message as plain text."""
    return translate(language, f"web.{key}", **values)


def t(language: str, key: str, **values: Any) -> str:
    """A `[web]` message as HTML: the message and every value are escaped."""
    template = escape(translate(language, f"web.{key}"))
    return template.format(**{name: escape(str(value)) for name, value in values.items()})


def _language_links(language: str, path: str) -> str:
    items = []
    for code in LANGUAGES:
        name = escape(LANGUAGE_NAMES[code])
        if code == language:
            items.append(f'<li><span aria-current="true" lang="{code}">{name}</span></li>')
        else:
            href = escape(f"{path}?lang={code}")
            items.append(f'<li><a href="{href}" lang="{code}" hreflang="{code}">{name}</a></li>')
    return f'<nav aria-label="{t(language, "languages")}"><ul>{"".join(items)}</ul></nav>'


def render_page(
    language: str,
    *,
    title: str,
    body: str,
    council: str = "",
    switch_path: str = "",
) -> str:
    """A whole HTML document. `title` is plain text (escaped here); `body` is HTML built
    by the caller from escaped parts."""
    header = f"<p>{escape(council)}</p>" if council else ""
    if switch_path:
        header += _language_links(language, switch_path)
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(language)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<header>{header}</header>\n"
        f'<main id="main">\n<h1>{escape(title)}</h1>\n{body}\n</main>\n'
        "</body>\n</html>\n"
    )


def html_response(
    page: str, language: str, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    response = web.Response(text=page, status=status, content_type="text/html", charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language"
    if headers:
        response.headers.update(headers)
    return response


def message_page(
    request: web.Request,
    *,
    status: int,
    title_key: str,
    text_key: str,
    default_language: str = "ca",
    council: str = "",
) -> web.Response:
    """A short page with a heading and one paragraph (errors of `/files`, etc.)."""
    language = negotiate_language(request, default_language)
    body = f"<p>{t(language, text_key)}</p>"
    page = render_page(
        language,
        title=text(language, title_key),
        body=body,
        council=council,
    )
    return html_response(page, language, status=status)
