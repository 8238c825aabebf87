"""The waitlist, from the citizen's side: join it when no time fits (optionally only for
the coming days), take a freed time with one tap, or leave it."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers import notify
from handlers.availability import book_slot
from handlers.context import Audience, Ctx, Step
from handlers.i18n import format_when
from handlers.ports import SlotTaken

FLOW = "waitlist"
AUDIENCE = Audience.CITIZEN
RANGES = {"any": 0, "week": 7, "fortnight": 14}


async def join(ctx: Ctx, *, procedure: str) -> None:
    ctx.end()
    ctx.data["procedure"] = procedure
    await ask_range(ctx)


async def ask_range(ctx: Ctx) -> None:
    options = [
        ("any", ctx.t("waitlist.any_day")),
        ("week", ctx.t("waitlist.next_week")),
        ("fortnight", ctx.t("waitlist.next_fortnight")),
    ]
    ctx.ask(ctx.t("waitlist.which_days"), options, flow=FLOW, step="range", back=False)


def _name(ctx: Ctx, code: str) -> str:
    found = ctx.office.catalog.find(code)
    return found.name.get(ctx.lang) if found else code


async def on_range(ctx: Ctx) -> None:
    procedure = str(ctx.data.get("procedure", ""))
    if ctx.office.catalog.find(procedure) is None:
        ctx.end()
        await ctx.go("menu")
        return
    days = RANGES.get(ctx.choice or "any", 0)
    today = ctx.now.astimezone(ctx.office.tz).date()
    day_to = (today + timedelta(days=days)).isoformat() if days else ""
    await ctx.uow.waitlist.join(ctx.user.id, procedure, today.isoformat(), day_to, ctx.now)
    ctx.say(ctx.t("waitlist.joined", procedure=_name(ctx, procedure)))
    ctx.end()
    await ctx.go("menu")


async def show(ctx: Ctx) -> None:
    """/waitlist: where the citizen waits, and a way out of each."""
    ctx.end()
    entries = await ctx.uow.waitlist.of_citizen(ctx.user.id)
    if not entries:
        ctx.say(ctx.t("waitlist.none"))
        await ctx.go("menu")
        return
    options = [
        (str(e.id), ctx.t("waitlist.leave_one", procedure=_name(ctx, e.procedure))) for e in entries
    ]
    lines = "\n".join(f"• {_name(ctx, e.procedure)}" for e in entries)
    ctx.ask(ctx.t("waitlist.yours", lines=lines), options, flow=FLOW, step="mine", back=False)


async def on_mine(ctx: Ctx) -> None:
    entries = {str(e.id): e for e in await ctx.uow.waitlist.of_citizen(ctx.user.id)}
    entry = entries.get(ctx.choice or "")
    if entry is not None:
        await ctx.uow.waitlist.leave(entry.id, ctx.now)
        ctx.say(ctx.t("waitlist.left", procedure=_name(ctx, entry.procedure)))
    ctx.end()
    await ctx.go("menu")


async def take(ctx: Ctx, *, entry: int, start: str, take: bool) -> None:
    """The offer's buttons. Only the holder's own buttons reach here (they are theirs);
    a hold that ran out, or a time someone else got, is answered kindly."""
    from handlers import waiting

    ctx.end()
    held = await ctx.uow.waitlist.get(int(entry))
    when = datetime.fromisoformat(start)
    live = (
        held is not None
        and held.active
        and held.citizen_id == ctx.user.id
        and held.offer_start == when
        and held.offer_until is not None
        and held.offer_until > ctx.now
    )
    if held is None or not live:
        ctx.say(ctx.t("waitlist.gone"))
        await ctx.go("menu")
        return
    if not take:
        await ctx.uow.waitlist.let_go(held.id, when)
        await waiting.offer_freed(ctx.uow, ctx.office, when, ctx.now)
        ctx.say(ctx.t("waitlist.passed"))
        await ctx.go("menu")
        return
    procedure = ctx.office.catalog.get(held.procedure)
    try:
        appointment = await book_slot(
            ctx.uow,
            ctx.office,
            procedure=procedure,
            start=when,
            citizen_id=ctx.user.id,
            citizen_name=ctx.user.display_name,
            language=ctx.lang,
            email=ctx.user.email,
            now=ctx.now,
        )
    except SlotTaken:
        ctx.say(ctx.t("waitlist.gone"))
        await ctx.go("menu")
        return
    await ctx.uow.waitlist.leave(held.id, ctx.now)
    await notify.booked(ctx, appointment, procedure, from_waitlist=True)
    ctx.say(
        ctx.t(
            "waitlist.taken",
            reference=appointment.reference,
            when=format_when(appointment.start, ctx.lang, ctx.office.tz),
        )
    )
    await ctx.go("menu")


STEPS = {
    "range": Step(enter=ask_range, handle=on_range),
    "mine": Step(enter=show, handle=on_mine),
}
ENTRIES = {"waitlist.join": join, "waitlist.take": take, "waitlist": show}
