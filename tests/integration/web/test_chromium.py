"""The document link and the verify page in a real browser: Debian's headless Chromium,
started by the test against the real server on 127.0.0.1. Chromium must be installed
(`.ci/run` installs the `chromium` package); without it these tests fail, they do not skip.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from PIL import Image

from bot.app import App
from tests.integration.web.conftest import Done, corner_photo, store_document

CHROMIUM = "/usr/bin/chromium"
RUN_TIMEOUT = 60  # seconds; a run takes about one


async def chromium(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium once; its standard output (for --dump-dom)."""
    binary = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    assert binary, (
        "Debian's chromium is not installed: apt-get install -y chromium (.ci/run does it)"
    )
    profile = tmp_path / "profile"
    process = await asyncio.create_subprocess_exec(
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"chromium did not finish within {RUN_TIMEOUT} s") from None
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode(errors="replace")


def _near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 60) -> bool:
    return sum(abs(a - b) for a, b in zip(pixel[:3], colour, strict=True)) <= tolerance


async def test_document_link_shows_the_photo(
    app: App, done: Done, base_url: str, tmp_path: Path
) -> None:
    from tests.unit.documents.imaging import BLUE, GREEN, RED, YELLOW

    document = await store_document(app, done.appointment, corner_photo(), "quadrants.jpg")
    token = app.links.token(document.id, "staff:anna", app.clock.now())
    shot = tmp_path / "shot.png"
    await chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=800,600", f"{base_url}/files/{token}"
    )
    assert shot.exists() and shot.stat().st_size > 1000
    image = Image.open(shot).convert("RGB")
    width, height = image.size
    small = image.resize((width // 4, height // 4), Image.Resampling.NEAREST)
    raw = small.tobytes()
    pixels = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
    share = {
        name: sum(_near(p, colour) for p in pixels) / len(pixels)
        for name, colour in (("red", RED), ("green", GREEN), ("blue", BLUE), ("yellow", YELLOW))
    }
    # The photo fills most of the window: four colour quarters, none missing.
    assert all(value > 0.10 for value in share.values()), share
    assert sum(share.values()) > 0.6, share

    # ...and it is the right way up: red top-left, green top-right, and so on.
    def centre(colour: tuple[int, int, int]) -> tuple[float, float]:
        points = [
            (i % small.width, i // small.width) for i, p in enumerate(pixels) if _near(p, colour)
        ]
        return (
            sum(x for x, _ in points) / len(points),
            sum(y for _, y in points) / len(points),
        )

    red, green, blue, yellow = (centre(c) for c in (RED, GREEN, BLUE, YELLOW))
    assert red[0] < green[0] and blue[0] < yellow[0]
    assert red[1] < blue[1] and green[1] < yellow[1]


async def test_verify_page_in_the_browser(done: Done, base_url: str, tmp_path: Path) -> None:
    dom = await chromium(
        tmp_path, "--accept-lang=es", "--dump-dom", f"{base_url}/verify/{done.receipt.csv_code}"
    )
    assert '<html lang="es">' in dom
    assert "Justificante auténtico" in dom
    assert done.receipt.entry_number in dom
    assert done.receipt.sha256 in dom
    assert "30/11/2026 08:50:00" in dom
    assert f'href="/verify/{done.receipt.csv_code}/receipt.pdf"' in dom
