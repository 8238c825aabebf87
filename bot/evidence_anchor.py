"""What anchors the chains outside the database's reach: RFC 3161 time-stamps of the
seals (fetched after commit), the signed daily roots (journal), and their checks when
verifying an appointment from the database. Used by the CLI, the service's worker and the
demo."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from datetime import date, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.exc import IntegrityError

from bot.app import App
from bot.tsa import TimestampUnavailable, fetch_timestamp
from config.settings import ConfigError
from domain.evidence import EvidenceRecord, format_at
from domain.model import Appointment
from domain.seals import inclusion_proof, merkle_root, seal_statement
from storage import evidence_journal as journal
from storage.bundle_seals import (
    AnchorProblem,
    AnchorReport,
    Anchors,
    JournalEntry,
    anchor_entries,
    check_anchors,
)
from storage.evidence_keys import (
    EvidenceKeyError,
    fingerprint_of,
    load_public_key,
    verify_signature,
)
from storage.repositories import to_record
from storage.timestamps import TimestampError, certificate_der

log = logging.getLogger("videotramit.evidence")
WORKER_PERIOD = 60.0  # seconds between two rounds of the evidence worker


def trusted_tsa(app: App) -> bytes | None:
    path = app.settings.evidence.tsa_certificate
    if not path:
        return None
    try:
        return certificate_der(Path(path).read_bytes())
    except (OSError, TimestampError) as exc:
        raise ConfigError(f"evidence.tsa_certificate: cannot use {path} ({exc})") from exc


async def timestamp_seals(app: App) -> int:
    """Ask the authority for a time-stamp of every seal still without one; the number
    obtained. Each call is made outside any transaction, with the configured timeout."""
    url = app.settings.evidence.tsa_url
    if not url:
        return 0
    async with app.sessions() as session:
        waiting = await journal.awaiting_timestamp(session)
        statements = {}
        for seal in waiting:
            row = await journal.seal_record(session, seal)
            if row is not None:
                statements[seal.id] = seal_statement(to_record(row, seal.reference))
    trusted = trusted_tsa(app)
    obtained = 0
    for seal_id, statement in statements.items():
        try:
            token: bytes | None = await fetch_timestamp(
                url,
                statement,
                seconds=app.settings.evidence.tsa_timeout_seconds,
                trusted_certificate=trusted,
            )
            error = ""
        except TimestampUnavailable as exc:
            token, error = None, str(exc)
            log.warning("time-stamp not obtained", extra={"seal": seal_id, "error": error})
        async with app.sessions() as session, session.begin():
            await journal.save_timestamp(session, seal_id, token, error)
        obtained += token is not None
    return obtained


def _today(app: App) -> date:
    return app.clock.now().astimezone(app.settings.tz).date()


async def journal_closed_days(app: App, *, up_to: date | None = None) -> list[JournalEntry]:
    """Sign the Merkle root of every day before ``up_to`` (default: today) that has seals
    and no journal entry yet; each entry names the previous one. Safe to run on several
    instances: a day already journaled by another is left as it is."""
    signer = app.services.signer
    if signer is None:
        return []
    before = (up_to or _today(app)).isoformat()
    made: list[JournalEntry] = []
    async with app.sessions() as session:
        days = await journal.days_to_journal(session, before)
    for day in days:
        try:
            async with app.sessions() as session, session.begin():
                hashes = await journal.hashes_of_day(session, day)
                previous = await journal.last_entry(session)
                if previous is not None and previous.day >= day:
                    raise AnchorProblem(f"the journal already has {previous.day}")
                draft = JournalEntry(
                    day=day,
                    size=len(hashes),
                    root=merkle_root(hashes),
                    prev=previous.hash if previous else "0" * 64,
                    at=format_at(app.clock.now()),
                    key=signer.fingerprint,
                    signature="",
                )
                signature = base64.b64encode(signer.sign(draft.statement)).decode("ascii")
                entry = JournalEntry(**{**draft.__dict__, "signature": signature})
                journal.add_entry(session, entry)
        except IntegrityError:
            continue  # another instance journaled it first
        except AnchorProblem as exc:
            log.warning("day not journaled", extra={"day": day, "reason": str(exc)})
            continue
        made.append(entry)
    return made


async def anchors_for(app: App, appointment: Appointment) -> Anchors:
    """The key, time-stamps, daily roots and inclusion proofs of one appointment's seals."""
    async with app.sessions() as session:
        seals = await journal.seals_for(session, appointment.id)
        days = sorted({s.day for s in seals})
        entries = {e.day: e for e in await journal.entries(session, days)}
        day_hashes = {day: await journal.hashes_of_day(session, day) for day in entries}
    proofs = {
        s.record_hash: inclusion_proof(s.day, day_hashes[s.day], s.record_hash)
        for s in seals
        if s.day in entries and s.record_hash in day_hashes[s.day]
    }
    signer = app.services.signer
    key_pem = signer.public_pem() if signer is not None else ""
    return Anchors(
        public_key_pem=key_pem,
        timestamps={s.record_hash: s.timestamp for s in seals if s.timestamp is not None},
        journal=entries,
        proofs=proofs,
    )


