"""Slot search: one procedure over 20 staff × 30 days with 5,000 existing appointments.

Target (issue): median ≤ 20 ms. Run with ``python -m benchmarks.bench_slots``.
Each timed call includes building the busy index from the 5,000 `Busy` records, as a
booking conversation does when it asks for availability.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.schedule import StaffMember
from domain.slots import Busy, SlotRules, free_slots

STAFF = 20
DAYS = 30
APPOINTMENTS = 5_000
RUNS = 40


def build() -> tuple[list[StaffMember], list[Busy], SlotRules, datetime]:
    tz = ZoneInfo("Europe/Madrid")
    rules = SlotRules(
        slot_minutes=15,
        buffer_minutes=5,
        min_notice=timedelta(hours=2),
        horizon_days=DAYS,
        tz=tz,
    )
    staff = [
        StaffMember.build(
            f"s{i:02d}",
            f"Clerk {i}",
            hours=["mon-fri 08:00-15:00", "tue,thu 16:00-19:00"]
            if i % 2
            else ["mon-fri 09:00-14:00", "mon,wed 15:30-18:30"],
        )
        for i in range(STAFF)
    ]
    now = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # a Monday; the range crosses DST
    rng = random.Random(20260309)
    busy: list[Busy] = []
    first = now.astimezone(tz).date()
    while len(busy) < APPOINTMENTS:
        member = rng.choice(staff)
        day = first + timedelta(days=rng.randrange(DAYS))
        spans = member.hours.for_date(day)
        if not spans:
            continue
        span = rng.choice(spans)
        minute = rng.randrange(span.start, span.end - 15, 15)
        start = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)
        start = start.astimezone(UTC)  # storage hands back UTC datetimes
        busy.append(Busy(member.id, start, start + timedelta(minutes=rng.choice((15, 30)))))
    return staff, busy, rules, now


def main() -> None:
    staff, busy, rules, now = build()
    holidays = frozenset({date(2026, 4, 3), date(2026, 4, 6)})
    found = free_slots(20, staff, holidays, busy, rules, now)  # warm-up
    timings: list[float] = []
    for _ in range(RUNS):
        started = time.perf_counter()
        free_slots(20, staff, holidays, busy, rules, now)
        timings.append((time.perf_counter() - started) * 1000)
    median = statistics.median(timings)
    print(
        f"# {len(found)} free slots, {len(busy)} appointments, {STAFF} staff, {DAYS} days",
        file=sys.stderr,
    )
    print(f"BENCH slot_search_median {median:.2f} ms")


if __name__ == "__main__":
    main()
