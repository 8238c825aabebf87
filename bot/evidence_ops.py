"""Operator tasks on an appointment's evidence: verify, export, ingest a recording, and
print a room link. Used by the CLI (`videotramit evidence|recording|room-link`)."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import App
from domain.appointments import Status, is_active
from domain.evidence import EventKind, EvidenceRecord, verify_chain
from domain.model import Appointment
from domain.references import normalise_reference
from jitsi.ingest import IngestError, parse_recording_dir, stream_sha256
from storage.blobs import BlobCorrupted, BlobNotFound

# Records whose data["sha256"] names a stored file (other kinds may carry a fingerprint of
# a value, e.g. data_filled, which is not a file).
FILE_KINDS = frozenset(
    {
        EventKind.DOCUMENT_RECEIVED.value,
        EventKind.SUMMARY_SENT.value,
        EventKind.RECEIPT_ISSUED.value,
        EventKind.RECORDING_INGESTED.value,
    }
)


class OperationFailed(Exception):
    """A clear, expected failure for the operator (exit 1)."""


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    records: int
    files: int
    problem: str = ""
    seals: int = 0
    key_fingerprint: str = ""
    notes: tuple[str, ...] = ()


def referenced_files(records: list[EvidenceRecord]) -> dict[str, int]:
    """Stored files the chain refers to: sha256 -> first record that names it."""
    found: dict[str, int] = {}
    for record in records:
        sha = record.data.get("sha256")
        if record.kind in FILE_KINDS and isinstance(sha, str):
            found.setdefault(sha, record.seq)
    return found


async def find(app: App, reference: str) -> Appointment:
    canonical = normalise_reference(reference)
    async with app.uow() as uow:
        appointment = await uow.appointments.by_reference(canonical) if canonical else None
    if appointment is None:
        raise OperationFailed(f"no appointment with reference {reference!r}")
    return appointment


async def load_records(app: App, appointment: Appointment) -> list[EvidenceRecord]:
    async with app.uow() as uow:
        return await uow.evidence.records(appointment.id, appointment.reference)


async def _stored_hash(app: App, sha256: str) -> str:
    digest = hashlib.sha256()
    async for chunk in app.storage.blobs.open_decrypted(sha256):
        digest.update(chunk)
    return digest.hexdigest()


async def verify_reference(app: App, reference: str, key: bytes | None = None) -> Check:
    """The chain, every referenced file (decrypted and hashed), then the seals: each
    signature with ``key`` (else the configured council key), the seals table and every
    signed daily root of the journal."""
    from bot.evidence_anchor import check_in_database
    from storage.bundle_seals import AnchorProblem

    appointment = await find(app, reference)
    records = await load_records(app, appointment)
    chain = verify_chain(records)
    if not chain.ok:
        return Check(False, len(records), 0, chain.reason or "the chain is broken")
    files = referenced_files(records)
    for sha, seq in files.items():
        try:
            actual = await _stored_hash(app, sha)
        except BlobNotFound:
            return Check(False, len(records), len(files), f"file {sha} (record {seq}) is missing")
        except BlobCorrupted:
            return Check(
                False, len(records), len(files), f"file {sha} (record {seq}): content altered"
            )
        if actual != sha:
            return Check(
                False, len(records), len(files), f"file {sha} (record {seq}): content altered"
            )
    try:
        report = await check_in_database(app, appointment, records, key)
    except AnchorProblem as problem:
        return Check(False, len(records), len(files), str(problem))
    return Check(
        True,
        len(records),
        len(files),
        seals=report.seals,
        key_fingerprint=report.key_fingerprint,
        notes=tuple(report.notes),
    )


CLOSED = frozenset({Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW})


async def seal_if_closed(app: App, appointment: Appointment) -> str | None:
    """Seal what a closed appointment's chain gained after its last seal (a late webhook
    from Jibri, say), so a bundle ends signed; nothing when open, sealed or keyless."""
    signer = app.services.signer
    if signer is None or appointment.status not in CLOSED:
        return None
    now = app.clock.now()
    async with app.uow() as uow:
        head = await uow.evidence.seal(
            appointment_id=appointment.id,
            reference=appointment.reference,
            signer=signer,
            at=now,
            day=now.astimezone(app.settings.tz).date().isoformat(),
        )
        await uow.commit()
    return head


async def export_reference(app: App, reference: str, out: Path) -> dict[str, Any]:
    from bot.evidence_anchor import anchors_for
    from storage.evidence_bundle import BundleError, export_bundle

    appointment = await find(app, reference)
    await seal_if_closed(app, appointment)
    records = await load_records(app, appointment)
    anchors = await anchors_for(app, appointment) if app.services.signer else None
    with tempfile.TemporaryDirectory(prefix="vt-export-") as folder:
        files: dict[str, Path | bytes] = {}
        for sha in referenced_files(records):
            path = Path(folder) / sha
            try:
                await app.storage.blobs.get_to_path(sha, path)
            except (BlobNotFound, BlobCorrupted) as exc:
                raise OperationFailed(
                    f"file {sha} cannot be read: {exc.__class__.__name__}"
                ) from exc
            files[sha] = path
        try:
            return await asyncio.to_thread(
                export_bundle,
                records,
                files,
                out,
                note_language=appointment.language,
                anchors=anchors,
            )
        except BundleError as exc:
            raise OperationFailed(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class Ingested:
    reference: str
    sha256: str
    size: int
    already: bool


async def ingest_recording(app: App, directory: Path) -> Ingested:
    """Jibri's finalize step: hash the video, store it encrypted, append the evidence.
    Running it twice on the same directory changes nothing the second time."""
    try:
        recording = parse_recording_dir(directory, tz=app.settings.tz)
    except IngestError as exc:
        raise OperationFailed(f"{directory}: {exc}") from exc
    async with app.uow() as uow:
        appointment = await uow.appointments.by_room(recording.room)
    if appointment is None:
        raise OperationFailed(f"no appointment has the room {recording.room!r}; nothing was stored")
    sha = await asyncio.to_thread(stream_sha256, recording.video_path)
    size = recording.video_path.stat().st_size
    if appointment.details.get("recording", {}).get("sha256") == sha:
        return Ingested(appointment.reference, sha, size, already=True)
    stored = await app.storage.blobs.put_file(recording.video_path)
    if stored != sha:
        raise OperationFailed("the video changed while it was being stored; run ingest again")
    data = {
        "sha256": sha,
        "size": size,
        "filename": recording.video_path.name,
        "started_at": recording.started_at.isoformat(),
        "participants": len(recording.participants),
        "session": recording.session_id,
    }
    async with app.uow() as uow:
        current = await uow.appointments.get(appointment.id)
        assert current is not None
        details = dict(current.details)
        details["recording"] = {**details.get("recording", {}), "status": "ingested", **data}
        await uow.appointments.update(current.id, details=details)
        await uow.evidence.append(
            appointment_id=current.id,
            reference=current.reference,
            kind=EventKind.RECORDING_INGESTED,
            actor="jibri",
            data=data,
            at=app.clock.now(),
        )
        # The recording arrives after the session was sealed: seal the chain again.
        if app.services.signer is not None:
            now = app.clock.now()
            await uow.evidence.seal(
                appointment_id=current.id,
                reference=current.reference,
                signer=app.services.signer,
                at=now,
                day=now.astimezone(app.settings.tz).date().isoformat(),
            )
        await uow.commit()
    return Ingested(appointment.reference, sha, size, already=False)


async def room_link(app: App, reference: str, role: str, user: str) -> str:
    """A join link for an appointment that can still be opened; a moderator's only for
    the clerk it is assigned to or an administrator. Valid in the same window as the
    bot's links (never before the session's opening window)."""
    appointment = await find(app, reference)
    if not is_active(appointment.status):
        raise OperationFailed(
            f"{reference} is {appointment.status}: only a booked or running session has links"
        )
    member = None
    if role == "staff":
        staff_id = user or appointment.staff_id
        member = app.office.staff_member(staff_id)
        if member is None:
            raise OperationFailed(f"no staff member with id {staff_id!r} is configured")
        if member.id != appointment.staff_id and not member.is_admin:
            raise OperationFailed(
                f"{member.id} is not assigned to {reference} (its clerk is"
                f" {appointment.staff_id}) and is not an administrator"
            )
    async with app.uow() as uow:
        if not appointment.room:
            appointment = await uow.appointments.update(
                appointment.id, room=app.services.meetings.new_room()
            )
            await uow.commit()
    if member is not None:
        user_id, name = f"staff-{member.id}", member.name
    else:
        user_id, name = user or f"citizen-{appointment.citizen_id}", appointment.citizen_name
    return app.services.meetings.join_url(
        appointment, role=role, user_id=user_id, name=name, now=app.clock.now()
    )
