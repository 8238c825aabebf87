"""The side-effects worker: does what turns asked for (start or stop a recording) after
they committed, outside any transaction, and hands the outcome back to the conversation.

A recorder that is slow or never answers only holds this worker's task for that one
appointment (every Jibri call has its own timeout); no turn waits for it, on SQLite (one
writer) or PostgreSQL. Effects of one appointment happen in the order asked, and on
several instances each effect is claimed by one (storage/effects.py). An instance that
dies mid-call leaves the effect to come back after its lease; one performed but not yet
handed over is handed over again, not performed twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from handlers.engine import Engine
from handlers.ports import Clock, RecorderPort, RecordingUnavailable, UnitOfWorkFactory
from storage.effects import EffectsStore, SideEffect

log = logging.getLogger("videotramit.effects")

OUTCOME_ENTRY = "session.recording_outcome"


class EffectsWorker:
    def __init__(
        self,
        store: EffectsStore,
        *,
        uow: UnitOfWorkFactory,
        engine: Engine,
        recorder: RecorderPort,
        clock: Clock,
        idle_seconds: float = 2.0,
    ) -> None:
        self._store = store
        self._uow = uow
        self._engine = engine
        self._recorder = recorder
        self._now = clock.now
        self._idle = idle_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Called after a commit: an effect may be waiting."""
        self._wake.set()

    async def run_once(self) -> int:
        """Perform what is due (each effect concurrently); returns how many were settled."""
        effects = await self._store.claim(self._now())
        results = await asyncio.gather(*(self._settle(effect) for effect in effects))
        return sum(results)

    async def _perform(self, effect: SideEffect) -> str:
        async with self._uow() as uow:  # a short read, committed nothing
            appointment = await uow.appointments.get(effect.appointment_id)
        if appointment is None:
            return "gone"
        try:
            if effect.kind == "recording.start":
                await self._recorder.start(appointment)
                return "started"
            if effect.kind == "recording.stop":
                await self._recorder.stop(appointment)
                return "stopped"
        except RecordingUnavailable as failure:
            return failure.reason
        except Exception as exc:  # whatever went wrong outside: reported, not retried
            log.warning("side effect failed", extra={"kind": effect.kind, "error": repr(exc)})
            return "unavailable"
        log.error("unknown side effect", extra={"kind": effect.kind})
        return "unknown"

    async def _settle(self, effect: SideEffect) -> int:
        try:
            outcome = effect.outcome
            if not outcome:
                outcome = await self._perform(effect)
                await self._store.performed(effect.id, outcome)
            await self._engine.act(
                channel=effect.channel,
                external_id=effect.external_id,
                address=effect.address,
                entry=OUTCOME_ENTRY,
                params={
                    "appointment_id": effect.appointment_id,
                    "kind": effect.kind,
                    "outcome": outcome,
                },
            )
            await self._store.done(effect.id, outcome, self._now())
        except Exception as exc:
            log.warning("side effect not settled, will retry", extra={"error": repr(exc)})
            wait = timedelta(seconds=min(5 * 2**effect.attempts, 900))
            await self._store.retry(effect.id, exc.__class__.__name__, self._now() + wait)
            return 0
        return 1

    async def run(self) -> None:
        while True:
            try:
                settled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("side-effects pass failed")
                settled = 0
            if settled:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="side-effects")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def drain(self, within: float = 30.0) -> None:
        """Perform until nothing due is left (tests and the demo)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            if not await self.run_once():
                return
