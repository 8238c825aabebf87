"""The agreement is bound to what was shown: once the summary has been sent, any change to
the identity, the documents or the application data withdraws it.

The panel then says "not sent" (and why), the citizen's pending question is taken back
(their conversation leaves the agreement step) and they are told a new summary will come,
and the evidence records the withdrawal. Shared by the session's steps and the citizen's
documents; not a conversation.
"""

from __future__ import annotations

from domain.evidence import EventKind
from domain.model import Appointment
from handlers import notify
from handlers.casework import actor, save_details
from handlers.context import Ctx
from handlers.i18n import translate

AGREE_FLOW = "agree"  # handlers/agreement.py's FLOW (conversations do not import each other)
CHANGES = ("identity", "documents", "data")


async def withdraw_agreement(ctx: Ctx, appointment: Appointment, because: str) -> Appointment:
    """Withdraw a sent or given agreement after a change of kind ``because`` (one of
    CHANGES). Nothing happens when none is pending or given, or the receipt is issued."""
    assert because in CHANGES
    agreement = appointment.details.get("agreement") or {}
    status = agreement.get("status")
    if status not in ("pending", "agreed") or appointment.details.get("receipt"):
        return appointment
    withdrawn = {
        "status": "withdrawn",
        "because": because,
        "was": status,
        "sha256": agreement.get("sha256", ""),
        "at": ctx.now.isoformat(),
    }
    appointment = await save_details(ctx, appointment, agreement=withdrawn)
    await ctx.uow.evidence.append(
        appointment_id=appointment.id,
        reference=appointment.reference,
        kind=EventKind.AGREEMENT_WITHDRAWN,
        actor="citizen" if ctx.user.id == appointment.citizen_id else actor(ctx),
        data={"summary_sha256": withdrawn["sha256"], "because": because, "was": status},
        at=ctx.now,
    )
    await _take_back_question(ctx, appointment)
    return appointment


async def _take_back_question(ctx: Ctx, appointment: Appointment) -> None:
    citizen = await ctx.uow.users.get(appointment.citizen_id)
    if ctx.user.id == citizen.id:  # the citizen's own turn: their state is the turn's
        if ctx.state.flow == AGREE_FLOW:
            ctx.end()
        ctx.say(translate(citizen.language, "agreement.withdrawn", reference=appointment.reference))
        return
    state = await ctx.uow.conversations.load(citizen.id)
    if state.flow == AGREE_FLOW and state.data.get("id") == appointment.id:
        state.flow, state.step, state.data = "", "", {}
        await ctx.uow.conversations.save(citizen.id, state)
    await notify.said(ctx.uow, citizen, "agreement.withdrawn", {"reference": appointment.reference})
