"""Idle memory of ``videotramit run`` with no channels.

Target (Core issue): ≤ 120 MB RSS. Run with ``python -m benchmarks.bench_memory``.

Starts ``videotramit run --config FILE`` (the venv's console script) with a temporary
config: data_dir (so the SQLite database) in a temporary folder, ``[web] listen`` on a free
127.0.0.1 port, log level WARNING, no channel enabled, and none of the caller's
``VIDEOTRAMIT_*`` variables. Waits until ``/healthz`` answers 200, lets it idle for
``IDLE_SECONDS``, reads VmRSS from ``/proc/<pid>/status``, then sends SIGTERM and checks that
it exits 0 within 10 s. The baseline is a bare ``python -c "import time; time.sleep(...)"``
of the same interpreter.

Prints::

    BENCH run_idle_rss <MB> MB ratio=<run / bare python>

Over the target, the heaviest imports of the service (``python -X importtime``, cumulative
µs) are listed on stderr, to show where the memory comes from.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

TARGET_MB = 120.0
IDLE_SECONDS = 3.0
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
ROOT = Path(__file__).resolve().parent.parent
# What `videotramit run` imports before it serves (bot.cli defers these to the command).
SERVICE_IMPORTS = "import bot.cli, bot.app, bot.logs, bot.service, bot.web"


class BenchFailure(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc (VmRSS is in kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchFailure(f"no VmRSS for pid {pid}")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("VIDEOTRAMIT_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def command() -> list[str]:
    script = Path(sys.executable).parent / "videotramit"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "bot.cli"]


def wait_healthy(process: subprocess.Popen[bytes], url: str) -> float:
    started = time.perf_counter()
    deadline = started + START_TIMEOUT
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise BenchFailure(f"videotramit run exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise BenchFailure(f"{url} did not answer 200 within {START_TIMEOUT:.0f} s")


def measure_run(folder: Path) -> tuple[float, float]:
    """(idle RSS in MB, seconds until healthy)."""
    port = free_port()
    config = folder / "videotramit.toml"
    config.write_text(
        f'data_dir = "{(folder / "data").as_posix()}"\n'
        'log_level = "WARNING"\n'
        "[web]\n"
        f'listen = "127.0.0.1:{port}"\n'
        f'public_base_url = "http://127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    log = (folder / "run.log").open("wb")
    process = subprocess.Popen(
        [*command(), "run", "--config", str(config)],
        cwd=folder,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        startup = wait_healthy(process, f"http://127.0.0.1:{port}/healthz")
        time.sleep(IDLE_SECONDS)
        if process.poll() is not None:
            raise BenchFailure(f"videotramit run died while idle (code {process.returncode})")
        rss = rss_mb(process.pid)
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise BenchFailure(
                f"videotramit run did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM"
            ) from exc
        if code != 0:
            raise BenchFailure(f"videotramit run exited {code} after SIGTERM")
        return rss, startup
    except BaseException:
        log.flush()
        sys.stderr.write((folder / "run.log").read_text(errors="replace")[-4000:])
        raise
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def measure_bare_python() -> float:
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(5)"],
        env=clean_env(),
        stdin=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        return rss_mb(process.pid)
    finally:
        process.kill()
        process.wait()


def heaviest_imports(top: int = 15) -> list[tuple[int, str]]:
    """The modules with the largest cumulative import time under the service's imports."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", SERVICE_IMPORTS],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = []
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 1:  # top-level packages only: the bill per dependency
            rows.append((int(parts[1]), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vt-bench-memory-") as folder:
        rss, startup = measure_run(Path(folder))
    bare = measure_bare_python()
    print(
        f"# videotramit run: healthy after {startup:.1f} s, idle RSS {rss:.1f} MB "
        f"(target <= {TARGET_MB:.0f} MB); bare python {bare:.1f} MB; SIGTERM -> exit 0",
        file=sys.stderr,
        flush=True,
    )
    if rss > TARGET_MB:
        print("# over target; heaviest imports (cumulative import time, us):", file=sys.stderr)
        for micros, name in heaviest_imports():
            print(f"#   {micros:>9}  {name}", file=sys.stderr)
    print(f"BENCH run_idle_rss {rss:.1f} MB ratio={rss / bare:.2f}", flush=True)


if __name__ == "__main__":
    main()
