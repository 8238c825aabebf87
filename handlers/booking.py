"""Booking (and moving) an appointment: procedure → documents → day → time → email → confirm."""

from __future__ import annotations

import re
from datetime import date, datetime

from domain.evidence import EventKind
from domain.model import Appointment
from domain.procedures import Procedure
from handlers import notify
from handlers.availability import book_slot, move_appointment, open_slots
from handlers.context import Audience, Ctx, Step, Takes
from handlers.gates import refuse_office_account
from handlers.i18n import format_short_day, format_time, format_when
from handlers.ports import SlotTaken

FLOW = "book"
AUDIENCE = Audience.CITIZEN
DAYS_PER_PAGE = 5
TIMES_PER_PAGE = 12
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def procedure(ctx: Ctx) -> Procedure:
    return ctx.office.catalog.get(ctx.data["procedure"])


async def begin(ctx: Ctx) -> None:
    ctx.end()
    if await refuse_office_account(ctx):
        return
    if ctx.user.privacy_accepted_at is None and not ctx.user.is_staff:
        ctx.say(ctx.t("privacy.needed"))
        await ctx.go("start.privacy", then="book")
        return
    await ask_procedure(ctx)


async def begin_move(ctx: Ctx, *, appointment_id: int, procedure: str) -> None:
    ctx.end()
    ctx.data.update(moving=appointment_id, procedure=procedure)
    await ask_day(ctx)


async def ask_procedure(ctx: Ctx) -> None:
    options = [(p.code, p.name.get(ctx.lang)) for p in ctx.office.catalog.all()]
    ctx.ask(ctx.t("book.which_procedure"), options, flow=FLOW, step="procedure", back=False)


async def on_procedure(ctx: Ctx) -> None:
    chosen = ctx.office.catalog.get(ctx.choice or "")
    ctx.data["procedure"] = chosen.code
    ctx.data.pop("day_page", None)
    if chosen.documents:
        names = "\n".join(f"• {d.name.get(ctx.lang)}" for d in chosen.documents)
        ctx.say(ctx.t("book.documents", procedure=chosen.name.get(ctx.lang), documents=names))
    else:
        ctx.say(ctx.t("book.no_documents", procedure=chosen.name.get(ctx.lang)))
    await ask_day(ctx)


