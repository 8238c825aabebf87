"""Booking (and moving) an appointment: procedure → documents → day → time → email → confirm."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from domain.evidence import EventKind
from domain.model import Appointment
from domain.procedures import Procedure
from domain.slots import Slot
from handlers import notify
from handlers.availability import book_slot, move_appointment, open_slots
from handlers.context import Audience, Ctx, Step, Takes
from handlers.gates import refuse_office_account
from handlers.i18n import format_day, format_short_day, format_time, format_when
from handlers.ports import SlotTaken
from handlers.typed_dates import pick_day, typed_time

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
    same = [
        a
        for a in await ctx.uow.appointments.for_citizen(ctx.user.id, active_only=True)
        if a.procedure == chosen.code
    ]
    if same:
        ctx.data["same"] = same[0].id
        await ask_already(ctx)
        return
    if await _at_the_cap(ctx):
        return
    await _documents_then_day(ctx)


async def _at_the_cap(ctx: Ctx) -> bool:
    """Fair use: a citizen holds at most so many active appointments, per procedure and
    in all. At the cap, say so politely, and go back to the menu (True)."""
    chosen = procedure(ctx)
    mine = await ctx.uow.appointments.for_citizen(ctx.user.id, active_only=True)
    mine = [a for a in mine if a.id != ctx.data.get("moving")]
    same = [a for a in mine if a.procedure == chosen.code]
    if len(same) >= ctx.office.appointments_per_procedure:
        ctx.say(ctx.t("book.limit_procedure", count=len(same), procedure=chosen.name.get(ctx.lang)))
    elif len(mine) >= ctx.office.appointments_total:
        ctx.say(ctx.t("book.limit_total", count=len(mine)))
    else:
        return False
    ctx.end()
    await ctx.go("menu")
    return True


async def _documents_then_day(ctx: Ctx) -> None:
    chosen = procedure(ctx)
    if chosen.documents:
        names = "\n".join(f"• {d.name.get(ctx.lang)}" for d in chosen.documents)
        ctx.say(ctx.t("book.documents", procedure=chosen.name.get(ctx.lang), documents=names))
    else:
        ctx.say(ctx.t("book.no_documents", procedure=chosen.name.get(ctx.lang)))
    await ask_day(ctx)


async def ask_already(ctx: Ctx) -> None:
    """The citizen already has this procedure booked: moving it is usually what they want."""
    same = ctx.data.get("same")
    mine = await ctx.uow.appointments.get(same) if isinstance(same, int) else None
    if mine is None or mine.citizen_id != ctx.user.id:
        await _documents_then_day(ctx)
        return
    ctx.ask(
        ctx.t(
            "book.already",
            procedure=procedure(ctx).name.get(ctx.lang),
            reference=mine.reference,
            when=format_when(mine.start, ctx.lang, ctx.office.tz),
        ),
        [("move", ctx.t("book.already_move")), ("another", ctx.t("book.already_another"))],
        flow=FLOW,
        step="already",
    )


async def on_already(ctx: Ctx) -> None:
    if ctx.choice == "move":
        mine = int(ctx.data["same"])
        await ctx.go("book.move", appointment_id=mine, procedure=ctx.data["procedure"])
    elif not await _at_the_cap(ctx):
        await _documents_then_day(ctx)


async def _free_days(ctx: Ctx) -> list[date]:
    slots = await open_slots(
        ctx.uow, ctx.office, procedure(ctx), ctx.now, ignore=ctx.data.get("moving")
    )
    return sorted({s.start.astimezone(ctx.office.tz).date() for s in slots})


def _paging(ctx: Ctx, key: str, count: int, size: int) -> tuple[int, int]:
    """The page to show (kept within range) and the number of the last page."""
    last = max(0, (count - 1) // size)
    page = min(max(int(ctx.data.get(key, 0)), 0), last)
    ctx.data[key] = page
    return page, last


def _page_buttons(ctx: Ctx, page: int, last: int, earlier: str, more: str) -> list[tuple[str, str]]:
    buttons = []
    if page > 0:
        buttons.append(("less", ctx.t(earlier)))
    if page < last:
        buttons.append(("more", ctx.t(more)))
    return buttons


async def ask_day(ctx: Ctx) -> None:
    days = await _free_days(ctx)
    if not days:
        ctx.say(ctx.t("book.nothing_free", days=ctx.office.rules.horizon_days))
        if ctx.data.get("moving"):
            ctx.end()
            await ctx.go("menu")
        else:  # nothing free: the waitlist is offered
            await ctx.go("waitlist.join", procedure=ctx.data["procedure"])
        return
    page, last = _paging(ctx, "day_page", len(days), DAYS_PER_PAGE)
    shown = days[page * DAYS_PER_PAGE : (page + 1) * DAYS_PER_PAGE]
    options = [(f"day:{d.isoformat()}", format_short_day(d, ctx.lang)) for d in shown]
    options += _page_buttons(ctx, page, last, "book.earlier_days", "book.more_days")
    moving = bool(ctx.data.get("moving"))
    if moving:  # back to the appointment being moved, which lives in another flow
        options.append(("to_appointment", ctx.t("nav.back")))
    else:  # no day fits: wait for a time to come free
        options.append(("waitlist", ctx.t("waitlist.join")))
    ctx.ask(ctx.t("book.which_day"), options, flow=FLOW, step="day", back=not moving)


async def understand_day(ctx: Ctx, text: str) -> str | None:
    today = ctx.now.astimezone(ctx.office.tz).date()
    meant, free = pick_day(text, today, await _free_days(ctx))
    if meant is None:
        return None
    return f"day:{meant.isoformat()}" if free else f"full:{meant.isoformat()}"


async def on_day(ctx: Ctx) -> None:
    choice = ctx.choice or ""
    if choice in ("more", "less"):
        ctx.data["day_page"] = int(ctx.data.get("day_page", 0)) + (1 if choice == "more" else -1)
        await ask_day(ctx)
    elif choice == "to_appointment":
        await ctx.go("my.appointment", appointment_id=int(ctx.data["moving"]))
    elif choice == "waitlist":
        await ctx.go("waitlist.join", procedure=ctx.data["procedure"])
    elif choice.startswith("full:"):
        day = date.fromisoformat(choice[5:])
        ctx.say(ctx.t("book.day_not_free", day=format_day(day, ctx.lang)))
        await ask_day(ctx)
    else:
        ctx.data["day"] = choice.removeprefix("day:")
        ctx.data.pop("time_page", None)
        await ask_time(ctx)


async def _day_slots(ctx: Ctx) -> list[Slot]:
    day = date.fromisoformat(ctx.data["day"])
    return await open_slots(
        ctx.uow, ctx.office, procedure(ctx), ctx.now, day=day, ignore=ctx.data.get("moving")
    )


async def ask_time(ctx: Ctx) -> None:
    slots = await _day_slots(ctx)
    if not slots:
        ctx.say(ctx.t("book.day_full"))
        await ask_day(ctx)
        return
    page, last = _paging(ctx, "time_page", len(slots), TIMES_PER_PAGE)
    shown = slots[page * TIMES_PER_PAGE : (page + 1) * TIMES_PER_PAGE]
    options = [(f"at:{s.start.isoformat()}", format_time(s.start, ctx.office.tz)) for s in shown]
    options += _page_buttons(ctx, page, last, "book.earlier_times", "book.more_times")
    day = date.fromisoformat(ctx.data["day"])
    ctx.ask(
        ctx.t("book.which_time", day=format_short_day(day, ctx.lang)),
        options,
        flow=FLOW,
        step="time",
        columns=4,
    )


async def understand_time(ctx: Ctx, text: str) -> str | None:
    wanted = typed_time(text)
    if wanted is None:
        return None
    for slot in await _day_slots(ctx):
        local = slot.start.astimezone(ctx.office.tz)
        if (local.hour, local.minute) == wanted:
            return f"at:{slot.start.isoformat()}"
    return f"taken:{wanted[0]}:{wanted[1]:02d}"


async def on_time(ctx: Ctx) -> None:
    choice = ctx.choice or ""
    if choice in ("more", "less"):
        ctx.data["time_page"] = int(ctx.data.get("time_page", 0)) + (1 if choice == "more" else -1)
        await ask_time(ctx)
        return
    if choice.startswith("taken:"):
        ctx.say(ctx.t("book.time_not_free", time=choice[6:]))
        await ask_time(ctx)
        return
    ctx.data["start"] = choice.removeprefix("at:")
    if ctx.data.get("moving") or not ctx.office.email_enabled:
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
    clash = await _own_appointment_at(ctx, start)
    if clash is not None:
        ctx.say(ctx.t("book.overlaps", reference=clash.reference))
        await ask_time(ctx)
        return
    try:
        if ctx.data.get("moving"):
            await _move(ctx, start)
        else:
            await _book(ctx, start)
    except SlotTaken:
        ctx.say(ctx.t("book.just_taken"))
        await ask_time(ctx)


async def _own_appointment_at(ctx: Ctx, start: datetime) -> Appointment | None:
    """Another active appointment of this citizen that the chosen time would overlap."""
    end = start + timedelta(minutes=procedure(ctx).duration_minutes)
    moving = ctx.data.get("moving")
    for mine in await ctx.uow.appointments.for_citizen(ctx.user.id, active_only=True):
        if mine.id != moving and mine.start < end and start < mine.end:
            return mine
    return None


async def _book(ctx: Ctx, start: datetime) -> None:
    if await _at_the_cap(ctx):  # booked meanwhile from another chat
        return
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
    await notify.booked(ctx, appointment, chosen)
    ctx.say(
        ctx.t(
            "book.done",
            reference=appointment.reference,
            procedure=chosen.name.get(ctx.lang),
            when=format_when(appointment.start, ctx.lang, ctx.office.tz),
        )
    )
    if email:
        await email_confirmation(ctx, appointment, chosen, email)
        ctx.say(ctx.t("book.email_will_arrive", email=email))
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
    await notify.after_move(ctx, moved)
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
    """The confirmation by email, with the appointment as a calendar file (.ics); written
    when it is sent, in the citizen's language then."""
    del chosen  # read again at delivery
    await notify.queue(
        ctx.uow,
        ctx.user,
        "confirmation_email",
        {"start": appointment.start.isoformat()},
        dedupe_key=f"email:{appointment.reference}",
        appointment_id=appointment.id,
        address=("email", email),
    )


STEPS = {
    "procedure": Step(enter=ask_procedure, handle=on_procedure),
    "already": Step(enter=ask_already, handle=on_already, back="procedure"),
    "day": Step(enter=ask_day, handle=on_day, back="procedure", understand=understand_day),
    "time": Step(enter=ask_time, handle=on_time, back="day", understand=understand_time),
    "email": Step(enter=ask_email, handle=on_email, back="time", takes=Takes.TEXT),
    "confirm": Step(enter=ask_confirm, handle=on_confirm, back="time"),
}
ENTRIES = {"book": begin, "book.move": begin_move}
