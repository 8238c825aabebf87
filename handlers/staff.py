"""Staff: today's agenda (next first, what is missing) and marking a no-show."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from domain.appointments import Status, can_open_session, can_transition
from domain.evidence import EventKind
from domain.model import Appointment
from handlers import notify
from handlers.context import Audience, Ctx, Step
from handlers.gates import refuse_unless_staff
from handlers.i18n import format_day, format_time, format_when
from handlers.typed_dates import typed_day

FLOW = "staff"
AUDIENCE = Audience.STAFF


async def begin_today(ctx: Ctx) -> None:
    ctx.end()
    if await refuse_unless_staff(ctx):
        return
    await ask_agenda(ctx)


def _visible(ctx: Ctx, appointment: Appointment) -> bool:
    """Staff see their own appointments; administrators see everyone's."""
    return ctx.user.is_admin or appointment.staff_id == ctx.user.staff_id


def _agenda_day(ctx: Ctx) -> date:
    """The day the agenda shows: today unless the clerk moved to another one."""
    chosen = ctx.data.get("day")
    return date.fromisoformat(chosen) if isinstance(chosen, str) else _local_today(ctx)


def _local_today(ctx: Ctx) -> date:
    return ctx.now.astimezone(ctx.office.tz).date()


async def _of_day(ctx: Ctx, day: date) -> list[Appointment]:
    tz = ctx.office.tz
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    staff_id = None if ctx.user.is_admin else ctx.user.staff_id
    found = await ctx.uow.appointments.for_staff(staff_id, start, end)
    return [a for a in found if a.status is not Status.CANCELLED]


async def _missing(ctx: Ctx, appointment: Appointment) -> list[str]:
    """Names of the required documents not received yet (sent ahead or in the call)."""
    procedure = ctx.office.catalog.get(appointment.procedure)
    received = {d.requirement for d in await ctx.uow.documents.for_appointment(appointment.id)}
    return [d.name.get(ctx.lang) for d in procedure.documents if d.code not in received]


def _line(ctx: Ctx, appointment: Appointment, missing: list[str], confirmed: bool = False) -> str:
    procedure = ctx.office.catalog.get(appointment.procedure)
    status = ctx.t(f"status.{appointment.status.value}")
    who = appointment.citizen_name or ctx.t("staff.unnamed")
    clerk = ""
    if ctx.user.is_admin:
        member = ctx.office.staff_member(appointment.staff_id)
        clerk = f" · {member.name if member else appointment.staff_id}"
    pending = ctx.t("staff.documents_missing", count=len(missing)) if missing else ""
    if confirmed and appointment.status is Status.BOOKED:
        status += " · " + ctx.t("reminder.confirmed_mark")
    return (
        f"{format_time(appointment.start, ctx.office.tz)} {appointment.reference} · "
        f"{procedure.name.get(ctx.lang)} · {who} · {status}{clerk}"
        + (f" · {pending}" if pending and appointment.status is Status.BOOKED else "")
    )


async def ask_agenda(ctx: Ctx) -> None:
    day = _agenda_day(ctx)
    appointments = await _of_day(ctx, day)
    shown_day = format_day(day, ctx.lang)
    upcoming = [a for a in appointments if a.end > ctx.now and a.status is Status.BOOKED]
    others = [a for a in appointments if a not in upcoming]
    ordered = upcoming + others  # the next appointment first
    options = [
        (str(a.id), f"{format_time(a.start, ctx.office.tz)} {a.reference}")
        for a in ordered
        if a.status in (Status.BOOKED, Status.IN_SESSION)
    ]
    options += _day_buttons(ctx, day)
    if ordered:
        confirmed = await ctx.uow.notices.attendance([a.id for a in ordered])
        lines = "\n".join(
            [
                _line(ctx, a, await _missing(ctx, a), confirmed.get(a.id) == "confirmed")
                for a in ordered
            ]
        )
        text = ctx.t("staff.agenda", day=shown_day, count=len(appointments), lines=lines)
    else:
        text = ctx.t("staff.agenda_empty", day=shown_day)
    ctx.ask(
        text + "\n" + ctx.t("staff.other_day"),
        options,
        flow=FLOW,
        step="agenda",
        back=False,
        columns=2,
    )


def _day_buttons(ctx: Ctx, day: date) -> list[tuple[str, str]]:
    buttons = [("go:-1", ctx.t("staff.previous_day")), ("go:+1", ctx.t("staff.next_day"))]
    if day != _local_today(ctx):
        buttons.append(("go:today", ctx.t("staff.today")))
    return buttons