def council_key(app: App, given: bytes | None) -> bytes:
    """The key to check seals with: the one given (--key), else the configured one."""
    if given is not None:
        return given
    signer = app.services.signer
    if signer is None:
        raise AnchorProblem(
            "no council key to check the seals with: give --key or configure [evidence]"
        )
    return signer.public_pem().encode("ascii")


async def check_in_database(
    app: App, appointment: Appointment, records: list[EvidenceRecord], key: bytes | None
) -> AnchorReport:
    """Seals (signature, time-stamp, inclusion in the day's signed root), the seals table
    against the chain, and every journal entry's signature, root and link to the one
    before. Raises AnchorProblem naming what broke."""
    public = council_key(app, key)
    try:
        public_key = load_public_key(public)
    except EvidenceKeyError as exc:
        raise AnchorProblem(f"the key: {exc}") from exc
    anchors = await anchors_for(app, appointment)
    by_seq = {r.seq: r for r in records}
    async with app.sessions() as session:
        seals = await journal.seals_for(session, appointment.id)
        all_entries = await journal.entries(session)
        hashes = {e.day: await journal.hashes_of_day(session, e.day) for e in all_entries}
    for seal in seals:
        found = by_seq.get(seal.seq)
        if found is None or found.hash != seal.record_hash:
            raise AnchorProblem(
                f"the seal of record {seal.seq} (made on {seal.day}) is not in the chain"
            )
    _check_journal(all_entries, hashes, public_key)
    bundled = Anchors(public.decode("ascii"), anchors.timestamps, anchors.journal, anchors.proofs)
    files = dict(anchor_entries(records, bundled)[0])
    return check_anchors(records, files.get, public_key=public, trusted_tsa=trusted_tsa(app))


def _check_journal(
    entries: list[JournalEntry], hashes: dict[str, list[str]], key: Ed25519PublicKey
) -> None:
    previous = "0" * 64
    fingerprint = fingerprint_of(key)
    for entry in entries:
        if entry.prev != previous:
            raise AnchorProblem(f"journal {entry.day}: does not follow the entry before it")
        if entry.key != fingerprint or not verify_signature(
            key,
            base64.b64decode(entry.signature),
            entry.statement,
        ):
            raise AnchorProblem(f"journal {entry.day}: the council's signature does not verify")
        day_hashes = hashes.get(entry.day, [])
        if len(day_hashes) != entry.size or merkle_root(day_hashes) != entry.root:
            raise AnchorProblem(
                f"journal {entry.day}: the seals of that day are not the ones signed"
            )
        previous = entry.hash


async def evidence_round(app: App) -> bool:
    """Time-stamps, then yesterday's root once the day has ended, by the instance that
    leads the scheduled work (one TSA request per seal, one journal writer); False when
    this instance does not lead."""
    if not await app.leader.held():
        return False
    await timestamp_seals(app)
    await journal_closed_days(app)
    return True


async def evidence_worker(app: App, stop: asyncio.Event) -> None:
    """The service's background round (`evidence_round`). Errors are logged and the round
    tried again later."""
    while not stop.is_set():
        try:
            await evidence_round(app)
        except Exception:
            log.exception("evidence worker round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=WORKER_PERIOD)


def yesterday(app: App) -> date:
    return _today(app) - timedelta(days=1)
