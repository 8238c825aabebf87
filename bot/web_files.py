"""`GET /files/{token}`: a staff member opens a citizen's document in the browser.

The token (bot/links.py) is signed, short-lived and names the document and the viewer.
On top of that, the **first browser that opens a link keeps it**: the answer sets an
HttpOnly, SameSite=Strict cookie scoped to that link's path, carrying an HMAC of the token
and a random nonce; the server remembers which cookie the link was bound to. A later
request for the same link without that cookie (another browser, a forwarded link, a
proxy's log) gets 403.

The "opened by" memory is in-process (a bounded map, entries dropped when the link
expires). A restart or a second instance does not know that a link was opened: there, a
request without the cookie binds the link anew, while the cookie's HMAC still proves a
browser got it from us. docs/documents.md states this limit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from collections import OrderedDict
from datetime import datetime
from urllib.parse import quote

from aiohttp import web

from bot.app import App
from bot.links import LinkExpired, LinkForged, LinkGrant
from bot.web_pages import SECURITY_HEADERS, message_page
from domain.model import StoredDocument
from storage.blobs import BlobError, BlobNotFound

log = logging.getLogger("videotramit.web.files")

COOKIE = "vt_file"
MAX_BINDINGS = 10_000
# A document is shown, never run: no scripts, no plugins, no framing, nothing fetched, and
# a sandboxed origin should a browser render it anyway.
FILE_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"
)
# Photos (re-encoded by intake, no script can live in them) open in the browser; a PDF
# is kept byte for byte as the citizen sent it, so it is downloaded, never rendered
# inside our origin.
_INLINE_TYPES = {"image/jpeg", "image/png", "image/webp"}
_SERVED_TYPES = {"image/jpeg", "image/png", "image/webp", "application/pdf"}
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ ()-]")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class LinkBindings:
    """Which browser (cookie) each opened link belongs to. Bounded; in-process."""

    def __init__(self, key: bytes, capacity: int = MAX_BINDINGS) -> None:
        self._key = key
        self._capacity = capacity
        self._bound: OrderedDict[str, tuple[str, datetime]] = OrderedDict()

    def _mac(self, token: str, nonce: str) -> str:
        message = f"{token}\n{nonce}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    @staticmethod
    def _slot(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def _forget_expired(self, now: datetime) -> None:
        for slot in [s for s, (_, expires) in self._bound.items() if expires <= now]:
            del self._bound[slot]

    def admit(self, token: str, grant: LinkGrant, cookie: str | None, now: datetime) -> str | None:
        """Decide whether this browser may open the link.

        Returns the cookie value to set when the link is bound now (first open), ``""``
        when the browser is the one the link is bound to, or ``None`` to refuse. Runs
        without awaiting, so two concurrent first opens cannot both win.
        """
        slot = self._slot(token)
        bound = self._bound.get(slot)
        if cookie:
            nonce, _, mac = cookie.partition(".")
            genuine = bool(nonce) and hmac.compare_digest(mac, self._mac(token, nonce))
            if not genuine:
                return None
            if bound is None:
                # Bound by an earlier process or another instance: the HMAC shows this
                # browser got the cookie from us for this very link.
                self._remember(slot, cookie, grant.expires, now)
                return ""
            return "" if hmac.compare_digest(bound[0], cookie) else None
        if bound is not None:
            return None  # opened already, by a browser holding the cookie
        nonce = _b64(secrets.token_bytes(16))
        value = f"{nonce}.{self._mac(token, nonce)}"
        self._remember(slot, value, grant.expires, now)
        return value

    def _remember(self, slot: str, cookie: str, expires: datetime, now: datetime) -> None:
        if len(self._bound) >= self._capacity:
            self._forget_expired(now)
        while len(self._bound) >= self._capacity:
            self._bound.popitem(last=False)  # the oldest binding goes first
        self._bound[slot] = (cookie, expires)

    def __len__(self) -> int:
        return len(self._bound)


def safe_filename(name: str, fallback: str = "document") -> str:
    """An ASCII name for `Content-Disposition` (the UTF-8 one goes in `filename*`)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    ascii_name = _UNSAFE_NAME.sub("_", base).strip(" .")[:120]
    return ascii_name or fallback


