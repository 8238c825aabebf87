"""The `videotramit` command as an operator uses it: real subprocesses, real files."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import STAFF_TOML

VIDEOTRAMIT = [sys.executable, "-m", "bot.cli"]


def _config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "council.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\nlog_format = "json"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "vt.db"}"\n'
        f"[schedule]\nmin_notice_hours = 0\nhorizon_days = 21\n{extra}\n{STAFF_TOML}"
    )
    return config


def _run(args: list[str], input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        VIDEOTRAMIT + args, capture_output=True, text=True, timeout=120, input=input
    )


def test_piped_chat_books_an_appointment(tmp_path: Path) -> None:
    lines = "\n".join(
        [
            "/start",
            "3",  # English
            "1",  # I understand
            "Book an appointment",
            "Information and advice",
            "1",  # the first free day
            "1",  # the first free time
            "Confirm",
            "/my",
        ]
    )
    result = _run(
        ["chat", "--as", "citizen", "--user", "Neus", "--config", str(_config(tmp_path))],
        input=lines + "\n",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "> /start" in out  # piped input is echoed so the transcript reads
    assert "  1. Català" in out
    assert "Your appointment reference is VT-" in out
    assert "Your appointments. Which one?" in out
    assert "Traceback" not in out + result.stderr


def test_chat_as_staff_shows_the_agenda(tmp_path: Path) -> None:
    result = _run(
        ["chat", "--as", "staff", "--user", "anna", "--config", str(_config(tmp_path))],
        input="/today\n",
    )
    assert result.returncode == 0, result.stderr
    assert "no appointments" in result.stdout or "No tens cap cita" in result.stdout


def test_unknown_staff_member_is_a_usage_error(tmp_path: Path) -> None:
    result = _run(["chat", "--as", "staff", "--user", "nobody", "--config", str(_config(tmp_path))])
    assert result.returncode == 2
    assert "nobody" in result.stderr


def test_config_with_a_typo_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = _config(tmp_path, "[council]\nnmae = 'Vilanova'\n")
    result = _run(["db", "upgrade", "--config", str(config)])
    assert result.returncode == 2
    assert "council.nmae" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_says_which_revisions(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    first = _run(["db", "upgrade", "--config", config])
    assert first.returncode == 0, first.stderr
    [head] = re.findall(r"^database migrated from revision \(empty\) to (\w+)$", first.stdout, re.M)
    again = _run(["db", "upgrade", "--config", config])
    assert again.stdout.strip() == f"database is up to date (revision {head})"


def test_bad_staff_hours_exit_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[[staff]]\nid = "x"\nname = "X"\nhours = ["mon-fri 9-14"]\n'
    )
    result = _run(["stats", "--config", str(config)])
    assert result.returncode == 2
    assert "staff[0].hours" in result.stderr


@pytest.fixture
def read_only_database(tmp_path: Path) -> Iterator[Path]:
    config = _config(tmp_path)
    assert _run(["db", "upgrade", "--config", str(config)]).returncode == 0
    database = tmp_path / "vt.db"
    for leftover in ("vt.db-wal", "vt.db-shm"):
        (tmp_path / leftover).unlink(missing_ok=True)
    if os.geteuid() == 0:  # root ignores permission bits, not the immutable flag
        subprocess.run(["chattr", "+i", str(database)], check=True)
    else:
        database.chmod(0o444)
    yield config
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(database)], check=True)


def test_read_only_database_is_a_clear_failure(read_only_database: Path) -> None:
    result = _run(["db", "upgrade", "--config", str(read_only_database)])
    assert result.returncode == 1
    assert "read-only" in result.stderr
    assert "Traceback" not in result.stderr


def test_stats_formats(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _run(
        ["chat", "--user", "Rosa", "--config", str(config)],
        input="/start\n1\n1\nDemanar cita\nVolant\n1\n1\nConfirmar\n",
    )
    csv_out = _run(["stats", "--format", "csv", "--config", str(config)])
    assert csv_out.returncode == 0, csv_out.stderr
    lines = csv_out.stdout.splitlines()
    assert lines[0] == "section,key,booked,completed,cancelled,no_show,upcoming,no_show_rate"
    assert "procedure,volant_empadronament,1,0,0,0,1,-" in lines
    json_out = _run(["stats", "--format", "json", "--config", str(config)])
    assert '"upcoming": 1' in json_out.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_serves_health_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    config = _config(tmp_path, f'[web]\nlisten = "127.0.0.1:{port}"\n')
    process = subprocess.Popen(
        VIDEOTRAMIT + ["run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = ""
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.1)
        assert '"ok"' in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            assert "videotramit_outbox_pending 0" in r.read().decode()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
        assert process.returncode == 0, stderr
        assert '"event": "stopped"' in stderr  # structured JSON logs
    finally:
        if process.poll() is None:
            process.kill()
