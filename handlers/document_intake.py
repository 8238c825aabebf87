"""A citizen's file becomes one of an appointment's documents: checked and normalised
(documents/), stored encrypted, hashed into the appointment's evidence, the clerk told.

Shared by the conversations that take files (documents: a requested one; unasked_files:
one sent unasked); it is not a conversation and imports none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.evidence import EventKind
from domain.model import Appointment, StoredDocument
from handlers import notify
from handlers.binding import withdraw_agreement
from handlers.casework import document_name, save_details
from handlers.context import Ctx
from handlers.identity_check import identity_requirement, keep_reading, prefill_form
from handlers.ports import DocumentRejected, IdentityPhoto

DAY = timedelta(hours=24)


async def receive(ctx: Ctx, appointment: Appointment, requirement: str, label: str = "") -> bool:
    """Check and store the file for `requirement` (or for the document the clerk named
    `label`); False, with the reason said, when it is refused."""
    # The identity document's photo has its machine-readable zone read (also when the
    # clerk asked for it outside the procedure's list).
    identity = bool(ctx.data.get("identity")) or (
        bool(requirement) and requirement == identity_requirement(ctx, appointment)
    )
    kept = await check_and_keep(
        ctx, appointment_id=appointment.id, requirement=requirement, read_identity=identity
    )
    if kept is None:
        return False
    await file_received(ctx, appointment, kept.document, requirement, label, kept.identity)
    return True


@dataclass(frozen=True, slots=True)
class Kept:
    """A file checked and stored, with what reading its identity zone gave, if asked."""

    document: StoredDocument
    identity: IdentityPhoto | None


async def check_and_keep(
    ctx: Ctx, *, appointment_id: int | None, requirement: str, read_identity: bool = False
) -> Kept | None:
    file = ctx.turn.file
    assert file is not None and ctx.services is not None
    quota = await _over_quota(ctx, appointment_id)
    if quota:
        ctx.say(ctx.t(f"doc.rejected.{quota}"))
        return None
    try:
        accepted = await ctx.services.documents.accept(file.data, file.name, checked=file.checked)
    except DocumentRejected as refused:
        ctx.say(ctx.t(f"doc.rejected.{refused.reason}"))
        return None
    identity = None
    if read_identity and accepted.content_type.startswith("image/"):
        # Read between units of work, in the sandbox (a PDF's zone is not read).
        identity = ctx.identity_of(accepted.sha256)
    stored = await ctx.uow.documents.add(
        user_id=ctx.user.id,
        appointment_id=appointment_id,
        requirement=requirement,
        sha256=accepted.sha256,
        filename=accepted.filename,
        content_type=accepted.content_type,
        size=accepted.size,
        pages=accepted.pages,
        warnings=accepted.warnings,
        at=ctx.now,
    )
    return Kept(stored, identity)


async def appointment_full(ctx: Ctx, appointment_id: int) -> bool:
    """The appointment has as many files as one appointment may have."""
    sent = await ctx.uow.documents.for_appointment(appointment_id)
    return len(sent) >= ctx.office.files_per_appointment


async def _over_quota(ctx: Ctx, appointment_id: int | None) -> str:
    """Which upload quota a further file would exceed ("" when none). A file sent unasked
    counts against the day's quota until the citizen says which appointment it is for."""
    if appointment_id is not None and await appointment_full(ctx, appointment_id):
        return "quota_appointment"
    if await ctx.uow.documents.count_sent(ctx.user.id, since=ctx.now - DAY) >= (
        ctx.office.files_per_day
    ):
        return "quota_day"
    return ""


async def file_received(
    ctx: Ctx,
    appointment: Appointment,
    stored: StoredDocument,
    requirement: str,
    label: str,
    identity: IdentityPhoto | None,
) -> None:
    """A file is now the appointment's: it enters the evidence, the citizen and the
    clerk are told, and an agreement already sent no longer covers everything."""
    await ctx.uow.evidence.append(
        appointment_id=appointment.id,
        reference=appointment.reference,
        kind=EventKind.DOCUMENT_RECEIVED,
        actor="citizen",
        data={
            "document": stored.id,
            "requirement": requirement,
            "sha256": stored.sha256,
            "filename": stored.filename,
            "content_type": stored.content_type,
            "size": stored.size,
            "pages": stored.pages,
            "warnings": list(stored.warnings),
            **({"label": label} if label else {}),
            **({"mrz": identity.status} if identity else {}),
        },
        at=ctx.now,
    )
    name = document_name(ctx.office, appointment, requirement, ctx.lang, label)
    ctx.say(ctx.t("doc.received", document=name, reference=appointment.reference))
    for warning in stored.warnings:
        ctx.say(ctx.t(f"doc.quality.{warning}"))
    if identity is not None:
        await _identity_read(ctx, appointment, stored.id, stored.sha256, identity)
    # A document that arrives after the summary was sent is not in what was agreed.
    appointment = await withdraw_agreement(ctx, appointment, "documents")
    await notify.staff_of_document(ctx, appointment, stored, requirement, label)


async def _identity_read(
    ctx: Ctx, appointment: Appointment, document_id: int, sha256: str, photo: IdentityPhoto
) -> None:
    """Keep what the zone said for the clerk; fill the form's number; and when the photo
    could not be read, tell the citizen what to change (the photo is kept anyway)."""
    kept = await keep_reading(ctx, appointment, document_id, sha256, photo)
    reading = photo.reading
    if reading is not None:
        differs = await prefill_form(ctx, appointment, reading)
        if differs:
            current = await ctx.uow.appointments.get(appointment.id)
            assert current is not None
            await save_details(ctx, current, mrz=kept | {"form_differs": differs})
        if not reading.valid:
            ctx.say(ctx.t("doc.mrz.retake"))
    elif photo.hint:
        ctx.say(ctx.t(f"doc.mrz.{photo.hint}"))
