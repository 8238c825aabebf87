"""The main menu: what a citizen (or a clerk) can do from anywhere."""

from __future__ import annotations

from handlers.context import Audience, Ctx, Step

FLOW = "menu"
AUDIENCE = Audience.ANYONE


def options(ctx: Ctx) -> list[tuple[str, str]]:
    """Citizens book and look at their appointments; office accounts do office work."""
    if ctx.user.is_staff:
        items = [("today", ctx.t("menu.today"))]
        if ctx.user.is_admin:
            items.append(("stats", ctx.t("menu.stats")))
    else:
        items = [("book", ctx.t("menu.book")), ("my", ctx.t("menu.my"))]
    return items + [("help", ctx.t("menu.help")), ("language", ctx.t("menu.language"))]


async def enter(ctx: Ctx, *, greet: bool = False) -> None:
    """The menu; a citizen who has not read the privacy notice yet is shown it first."""
    if ctx.user.privacy_accepted_at is None and not ctx.user.is_staff:
        await ctx.go("start")
        return
    if greet:
        ctx.say(ctx.t("menu.greeting", council=ctx.office.council.name))
    ask(ctx)


def ask(ctx: Ctx) -> None:
    ctx.ask(ctx.t("menu.question"), options(ctx), flow=FLOW, step="main", back=False, cancel=False)


async def handle(ctx: Ctx) -> None:
    assert ctx.choice is not None  # a choice step: the engine answered anything else
    await ctx.command(ctx.choice)


async def _enter(ctx: Ctx) -> None:
    ask(ctx)


STEPS = {"main": Step(enter=_enter, handle=handle)}
ENTRIES = {"menu": enter}
