"""Who may start which conversation: checks shared by several, not a conversation."""

from __future__ import annotations

from handlers.context import Ctx


async def refuse_office_account(ctx: Ctx) -> bool:
    """Booking is for citizens: an office account is told to use a personal one."""
    if not ctx.user.is_staff:
        return False
    ctx.say(ctx.t("menu.citizens_only"))
    await ctx.go("menu")
    return True


async def refuse_unless_staff(ctx: Ctx) -> bool:
    if ctx.user.is_staff:
        return False
    ctx.say(ctx.t("staff.only_staff"))
    await ctx.go("menu")
    return True
