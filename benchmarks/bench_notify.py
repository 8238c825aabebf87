"""Notifications (issue 11): delivery rate, statistics, chart, reminder planning.

1. Typed reminders rendered at delivery (each reads its appointment and recipient again)
   due at the same minute to distinct Telegram chats, through the outbox dispatcher and the
   Telegram channel, the emulator enforcing 30 msg/s overall and 1 msg/s per chat.
   ``BENCH notify_dispatch_rate <msg/s> msg/s ratio=<rate/30>`` (target >= 0.97), plus
   delivered and duplicates. N from BENCH_NOTIFY_N (default 1,500; the issue's 10,000 takes
   about six minutes at 30 msg/s).
2. The whole statistics report over 100,000 appointments and 60,000 survey answers on
   SQLite, median of 7: ``BENCH stats_report_median <ms> ms ratio=<report/baseline>``,
   the baseline being one ``GROUP BY status`` count over the same table in the same run
   (target: <= 300 ms).
3. The chart of that report, median of 5 after one warm-up (target <= 500 ms).
4. Planning reminders for 100,000 future appointments after a restart (a fresh app, the
   scheduler's job, nothing queued yet), then again (nothing to add):
   ``BENCH reminder_planning <s> s ratio=<s/5>`` (target <= 5 s).

``BENCH_NOTIFY_PARTS=dispatch`` runs part 1 alone (any of stats, planning, dispatch,
comma-separated).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bot.app import App, build_app
from bot.channels.telegram import TelegramChannel
from handlers.admin import chart_labels, report_for
from handlers.planner import Jobs
from storage.models import (
    AppointmentRow,
    EvidenceRow,
    OutboxRow,
    SurveyRow,
    UserRow,
)
from storage.repositories.appointments import lead_hours
from tests.fakes.telegram_api import RateLimits, TelegramEmulator
from tests.support import MADRID, Clock, office_settings, ready_app

N = int(os.environ.get("BENCH_NOTIFY_N", "1500"))
# Which parts to run, e.g. BENCH_NOTIFY_PARTS=stats,planning to leave the dispatch out.
PARTS = set(os.environ.get("BENCH_NOTIFY_PARTS", "stats,planning,dispatch").split(","))
TELEGRAM_RATE = 30.0
APPOINTMENTS = 100_000
ANSWERS = 60_000
STATUSES = ["completed"] * 70 + ["no_show"] * 12 + ["cancelled"] * 13 + ["booked"] * 5
PROCEDURES = ["padro_alta", "volant_empadronament", "certificat_convivencia", "informacio"]


async def wait_until(predicate: Any, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def _users(app: App, count: int, channel: str, first_id: int, now: datetime) -> None:
    rows = [
        {
            "id": n + 1,
            "channel": channel,
            "external_id": str(first_id + n),
            "address": str(first_id + n),
            "display_name": "",
            "language": ("ca", "es", "en")[n % 3],
            "email": "",
            "unreachable": False,
            "created_at": now,
        }
        for n in range(count)
    ]
    async with app.sessions() as session, session.begin():
        await session.execute(insert(UserRow), rows)


def _appointment(
    n: int, citizen: int, start: datetime, status: str, made: datetime
) -> dict[str, Any]:
    return {
        "id": n + 1,
        "reference": f"VT-B{n:07d}",
        "citizen_id": citizen,
        "procedure": PROCEDURES[n % len(PROCEDURES)],
        "staff_id": ("anna", "marc")[n % 2],
        "start": start,
        "end": start + timedelta(minutes=30),
        "status": status,
        "language": "ca",
        "email": "",
        "citizen_name": "",
        "room": "",
        "details": {},
        "created_at": made,
        "updated_at": made,
        "session_seconds": None,
        "lead_hours": lead_hours(made, start),
    }


async def dispatch(folder: Path) -> dict[str, Any]:
    clock = Clock()
    async with TelegramEmulator(limits=RateLimits()) as emu:
        settings = office_settings(
            f"sqlite+aiosqlite:///{folder / 'vt.db'}",
            folder,
            telegram={"enabled": True, "token": emu.token, "base_url": emu.base_url},
        )
        app = build_app(settings, clock=clock)
        channel = app.channels["telegram"]
        assert isinstance(channel, TelegramChannel)
        await app.prepare_database()
        people = [emu.user(id=400_000 + i, language_code="ca") for i in range(N)]
        now = clock.now()
        await _users(app, N, "telegram", 400_000, now)
        start = now + timedelta(days=1, hours=2)
        rows = [_appointment(n, n + 1, start, "booked", now) for n in range(N)]
        due = now  # every reminder due at the same minute
        outbox = [
            {
                "channel": "telegram",
                "address": str(400_000 + n),
                "user_id": n + 1,
                "payload": {
                    "kind": "reminder",
                    "params": {"start": start.isoformat(), "full": True},
                    "appointment_id": n + 1,
                },
                "dedupe_key": f"bench:{n}",
                "kind": "reminder",
                "appointment_id": n + 1,
                "created_at": now,
                "next_attempt_at": due,
                "attempts": 0,
                "last_error": "",
            }
            for n in range(N)
        ]
        async with app.sessions() as session, session.begin():
            await session.execute(insert(AppointmentRow), rows)
            await session.execute(insert(OutboxRow), outbox)
        await channel.start()
        try:
            started = time.perf_counter()
            app.dispatcher.start()
            await wait_until(lambda: app.dispatcher.delivered >= N, N / 20 + 120, "deliveries")
            elapsed = time.perf_counter() - started
        finally:
            await app.close()
        got = [len(p.inbox) for p in people]
        return {
            "rate": N / elapsed,
            "delivered": sum(1 for n in got if n >= 1),
            "duplicates": sum(n - 1 for n in got if n > 1),
            "seconds": elapsed,
            "buttons": sum(1 for p in people if p.inbox and p.inbox[0].buttons),
            "refused": emu.stats.throttled_by_limit,  # 429s: sent faster than Telegram allows
        }


async def _stats_data(app: App) -> None:
    rng = random.Random(11)
    now = datetime(2026, 1, 1, tzinfo=MADRID).astimezone(UTC)
    await _users(app, 2000, "memory", 1, now)
    appointments, surveys, events = [], [], []
    completed: list[tuple[int, datetime]] = []
    for n in range(APPOINTMENTS):
        day = rng.randrange(0, 365)
        start = now + timedelta(days=day, hours=9 + rng.randrange(0, 5))
        status = rng.choice(STATUSES)
        made = start - timedelta(days=rng.randrange(0, 30), hours=rng.randrange(0, 24))
        appointments.append(_appointment(n, 1 + n % 2000, start, status, made))
        if status == "completed":
            completed.append((n + 1, start))
    for appointment_id, start in completed[:ANSWERS]:
        surveys.append(
            {
                "appointment_id": appointment_id,
                "asked_at": start,
                "score": rng.choice((6, 7, 8, 9, 9, 10, 10)),
                "again": rng.random() < 0.95,
                "comment": "",
                "channel": "memory",
                "answered_at": start + timedelta(minutes=15),
            }
        )
    for appointment_id, start in completed:
        ended = start + timedelta(minutes=rng.randrange(10, 40))
        # What ending the session writes on the appointment (as migration 0006p backfills).
        appointments[appointment_id - 1]["session_seconds"] = int((ended - start).total_seconds())
        for seq, (kind, at) in enumerate((("session_started", start), ("session_ended", ended))):
            events.append(
                {
                    "appointment_id": appointment_id,
                    "seq": seq,
                    "kind": kind,
                    "at": at.isoformat(),
                    "actor": "staff:anna",
                    "data": {},
                    "prev_hash": "0" * 64,
                    "hash": f"{appointment_id:032x}{seq:032x}",
                }
            )
    async with app.sessions() as session, session.begin():
        await session.execute(insert(AppointmentRow), appointments)
        await session.execute(insert(SurveyRow), surveys)
        await session.execute(insert(EvidenceRow), events)


async def stats_bench(folder: Path) -> tuple[float, float, float, int, int]:
    settings = office_settings(f"sqlite+aiosqlite:///{folder / 'vt.db'}", folder)
    app, _ = await ready_app(settings, Clock())
    try:
        await _stats_data(app)
        first, last = date(2026, 1, 1), date(2026, 12, 31)
        report_times, baseline_times = [], []
        report = None
        for _ in range(7):
            began = time.perf_counter()
            async with app.uow() as uow:
                report = await report_for(uow, app.office, first, last)
            report_times.append(time.perf_counter() - began)
            began = time.perf_counter()
            async with app.sessions() as session:
                query = select(AppointmentRow.status, func.count()).group_by(AppointmentRow.status)
                (await session.execute(query)).all()
            baseline_times.append(time.perf_counter() - began)
        assert report is not None and app.services.charts is not None
        labels = chart_labels("ca")
        app.services.charts.statistics_png(report, labels)  # warm-up (imports matplotlib)
        chart_times = []
        for _ in range(5):
            began = time.perf_counter()
            app.services.charts.statistics_png(report, labels)
            chart_times.append(time.perf_counter() - began)
        return (
            statistics.median(report_times) * 1000,
            statistics.median(baseline_times) * 1000,
            statistics.median(chart_times) * 1000,
            report.total.booked,
            report.satisfaction.answers,
        )
    finally:
        await app.close()


async def planning_bench(folder: Path) -> tuple[float, int, float, int]:
    clock = Clock()
    settings = office_settings(f"sqlite+aiosqlite:///{folder / 'vt.db'}", folder)
    app, _ = await ready_app(settings, clock)
    now = clock.now()
    rng = random.Random(5)
    await _users(app, 5000, "memory", 1, now)
    rows = [
        _appointment(
            n,
            1 + n % 5000,
            now + timedelta(hours=2 + rng.randrange(0, 24 * 20), minutes=30 * rng.randrange(2)),
            "booked",
            now,
        )
        for n in range(APPOINTMENTS)
    ]
    async with app.sessions() as session, session.begin():
        await session.execute(insert(AppointmentRow), rows)
    del rows  # a restarted process does not hold the rows it was seeded with
    await app.close()
    # The restart: a fresh app; the scheduler's planning job finds nothing queued.
    app, _ = await ready_app(settings, clock)
    try:
        jobs = Jobs(app.uow, app.office)
        began = time.perf_counter()
        added = await jobs.plan_reminders(clock.now())
        first = time.perf_counter() - began
        began = time.perf_counter()
        again = await jobs.plan_reminders(clock.now())
        second = time.perf_counter() - began
        return first, added, second, again
    finally:
        await app.close()


async def _print_stats(folder: Path) -> None:
    report, baseline, chart, booked, answers = await stats_bench(folder)
    print(f"# statistics over {booked} appointments, {answers} answers (one year)")
    print(f"BENCH stats_report_median {report:.1f} ms ratio={report / baseline:.1f}")
    print(f"BENCH stats_group_by_baseline {baseline:.1f} ms")
    print(f"BENCH stats_report_vs_target {report:.1f} ms ratio={report / 300:.2f}")
    print(f"BENCH stats_chart_median {chart:.1f} ms ratio={chart / 500:.2f}")


async def _print_planning(folder: Path) -> None:
    first, added, second, again = await planning_bench(folder)
    print(f"# planning: {added} reminders added for {APPOINTMENTS} appointments; again: {again}")
    print(f"BENCH reminder_planning {first:.2f} s ratio={first / 5:.2f}")
    print(f"BENCH reminder_planning_again {second:.2f} s")


async def _print_dispatch(folder: Path) -> None:
    result = await dispatch(folder)
    print(
        f"# dispatch: {N} typed reminders in {result['seconds']:.1f} s, "
        f"{result['buttons']} with their buttons, duplicates: {result['duplicates']}"
    )
    rate = result["rate"]
    print(f"BENCH notify_dispatch_rate {rate:.1f} msg/s ratio={rate / TELEGRAM_RATE:.3f}")
    print(f"BENCH notify_dispatch_delivered {result['delivered']} messages ratio="
          f"{result['delivered'] / N:.3f}")  # fmt: skip
    print(f"BENCH notify_dispatch_duplicates {result['duplicates']} messages")
    print(f"BENCH notify_dispatch_429 {result['refused']} answers")


async def run() -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in ("dispatch", "stats", "planning"):
            (folder / name).mkdir()
        if "stats" in PARTS:
            await _print_stats(folder / "stats")
        if "planning" in PARTS:
            await _print_planning(folder / "planning")
        if "dispatch" in PARTS:
            await _print_dispatch(folder / "dispatch")


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
