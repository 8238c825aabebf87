"""`GET /files/{token}`: the staff member's short-lived, browser-bound link to a document."""

from __future__ import annotations

import base64
import struct
from datetime import timedelta

from bot.app import App
from bot.links import LinkSigner
from tests.integration.web.conftest import Browser, Done
from tests.support import Clock


def _path(app: App, document_id: int, viewer: str = "staff:anna") -> str:
    return f"/files/{app.links.token(document_id, viewer, app.clock.now())}"


async def test_staff_link_shows_the_stored_document(
    app: App, done: Done, base_url: str, browser: Browser
) -> None:
    path = _path(app, done.document.id)
    stored = await app.services.documents.read(done.document.sha256)
    async with browser().get(base_url + path) as response:
        assert response.status == 200
        body = await response.read()
        headers = response.headers
        cookie = response.cookies["vt_file"]
    assert body == stored
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Content-Disposition"].startswith('inline; filename="dni.jpg"')
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    # The browser that opened it keeps it: a cookie for this link only.
    assert cookie["path"] == path
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert not cookie["secure"]  # plain http on a loopback address (the test)
    assert 0 < int(cookie["max-age"]) <= app.settings.storage.link_minutes * 60


async def test_cookie_is_secure_behind_an_https_proxy(
    app: App, done: Done, base_url: str, browser: Browser
) -> None:
    path = _path(app, done.document.id)
    async with browser().get(base_url + path, headers={"X-Forwarded-Proto": "https"}) as response:
        assert response.status == 200
        assert response.cookies["vt_file"]["secure"] is True


async def test_link_reused_by_another_browser_is_refused(
    app: App, done: Done, base_url: str, browser: Browser
) -> None:
    path = _path(app, done.document.id)
    clerk, stranger = browser(), browser()
    async with clerk.get(base_url + path) as first:
        assert first.status == 200
        value = first.cookies["vt_file"].value
    async with stranger.get(base_url + path, headers={"Accept-Language": "en"}) as reused:
        assert reused.status == 403
        page = await reused.text()
    assert "Access denied" in page and "another browser" in page
    assert "Traceback" not in page
    async with clerk.get(base_url + path) as again:
        assert again.status == 200
        assert await again.read() == await app.services.documents.read(done.document.sha256)
    # A cookie is only good for the link it was set for, and cannot be made up.
    other_path = _path(app, done.document.id, "staff:laia")
    async with stranger.get(base_url + other_path, headers={"Cookie": f"vt_file={value}"}) as r:
        assert r.status == 403
    forged = value.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    async with stranger.get(base_url + path, headers={"Cookie": f"vt_file={forged}"}) as r:
        assert r.status == 403


async def test_binding_survives_a_restart_for_the_browser_holding_the_cookie(
    app: App, done: Done, base_url: str, browser: Browser
) -> None:
    """The "opened by" memory is in-process; after a restart the browser's cookie still
    proves (by its HMAC) that it is the one that opened the link."""
    from tests.integration.web.conftest import serve

    path = _path(app, done.document.id)
    clerk = browser()
    async with clerk.get(base_url + path) as first:
        assert first.status == 200
    runner, restarted = await serve(app)  # a second server: nothing remembered
    try:
        async with clerk.get(restarted + path) as again:
            assert again.status == 200
        async with browser().get(restarted + path) as other:
            assert other.status == 403  # bound again, to the clerk's browser
    finally:
        await runner.cleanup()


async def test_forged_links_are_refused(
    app: App, done: Done, base_url: str, browser: Browser
) -> None:
    token = app.links.token(done.document.id, "staff:anna", app.clock.now())
    body, mac = token.split(".")
    tampered_mac = mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    _, expires = struct.unpack(">IQ", raw[:12])
    other_document = (
        base64.urlsafe_b64encode(struct.pack(">IQ", done.document.id + 1, expires) + raw[12:])
        .rstrip(b"=")
        .decode()
    )
    later = (
        base64.urlsafe_b64encode(struct.pack(">IQ", done.document.id, expires + 86400) + raw[12:])
        .rstrip(b"=")
        .decode()
    )
    viewer = base64.urlsafe_b64encode(raw[:12] + b"staff:laia").rstrip(b"=").decode()
    strange_key = LinkSigner(b"k" * 32, "https://oac.test", timedelta(minutes=10))
    candidates = [
        f"{body}.{tampered_mac}",
        f"{other_document}.{mac}",  # another document, same signature
        f"{later}.{mac}",  # a longer life, same signature
        f"{viewer}.{mac}",  # another viewer, same signature
        strange_key.token(done.document.id, "staff:anna", app.clock.now()),
        "not-a-token",
        body,
    ]
    session = browser()
    for candidate in candidates:
        async with session.get(f"{base_url}/files/{candidate}") as response:
            assert response.status == 403, candidate
            assert "vt_file" not in response.cookies
            page = await response.text()
            assert '<html lang="ca">' in page  # no Accept-Language: Catalan
            assert "Accés denegat" in page


async def test_expired_link_is_gone(
    app: App, clock: Clock, done: Done, base_url: str, browser: Browser
) -> None:
    path = _path(app, done.document.id)
    clerk = browser()
    async with clerk.get(base_url + path) as first:
        assert first.status == 200
    clock.advance(minutes=app.settings.storage.link_minutes, seconds=1)
    async with clerk.get(base_url + path, headers={"Accept-Language": "es-ES,es;q=0.9"}) as r:
        assert r.status == 410
        page = await r.text()
        assert r.headers["Cache-Control"] == "no-store"
    assert '<html lang="es">' in page and "Enlace caducado" in page
    async with browser().get(base_url + path) as r:  # expired for everybody
        assert r.status == 410


async def test_only_the_assigned_clerk_an_admin_or_the_sender(
    app: App, done: Done, base_url: str, browser: Browser
) -> None:
    document = done.document
    allowed = ["staff:anna", "staff:laia", f"citizen:{document.user_id}"]
    refused = ["staff:marc", "staff:nobody", f"citizen:{document.user_id + 1}", "anyone"]
    for viewer in allowed:
        async with browser().get(base_url + _path(app, document.id, viewer)) as response:
            assert response.status == 200, viewer
    for viewer in refused:
        async with browser().get(base_url + _path(app, document.id, viewer)) as response:
            assert response.status == 403, viewer


async def test_missing_document_is_404(
    app: App, done: Done, base_url: str, browser: Browser
) -> None:
    async with browser().get(base_url + _path(app, done.document.id + 100)) as response:
        assert response.status == 404
        assert "Document no disponible" in await response.text()
    await app.storage.blobs.delete(done.document.sha256)
    async with browser().get(base_url + _path(app, done.document.id)) as response:
        assert response.status == 404


async def test_a_pdf_is_downloaded_never_shown_inside_our_site(
    app: App, done: Done, base_url: str, browser: Browser
) -> None:
    from tests.integration.web.conftest import store_document
    from tests.unit.documents.bad_files import _pdf

    document = await store_document(app, done.appointment, _pdf(1), "form.pdf")
    async with browser().get(base_url + _path(app, document.id)) as response:
        assert response.status == 200
        headers = response.headers
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith('attachment; filename="form.pdf"')
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"].endswith("; sandbox")