async def understand_day(ctx: Ctx, text: str) -> str | None:
    """A day typed by the clerk: "demà", "dijous", "3/12"."""
    meant = typed_day(text, _local_today(ctx))
    if isinstance(meant, int):  # a weekday: the next one from the day shown
        shown = _agenda_day(ctx)
        meant = shown + timedelta(days=(meant - shown.weekday()) % 7 or 7)
    return f"date:{meant.isoformat()}" if meant else None


async def _move_day(ctx: Ctx, choice: str) -> None:
    if choice == "go:today":
        ctx.data.pop("day", None)
    elif choice.startswith("date:"):
        ctx.data["day"] = choice[5:]
    else:
        ctx.data["day"] = (_agenda_day(ctx) + timedelta(days=int(choice[3:]))).isoformat()
    await ask_agenda(ctx)


async def _visible_appointment(ctx: Ctx, raw: object) -> Appointment | None:
    if not isinstance(raw, str | int) or not str(raw).isdigit():
        return None
    appointment = await ctx.uow.appointments.get(int(raw))
    if appointment is None or not _visible(ctx, appointment):
        return None
    return appointment


async def on_agenda(ctx: Ctx) -> None:
    if ctx.choice and ctx.choice.startswith(("go:", "date:")):
        await _move_day(ctx, ctx.choice)
        return
    appointment = await _visible_appointment(ctx, ctx.choice)
    if appointment is None:
        ctx.say(ctx.t("error.stale"))
        await ask_agenda(ctx)
        return
    ctx.data["id"] = appointment.id
    await ask_detail(ctx)


async def ask_detail(ctx: Ctx) -> None:
    appointment = await _visible_appointment(ctx, ctx.data.get("id"))
    if appointment is None:
        await ask_agenda(ctx)
        return
    procedure = ctx.office.catalog.get(appointment.procedure)
    docs = "\n".join(f"• {d.name.get(ctx.lang)}" for d in procedure.documents) or "—"
    text = ctx.t(
        "staff.detail",
        reference=appointment.reference,
        procedure=procedure.name.get(ctx.lang),
        who=appointment.citizen_name or ctx.t("staff.unnamed"),
        when=format_when(appointment.start, ctx.lang, ctx.office.tz),
        status=ctx.t(f"status.{appointment.status.value}"),
        documents=docs,
    )
    options = []
    lead = ctx.office.session_lead
    if appointment.status is Status.BOOKED and ctx.now < appointment.start - lead:
        opens = format_time(appointment.start - lead, ctx.office.tz)
        text += "\n" + ctx.t("staff.opens_at", time=opens)
    if can_open_session(appointment.status, appointment.start, ctx.now, lead):
        key = (
            "staff.continue_session"
            if appointment.status is Status.IN_SESSION
            else "staff.open_session"
        )
        options.append(("open", ctx.t(key)))
    if can_transition(appointment.status, Status.NO_SHOW) and ctx.now >= appointment.start:
        options.append(("no_show", ctx.t("staff.mark_no_show")))
    ctx.ask(text, options, flow=FLOW, step="detail")


async def on_detail(ctx: Ctx) -> None:
    appointment = await _visible_appointment(ctx, ctx.data.get("id"))
    if appointment is None:
        await ask_agenda(ctx)
        return
    if ctx.choice == "open":
        await ctx.go("session.open", appointment_id=appointment.id)
        return
    if ctx.choice == "no_show":
        if not can_transition(appointment.status, Status.NO_SHOW) or ctx.now < appointment.start:
            ctx.say(ctx.t("staff.no_show_too_early"))
            await ask_detail(ctx)
            return
        missed = await ctx.uow.appointments.set_status(appointment.id, Status.NO_SHOW, ctx.now)
        await ctx.uow.evidence.append(
            appointment_id=missed.id,
            reference=missed.reference,
            kind=EventKind.NO_SHOW,
            actor=f"staff:{ctx.user.staff_id}",
            data={},
            at=ctx.now,
        )
        await notify.citizen_of_no_show(ctx, missed)
        ctx.say(ctx.t("staff.no_show_done", reference=missed.reference))
        await ask_agenda(ctx)
        return
    ctx.say(ctx.t("error.stale"))
    await ask_detail(ctx)


STEPS = {
    "agenda": Step(enter=ask_agenda, handle=on_agenda, understand=understand_day),
    "detail": Step(enter=ask_detail, handle=on_detail, back="agenda"),
}
ENTRIES = {"staff.today": begin_today, "staff.agenda": ask_agenda}
