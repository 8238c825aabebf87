"""Parsing a Jibri session directory (reference/jitsi.md 3.3) with the real MP4 fixture."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jitsi.ingest import (
    MAX_FILENAME_LENGTH,
    IngestError,
    parse_recording_dir,
    stream_sha256,
)

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "jibri"
ROOM = "vt-7tq3xkz2m4pwa5hcd6rnfy2ejb"
VIDEO = f"{ROOM}_2025-03-14-10-00-05.mp4"


@pytest.fixture
def session_dir(tmp_path: Path) -> Path:
    target = tmp_path / ROOM
    shutil.copytree(FIXTURE / ROOM, target)
    return target


def test_fixture_is_a_small_real_mp4() -> None:
    data = (FIXTURE / ROOM / VIDEO).read_bytes()
    assert len(data) < 100 * 1024
    assert data[4:8] == b"ftyp"
    assert b"moov" in data and b"mdat" in data
    assert b"avc1" in data  # an H.264 track


def test_good_directory(session_dir: Path) -> None:
    rec = parse_recording_dir(session_dir)
    assert rec.room == ROOM
    assert rec.session_id == ROOM
    assert rec.video_path == session_dir / VIDEO
    assert rec.started_at == datetime(2025, 3, 14, 10, 0, 5)
    assert rec.started_at.tzinfo is None  # Jibri host local time, no zone
    assert rec.meeting_url == f"https://meet.example.org/{ROOM}"
    assert [p["user"]["id"] for p in rec.participants] == ["staff-1", "citizen-7"]
    assert rec.metadata["meeting_url"] == rec.meeting_url


def test_time_zone_can_be_attached(session_dir: Path) -> None:
    madrid = ZoneInfo("Europe/Madrid")
    rec = parse_recording_dir(session_dir, tz=madrid)
    assert rec.started_at == datetime(2025, 3, 14, 10, 0, 5, tzinfo=madrid)


def test_stream_sha256_matches_hashlib(session_dir: Path) -> None:
    video = session_dir / VIDEO
    expected = hashlib.sha256(video.read_bytes()).hexdigest()
    assert stream_sha256(video) == expected
    assert stream_sha256(video, chunk=1000) == expected  # several partial chunks


def test_stream_sha256_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "e"
    empty.write_bytes(b"")
    assert stream_sha256(empty) == hashlib.sha256(b"").hexdigest()


def test_no_metadata(session_dir: Path) -> None:
    (session_dir / "metadata.json").unlink()
    with pytest.raises(IngestError) as err:
        parse_recording_dir(session_dir)
    assert err.value.reason == "no_metadata"


def test_no_video(session_dir: Path) -> None:
    (session_dir / VIDEO).unlink()
    with pytest.raises(IngestError) as err:
        parse_recording_dir(session_dir)
    assert err.value.reason == "no_video"


def test_empty_video(session_dir: Path) -> None:
    (session_dir / VIDEO).write_bytes(b"")
    with pytest.raises(IngestError) as err:
        parse_recording_dir(session_dir)
    assert err.value.reason == "no_video"


def test_two_videos(session_dir: Path) -> None:
    shutil.copy(session_dir / VIDEO, session_dir / f"{ROOM}_2025-03-14-10-30-00.mp4")
    with pytest.raises(IngestError) as err:
        parse_recording_dir(session_dir)
    assert err.value.reason == "several_videos"


def test_mismatched_room(session_dir: Path) -> None:
    (session_dir / VIDEO).rename(session_dir / "vt-someoneelse_2025-03-14-10-00-05.mp4")
    with pytest.raises(IngestError) as err:
        parse_recording_dir(session_dir)
    assert err.value.reason == "room_mismatch"


def test_mismatched_meeting_url(session_dir: Path) -> None:
    meta = json.loads((session_dir / "metadata.json").read_text())
    meta["meeting_url"] = "https://meet.example.org/vt-otherroom"
    (session_dir / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(IngestError) as err:
        parse_recording_dir(session_dir)
    assert err.value.reason == "room_mismatch"


@pytest.mark.parametrize(
    "content",
    ["not json", "[1, 2]", json.dumps({"participants": []}), json.dumps({"meeting_url": 5})],
)
def test_bad_metadata(session_dir: Path, content: str) -> None:
    (session_dir / "metadata.json").write_text(content)
    with pytest.raises(IngestError) as err:
        parse_recording_dir(session_dir)
    assert err.value.reason == "bad_metadata"


def test_other_files_are_ignored(session_dir: Path) -> None:
    (session_dir / "ffmpeg.log").write_text("log")
    (session_dir / "notes.mp4").write_bytes(b"x")  # not <room>_<timestamp>
    assert parse_recording_dir(session_dir).room == ROOM


def test_missing_participants_is_an_empty_list(session_dir: Path) -> None:
    (session_dir / "metadata.json").write_text(json.dumps({"meeting_url": f"https://m/{ROOM}"}))
    assert parse_recording_dir(session_dir).participants == []


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as err:
        parse_recording_dir(tmp_path / "nope")
    assert err.value.reason == "not_a_directory"


def test_truncated_long_room_name_is_accepted(tmp_path: Path) -> None:
    # Jibri caps the file name at 125 characters by truncating the call name.
    room = "vt-" + "a" * 150
    suffix = "_2025-03-14-10-00-05.mp4"
    name = room[: MAX_FILENAME_LENGTH - len(suffix)] + suffix
    assert len(name) == MAX_FILENAME_LENGTH
    d = tmp_path / "s"
    d.mkdir()
    shutil.copy(FIXTURE / ROOM / VIDEO, d / name)
    (d / "metadata.json").write_text(json.dumps({"meeting_url": f"https://m.test/{room}"}))
    assert parse_recording_dir(d).room == room
