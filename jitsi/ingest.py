"""Read a Jibri recording directory, as Jibri's finalize script receives it.

Facts followed (shared/reference/jitsi.md 3.3; Jibri ``FileSink.kt``):

* one directory per recording, ``<recordings-directory>/<sessionId>``, passed to the
  finalize script as its single argument;
* the media file is ``<callName>_<yyyy-MM-dd-HH-mm-ss>.<ext>`` (``mp4`` by default); the
  timestamp is the Jibri host's local time without a zone; the whole file name is capped
  at 125 characters by truncating the call name;
* ``metadata.json`` (written on stop) has ``meeting_url`` (``baseUrl/callName``) and
  ``participants`` (presence identities ``{user: {id, name, email, avatar}, group?}``),
  plus the flattened keys of ``file_recording_metadata``.

This module only parses and hashes; mapping the room to an appointment and storing the
file belong to the caller.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = [
    "CHUNK",
    "MAX_FILENAME_LENGTH",
    "METADATA_NAME",
    "VIDEO_EXTENSIONS",
    "IngestError",
    "JibriRecording",
    "parse_recording_dir",
    "stream_sha256",
]

CHUNK = 1024 * 1024
METADATA_NAME = "metadata.json"
MAX_FILENAME_LENGTH = 125  # Jibri FileSink: the call name is truncated to fit
MAX_METADATA_BYTES = 1024 * 1024
VIDEO_EXTENSIONS: tuple[str, ...] = ("mp4", "mkv", "webm", "mov")
_MEDIA_RE = re.compile(
    r"^(?P<room>.+)_(?P<ts>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})\.(?P<ext>[A-Za-z0-9]+)$"
)


class IngestError(Exception):
    """The directory is not a usable Jibri recording.

    ``reason`` is a stable code: ``not_a_directory``, ``no_video``, ``several_videos``,
    ``no_metadata``, ``bad_metadata``, ``room_mismatch``; ``detail`` says more.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class JibriRecording:
    room: str
    started_at: datetime  # naive Jibri-host local time unless a tz was given
    video_path: Path
    metadata: dict[str, Any]
    meeting_url: str
    participants: list[dict[str, Any]] = field(default_factory=list)
    session_id: str = ""  # the directory name (Jibri's sessionId, sanitised)


def stream_sha256(path: Path | str, chunk: int = CHUNK) -> str:
    """Hex SHA-256 of a file, read in ``chunk``-sized blocks into one reused buffer."""
    digest = hashlib.sha256()
    buf = bytearray(chunk)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(view)
            if not n:
                break
            digest.update(view[:n])
    return digest.hexdigest()


def _room_from_url(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1] if path else ""
    return unquote(last).lower()


def _load_metadata(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise IngestError("no_metadata", f"{METADATA_NAME} not found")
    if path.stat().st_size > MAX_METADATA_BYTES:
        raise IngestError("bad_metadata", f"{METADATA_NAME} is too large")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise IngestError("bad_metadata", f"{METADATA_NAME} is not valid JSON") from exc
    if not isinstance(data, dict):
        raise IngestError("bad_metadata", f"{METADATA_NAME} is not a JSON object")
    return data


def parse_recording_dir(
    directory: Path | str,
    *,
    tz: tzinfo | None = None,
    video_extensions: tuple[str, ...] = VIDEO_EXTENSIONS,
) -> JibriRecording:
    """Parse one Jibri session directory. Raises :class:`IngestError` with a clear reason.

    ``tz`` (the Jibri host's time zone) makes ``started_at`` aware; without it the naive
    local time from the file name is returned.
    """
    root = Path(directory)
    if not root.is_dir():
        raise IngestError("not_a_directory", str(root))
    exts = {e.lower().lstrip(".") for e in video_extensions}
    videos: list[tuple[Path, re.Match[str]]] = []
    for entry in sorted(root.iterdir()):
        if not entry.is_file() or entry.is_symlink():
            continue
        m = _MEDIA_RE.match(entry.name)
        if m and m.group("ext").lower() in exts:
            videos.append((entry, m))
    if not videos:
        raise IngestError("no_video", "no <room>_<yyyy-MM-dd-HH-mm-ss> video file")
    if len(videos) > 1:
        names = ", ".join(v.name for v, _ in videos)
        raise IngestError("several_videos", names)
    video, match = videos[0]
    if video.stat().st_size == 0:
        raise IngestError("no_video", f"{video.name} is empty")

    metadata = _load_metadata(root / METADATA_NAME)
    meeting_url = metadata.get("meeting_url")
    if not isinstance(meeting_url, str) or not meeting_url:
        raise IngestError("bad_metadata", "meeting_url missing")
    url_room = _room_from_url(meeting_url)
    file_room = match.group("room").lower()
    truncated = len(video.name) == MAX_FILENAME_LENGTH and url_room.startswith(file_room)
    if not url_room or (file_room != url_room and not truncated):
        raise IngestError(
            "room_mismatch", f"file is for {file_room!r}, meeting_url for {url_room!r}"
        )
    participants_raw = metadata.get("participants", [])
    if not isinstance(participants_raw, list):
        raise IngestError("bad_metadata", "participants is not a list")
    participants = [p for p in participants_raw if isinstance(p, dict)]

    try:
        started = datetime.strptime(match.group("ts"), "%Y-%m-%d-%H-%M-%S")
    except ValueError as exc:
        raise IngestError("no_video", f"bad timestamp in {video.name}") from exc
    if tz is not None:
        started = started.replace(tzinfo=tz)
    return JibriRecording(
        room=url_room,
        started_at=started,
        video_path=video,
        metadata=metadata,
        meeting_url=meeting_url,
        participants=participants,
        session_id=root.name,
    )
