"""The sandbox's caps: a file that costs too much CPU, memory or time is refused
(`too_complex`), its worker is replaced, and the next file is checked as usual.

The structural bounds of documents/intake.py (scans, pixels x bytes per pixel) are lifted
here so the files reach the decoder: these tests show the second line of defence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from documents.intake import IntakeLimits, IntakeRejected
from documents.sandbox import Sandbox, SandboxLimits
from tests.unit.documents.bad_files import good_jpeg, huge_rgba_png, scan_bomb

UNBOUNDED = IntakeLimits(max_scans=10**6, max_decoded_bytes=1 << 40)


@pytest.fixture
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    box = Sandbox(request.param)
    await box.start()
    yield box
    await box.close()


async def _refused(box: Sandbox, data: bytes) -> str:
    with pytest.raises(IntakeRejected) as refused:
        await box.intake(data, "photo.jpg", UNBOUNDED)
    return refused.value.reason


@pytest.mark.parametrize(
    "sandbox", [SandboxLimits(workers=1, cpu_seconds=1, wall_seconds=600)], indirect=True
)
async def test_a_file_over_its_cpu_budget_is_refused_and_its_worker_replaced(
    sandbox: Sandbox,
) -> None:
    before = sandbox.pids()
    # 5000 repeated scans of 1200x1200: about 4 s of CPU, over the 1 s budget.
    assert await _refused(sandbox, scan_bomb(repeats=5000)) == "too_complex"
    result = await sandbox.intake(good_jpeg(), "photo.jpg", UNBOUNDED)
    assert result.kind == "image"
    assert sandbox.pids() and set(sandbox.pids()).isdisjoint(before)


@pytest.mark.parametrize(
    "sandbox", [SandboxLimits(workers=1, cpu_seconds=60, wall_seconds=0.3)], indirect=True
)
async def test_a_file_over_its_time_budget_is_refused_and_its_worker_replaced(
    sandbox: Sandbox,
) -> None:
    before = sandbox.pids()
    assert await _refused(sandbox, scan_bomb(repeats=20_000)) == "too_complex"
    assert set(sandbox.pids()).isdisjoint(before)
    assert (await sandbox.intake(good_jpeg(), "photo.jpg", UNBOUNDED)).kind == "image"


@pytest.mark.parametrize(
    "sandbox", [SandboxLimits(workers=1, memory_mb=400, wall_seconds=600)], indirect=True
)
async def test_a_file_over_the_memory_cap_is_refused(sandbox: Sandbox) -> None:
    # 40 MP of RGBA flattened onto white: well over 400 MB of address space.
    assert await _refused(sandbox, huge_rgba_png()) == "too_complex"
    assert (await sandbox.intake(good_jpeg(), "photo.jpg", UNBOUNDED)).kind == "image"


@pytest.mark.parametrize("sandbox", [SandboxLimits(workers=1)], indirect=True)
async def test_the_default_bounds_refuse_the_bombs_before_decoding(sandbox: Sandbox) -> None:
    limits = IntakeLimits()
    with pytest.raises(IntakeRejected, match="too_complex"):
        await sandbox.intake(scan_bomb(repeats=20_000), "photo.jpg", limits)
    with pytest.raises(IntakeRejected, match="too_many_pixels"):
        await sandbox.intake(huge_rgba_png(), "scan.png", limits)


def _heic() -> bytes:
    import io

    import pillow_heif

    from tests.unit.documents.imaging import corner_image

    out = io.BytesIO()
    pillow_heif.from_pillow(corner_image(400, 300)).save(out, quality=90)
    return out.getvalue()


@pytest.mark.parametrize("sandbox", [SandboxLimits(workers=1)], indirect=True)
async def test_every_accepted_format_passes_under_the_default_caps(sandbox: Sandbox) -> None:
    from tests.unit.documents.bad_files import _pdf
    from tests.unit.documents.imaging import document_image, encode

    page = document_image(1600, 1200)
    files = {
        "photo.jpg": encode(page, "JPEG", quality=90),
        "scan.png": encode(page.convert("RGBA"), "PNG"),
        "photo.webp": encode(page, "WEBP"),
        "IMG_0001.HEIC": _heic(),
        "form.pdf": _pdf(2),
    }
    for name, data in files.items():
        result = await sandbox.intake(data, name, IntakeLimits())
        assert result.kind == ("pdf" if name.endswith(".pdf") else "image"), name


@pytest.mark.parametrize("sandbox", [SandboxLimits(workers=1)], indirect=True)
async def test_an_identity_photos_zone_is_read_in_a_worker(sandbox: Sandbox) -> None:
    from documents.mrz_reader import PhotoStatus
    from tests.identity_cards import card_back, phone_photo

    found = await sandbox.read_identity(phone_photo(card_back()))
    assert found.status is PhotoStatus.READ
    assert found.reading is not None and found.reading.valid
    assert found.reading.id_number is not None
    assert found.reading.id_number.number == "12345678Z"


@pytest.mark.parametrize(
    "sandbox", [SandboxLimits(workers=1, cpu_seconds=60, wall_seconds=0.05)], indirect=True
)
async def test_a_reading_over_its_time_budget_is_unavailable_and_its_worker_replaced(
    sandbox: Sandbox,
) -> None:
    from documents.mrz_reader import PhotoStatus
    from tests.identity_cards import card_back, phone_photo

    before = sandbox.pids()
    # Decoding, finding the zone and Tesseract take far longer than 50 ms of wall clock.
    found = await sandbox.read_identity(phone_photo(card_back()))
    assert found.status is PhotoStatus.UNAVAILABLE and found.reading is None
    sandbox.limits = SandboxLimits(workers=1)  # the next photo gets the default budget
    assert (await sandbox.read_identity(phone_photo(card_back()))).status is PhotoStatus.READ
    assert sandbox.pids() and set(sandbox.pids()).isdisjoint(before)