def content_disposition(name: str, *, inline: bool = False) -> str:
    cleaned = "".join(ch for ch in name if ch.isprintable() and ch not in '"\\/')[:120].strip()
    ascii_name = safe_filename(cleaned)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(cleaned or ascii_name)}"


def _is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _secure_cookie(app: App, request: web.Request) -> bool:
    """Secure when the browser talks https: directly, through a proxy that says so, or
    when the public address is https (except a direct call on a loopback address)."""
    if request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https":
        return True
    public_https = app.settings.web.public_base_url.lower().startswith("https://")
    return public_https and not _is_loopback(request.url.host or "")


class FileLinks:
    def __init__(self, app: App) -> None:
        self.app = app
        _, master = app.storage.keyring.current()
        key = hmac.new(master, b"videotramit/file-links/browser/v1", hashlib.sha256).digest()
        self.bindings = LinkBindings(key)

    def _page(self, request: web.Request, status: int, name: str) -> web.Response:
        return message_page(
            request,
            status=status,
            title_key=f"files_{name}_title",
            text_key=f"files_{name}_text",
            default_language=self.app.settings.default_language,
            council=self.app.settings.council.name,
        )

    async def _allowed(self, grant: LinkGrant, document: StoredDocument) -> bool:
        """The viewer named in the link may still see the document: the citizen who sent
        it, the staff member assigned to its appointment, or an administrator."""
        kind, _, who = grant.viewer.partition(":")
        if kind == "citizen":
            return who.isdigit() and int(who) == document.user_id
        if kind != "staff":
            return False
        member = self.app.office.staff_member(who)
        if member is None:
            return False
        if "admin" in member.roles:
            return True
        if document.appointment_id is None:
            return False
        async with self.app.uow() as uow:
            appointment = await uow.appointments.get(document.appointment_id)
        return appointment is not None and appointment.staff_id == member.id

    async def handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        now = self.app.clock.now()
        try:
            grant = self.app.links.check(token, now)
        except LinkForged:
            log.warning("file link: forged or damaged token")
            return self._page(request, 403, "forbidden")
        except LinkExpired:
            return self._page(request, 410, "expired")
        async with self.app.uow() as uow:
            document = await uow.documents.get(grant.document_id)
        if document is None:
            return self._page(request, 404, "gone")
        if not await self._allowed(grant, document):
            log.warning("file link: viewer no longer allowed", extra={"viewer": grant.viewer})
            return self._page(request, 403, "forbidden")
        new_cookie = self.bindings.admit(token, grant, request.cookies.get(COOKIE), now)
        if new_cookie is None:
            log.warning("file link: opened from a second browser", extra={"viewer": grant.viewer})
            return self._page(request, 403, "forbidden")
        try:
            data = await self.app.services.documents.read(document.sha256)
        except BlobNotFound:
            return self._page(request, 404, "gone")
        except BlobError:
            log.exception("file link: stored document cannot be read")
            return self._page(request, 500, "error")
        content_type = (
            document.content_type
            if document.content_type in _SERVED_TYPES
            else ("application/octet-stream")
        )
        response = web.Response(body=data, content_type=content_type)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Content-Security-Policy"] = FILE_CSP
        response.headers["Content-Disposition"] = content_disposition(
            document.filename, inline=content_type in _INLINE_TYPES
        )
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if new_cookie:
            response.set_cookie(
                COOKIE,
                new_cookie,
                path=f"/files/{token}",
                max_age=max(1, int((grant.expires - now).total_seconds())),
                httponly=True,
                secure=_secure_cookie(self.app, request),
                samesite="Strict",
            )
        return response


def add_file_routes(server: web.Application, app: App) -> None:
    server.router.add_get("/files/{token}", FileLinks(app).handle)
