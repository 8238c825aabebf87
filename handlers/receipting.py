"""The receipt (Ley 39/2015 art. 16.3): registry entry number from the official clock,
gap-free per year, a CSV verification code, the PDF sent to the citizen in the chat."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from domain.evidence import EventKind
from domain.model import Appointment, IssuedReceipt
from domain.receipts import LANGUAGES, Language, Receipt, format_entry_number, new_csv_code
from handlers import notify
from handlers.binding import withdraw_agreement
from handlers.casework import (
    assigned,
    document_name,
    record,
    runner_name,
    save_details,
    shown_on_receipt,
    summary_text,
)
from handlers.context import Ctx
from handlers.i18n import catalog, official_time, translate
from handlers.ports import Office, Services, UnitOfWork


def receipt_language(language: str) -> Language:
    for known in LANGUAGES:
        if known == language:
            return known
    return "ca"


def receipt_labels(language: str, timezone: str) -> dict[str, str]:
    prefix = "receipt."
    labels = {k[len(prefix) :]: v for k, v in catalog(language).items() if k.startswith(prefix)}
    labels["official_time"] = official_time(language, timezone)
    return labels


async def issue_receipt(ctx: Ctx) -> None:
    """The clerk asks for the receipt. Its number, PDF and seal are made after this turn,
    by the side-effects worker (bot/effects.py): the number in a short transaction of its
    own, the PDF outside any; the outcome comes back as `receipt_outcome`."""
    appointment = await assigned(ctx)
    if appointment is None:
        await ctx.go("session.panel")
        return
    if appointment.details.get("receipt"):
        ctx.say(ctx.t("receipt_issue.already", entry=appointment.details["receipt"]))
    elif appointment.details.get("agreement", {}).get("status") != "agreed":
        ctx.say(ctx.t("receipt_issue.needs_agreement"))
    elif not await still_what_was_agreed(ctx, appointment):
        # Something changed without passing through the steps that withdraw (e.g. the
        # database was edited): the receipt would certify what the citizen never saw.
        await withdraw_agreement(ctx, appointment, "data")
        ctx.say(ctx.t("receipt_issue.summary_changed"))
    elif appointment.details.get("receipt_pending"):
        ctx.say(ctx.t("receipt_issue.preparing"))
    else:
        await ctx.uow.effects.request(
            kind=RECEIPT_EFFECT,
            appointment_id=appointment.id,
            channel=ctx.user.channel,
            external_id=ctx.user.external_id,
            address=ctx.user.address,
        )
        await save_details(ctx, appointment, receipt_pending=True)
        ctx.say(ctx.t("receipt_issue.preparing"))
    await ctx.go("session.panel")


async def still_what_was_agreed(ctx: Ctx, appointment: Appointment) -> bool:
    """Whether the summary rendered from the data as they are now is, byte for byte, the
    text the citizen agreed to."""
    agreement = appointment.details.get("agreement", {})
    text = await summary_text(ctx, appointment, str(agreement.get("language", "")))
    return hashlib.sha256(text.encode("utf-8")).hexdigest() == agreement.get("sha256")


async def reserve_number(
    uow: UnitOfWork, office: Office, appointment: Appointment, now: datetime
) -> IssuedReceipt:
    """The next registry entry number, held by a receipt row not yet finished (no PDF).
    Committed at once by the caller, in a transaction of its own: the counter's lock is
    held for two statements, never while a PDF is made; a number taken is never lost,
    since a failed PDF is made again for the same row."""
    citizen = await uow.users.get(appointment.citizen_id)
    registered_at = now.astimezone(office.tz)
    year = registered_at.year
    sequence = await uow.receipts.next_sequence(year)
    return await uow.receipts.add(
        appointment_id=appointment.id,
        year=year,
        sequence=sequence,
        entry_number=format_entry_number(office.registry_prefix, year, sequence),
        csv_code=new_csv_code(),
        sha256="",
        registered_at=registered_at,
        language=citizen.language,
    )


async def draft_receipt(
    uow: UnitOfWork,
    office: Office,
    services: Services,
    appointment: Appointment,
    issued: IssuedReceipt,
) -> tuple[Receipt, dict[str, str]]:
    """What the receipt says, read from the appointment as it is (reads only)."""
    language = issued.language
    procedure = office.catalog.get(appointment.procedure)
    details = appointment.details
    form = details.get("form", {})
    received = await uow.documents.for_appointment(appointment.id)
    agreement: dict[str, Any] = details["agreement"]
    receipt = Receipt(
        entry_number=issued.entry_number,
        registered_at=issued.registered_at.astimezone(office.tz),
        language=receipt_language(language),
        council_name=office.council.name,
        council_address=office.council.address,
        logo=services.receipts.logo,
        citizen_name=appointment.citizen_name,
        citizen_id_masked=details.get("identity", {}).get("masked", "—"),
        procedure_name=procedure.name.get(language),
        reference=appointment.reference,
        application=tuple(
            (f.label.get(language), shown_on_receipt(f, form[f.code], language))
            for f in procedure.fields
            if f.code in form
        ),
        documents=tuple(
            (
                f"{document_name(office, appointment, d.requirement, language)} ({d.filename})",
                d.sha256,
            )
            for d in received
        ),
        agreement_text_sha256=agreement["sha256"],
        agreed_at=datetime.fromisoformat(agreement["at"]),
        clerk_name=runner_name(office, appointment),
        csv_code=issued.csv_code,
        verify_url=services.receipts.verify_url(issued.csv_code),
        agreement_statement=translate(language, "agreement.statement"),
        timezone=str(office.tz),
    )
    return receipt, receipt_labels(language, str(office.tz))


async def receipt_outcome(
    ctx: Ctx,
    *,
    appointment_id: int,
    kind: str,
    outcome: str,
    entry: str = "",
    csv: str = "",
    sha256: str = "",
) -> None:
    """The receipt made after the turn, in the conversation of the clerk who asked: the
    row finished, the evidence, the PDF sent to the citizen, the panel redrawn."""
    appointment = await ctx.uow.appointments.get(appointment_id)
    if appointment is None:
        return
    if outcome == "issued" and appointment.details.get("receipt") != entry:
        await ctx.uow.receipts.complete(appointment.id, sha256)
        appointment = await save_details(ctx, appointment, receipt=entry, receipt_pending=False)
        await record(
            ctx,
            appointment,
            EventKind.RECEIPT_ISSUED,
            {"entry_number": entry, "sha256": sha256, "csv": csv},
        )
        citizen = await ctx.uow.users.get(appointment.citizen_id)
        await notify.queue(
            ctx.uow,
            citizen,
            "receipt",
            {
                "entry": entry,
                "code": csv,
                "sha256": sha256,
                "name": f"{entry.replace('/', '-')}.pdf",
            },
            dedupe_key=f"receipt:{entry}",
        )
        ctx.say(ctx.t("receipt_issue.done", entry=entry))
    elif outcome == "withdrawn":
        await save_details(ctx, appointment, receipt_pending=False)
        ctx.say(ctx.t("receipt_issue.summary_changed"))
    elif outcome != "issued":
        await save_details(ctx, appointment, receipt_pending=False)
    await ctx.go("session.redraw", appointment_id=appointment_id)


RECEIPT_EFFECT = "receipt.issue"
ENTRIES = {"session.receipt": issue_receipt, "session.receipt_outcome": receipt_outcome}
