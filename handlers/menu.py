"""The main menu: what a citizen (or a clerk) can do from anywhere."""

from __future__ import annotations

from handlers.context import Ctx, Step

FLOW = "menu"


def options(ctx: Ctx) -> list[tuple[str, str]]:
    items = [("book", ctx.t("menu.book")), ("my", ctx.t("menu.my"))]
    if ctx.user.is_staff:
        items.insert(0, ("today", ctx.t("menu.today")))
    if ctx.user.is_admin:
        items.insert(1, ("stats", ctx.t("menu.stats")))
    items += [("help", ctx.t("menu.help")), ("language", ctx.t("menu.language"))]
    return items


async def enter(ctx: Ctx, *, greet: bool = False) -> None:
    if greet:
        ctx.say(ctx.t("menu.greeting", council=ctx.office.council.name))
    ctx.ask(ctx.t("menu.question"), options(ctx), flow=FLOW, step="main", back=False, cancel=False)


async def handle(ctx: Ctx) -> None:
    from handlers.registry import COMMANDS

    if ctx.choice is not None and ctx.choice in COMMANDS:
        await COMMANDS[ctx.choice](ctx)
        return
    ctx.say(ctx.t("error.choose"))
    await enter(ctx)


async def _enter(ctx: Ctx) -> None:
    await enter(ctx)


STEPS = {"main": Step(enter=_enter, handle=handle)}
