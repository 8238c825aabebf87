"""Intake in a sandbox: files are decoded and checked in worker processes with caps.

Every file a citizen sends is opened by image and PDF libraries written in C. A crafted
file can make them spin (a progressive JPEG whose scan is repeated thousands of times) or
allocate gigabytes (a small PNG announcing a huge RGBA canvas). :func:`documents.intake`
already refuses what its structure gives away; this module bounds what is left. The
same workers read the machine-readable zone of an identity photo (Tesseract, about half a
second), under the same caps:

* each file runs in a worker process, never in the service's own process;
* a worker's address space is capped (``RLIMIT_AS``), so an allocation past the cap fails
  there (the file is refused) instead of swapping the machine;
* each file gets a CPU-time budget (``RLIMIT_CPU`` set to the worker's usage so far plus
  the budget): a file that uses it up kills its worker with SIGXCPU;
* and a wall-clock budget: a file still running after it has its worker killed.

A killed worker is replaced by a fresh one; only the file that killed it is refused
(``too_complex``). Workers are started once (``start``, or on the first file) and reused:
each is a one-process :class:`~concurrent.futures.ProcessPoolExecutor` whose process was
forked from a server that already imported Pillow and pypdf, so a file costs its own work
plus one round trip. The asyncio caller only awaits: the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
import resource
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the decoders load in the workers and on the first file, not at import
    from documents.intake import IntakeLimits, IntakeResult
    from documents.mrz_reader import MrzPhoto

__all__ = ["Sandbox", "SandboxLimits"]

log = logging.getLogger("videotramit.sandbox")

MiB = 1 << 20


@dataclass(frozen=True)
class SandboxLimits:
    """What one file may cost in a worker."""

    workers: int = 2
    cpu_seconds: int = 10
    wall_seconds: float = 20.0
    memory_mb: int = 1024


def _limit_worker(memory_bytes: int) -> None:
    """Runs once in each new worker: cap its address space and load the decoders."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    import documents.pdfs  # noqa: F401  (warm: the first file pays no import)


def _ready() -> int:
    return os.getpid()


def _budget(cpu_seconds: int) -> None:
    """In the worker: allow `cpu_seconds` more CPU time than it has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    spent = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(spent + cpu_seconds)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _intake_job(
    cpu_seconds: int, data: bytes, filename: str | None, limits: IntakeLimits
) -> IntakeResult | str:
    """In the worker: intake one file under a CPU budget; the result or a reason code."""
    from documents.intake import IntakeRejected, intake

    _budget(cpu_seconds)
    try:
        return intake(data, filename, limits=limits)
    except IntakeRejected as refused:
        return refused.reason
    except MemoryError:
        return "too_complex"


def _identity_job(cpu_seconds: int, data: bytes) -> MrzPhoto:
    """In the worker: read the zone of a normalised photo under a CPU budget (Tesseract
    runs as the worker's child, with the worker's limits)."""
    from documents.mrz_reader import MrzPhoto, PhotoStatus, read_identity_photo

    _budget(cpu_seconds)
    try:
        return read_identity_photo(data)
    except MemoryError:
        return MrzPhoto(PhotoStatus.UNAVAILABLE)


class Sandbox:
    """A few capped worker processes that run :func:`documents.intake.intake` and
    :func:`documents.mrz_reader.read_identity_photo`."""

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self._idle: asyncio.Queue[ProcessPoolExecutor] | None = None
        self._all: list[ProcessPoolExecutor] = []
        self._starting: asyncio.Lock | None = None

    def _new_worker(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(
            ["documents.intake", "documents.pdfs", "documents.mrz_reader"]
        )
        executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=context,
            initializer=_limit_worker,
            initargs=(self.limits.memory_mb * MiB,),
        )
        self._all.append(executor)
        return executor

    async def start(self) -> None:
        """Start the workers (idempotent); each has loaded the decoders when this returns."""
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._idle is not None:
                return
            idle: asyncio.Queue[ProcessPoolExecutor] = asyncio.Queue()
            loop = asyncio.get_running_loop()
            workers = [self._new_worker() for _ in range(max(1, self.limits.workers))]
            await asyncio.gather(*(loop.run_in_executor(w, _ready) for w in workers))
            for worker in workers:
                idle.put_nowait(worker)
            self._idle = idle

    def pids(self) -> list[int]:
        """The worker processes' ids (for operators, and for tests that pause them)."""
        return [
            pid
            for executor in self._all
            for pid in list(getattr(executor, "_processes", None) or {})
        ]

    async def intake(self, data: bytes, filename: str | None, limits: IntakeLimits) -> IntakeResult:
        """Check and normalise one file in a worker; raise IntakeRejected."""
        from documents.intake import IntakeRejected

        await self.start()
        idle = self._idle
        assert idle is not None
        worker = await idle.get()
        loop = asyncio.get_running_loop()
        try:
            job = loop.run_in_executor(
                worker, _intake_job, self.limits.cpu_seconds, data, filename, limits
            )
            outcome = await asyncio.wait_for(job, self.limits.wall_seconds)
        except (TimeoutError, BrokenExecutor):
            log.warning("a file exceeded the sandbox's limits; its worker was replaced")
            if worker in self._all:
                worker = self._replace(worker)
            raise IntakeRejected("too_complex") from None
        finally:
            if self._idle is idle and worker in self._all:  # not closed meanwhile
                idle.put_nowait(worker)
        if isinstance(outcome, str):
            raise IntakeRejected(outcome)
        return outcome

    async def read_identity(self, data: bytes) -> MrzPhoto:
        """Read the machine-readable zone of a photo intake already normalised, in a
        worker. Never raises for the photo: past the caps it is `UNAVAILABLE` (the photo
        is kept; the clerk checks the document by eye)."""
        from documents.mrz_reader import MrzPhoto, PhotoStatus

        await self.start()
        idle = self._idle
        assert idle is not None
        worker = await idle.get()
        loop = asyncio.get_running_loop()
        try:
            job = loop.run_in_executor(worker, _identity_job, self.limits.cpu_seconds, data)
            return await asyncio.wait_for(job, self.limits.wall_seconds)
        except (TimeoutError, BrokenExecutor):
            log.warning("reading a zone exceeded the sandbox's limits; its worker was replaced")
            if worker in self._all:
                worker = self._replace(worker)
            return MrzPhoto(PhotoStatus.UNAVAILABLE)
        finally:
            if self._idle is idle and worker in self._all:  # not closed meanwhile
                idle.put_nowait(worker)

    def _replace(self, worker: ProcessPoolExecutor) -> ProcessPoolExecutor:
        self._kill(worker)
        return self._new_worker()

    def _kill(self, worker: ProcessPoolExecutor) -> None:
        processes = getattr(worker, "_processes", None) or {}
        for process in list(processes.values()):
            if process.is_alive():
                process.kill()
        worker.shutdown(wait=False, cancel_futures=True)
        if worker in self._all:
            self._all.remove(worker)

    async def close(self) -> None:
        for worker in list(self._all):
            self._kill(worker)
        self._idle = None
