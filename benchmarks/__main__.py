"""Run the benchmarks: ``python -m benchmarks [NAME ...] [--timeout S] [--list]``.

Every ``benchmarks/bench_*.py`` module (sorted by name) runs in its own subprocess, which
imports it and calls its ``main()``; its output is streamed as it comes. At the end a summary
of every ``BENCH <name> <value> <unit> [ratio=<x>]`` line is printed. A module that crashes,
times out or prints no BENCH line counts as failed; the others still run, and the exit code
is 1 if anything failed (2 for an unknown name).

``NAME`` may be given as ``bench_slots``, ``slots`` or ``bench_slots.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "300"))
BENCH_LINE = re.compile(r"^BENCH\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+ratio=(\S+))?\s*$")
# Imports the module (so it runs whether or not it has an ``if __name__ == "__main__"``
# guard) and calls its main() exactly once, with an empty command line of its own.
RUNNER = "import importlib, sys; name = sys.argv.pop(1); importlib.import_module(name).main()"


@dataclass
class Result:
    module: str
    status: str = "ok"  # ok | failed (exit N) | timeout | no BENCH line
    seconds: float = 0.0
    lines: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def discover() -> list[str]:
    return sorted(path.stem for path in HERE.glob("bench_*.py"))


def normalise(name: str) -> str:
    name = Path(name).name.removesuffix(".py")
    name = name.removeprefix("benchmarks.")
    return name if name.startswith("bench_") else f"bench_{name}"


def _pump(stream: Iterable[str], result: Result) -> None:
    for raw in stream:
        line = raw.rstrip("\n")
        print(line, flush=True)
        match = BENCH_LINE.match(line)
        if match:
            name, value, unit, ratio = match.groups()
            result.lines.append((name, value, unit, ratio or ""))


def run_one(module: str, timeout: float) -> Result:
    result = Result(module)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", RUNNER, f"benchmarks.{module}"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # its own process group: a timeout kills its children too
    )
    reader = threading.Thread(target=_pump, args=(process.stdout, result), daemon=True)
    reader.start()
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        result.status = f"timeout after {timeout:.0f} s"
    else:
        if code != 0:
            result.status = f"failed (exit {code})"
    reader.join(timeout=10)
    _kill_group(process)  # anything it left behind in its group
    result.seconds = time.perf_counter() - started
    if result.ok and not result.lines:
        result.status = "no BENCH line"
    return result


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def summary(results: list[Result]) -> str:
    rows = [
        (name, value, unit, f"ratio={ratio}" if ratio else "", r.module)
        for r in results
        for name, value, unit, ratio in r.lines
    ]
    out = ["", "=" * 72, "SUMMARY"]
    if rows:
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            name, value, unit, ratio, module = row
            out.append(
                f"BENCH {name:<{widths[0]}} {value:>{widths[1]}} {unit:<{widths[2]}} "
                f"{ratio:<{widths[3]}}  ({module})".rstrip()
            )
    else:
        out.append("(no BENCH lines)")
    out.append("")
    for r in results:
        out.append(f"{'ok  ' if r.ok else 'FAIL'} {r.module:<28} {r.seconds:7.1f} s  {r.status}")
    failed = [r.module for r in results if not r.ok]
    out.append(
        f"{len(results) - len(failed)} passed, {len(failed)} failed"
        + (f": {', '.join(failed)}" if failed else "")
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Run the benchmarks (benchmarks/bench_*.py)."
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per benchmark (default {DEFAULT_TIMEOUT:.0f}; env BENCH_TIMEOUT)",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    available = discover()
    if args.list:
        print("\n".join(available))
        return 0
    chosen = [normalise(n) for n in args.names] or available
    unknown = [n for n in chosen if n not in available]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}",
            file=sys.stderr,
        )
        return 2

    results = []
    for module in chosen:
        print(f"\n=== {module} ===", flush=True)
        result = run_one(module, args.timeout)
        if not result.ok:
            print(f"!!! {module}: {result.status}", flush=True)
        results.append(result)
    print(summary(results), flush=True)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
