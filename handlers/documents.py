"""Citizens send documents: photographed now at the clerk's request, or ahead of the call.

Each file is checked and normalised (documents/), stored encrypted, attached to the
appointment and hashed into its evidence; the clerk is told at once.
"""

from __future__ import annotations

from domain.appointments import Status
from domain.evidence import EventKind
from domain.model import Appointment
from handlers import notify
from handlers.binding import withdraw_agreement
from handlers.casework import document_name, save_details
from handlers.context import Audience, Ctx, Step, Takes
from handlers.identity_check import identity_requirement, keep_reading, prefill_form
from handlers.ports import DocumentRejected, IdentityPhoto

FLOW = "upload"
AUDIENCE = Audience.CITIZEN


async def _requested_for(ctx: Ctx) -> Appointment | None:
    """The citizen's appointment the awaited document is for, if it is still theirs."""
    raw = ctx.data.get("id")
    appointment = await ctx.uow.appointments.get(raw) if isinstance(raw, int) else None
    if appointment is None or appointment.citizen_id != ctx.user.id:
        return None
    return appointment


async def ask_upload(ctx: Ctx) -> None:
    appointment = await _requested_for(ctx)
    if appointment is None:
        ctx.say(ctx.t("my.not_found"))
        ctx.end()
        await ctx.go("menu")
        return
    code = str(ctx.data.get("requirement", ""))
    name = document_name(ctx.office, appointment, code, ctx.lang, str(ctx.data.get("label", "")))
    ctx.ask(ctx.t("doc.please_send", document=name), [], flow=FLOW, step="file", back=False)


async def on_upload(ctx: Ctx) -> None:
    appointment = await _requested_for(ctx)
    if appointment is None:
        await ask_upload(ctx)
        return
    if ctx.turn.file is None:
        ctx.say(ctx.t("doc.send_as_photo"))
        await ask_upload(ctx)
        return
    requirement = str(ctx.data.get("requirement", ""))
    if await receive(ctx, appointment, requirement, str(ctx.data.get("label", ""))):
        ctx.end()
    else:
        await ask_upload(ctx)


async def receive_ahead(ctx: Ctx) -> None:
    """A file sent outside a request: attach it to the citizen's next appointment."""
    mine = await ctx.uow.appointments.for_citizen(ctx.user.id, active_only=True)
    if not mine:
        ctx.say(ctx.t("error.file_not_expected"))
        return
    current = [a for a in mine if a.status is Status.IN_SESSION]
    await receive(ctx, (current or mine)[0], "")


async def receive(ctx: Ctx, appointment: Appointment, requirement: str, label: str = "") -> bool:
    """Check and store the file for `requirement` (or for the document the clerk named
    `label`); False, with the reason said, when it is refused."""
    file = ctx.turn.file
    assert file is not None and ctx.services is not None
    # The identity document's photo has its machine-readable zone read (also when the
    # clerk asked for it outside the procedure's list).
    identity = bool(ctx.data.get("identity")) or (
        bool(requirement) and requirement == identity_requirement(ctx, appointment)
    )
    try:
        accepted = await ctx.services.documents.accept(file.data, file.name, read_identity=identity)
    except DocumentRejected as refused:
        ctx.say(ctx.t(f"doc.rejected.{refused.reason}"))
        return False
    stored = await ctx.uow.documents.add(
        user_id=ctx.user.id,
        appointment_id=appointment.id,
        requirement=requirement,
        sha256=accepted.sha256,
        filename=accepted.filename,
        content_type=accepted.content_type,
        size=accepted.size,
        pages=accepted.pages,
        warnings=accepted.warnings,
        at=ctx.now,
    )
    await ctx.uow.evidence.append(
        appointment_id=appointment.id,
        reference=appointment.reference,
        kind=EventKind.DOCUMENT_RECEIVED,
        actor="citizen",
        data={
            "document": stored.id,
            "requirement": requirement,
            "sha256": accepted.sha256,
            "filename": accepted.filename,
            "content_type": accepted.content_type,
            "size": accepted.size,
            "pages": accepted.pages,
            "warnings": list(accepted.warnings),
            **({"label": label} if label else {}),
            **({"mrz": accepted.identity.status} if accepted.identity else {}),
        },
        at=ctx.now,
    )
    name = document_name(ctx.office, appointment, requirement, ctx.lang, label)
    ctx.say(ctx.t("doc.received", document=name, reference=appointment.reference))
    for warning in accepted.warnings:
        ctx.say(ctx.t(f"doc.quality.{warning}"))
    if accepted.identity is not None:
        await _identity_read(ctx, appointment, stored.id, accepted.sha256, accepted.identity)
    # A document that arrives after the summary was sent is not in what was agreed.
    appointment = await withdraw_agreement(ctx, appointment, "documents")
    await notify.staff_of_document(ctx, appointment, stored, requirement, label)
    return True


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


STEPS = {"file": Step(enter=ask_upload, handle=on_upload, takes=Takes.FILE)}
ENTRIES = {"upload.ahead": receive_ahead}