async def ask_day(ctx: Ctx) -> None:
    slots = await open_slots(
        ctx.uow, ctx.office, procedure(ctx), ctx.now, ignore=ctx.data.get("moving")
    )
    days = sorted({s.start.astimezone(ctx.office.tz).date() for s in slots})
    if not days:
        ctx.say(ctx.t("book.nothing_free", days=ctx.office.rules.horizon_days))
        ctx.end()
        await ctx.go("menu")
        return
    page = int(ctx.data.get("day_page", 0)) % ((len(days) - 1) // DAYS_PER_PAGE + 1)
    shown = days[page * DAYS_PER_PAGE : (page + 1) * DAYS_PER_PAGE]
    options = [(f"day:{d.isoformat()}", format_short_day(d, ctx.lang)) for d in shown]
    if len(days) > DAYS_PER_PAGE:
        options.append(("more", ctx.t("book.more_days")))
    ctx.ask(
        ctx.t("book.which_day"), options, flow=FLOW, step="day", back=not ctx.data.get("moving")
    )


async def on_day(ctx: Ctx) -> None:
    if ctx.choice == "more":
        ctx.data["day_page"] = int(ctx.data.get("day_page", 0)) + 1
        await ask_day(ctx)
        return
    assert ctx.choice is not None and ctx.choice.startswith("day:")
    ctx.data["day"] = ctx.choice[4:]
    await ask_time(ctx)


async def ask_time(ctx: Ctx) -> None:
    day = date.fromisoformat(ctx.data["day"])
    slots = await open_slots(
        ctx.uow, ctx.office, procedure(ctx), ctx.now, day=day, ignore=ctx.data.get("moving")
    )
    if not slots:
        ctx.say(ctx.t("book.day_full"))
        await ask_day(ctx)
        return
    options = [
        (f"at:{s.start.isoformat()}", format_time(s.start, ctx.office.tz))
        for s in slots[:TIMES_PER_PAGE]
    ]
    ctx.ask(
        ctx.t("book.which_time", day=format_short_day(day, ctx.lang)),
        options,
        flow=FLOW,
        step="time",
        columns=4,
    )


async def on_time(ctx: Ctx) -> None:
    assert ctx.choice is not None and ctx.choice.startswith("at:")
    ctx.data["start"] = ctx.choice[3:]
    if ctx.data.get("moving"):
        await ask_confirm(ctx)
    else:
        await ask_email(ctx)


async def ask_email(ctx: Ctx) -> None:
    options = [("skip", ctx.t("book.email_skip"))]
    if ctx.user.email:
        options.insert(0, ("same", ctx.t("book.email_same", email=ctx.user.email)))
    ctx.ask(ctx.t("book.email"), options, flow=FLOW, step="email")


async def on_email(ctx: Ctx) -> None:
    if ctx.choice == "skip":
        ctx.data["email"] = ""
    elif ctx.choice == "same":
        ctx.data["email"] = ctx.user.email
    elif _EMAIL.match(ctx.text) and len(ctx.text) <= 254:
        ctx.data["email"] = ctx.text
    else:
        ctx.say(ctx.t("book.email_invalid"))
        await ask_email(ctx)
        return
    await ask_confirm(ctx)


async def ask_confirm(ctx: Ctx) -> None:
    when = format_when(datetime.fromisoformat(ctx.data["start"]), ctx.lang, ctx.office.tz)
    key = "book.confirm_move" if ctx.data.get("moving") else "book.confirm"
    ctx.ask(
        ctx.t(key, procedure=procedure(ctx).name.get(ctx.lang), when=when),
        [("yes", ctx.t("book.yes")), ("change", ctx.t("book.change"))],
        flow=FLOW,
        step="confirm",
        back=False,
    )


async def on_confirm(ctx: Ctx) -> None:
    if ctx.choice == "change":
        await ask_day(ctx)
        return
    start = datetime.fromisoformat(ctx.data["start"])
    try:
        if ctx.data.get("moving"):
            await _move(ctx, start)
        else:
            await _book(ctx, start)
    except SlotTaken:
        ctx.say(ctx.t("book.just_taken"))
        await ask_time(ctx)


async def _book(ctx: Ctx, start: datetime) -> None:
    chosen = procedure(ctx)
    email = ctx.data.get("email", "")
    appointment = await book_slot(
        ctx.uow,
        ctx.office,
        procedure=chosen,
        start=start,
        citizen_id=ctx.user.id,
        citizen_name=ctx.user.display_name,
        language=ctx.lang,
        email=email,
        now=ctx.now,
    )
    if email and email != ctx.user.email:
        await ctx.uow.users.set_email(ctx.user.id, email)
    await ctx.uow.evidence.append(
        appointment_id=appointment.id,
        reference=appointment.reference,
        kind=EventKind.BOOKED,
        actor="citizen",
        data={
            "procedure": chosen.code,
            "start": appointment.start.isoformat(),
            "staff": appointment.staff_id,
            "channel": ctx.user.channel,
        },
        at=ctx.now,
    )
    await notify.staff_of_booking(ctx, appointment, chosen)
    ctx.say(
        ctx.t(
            "book.done",
            reference=appointment.reference,
            procedure=chosen.name.get(ctx.lang),
            when=format_when(appointment.start, ctx.lang, ctx.office.tz),
        )
    )
    if email and ctx.office.email_enabled:
        await email_confirmation(ctx, appointment, chosen, email)
        ctx.say(ctx.t("book.email_will_arrive", email=email))
    elif email:
        ctx.say(ctx.t("book.email_noted", email=email))
    ctx.end()
    await ctx.go("menu")


async def _move(ctx: Ctx, start: datetime) -> None:
    current = await ctx.uow.appointments.get(int(ctx.data["moving"]))
    if current is None or current.citizen_id != ctx.user.id or current.status != "booked":
        ctx.say(ctx.t("my.not_found"))
        ctx.end()
        await ctx.go("menu")
        return
    moved = await move_appointment(ctx.uow, ctx.office, current, procedure(ctx), start, ctx.now)
    await ctx.uow.evidence.append(
        appointment_id=moved.id,
        reference=moved.reference,
        kind=EventKind.RESCHEDULED,
        actor="citizen",
        data={
            "from": current.start.isoformat(),
            "to": moved.start.isoformat(),
            "staff": moved.staff_id,
        },
        at=ctx.now,
    )
    await notify.staff_of_move(ctx, current, moved)
    ctx.say(
        ctx.t(
            "book.moved",
            reference=moved.reference,
            when=format_when(moved.start, ctx.lang, ctx.office.tz),
        )
    )
    ctx.end()
    await ctx.go("menu")


async def email_confirmation(
    ctx: Ctx, appointment: Appointment, chosen: Procedure, email: str
) -> None:
    """The confirmation by email, with the appointment as a calendar file (.ics)."""
    from documents.ics import appointment_ics

    assert ctx.services is not None
    when = format_when(appointment.start, ctx.lang, ctx.office.tz)
    name = chosen.name.get(ctx.lang)
    body = ctx.t(
        "email.body",
        reference=appointment.reference,
        procedure=name,
        when=when,
        council=ctx.office.council.name,
        documents="\n".join(f"- {d.name.get(ctx.lang)}" for d in chosen.documents) or "-",
    )
    ics = appointment_ics(
        uid=f"{appointment.reference}@videotramit",
        start=appointment.start,
        end=appointment.end,
        summary=ctx.t("email.event", procedure=name, reference=appointment.reference),
        description=body,
        organizer_name=ctx.office.council.name,
        stamp=ctx.now,
    )
    digest = await ctx.services.documents.store(ics)
    await ctx.uow.outbox.enqueue(
        channel="email",
        address=email,
        payload={
            "text": body,
            "subject": ctx.t("email.subject", reference=appointment.reference, when=when),
            "file": {
                "sha256": digest,
                "name": f"{appointment.reference}.ics",
                "type": "text/calendar",
            },
        },
        user_id=ctx.user.id,
        dedupe_key=f"email:{appointment.reference}",
    )


STEPS = {
    "procedure": Step(enter=ask_procedure, handle=on_procedure),
    "day": Step(enter=ask_day, handle=on_day, back="procedure"),
    "time": Step(enter=ask_time, handle=on_time, back="day"),
    "email": Step(enter=ask_email, handle=on_email, back="time", takes=Takes.TEXT),
    "confirm": Step(enter=ask_confirm, handle=on_confirm, back="time"),
}
ENTRIES = {"book": begin, "book.move": begin_move}
