"""The staff-led video session: open it, the panel, and end it.

Only the clerk assigned to the appointment (or an administrator) can open or act on a
session. The panel is one message the channel updates in place where it can.
"""

from __future__ import annotations

from domain.appointments import Status, can_open_session
from domain.evidence import EventKind
from domain.model import Appointment
from handlers import notify
from handlers.casework import assigned, record, save_details
from handlers.context import Audience, Ctx, Step
from handlers.i18n import format_time, translate
from handlers.identity_check import summary
from handlers.ports import MeetingsNotConfigured, RecordingUnavailable

FLOW = "session"
AUDIENCE = Audience.STAFF


async def open_session(ctx: Ctx, *, appointment_id: int) -> None:
    appointment = await assigned(ctx, appointment_id)
    if appointment is None:
        ctx.say(ctx.t("session.not_yours"))
        await ctx.go("menu")
        return
    if not can_open_session(appointment.status, appointment.start, ctx.now):
        ctx.say(ctx.t("session.too_early"))
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
    await notify.to_user(
        ctx.uow,
        citizen,
        translate(
            citizen.language,
            "session.call_ready",
            url=citizen_link,
            reference=appointment.reference,
        ),
    )
    if first_time and ctx.services.recorder.automatic:
        await start_recording(ctx, appointment)
    ctx.end()
    ctx.data["id"] = appointment.id
    await show_panel(ctx)


async def start_recording(ctx: Ctx, appointment: Appointment) -> None:
    assert ctx.services is not None
    try:
        await ctx.services.recorder.start(appointment)
    except RecordingUnavailable as failure:
        await save_details(
            ctx, appointment, recording={"status": "failed", "reason": failure.reason}
        )
        await record(ctx, appointment, "recording_failed", {"reason": failure.reason})
        ctx.say(ctx.t(f"session.recording_failed.{failure.reason}"))
        return
    await save_details(ctx, appointment, recording={"status": "started"})
    await record(ctx, appointment, EventKind.RECORDING_STARTED, {"room": appointment.room})


def _tick(done: bool) -> str:
    return "✔" if done else "✘"


async def panel_text(ctx: Ctx, appointment: Appointment) -> str:
    assert ctx.services is not None
    procedure = ctx.office.catalog.get(appointment.procedure)
    details = appointment.details
    staff_link = ctx.services.meetings.join_url(
        appointment,
        role="staff",
        user_id=f"staff-{appointment.staff_id}",
        name=ctx.user.display_name or appointment.staff_id,
        now=ctx.now,
    )
    identity = details.get("identity", {})
    mrz = details.get("mrz") or {}
    if identity.get("status") == "verified":
        id_line = ctx.t(
            "panel.identity_ok",
            kind=ctx.t(f"identity.kind.{identity['kind']}"),
            masked=identity["masked"],
        )
        id_line += " · " + ctx.t(f"panel.identity_path.{identity.get('path', 'sight')}")
    else:
        id_line = ctx.t("panel.pending")
    if mrz and identity.get("status") != "verified":
        # What the identity photo's zone said, before the clerk validates.
        id_line += " · " + ctx.t("panel.identity_read", summary=summary(ctx, mrz))
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
    agreement = details.get("agreement", {}).get("status", "")
    recording = details.get("recording", {}).get("status", "")
    receipt = details.get("receipt", "")
    return ctx.t(
        "panel.text",
        reference=appointment.reference,
        procedure=procedure.name.get(ctx.lang),
        who=appointment.citizen_name or ctx.t("staff.unnamed"),
        time=format_time(appointment.start, ctx.office.tz),
        link=staff_link,
        recording=ctx.t(f"panel.recording.{recording or 'none'}"),
        identity=id_line,
        documents=docs,
        filled=len([f for f in procedure.fields if f.code in form]),
        fields=len(procedure.fields),
        agreement=ctx.t(f"panel.agreement.{agreement or 'none'}"),
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
    ctx.ask(
        ctx.t(key, reference=appointment.reference),
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
    if appointment.details.get("recording", {}).get("status") == "started":
        try:
            await ctx.services.recorder.stop(appointment)
        except RecordingUnavailable as failure:
            ctx.say(ctx.t(f"session.recording_failed.{failure.reason}"))
        else:
            await record(ctx, ended, "recording_stopped", {})
    await record(ctx, ended, EventKind.SESSION_ENDED, {})
    citizen = await ctx.uow.users.get(ended.citizen_id)
    await notify.to_user(
        ctx.uow,
        citizen,
        translate(citizen.language, "session.ended_citizen", reference=ended.reference),
        dedupe_key=f"ended:{ended.reference}",
    )
    ctx.say(ctx.t("session.ended", reference=ended.reference))
    ctx.end()
    await ctx.go("staff.agenda")


STEPS = {
    "panel": Step(enter=show_panel, handle=on_panel),
    "end": Step(enter=ask_end, handle=on_end, back="panel"),
}
ENTRIES = {"session.open": open_session, "session.panel": show_panel, "session.end": ask_end}
