"""The appointment a clerk works on in a session: who may act on it, its details, its
evidence, and how its parts are named in each language.

Shared by the session's conversations (session, session_steps, agreement, receipting)
and by notifications; it is not a conversation and imports none.
"""

from __future__ import annotations

from typing import Any

from domain.identity import InvalidIdNumber, mask_id, validate_id
from domain.model import Appointment
from domain.procedures import FormField
from handlers.context import Ctx
from handlers.i18n import format_short_day, format_time, translate
from handlers.ports import Office


async def assigned(ctx: Ctx, appointment_id: object = None) -> Appointment | None:
    """The session's appointment, only for its clerk or an administrator."""
    raw = ctx.data.get("id") if appointment_id is None else appointment_id
    if not isinstance(raw, int | str) or not str(raw).isdigit():
        return None
    appointment = await ctx.uow.appointments.get(int(raw))
    if appointment is None or not ctx.user.is_staff:
        return None
    if not ctx.user.is_admin and appointment.staff_id != ctx.user.staff_id:
        return None
    return appointment


async def owned_appointment(ctx: Ctx, raw: object) -> Appointment | None:
    """The citizen's appointment with id `raw` (an int, or its digits from a button), only
    if it is theirs: ids come from tokens, but ownership is checked again here."""
    if isinstance(raw, str) and raw.isdigit():
        raw = int(raw)
    appointment = await ctx.uow.appointments.get(raw) if isinstance(raw, int) else None
    if appointment is None or appointment.citizen_id != ctx.user.id:
        return None
    return appointment


def actor(ctx: Ctx) -> str:
    return f"staff:{ctx.user.staff_id}" if ctx.user.staff_id else "staff"


async def record(ctx: Ctx, appointment: Appointment, kind: str, data: dict[str, Any]) -> None:
    await ctx.uow.evidence.append(
        appointment_id=appointment.id,
        reference=appointment.reference,
        kind=kind,
        actor=actor(ctx),
        data=data,
        at=ctx.now,
    )


def local_day(ctx: Ctx) -> str:
    """Today in the office's time zone: the day whose journal a seal made now goes into."""
    return ctx.now.astimezone(ctx.office.tz).date().isoformat()


async def seal_chain(ctx: Ctx, appointment: Appointment) -> str | None:
    """Close the appointment's chain with a record signed with the council's key (the
    head the citizen is given); None without a key or when it is already sealed."""
    signer = ctx.services.signer if ctx.services is not None else None
    if signer is None:
        return None
    return await ctx.uow.evidence.seal(
        appointment_id=appointment.id,
        reference=appointment.reference,
        signer=signer,
        at=ctx.now,
        day=local_day(ctx),
    )


def fingerprint(ctx: Ctx, value: str) -> str:
    """A keyed fingerprint of a personal value for the evidence (never a plain hash)."""
    assert ctx.services is not None
    return ctx.services.fingerprints.of(value)


async def summary_text(ctx: Ctx, appointment: Appointment, language: str) -> str:
    """The summary the citizen is asked to agree to, from the appointment as it is now
    (rendered again when the receipt is issued: it must be the very text agreed)."""
    procedure = ctx.office.catalog.get(appointment.procedure)
    form = appointment.details.get("form", {})
    identity = appointment.details.get("identity", {})
    fields = (
        "\n".join(
            f"• {f.label.get(language)}: {shown_on_receipt(f, form[f.code], language)}"
            for f in procedure.fields
            if f.code in form
        )
        or "—"
    )
    received = await ctx.uow.documents.for_appointment(appointment.id)
    docs = (
        "\n".join(
            f"• {document_name(ctx.office, appointment, d.requirement, language)} ({d.filename})"
            for d in received
        )
        or "—"
    )
    return translate(
        language,
        "agreement.summary",
        reference=appointment.reference,
        procedure=procedure.name.get(language),
        who=appointment.citizen_name,
        id=identity.get("masked", "—"),
        fields=fields,
        documents=docs,
        clerk=runner_name(ctx.office, appointment),
        council=ctx.office.council.name,
    )


async def save_details(ctx: Ctx, appointment: Appointment, **changes: Any) -> Appointment:
    """Change some of the appointment's details. They are read again first, so that a
    step holding an older copy of the appointment never undoes another step's change."""
    current = await ctx.uow.appointments.get(appointment.id)
    details = dict((current or appointment).details)
    details.update(changes)
    return await ctx.uow.appointments.update(appointment.id, details=details)


def document_name(
    office: Office, appointment: Appointment, code: str, language: str, label: str = ""
) -> str:
    """A required document's name; for another one, the name the clerk gave it, or
    "another document"."""
    name = office.catalog.requirement_name(appointment.procedure, code, language)
    if name is not None:
        return name
    return label or translate(language, "doc.other")


def appointment_label(ctx: Ctx, appointment: Appointment) -> str:
    """An appointment as a short button label: "dl. 7 des. 10:00 · Padró"."""
    name = ctx.office.catalog.get(appointment.procedure).name.get(ctx.lang)
    local = appointment.start.astimezone(ctx.office.tz)
    when = f"{format_short_day(local.date(), ctx.lang)} {format_time(local, ctx.office.tz)}"
    return f"{when} · {name}"


def shown_value(field: FormField, value: str, language: str) -> str:
    """A form value as the citizen reads it: a choice's label, yes/no in words."""
    picked = field.choice(value)
    if picked is not None:
        return picked.label.get(language)
    if value in ("yes", "no"):
        return translate(language, f"field.{value}")
    return value


def runner(appointment: Appointment) -> str:
    """Who runs the session: whoever opened it (an administrator may cover a clerk)."""
    return str(appointment.details.get("runner") or appointment.staff_id)


def runner_name(office: Office, appointment: Appointment) -> str:
    member = office.staff_member(runner(appointment))
    return member.name if member else runner(appointment)


def id_mismatch(office: Office, appointment: Appointment) -> str:
    """The masked ID number of the form when it is not the document checked on camera
    (another number, or another kind of document); "" when they agree or one is missing."""
    identity = appointment.details.get("identity", {})
    if identity.get("status") != "verified":
        return ""
    procedure = office.catalog.find(appointment.procedure)
    form = appointment.details.get("form", {})
    for field in procedure.fields if procedure else ():
        if field.type != "id_number" or field.code not in form:
            continue
        try:
            typed = validate_id(str(form[field.code]))
        except InvalidIdNumber:
            return mask_id(str(form[field.code]))
        if typed.masked != identity.get("masked") or typed.kind.value != identity.get("kind"):
            return typed.masked
    return ""


def shown_on_receipt(field: FormField, value: str, language: str) -> str:
    """As the citizen reads it, with identity numbers masked as the identity is."""
    return mask_id(value) if field.type == "id_number" else shown_value(field, value, language)
