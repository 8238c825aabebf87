"""The README's try-it walk-through: a citizen and a clerk in two terminals, at any hour.

`chat` without configuration runs on the demo council in its own data dir; `--at` moves
the office time forward for every terminal on that data dir; each terminal delivers only
its own person's messages and leaves the others queued for their owner.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

VIDEOTRAMIT = [sys.executable, "-m", "bot.cli"]
# A Wednesday well ahead of any machine's clock (the office time only moves forward).
WEDNESDAY = "2031-03-05"


def _chat(cwd: Path, args: list[str], lines: list[str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOTRAMIT_")}
    done = subprocess.run(
        [*VIDEOTRAMIT, "chat", *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**env, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_citizen_and_a_clerk_in_two_terminals(tmp_path: Path) -> None:
    citizen = ["--user", "Pau Serra", "--language", "en"]
    booked = _chat(
        tmp_path,
        [*citizen, "--at", f"{WEDNESDAY} 07:50"],
        ["/start", "I understand", "Book an appointment", "Information and advice", "1", "9:00"]
        + ["Confirm"],
    )
    assert "this is the demo council, Ajuntament de Vilademo" in booked
    assert "Office time: Wednesday 05 March 2031, 07:50" in booked, booked
    assert "Which language" not in booked  # --language was the choice
    assert "Wednesday 5 March at 9:00" in booked and "Your appointment reference is VT-" in booked
    reference = booked.split("Your appointment reference is ")[1].split(".")[0]

    clerk = _chat(
        tmp_path,
        ["--as", "staff", "--user", "anna", "--language", "en", "--at", f"{WEDNESDAY} 08:50"],
        ["/today", f"9:00 {reference}", "Open the session"],
    )
    assert f"Session {reference}" in clerk
    assert "Your link to the call (moderator): https://meet.vilademo.cat/" in clerk
    # The citizen's own link waits for the citizen's terminal, not the clerk's.
    assert "Your video call" not in clerk and "message for" not in clerk

    again = _chat(tmp_path, citizen, ["/my"])
    assert f"Your video call for appointment {reference} is ready" in again
    assert "Office time" not in again  # no --at: the shared office time goes on


def test_as_admin_needs_an_administrator(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOTRAMIT_")}
    done = subprocess.run(
        [*VIDEOTRAMIT, "chat", "--as", "admin", "--user", "anna"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert done.returncode == 2
    assert "'anna' is not an administrator" in done.stderr
    assert "Traceback" not in done.stderr


def test_without_user_each_citizen_is_someone_new(tmp_path: Path) -> None:
    first = _chat(tmp_path, ["--language", "ca"], ["/start"])
    second = _chat(tmp_path, ["--language", "ca"], ["/start"])
    name_of = [out.split("(You are ")[1].split(";")[0] for out in (first, second)]
    assert name_of[0] != name_of[1]
    assert f"--user '{name_of[0]}' brings you back" in first
