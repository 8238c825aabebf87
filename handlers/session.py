"""The staff-led video session: open it, the panel, and end it.

Only the clerk assigned to the appointment (or an administrator) can open or act on a
session. The panel is one message the channel updates in place where it can.
"""

from __future__ import annotations

from domain.appointments import Status, can_open_session
from domain.evidence import EventKind
from domain.model import Appointment
from handlers import choices, notify
from handlers.casework import assigned, id_mismatch, record, save_details, seal_chain
from handlers.context import Audience, Ctx, Step
from handlers.i18n import format_time
from handlers.identity_check import summary
from handlers.messages import Reply
from handlers.ports import MeetingsNotConfigured

FLOW = "session"
AUDIENCE = Audience.STAFF


async def open_session(ctx: Ctx, *, appointment_id: int) -> None:
    appointment = await assigned(ctx, appointment_id)
    if appointment is None:
        ctx.say(ctx.t("session.not_yours"))
        await ctx.go("menu")
        return
    lead = ctx.office.session_lead
    if not can_open_session(appointment.status, appointment.start, ctx.now, lead):
        opens = format_time(appointment.start - lead, ctx.office.tz)
        ctx.say(ctx.t("session.too_early", time=opens, minutes=int(lead.total_seconds() // 60)))
        await ctx.go("menu")
        return
    assert ctx.services is not None
    meetings = ctx.services.meetings
    if not appointment.room:
        appointment = await ctx.uow.appointments.update(appointment.id, room=meetings.new_room())
    try:
        citizen_link = meetings.join_url(
            appointment,
            role="citizen",
            user_id=f"citizen-{appointment.citizen_id}",
            name=appointment.citizen_name,
            now=ctx.now,
        )
    except MeetingsNotConfigured:
        ctx.say(ctx.t("session.no_video"))
        await ctx.go("menu")
        return
    first_time = appointment.status is Status.BOOKED
    if first_time:
        appointment = await ctx.uow.appointments.set_status(
            appointment.id, Status.IN_SESSION, ctx.now
        )
        await record(ctx, appointment, EventKind.SESSION_STARTED, {"room": appointment.room})
    citizen = await ctx.uow.users.get(appointment.citizen_id)
    # The link is minted again when the message is delivered (never stored): the one
    # above only showed that meetings are configured.
    del citizen_link
    await notify.queue(ctx.uow, citizen, "call_ready", appointment_id=appointment.id)
    if first_time and ctx.services.recorder.automatic:
        await start_recording(ctx, appointment)
    # Whoever opens (or takes over) the session runs it: the citizen is told their name.
    appointment = await ctx.uow.appointments.get(appointment.id) or appointment
    await save_details(ctx, appointment, runner=ctx.user.staff_id)
    ctx.end()
    ctx.data["id"] = appointment.id
    ctx.say(ctx.t("session.your_link", url=moderator_link(ctx, appointment)))
    await show_panel(ctx)


def moderator_link(ctx: Ctx, appointment: Appointment) -> str:
    assert ctx.services is not None
    return ctx.services.meetings.join_url(
        appointment,
        role="staff",
        user_id=f"staff-{ctx.user.staff_id or appointment.staff_id}",
        name=ctx.user.display_name or appointment.staff_id,
        now=ctx.now,
    )


async def send_link(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is not None:
        ctx.say(ctx.t("session.your_link", url=moderator_link(ctx, appointment)))
    await show_panel(ctx)


async def start_recording(ctx: Ctx, appointment: Appointment) -> None:
    """Asked for with the turn, done after it (bot/effects.py): a recorder that is slow
    or does not answer never holds this turn, nor anyone else's. The outcome comes back
    as `recording_outcome`."""
    await _ask_effect(ctx, appointment, "recording.start")
    await save_details(ctx, appointment, recording={"status": "starting"})


async def _ask_effect(ctx: Ctx, appointment: Appointment, kind: str) -> None:
    await ctx.uow.effects.request(
        kind=kind,
        appointment_id=appointment.id,
        channel=ctx.user.channel,
        external_id=ctx.user.external_id,
        address=ctx.user.address,
    )


async def recording_outcome(ctx: Ctx, *, appointment_id: int, kind: str, outcome: str) -> None:
    """What the recorder answered, in the conversation of the clerk who asked: written to
    the appointment and its evidence, and shown on the panel (redrawn in place)."""
    appointment = await ctx.uow.appointments.get(appointment_id)
    if appointment is None:
        return
    if kind == "recording.start" and outcome == "started":
        await save_details(ctx, appointment, recording={"status": "started"})
        await record(ctx, appointment, EventKind.RECORDING_STARTED, {"room": appointment.room})
    elif kind == "recording.start":
        await save_details(ctx, appointment, recording={"status": "failed", "reason": outcome})
        await record(ctx, appointment, EventKind.RECORDING_FAILED, {"reason": outcome})
        ctx.say(ctx.t(f"session.recording_failed.{outcome}"))
    elif outcome == "stopped":
        await record(ctx, appointment, EventKind.RECORDING_STOPPED, {})
    else:
        ctx.say(ctx.t(f"session.recording_failed.{outcome}"))
    await redraw_panel(ctx, appointment_id)


async def redraw_panel(ctx: Ctx, appointment_id: int) -> None:  # also "session.redraw"
    """The panel again, if the clerk is at it: same buttons (the ones shown keep working),
    the same message where the channel edits in place."""
    if (ctx.state.flow, ctx.state.step) != (FLOW, "panel") or ctx.data.get("id") != appointment_id:
        return
    appointment = await assigned(ctx)
    if appointment is None or appointment.status is not Status.IN_SESSION:
        return
    ctx.replies.append(
        Reply(
            text=await panel_text(ctx, appointment),
            choices=choices.current(ctx.state),
            columns=3,
            panel=f"session:{appointment.reference}",
        )
    )


def _tick(done: bool) -> str:
    return "✔" if done else "✘"


async def panel_text(ctx: Ctx, appointment: Appointment) -> str:
    assert ctx.services is not None
    procedure = ctx.office.catalog.get(appointment.procedure)
    details = appointment.details
    identity = details.get("identity", {})
    mrz = details.get("mrz") or {}
    status = identity.get("status")
    if status in ("verified", "mismatch"):
        id_line = ctx.t(
            f"panel.identity_{'ok' if status == 'verified' else 'failed'}",
            kind=ctx.t(f"identity.kind.{identity['kind']}"),
            masked=identity["masked"],
        )
        if status == "verified":
            id_line += " · " + ctx.t(f"panel.identity_path.{identity.get('path', 'sight')}")
    else:
        id_line = ctx.t("panel.pending")
    if mrz and status != "verified":
        # What the identity photo's zone said, before the clerk validates.
        id_line += " · " + ctx.t("panel.identity_read", summary=summary(ctx, mrz))
    differs = id_mismatch(ctx.office, appointment)
    if differs:
        id_line += "\n" + ctx.t("panel.id_differs", form=differs)
    received = {d.requirement for d in await ctx.uow.documents.for_appointment(appointment.id)}
    docs = (
        " · ".join(
            f"{_tick(d.code in received)} {d.name.get(ctx.lang)}" for d in procedure.documents
        )
        or "—"
    )
    extra = len([r for r in received if not r])
    if extra:
        docs += " · " + ctx.t("panel.other_documents", count=extra)
    form = details.get("form", {})
    agreement_details = details.get("agreement", {})
    agreement = agreement_details.get("status", "")
    recording = details.get("recording", {}).get("status", "")
    receipt = details.get("receipt", "") or (
        ctx.t("panel.receipt_preparing") if details.get("receipt_pending") else ""
    )
    return ctx.t(
        "panel.text",
        reference=appointment.reference,
        procedure=procedure.name.get(ctx.lang),
        who=appointment.citizen_name or ctx.t("staff.unnamed"),
        time=format_time(appointment.start, ctx.office.tz),
        recording=ctx.t(f"panel.recording.{recording or 'none'}"),
        identity=id_line,
        documents=docs,
        filled=len([f for f in procedure.fields if f.code in form]),
        fields=len(procedure.fields),
        agreement=ctx.t(
            f"panel.agreement.{agreement or 'none'}",
            because=ctx.t(f"panel.changed.{agreement_details.get('because', 'data')}"),
        ),
        receipt=receipt or "—",
    )


async def show_panel(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is None:
        ctx.end()
        await ctx.go("menu")
        return
    if appointment.status is not Status.IN_SESSION:
        ctx.say(ctx.t("session.closed", reference=appointment.reference))
        ctx.end()
        await ctx.go("menu")
        return
    options = [
        ("identity", ctx.t("panel.do.identity")),
        ("documents", ctx.t("panel.do.documents")),
        ("data", ctx.t("panel.do.data")),
        ("agreement", ctx.t("panel.do.agreement")),
        ("receipt", ctx.t("panel.do.receipt")),
        ("end", ctx.t("panel.do.end")),
        ("refresh", ctx.t("panel.do.refresh")),
        ("link", ctx.t("panel.do.link")),
    ]
    ctx.ask(
        await panel_text(ctx, appointment),
        options,
        flow=FLOW,
        step="panel",
        back=False,
        cancel=False,
        columns=3,
        panel=f"session:{appointment.reference}",
    )


# What each of the panel's buttons hands over to.
PANEL_ACTIONS = {
    "identity": "session.identity",
    "documents": "session.documents",
    "data": "session.data",
    "agreement": "session.agreement",
    "receipt": "session.receipt",
    "end": "session.end",
    "refresh": "session.panel",
    "link": "session.link",
}


async def on_panel(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is None:
        ctx.say(ctx.t("session.not_yours"))
        ctx.end()
        await ctx.go("menu")
        return
    await ctx.go(PANEL_ACTIONS[ctx.choice or ""])


async def ask_end(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is None:
        await show_panel(ctx)
        return
    key = "session.end_confirm" if appointment.details.get("receipt") else "session.end_no_receipt"
    text = ctx.t(key, reference=appointment.reference)
    if appointment.details.get("recording", {}).get("status") in ("started", "starting"):
        text += " " + ctx.t("session.end_stops_recording")
    ctx.ask(
        text,
        [("yes", ctx.t("session.end_yes")), ("no", ctx.t("session.end_no"))],
        flow=FLOW,
        step="end",
        back=False,
        cancel=False,
    )


async def on_end(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is None or ctx.choice != "yes":
        await show_panel(ctx)
        return
    assert ctx.services is not None
    ended = await ctx.uow.appointments.set_status(appointment.id, Status.COMPLETED, ctx.now)
    if appointment.details.get("recording", {}).get("status") in ("started", "starting"):
        await _ask_effect(ctx, ended, "recording.stop")  # after the start, if still pending
    await record(ctx, ended, EventKind.SESSION_ENDED, {})
    head = await seal_chain(ctx, ended)
    citizen = await ctx.uow.users.get(ended.citizen_id)
    await notify.said(
        ctx.uow,
        citizen,
        "session.ended_citizen",
        {"reference": ended.reference},
        dedupe_key=f"ended:{ended.reference}",
    )
    if head is not None:
        # The citizen keeps the signed head: any later rewrite of the chain loses it.
        await notify.said(
            ctx.uow,
            citizen,
            "session.head_citizen",
            {"reference": ended.reference, "head": head},
            dedupe_key=f"head:{ended.reference}",
        )
    await notify.survey_after(ctx, ended)
    ctx.say(ctx.t("session.ended", reference=ended.reference))
    ctx.end()
    await ctx.go("staff.agenda")


STEPS = {
    "panel": Step(enter=show_panel, handle=on_panel),
    "end": Step(enter=ask_end, handle=on_end, back="panel"),
}
ENTRIES = {
    "session.open": open_session,
    "session.panel": show_panel,
    "session.end": ask_end,
    "session.link": send_link,
    "session.recording_outcome": recording_outcome,
    "session.redraw": redraw_panel,
}
