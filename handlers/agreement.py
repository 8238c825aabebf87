"""The citizen's agreement: staff send the summary, the citizen taps I agree / I do not.

The exact text shown is stored (encrypted, by its SHA-256) and its hash goes into the
evidence, so what the citizen agreed to can be proved later, word for word.
"""

from __future__ import annotations

import hashlib

from domain.appointments import Status
from domain.evidence import EventKind
from domain.model import Appointment
from handlers import notify
from handlers.casework import (
    assigned,
    fingerprint,
    record,
    runner,
    save_details,
    summary_text,
)
from handlers.context import Audience, Ctx, Step

FLOW = "agree"
AUDIENCE = Audience.CITIZEN


async def send_for_agreement(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is None:
        await ctx.go("session.panel")
        return
    procedure = ctx.office.catalog.get(appointment.procedure)
    form = appointment.details.get("form", {})
    missing = [f.label.get(ctx.lang) for f in procedure.fields if f.required and f.code not in form]
    if appointment.details.get("identity", {}).get("status") != "verified":
        ctx.say(ctx.t("agreement.needs_identity"))
    elif missing:
        ctx.say(ctx.t("agreement.needs_fields", fields=", ".join(missing)))
    else:
        await _send(ctx, appointment)
    await ctx.go("session.panel")


async def _send(ctx: Ctx, appointment: Appointment) -> None:
    assert ctx.services is not None
    citizen = await ctx.uow.users.get(appointment.citizen_id)
    text = await summary_text(ctx, appointment, citizen.language)
    data = text.encode("utf-8")
    digest = await ctx.services.documents.store(data)
    assert digest == hashlib.sha256(data).hexdigest()
    await notify.prompt(
        ctx.uow,
        citizen,
        "agreement",
        {"sha256": digest},
        flow=FLOW,
        step="decide",
        data={"id": appointment.id, "sha256": digest},
        options=[("agree", "agreement.agree"), ("decline", "agreement.decline")],
        appointment_id=appointment.id,
    )
    agreement = {
        "status": "pending",
        "sha256": digest,
        "sent_at": ctx.now.isoformat(),
        "language": citizen.language,
    }
    await save_details(ctx, appointment, agreement=agreement)
    # The stored text is named by its SHA-256 (it is a file of the bundle); the keyed
    # fingerprint commits to it without letting anyone guess it from the records alone.
    await record(
        ctx,
        appointment,
        EventKind.SUMMARY_SENT,
        {"sha256": digest, "text": fingerprint(ctx, text), "language": citizen.language},
    )
    ctx.say(ctx.t("agreement.sent"))


async def ask_decision(ctx: Ctx) -> None:
    ctx.ask(
        ctx.t("agreement.reask"),
        [("agree", ctx.t("agreement.agree")), ("decline", ctx.t("agreement.decline"))],
        flow=FLOW,
        step="decide",
        back=False,
        cancel=False,
    )


async def on_decision(ctx: Ctx) -> None:
    appointment = await ctx.uow.appointments.get(int(ctx.data.get("id", 0)))
    agreement = appointment.details.get("agreement", {}) if appointment else {}
    current = (
        appointment is not None
        and appointment.citizen_id == ctx.user.id
        and appointment.status is Status.IN_SESSION
        and agreement.get("status") == "pending"
        and agreement.get("sha256") == ctx.data.get("sha256")
    )
    if not current or appointment is None:
        ctx.say(ctx.t("error.stale"))
        ctx.end()
        await ctx.go("menu")
        return
    agreed = ctx.choice == "agree"
    agreement = {
        **agreement,
        "status": "agreed" if agreed else "declined",
        "at": ctx.now.isoformat(),
    }
    details = {**appointment.details, "agreement": agreement}
    await ctx.uow.appointments.update(appointment.id, details=details)
    await ctx.uow.evidence.append(
        appointment_id=appointment.id,
        reference=appointment.reference,
        kind=EventKind.CITIZEN_AGREED if agreed else EventKind.CITIZEN_DECLINED,
        actor="citizen",
        data={"summary_sha256": agreement["sha256"], "channel": ctx.user.channel},
        at=ctx.now,
    )
    ctx.say(ctx.t("agreement.thanks" if agreed else "agreement.declined"))
    key = "notify.staff_agreed" if agreed else "notify.staff_declined"
    await notify.to_clerk(
        ctx.uow,
        runner(appointment),
        "said",
        {"key": key, "values": {"reference": appointment.reference}},
    )
    ctx.end()


# The citizen is held at the question: cancel or menu would leave the clerk waiting.
STEPS = {"decide": Step(enter=ask_decision, handle=on_decision, hold=True)}
ENTRIES = {"session.agreement": send_for_agreement}
