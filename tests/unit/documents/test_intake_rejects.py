"""Bad input: intake refuses each file with its exact reason code.

This is the pure part. That the bot then tells the citizen why and stores nothing is proven
end to end, through the engine and the real blob store, in tests/e2e/test_document_rejects.py.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from documents.intake import REJECTION_CODES, IntakeLimits, IntakeRejected, intake
from tests.unit.documents.bad_files import (
    BAD_FILE_IDS,
    BAD_FILES,
    BadFile,
    good_jpeg,
    jpeg_zip_polyglot,
    png_bomb,
    zip_in_a_jpeg_comment,
)


@pytest.mark.parametrize("bad", BAD_FILES, ids=BAD_FILE_IDS)
def test_refused_with_its_reason(bad: BadFile) -> None:
    with pytest.raises(IntakeRejected) as caught:
        intake(bad.make(), bad.name, limits=IntakeLimits())
    assert caught.value.reason == bad.reason


def test_every_reason_code_has_a_bad_file() -> None:
    # A new reason code without a case here would reach citizens untested.
    assert {bad.reason for bad in BAD_FILES} == set(REJECTION_CODES)


def test_the_polyglots_really_are_two_files() -> None:
    # Otherwise "polyglot" would be tested on files that are merely broken.
    assert zipfile.is_zipfile(io.BytesIO(jpeg_zip_polyglot()))
    hidden = zip_in_a_jpeg_comment()
    Image.open(io.BytesIO(hidden)).load()  # a valid JPEG...
    with zipfile.ZipFile(io.BytesIO(hidden)) as opened:  # ...and a valid ZIP
        assert opened.namelist() == ["payload.html"]


def test_the_bomb_is_small_on_the_wire() -> None:
    assert len(png_bomb()) < 100_000


def test_limits_are_configurable() -> None:
    assert intake(good_jpeg(), "x.jpg", limits=IntakeLimits()).kind == "image"  # the control
    with pytest.raises(IntakeRejected) as caught:
        intake(good_jpeg(), "x.jpg", limits=IntakeLimits(max_bytes=1000))
    assert caught.value.reason == "too_large"
    with pytest.raises(IntakeRejected) as caught:
        intake(good_jpeg(), "x.jpg", limits=IntakeLimits(max_pixels=1000))
    assert caught.value.reason == "too_many_pixels"


def test_unknown_reason_codes_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        IntakeRejected("something_else")
