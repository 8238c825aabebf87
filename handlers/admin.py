"""Administrators: statistics in one message."""

from __future__ import annotations

from collections import Counter

from domain.appointments import Status
from handlers.context import Ctx
from handlers.ports import UnitOfWork


async def stats_table(uow: UnitOfWork) -> tuple[Counter[str], Counter[str], int]:
    by_status: Counter[str] = Counter()
    by_procedure: Counter[str] = Counter()
    for procedure, status, count in await uow.appointments.counts(None, None):
        by_status[status] += count
        if status != Status.CANCELLED.value:
            by_procedure[procedure] += count
    return by_status, by_procedure, sum(by_status.values())


def _name(ctx: Ctx, code: str) -> str:
    found = ctx.office.catalog.find(code)
    return found.name.get(ctx.lang) if found else code  # a procedure since removed


async def stats(ctx: Ctx) -> None:
    ctx.end()
    if not ctx.user.is_admin:
        ctx.say(ctx.t("admin.only_admin"))
        await ctx.go("menu")
        return
    by_status, by_procedure, total = await stats_table(ctx.uow)
    status_lines = "\n".join(
        f"• {ctx.t(f'status.{s.value}')}: {by_status.get(s.value, 0)}" for s in Status
    )
    procedure_lines = (
        "\n".join(f"• {_name(ctx, code)}: {n}" for code, n in by_procedure.most_common()) or "—"
    )
    held = by_status.get(Status.COMPLETED.value, 0) + by_status.get(Status.NO_SHOW.value, 0)
    rate = f"{100 * by_status.get(Status.NO_SHOW.value, 0) / held:.0f}%" if held else "—"
    ctx.say(
        ctx.t(
            "admin.stats",
            total=total,
            statuses=status_lines,
            procedures=procedure_lines,
            no_show_rate=rate,
        )
    )
    await ctx.go("menu")


ENTRIES = {"admin.stats": stats}
