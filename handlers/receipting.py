"""The receipt (Ley 39/2015 art. 16.3): registry entry number from the official clock,
gap-free per year, a CSV verification code, the PDF sent to the citizen in the chat."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from domain.evidence import EventKind
from domain.model import Appointment
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
    else:
        entry = await _issue(ctx, appointment.id)
        ctx.say(ctx.t("receipt_issue.done", entry=entry))
    await ctx.go("session.panel")


async def still_what_was_agreed(ctx: Ctx, appointment: Appointment) -> bool:
    """Whether the summary rendered from the data as they are now is, byte for byte, the
    text the citizen agreed to."""
    agreement = appointment.details.get("agreement", {})
    text = await summary_text(ctx, appointment, str(agreement.get("language", "")))
    return hashlib.sha256(text.encode("utf-8")).hexdigest() == agreement.get("sha256")


async def _issue(ctx: Ctx, appointment_id: int) -> str:
    assert ctx.services is not None
    appointment = await ctx.uow.appointments.get(appointment_id)
    assert appointment is not None
    citizen = await ctx.uow.users.get(appointment.citizen_id)
    language = citizen.language
    procedure = ctx.office.catalog.get(appointment.procedure)
    details = appointment.details
    registered_at = ctx.now.astimezone(ctx.office.tz)
    year = registered_at.year
    sequence = await ctx.uow.receipts.next_sequence(year)
    entry = format_entry_number(ctx.office.registry_prefix, year, sequence)
    csv_code = new_csv_code()
    form = details.get("form", {})
    received = await ctx.uow.documents.for_appointment(appointment.id)
    agreement: dict[str, Any] = details["agreement"]
    receipt = Receipt(
        entry_number=entry,
        registered_at=registered_at,
        language=receipt_language(language),
        council_name=ctx.office.council.name,
        council_address=ctx.office.council.address,
        logo=ctx.services.receipts.logo,
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
                f"{document_name(ctx.office, appointment, d.requirement, language)} ({d.filename})",
                d.sha256,
            )
            for d in received
        ),
        agreement_text_sha256=agreement["sha256"],
        agreed_at=datetime.fromisoformat(agreement["at"]),
        clerk_name=runner_name(ctx.office, appointment),
        csv_code=csv_code,
        verify_url=ctx.services.receipts.verify_url(csv_code),
        agreement_statement=translate(language, "agreement.statement"),
        timezone=str(ctx.office.tz),
    )
    pdf = await ctx.services.receipts.render(receipt, receipt_labels(language, str(ctx.office.tz)))
    digest = await ctx.services.documents.store(pdf)
    await ctx.uow.receipts.add(
        appointment_id=appointment.id,
        year=year,
        sequence=sequence,
        entry_number=entry,
        csv_code=csv_code,
        sha256=digest,
        registered_at=registered_at,
        language=language,
    )
    await save_details(ctx, appointment, receipt=entry)
    await record(
        ctx,
        appointment,
        EventKind.RECEIPT_ISSUED,
        {"entry_number": entry, "sha256": digest, "csv": csv_code},
    )
    await notify.queue(
        ctx.uow,
        citizen,
        "receipt",
        {
            "entry": entry,
            "code": csv_code,
            "sha256": digest,
            "name": f"{entry.replace('/', '-')}.pdf",
        },
        dedupe_key=f"receipt:{entry}",
    )
    return entry


ENTRIES = {"session.receipt": issue_receipt}
