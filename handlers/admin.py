"""Administrators: the statistics in one message, and the chart when asked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from domain.stats import Counts, Report, build_report, months
from handlers.context import Audience, Ctx, Step
from handlers.i18n import catalog, format_date_long, format_short_day
from handlers.messages import OutFile
from handlers.ports import Office, UnitOfWork

FLOW = "admin"
AUDIENCE = Audience.STAFF


class BadPeriod(ValueError):
    """The period asked for is not usable; the message says why (in English, for the
    command line; the bot says it in the admin's language)."""


def period(today: date, first: date | None, last: date | None) -> tuple[date, date]:
    """The days asked for, both included; by default this year."""
    first = first or date(today.year, 1, 1)
    last = last or date(first.year, 12, 31)
    if first > last:
        raise BadPeriod(f"--from {first} is after --to {last}")
    return first, last


async def report_for(uow: UnitOfWork, office: Office, first: date, last: date) -> Report:
    start = datetime.combine(first, time(0), office.tz)
    end = datetime.combine(last + timedelta(days=1), time(0), office.tz)
    spans = months(first, last, office.tz)
    groups, opinions, lead, session = await uow.stats.counts(start, end, spans)
    return build_report(
        groups,
        opinions,
        median_lead_days=lead,
        median_session_seconds=session,
        first=first,
        last=last,
        tz=office.tz,
    )


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _lines(ctx: Ctx, rows: dict[str, Counts], name: dict[str, str]) -> str:
    ordered = sorted(rows.items(), key=lambda item: (-item[1].booked, item[0]))
    return (
        "\n".join(
            "• "
            + ctx.t(
                "admin.stats_line",
                name=name.get(key, key),
                booked=counts.booked,
                completed=counts.completed,
                cancelled=counts.cancelled,
                no_show=counts.no_show,
                rate=_percent(counts.no_show_rate),
            )
            for key, counts in ordered
        )
        or "—"
    )


def report_text(ctx: Ctx, report: Report) -> str:
    procedures = {p.code: p.name.get(ctx.lang) for p in ctx.office.catalog.all()}
    clerks = {m.id: m.name for m in ctx.office.staff}
    total = report.total
    return ctx.t(
        "admin.stats",
        first=format_date_long(report.first, ctx.lang),
        last=format_date_long(report.last, ctx.lang),
        booked=total.booked,
        completed=total.completed,
        cancelled=total.cancelled,
        no_show=total.no_show,
        upcoming=total.upcoming,
        no_show_rate=_percent(total.no_show_rate),
        average=_number(report.satisfaction.average),
        answers=report.satisfaction.answers,
        again=_percent(report.satisfaction.again_share),
        lead=_number(report.median_lead_days),
        session=_number(report.median_session_minutes, 0),
        confirmed_rate=_percent(report.confirmed.no_show_rate),
        unconfirmed_rate=_percent(report.not_confirmed.no_show_rate),
        procedures=_lines(ctx, report.by_procedure, procedures),
        channels=_lines(ctx, report.by_channel, _channel_names(ctx.lang, report.by_channel)),
        clerks=_lines(ctx, report.by_clerk, clerks),
    )


def _channel_names(language: str, channels: Iterable[str]) -> dict[str, str]:
    """The channels' names for people; a channel the catalogs do not name keeps its code."""
    messages = catalog(language)
    return {c: messages[f"admin.channel.{c}"] for c in channels if f"admin.channel.{c}" in messages}


def chart_labels(language: str) -> dict[str, str]:
    from handlers.i18n import translate

    keys = ("completed", "cancelled", "no_show", "upcoming", "title")
    labels = {key: translate(language, f"admin.chart.{key}") for key in keys}
    labels["appointments"] = translate(language, "admin.chart.appointments")
    labels["satisfaction"] = translate(language, "admin.chart.satisfaction")
    return labels


def _today(ctx: Ctx) -> date:
    return ctx.now.astimezone(ctx.office.tz).date()


def _asked_period(ctx: Ctx) -> tuple[date, date] | None:
    """`/stats` (this year), or `/stats 2026-01-01 2026-06-30`."""
    words = ctx.text.split() if ctx.turn.command else []
    try:
        days: list[date | None] = [date.fromisoformat(word) for word in words[:2]]
        days += [None, None]
        return period(_today(ctx), days[0], days[1])
    except ValueError:
        ctx.say(ctx.t("admin.bad_period"))
        return None


async def stats(ctx: Ctx) -> None:
    ctx.end()
    if not ctx.user.is_admin:
        ctx.say(ctx.t("admin.only_admin"))
        await ctx.go("menu")
        return
    asked = _asked_period(ctx)
    if asked is None:
        await ctx.go("menu")
        return
    ctx.data.update(first=asked[0].isoformat(), last=asked[1].isoformat())
    await show_stats(ctx)


def _stored_period(ctx: Ctx) -> tuple[date, date]:
    try:
        return date.fromisoformat(ctx.data["first"]), date.fromisoformat(ctx.data["last"])
    except (KeyError, TypeError, ValueError):
        first, last = period(_today(ctx), None, None)
        ctx.data.update(first=first.isoformat(), last=last.isoformat())
        return first, last


async def show_stats(ctx: Ctx) -> None:
    first, last = _stored_period(ctx)
    report = await report_for(ctx.uow, ctx.office, first, last)
    ctx.ask(
        report_text(ctx, report),
        [("chart", ctx.t("admin.chart_button")), ("comments", ctx.t("admin.comments_button"))],
        flow=FLOW,
        step="stats",
        back=False,
    )


async def on_stats(ctx: Ctx) -> None:
    if not ctx.user.is_admin:
        ctx.end()
        await ctx.go("menu")
        return
    first, last = _stored_period(ctx)
    if ctx.choice == "comments":
        await show_comments(ctx, first, last)
        return
    report = await report_for(ctx.uow, ctx.office, first, last)
    charts = ctx.services.charts if ctx.services is not None else None
    if charts is None:
        ctx.say(ctx.t("admin.no_chart"))
    else:
        png = await asyncio.to_thread(charts.statistics_png, report, chart_labels(ctx.lang))
        name = f"statistics-{first.isoformat()}-{last.isoformat()}.png"
        ctx.say(ctx.t("admin.chart_caption"), file=OutFile(name, png, "image/png"))
    ctx.end()
    await ctx.go("menu")


COMMENTS_SHOWN = 20


async def show_comments(ctx: Ctx, first: date, last: date) -> None:
    """What citizens wrote in the survey, newest first, without who wrote it."""
    start = datetime.combine(first, time(0), ctx.office.tz)
    end = datetime.combine(last + timedelta(days=1), time(0), ctx.office.tz)
    found = await ctx.uow.notices.comments(start, end, limit=COMMENTS_SHOWN)
    lines = [
        ctx.t(
            "admin.comment_line",
            day=format_short_day(at.astimezone(ctx.office.tz).date(), ctx.lang),
            procedure=ctx.office.catalog.get(procedure).name.get(ctx.lang),
            score="—" if score is None else score,
            comment=comment,
        )
        for at, procedure, score, comment in found
    ]
    ctx.say(
        ctx.t(
            "admin.comments",
            first=format_date_long(first, ctx.lang),
            last=format_date_long(last, ctx.lang),
            lines="\n".join(lines) if lines else ctx.t("admin.no_comments"),
        )
    )
    ctx.end()
    await ctx.go("menu")


STEPS = {"stats": Step(enter=show_stats, handle=on_stats)}
ENTRIES = {"admin.stats": stats}
