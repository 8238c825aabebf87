"""Photo quality hints: is this photo of a document likely to be readable?

The check never rejects: it returns warning codes that the conversation layer turns into a
specific hint for the citizen ("too dark — move near a window and try again") and that staff
may override. Everything is measured with Pillow alone (no numpy) on a small greyscale copy,
so it costs a few milliseconds whatever the photo's size.

Codes, in the order they are reported:

``too_small``    fewer pixels than a readable document needs (short or long side too short)
``too_dark``     mean brightness too low
``overexposed``  large areas blown out to white and nothing dark left (text washed out)
``blurred``      little fine detail: the variance of the Laplacian, divided by the image's
                 own variance (so that dim or low-contrast photos are not called blurred
                 for that reason alone), is below a threshold
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageFilter, ImageStat

__all__ = [
    "QUALITY_CODES",
    "QualityMetrics",
    "QualityThresholds",
    "assess",
    "measure",
]

QUALITY_CODES: tuple[str, ...] = ("too_small", "too_dark", "overexposed", "blurred")

# The Laplacian is measured on a copy whose long side is this many pixels, so the blur
# threshold does not depend on the camera's resolution.
ANALYSIS_LONG_SIDE = 1024

_LAPLACIAN = ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), scale=1, offset=128)


@dataclass(frozen=True)
class QualityThresholds:
    """Where each hint starts. Defaults were calibrated on synthetic document photos."""

    min_short_side: int = 480
    min_long_side: int = 640
    dark_mean: float = 55.0
    overexposed_clipped_fraction: float = 0.25
    overexposed_darkest_percentile: int = 110
    blur_sharpness: float = 0.04


@dataclass(frozen=True)
class QualityMetrics:
    """Measurements of a photo (brightness in 0..255)."""

    width: int
    height: int
    mean: float
    clipped_fraction: float
    darkest_percentile: int
    laplacian_variance: float
    contrast_variance: float
    sharpness: float  # laplacian_variance / contrast_variance


def _analysis_copy(image: Image.Image) -> Image.Image:
    grey = image if image.mode == "L" else image.convert("L")
    long_side = max(grey.size)
    if long_side > ANALYSIS_LONG_SIDE:
        scale = ANALYSIS_LONG_SIDE / long_side
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return grey


def _percentile(histogram: list[int], fraction: float) -> int:
    total = sum(histogram)
    if total == 0:
        return 0
    wanted = total * fraction
    running = 0
    for value, count in enumerate(histogram):
        running += count
        if running >= wanted:
            return value
    return 255


def measure(image: Image.Image, *, size: tuple[int, int] | None = None) -> QualityMetrics:
    """Measure ``image``. ``size`` is the photo's real size if ``image`` was downscaled."""
    grey = _analysis_copy(image)
    histogram = grey.histogram()[:256]
    pixels = max(1, sum(histogram))
    stat = ImageStat.Stat(grey)
    mean = float(stat.mean[0])
    contrast = float(stat.var[0])
    clipped = sum(histogram[250:]) / pixels
    darkest = _percentile(histogram, 0.01)
    if grey.width >= 3 and grey.height >= 3:
        laplacian = grey.filter(_LAPLACIAN)
        # Borders of the filtered image copy the source; crop them off.
        laplacian = laplacian.crop((1, 1, grey.width - 1, grey.height - 1))
        variance = float(ImageStat.Stat(laplacian).var[0])
    else:
        variance = 0.0
    width, height = size if size is not None else image.size
    return QualityMetrics(
        width=width,
        height=height,
        mean=mean,
        clipped_fraction=clipped,
        darkest_percentile=darkest,
        laplacian_variance=variance,
        contrast_variance=contrast,
        sharpness=variance / contrast if contrast >= 1.0 else 0.0,
    )


def assess(
    image: Image.Image,
    *,
    size: tuple[int, int] | None = None,
    thresholds: QualityThresholds | None = None,
) -> tuple[str, ...]:
    """Return the quality warning codes for ``image`` (empty when it looks fine)."""
    t = thresholds or QualityThresholds()
    m = measure(image, size=size)
    warnings: list[str] = []
    if min(m.width, m.height) < t.min_short_side or max(m.width, m.height) < t.min_long_side:
        warnings.append("too_small")
    if m.mean < t.dark_mean:
        warnings.append("too_dark")
    elif (
        m.clipped_fraction > t.overexposed_clipped_fraction
        and m.darkest_percentile > t.overexposed_darkest_percentile
    ):
        warnings.append("overexposed")
    if m.sharpness < t.blur_sharpness:
        warnings.append("blurred")
    return tuple(warnings)
