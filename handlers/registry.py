"""Every conversation, command and magic word, in one greppable place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from handlers import (
    admin,
    agreement,
    booking,
    documents,
    menu,
    my_appointments,
    session,
    session_steps,
    staff,
    start,
)
from handlers.context import Ctx, Step

FLOWS: Mapping[str, Mapping[str, Step]] = {
    menu.FLOW: menu.STEPS,
    start.FLOW: start.STEPS,
    booking.FLOW: booking.STEPS,
    my_appointments.FLOW: my_appointments.STEPS,
    staff.FLOW: staff.STEPS,
    session.FLOW: {**session.STEPS, **session_steps.STEPS},
    documents.FLOW: documents.STEPS,
    agreement.FLOW: agreement.STEPS,
}


async def main_menu(ctx: Ctx, *, greet: bool = False) -> None:
    if ctx.user.privacy_accepted_at is None and not ctx.user.is_staff:
        await start.begin(ctx)
        return
    await menu.enter(ctx, greet=greet)


async def show_help(ctx: Ctx) -> None:
    """Help says where you are and how to go on; the current question stays open."""
    where = ctx.t(f"help.where.{ctx.state.flow or 'menu'}")
    ctx.say(ctx.t("help.text", where=where))
    if ctx.user.is_staff:
        ctx.say(ctx.t("help.staff"))
    step = FLOWS.get(ctx.state.flow, {}).get(ctx.state.step)
    if step is not None:
        await step.enter(ctx)
    else:
        await main_menu(ctx)


async def abort(ctx: Ctx) -> None:
    had_flow = ctx.state.flow not in ("", menu.FLOW)
    ctx.end()
    ctx.say(ctx.t("nav.stopped" if had_flow else "nav.nothing_to_stop"))
    await main_menu(ctx)


COMMANDS: Mapping[str, Callable[[Ctx], Awaitable[None]]] = {
    "start": start.begin,
    "help": show_help,
    "book": booking.begin,
    "my": my_appointments.begin,
    "language": start.choose_language,
    "cancel": abort,
    "menu": main_menu,
    "today": staff.begin_today,
    "stats": admin.stats,
}

# Typed words that act like commands, in every language (compared case- and accent-folded).
WORDS: Mapping[str, str] = {
    "help": "help",
    "ajuda": "help",
    "ayuda": "help",
    "cancel": "cancel",
    "cancella": "cancel",
    "cancel la": "cancel",
    "cancela": "cancel",
    "cancelar": "cancel",
    "menu": "menu",
    "inici": "menu",
    "inicio": "menu",
}
