"""The side-effects worker: does what turns asked for (start or stop a recording, make the
receipt) after they committed, outside any transaction, and hands the outcome back to the
conversation.

The receipt: its registry number is taken in a short transaction of its own (the
counter's lock is never held while a PDF is made), then the PDF is rendered, sealed and
stored outside any transaction, then handed over. A number taken is never lost: when the
PDF fails, it is made again later for the same reserved number.

A recorder that is slow or never answers only holds this worker's task for that one
appointment (every Jibri call has its own timeout); no turn waits for it, on SQLite (one
writer) or PostgreSQL. Effects of one appointment happen in the order asked, and on
several instances each effect is claimed by one (storage/effects.py). An instance that
dies mid-call leaves the effect to come back after its lease; one performed but not yet
handed over is handed over again, not performed twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from bot.worker import Worker
from handlers.engine import Engine
from handlers.ports import Clock, Office, RecordingUnavailable, Services, UnitOfWorkFactory
from handlers.receipting import RECEIPT_EFFECT, draft_receipt, reserve_number
from storage.effects import EffectsStore, SideEffect

log = logging.getLogger("videotramit.effects")

# Who hears the outcome, by the kind of effect (registry entries of the conversations).
OUTCOME_ENTRIES = {
    "recording.start": "session.recording_outcome",
    "recording.stop": "session.recording_outcome",
    RECEIPT_EFFECT: "session.receipt_outcome",
}


class RetryLater(Exception):
    """Not done this time (e.g. the PDF could not be stored): try the effect again."""


class EffectsWorker(Worker):
    name = "side-effects"

    def __init__(
        self,
        store: EffectsStore,
        *,
        uow: UnitOfWorkFactory,
        engine: Engine,
        office: Office,
        services: Services,
        clock: Clock,
        idle_seconds: float = 2.0,
    ) -> None:
        super().__init__(idle_seconds)
        self._store = store
        self._uow = uow
        self._engine = engine
        self._office = office
        self._services = services
        self._now = clock.now

    async def run_once(self) -> int:
        """Perform what is due (each effect concurrently); returns how many were settled."""
        effects = await self._store.claim(self._now())
        results = await asyncio.gather(*(self._settle(effect) for effect in effects))
        return sum(results)

    async def _perform(self, effect: SideEffect) -> tuple[str, dict[str, Any]]:
        async with self._uow() as uow:  # a short read, committed nothing
            appointment = await uow.appointments.get(effect.appointment_id)
        if appointment is None:
            return "gone", {}
        if effect.kind == RECEIPT_EFFECT:
            return await self._receipt(effect)
        recorder = self._services.recorder
        try:
            if effect.kind == "recording.start":
                await recorder.start(appointment)
                return "started", {}
            if effect.kind == "recording.stop":
                await recorder.stop(appointment)
                return "stopped", {}
        except RecordingUnavailable as failure:
            return failure.reason, {}
        except Exception as exc:  # whatever went wrong outside: reported, not retried
            log.warning("side effect failed", extra={"kind": effect.kind, "error": repr(exc)})
            return "unavailable", {}
        log.error("unknown side effect", extra={"kind": effect.kind})
        return "unknown", {}

    async def _receipt(self, effect: SideEffect) -> tuple[str, dict[str, Any]]:
        async with self._uow() as uow:
            appointment = await uow.appointments.get(effect.appointment_id)
            issued = await uow.receipts.for_appointment(effect.appointment_id)
        assert appointment is not None
        if issued is not None and issued.sha256:
            return "already", {"entry": issued.entry_number}
        if issued is None:
            if appointment.details.get("agreement", {}).get("status") != "agreed":
                return "withdrawn", {}  # changed since the clerk asked
            async with self._uow() as uow:  # the number: two statements, then commit
                issued = await reserve_number(uow, self._office, appointment, self._now())
                await uow.commit()
        async with self._uow() as uow:  # reads only
            receipt, labels = await draft_receipt(
                uow, self._office, self._services, appointment, issued
            )
        try:  # outside any transaction: rendering, sealing and storing take their time
            pdf = await self._services.receipts.render(receipt, labels)
            digest = await self._services.documents.store(pdf)
        except Exception as exc:
            raise RetryLater(f"receipt {issued.entry_number}: {exc.__class__.__name__}") from exc
        result = {"entry": issued.entry_number, "csv": issued.csv_code, "sha256": digest}
        return "issued", result

    async def _settle(self, effect: SideEffect) -> int:
        try:
            outcome = effect.outcome
            result: dict[str, Any] = dict(effect.data.get("result") or {})
            if not outcome:
                outcome, result = await self._perform(effect)
                await self._store.performed(effect.id, outcome, result)
            await self._engine.act(
                channel=effect.channel,
                external_id=effect.external_id,
                address=effect.address,
                entry=OUTCOME_ENTRIES.get(effect.kind, "session.recording_outcome"),
                params={
                    "appointment_id": effect.appointment_id,
                    "kind": effect.kind,
                    "outcome": outcome,
                    **result,
                },
            )
            await self._store.done(effect.id, outcome, self._now())
        except Exception as exc:
            log.warning("side effect not settled, will retry", extra={"error": repr(exc)})
            wait = timedelta(seconds=min(5 * 2**effect.attempts, 900))
            await self._store.retry(effect.id, exc.__class__.__name__, self._now() + wait)
            return 0
        return 1
