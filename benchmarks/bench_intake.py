"""12-megapixel phone photo: intake vs Pillow's bare decode + encode of the same JPEG.

    python -m benchmarks.bench_intake

Prints ``BENCH intake_12mp <ms> ms ratio=<intake/bare>`` (target: ratio <= 1.5), and
``BENCH intake_12mp_sandbox <ms> ms ratio=<sandboxed intake/bare>`` (issue 10, target
<= 1.2): the same intake run the way the service runs it, in a capped worker process of
:class:`documents.sandbox.Sandbox` (the bytes go there and the result comes back). All
are measured in the same run, alternating, and the medians compared.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import time

from PIL import Image, ImageDraw

from documents.intake import IntakeLimits, intake
from documents.sandbox import Sandbox

WIDTH, HEIGHT = 4000, 3000
ROUNDS = 7


def photo_jpeg() -> bytes:
    """A camera-like 12 MP JPEG: gradients, noise and dark text-like strokes, with EXIF."""
    gradient = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    noise = Image.effect_noise((WIDTH, HEIGHT), 40)
    image = Image.merge(
        "RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    draw = ImageDraw.Draw(image)
    for y in range(120, HEIGHT - 120, 60):
        for x in range(150, WIDTH - 400, 420):
            draw.rectangle((x, y, x + 300 + (x * 7 + y) % 90, y + 22), fill=(25, 25, 30))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "BenchCam"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def bare(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data))
    image.load()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


async def _measure(data: bytes, limits: IntakeLimits) -> tuple[list[float], ...]:
    sandbox = Sandbox()
    await sandbox.start()
    try:
        bare(data)  # warm up every path
        intake(data, "IMG_0001.jpg", limits=limits)
        await sandbox.intake(data, "IMG_0001.jpg", limits)
        bare_ms: list[float] = []
        intake_ms: list[float] = []
        sandbox_ms: list[float] = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            bare(data)
            bare_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            intake(data, "IMG_0001.jpg", limits=limits)
            intake_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            await sandbox.intake(data, "IMG_0001.jpg", limits)
            sandbox_ms.append((time.perf_counter() - start) * 1000)
        return bare_ms, intake_ms, sandbox_ms
    finally:
        await sandbox.close()


def main() -> None:
    data = photo_jpeg()
    limits = IntakeLimits()
    result = intake(data, "IMG_0001.jpg", limits=limits)
    bare_ms, intake_ms, sandbox_ms = asyncio.run(_measure(data, limits))
    ours, theirs = statistics.median(intake_ms), statistics.median(bare_ms)
    boxed = statistics.median(sandbox_ms)
    print(
        f"# input {len(data) / 1e6:.1f} MB {WIDTH}x{HEIGHT}; output {result.width}x"
        f"{result.height} {len(result.data) / 1e6:.2f} MB; bare decode+encode "
        f"{theirs:.1f} ms (median of {ROUNDS})"
    )
    print(f"BENCH intake_12mp {ours:.1f} ms ratio={ours / theirs:.2f}")
    print(f"BENCH intake_12mp_sandbox {boxed:.1f} ms ratio={boxed / theirs:.2f}")


if __name__ == "__main__":
    main()
