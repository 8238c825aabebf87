"""Lay a video out as Jibri leaves a finished recording: `<room>_<yyyy-MM-dd-HH-mm-ss>.mp4`
plus `metadata.json` in a session directory. Used by the demo (with a tiny real MP4 that
ships in bot/demo_assets) and by the tests."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from importlib import resources
from pathlib import Path


def demo_video() -> Path:
    return Path(str(resources.files("bot").joinpath("demo_assets", "recording.mp4")))


def lay_out_session(
    parent: Path,
    *,
    room: str,
    started: datetime,
    meeting_base_url: str,
    participants: list[dict[str, str]],
    video: Path | None = None,
) -> Path:
    folder = parent / f"{room}-session"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{room}_{started:%Y-%m-%d-%H-%M-%S}.mp4"
    shutil.copyfile(video or demo_video(), folder / name)
    metadata = {
        "meeting_url": f"{meeting_base_url.rstrip('/')}/{room}",
        "participants": [{"user": user} for user in participants],
    }
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    return folder
