from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.schedule import StaffMember
from domain.slots import (
    Busy,
    BusyIndex,
    Slot,
    SlotRules,
    free_days,
    free_slots,
    occupied_minutes,
    slot_cells,
    slots_on_day,
)

TZ = ZoneInfo("Europe/Madrid")
TUESDAY = date(2026, 3, 3)


def local(y: int, m: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=TZ, fold=fold)


def utc(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


def rules(
    slot: int = 30, buffer: int = 0, notice: timedelta = timedelta(0), horizon: int = 30
) -> SlotRules:
    return SlotRules(
        slot_minutes=slot, buffer_minutes=buffer, min_notice=notice, horizon_days=horizon, tz=TZ
    )


def member(staff_id: str = "a", *hours: str) -> StaffMember:
    rules_ = list(hours or ["mon-fri 09:00-11:00"])
    return StaffMember.build(staff_id, staff_id.title(), hours=rules_)


EARLY_MONDAY = local(2026, 3, 2, 7, 0)


def local_times(slots: list[Slot]) -> list[str]:
    return [s.start.astimezone(TZ).strftime("%H:%M") for s in slots]


# --------------------------------------------------------------------------- grid


def test_grid_of_a_working_range_in_utc_sorted() -> None:
    slots = slots_on_day(TUESDAY, 30, [member()], frozenset(), [], rules(), EARLY_MONDAY)
    assert local_times(slots) == ["09:00", "09:30", "10:00", "10:30"]
    assert [s.start for s in slots] == [
        utc(2026, 3, 3, 8),
        utc(2026, 3, 3, 8, 30),
        utc(2026, 3, 3, 9),
        utc(2026, 3, 3, 9, 30),
    ]
    assert all(s.start.tzinfo is UTC and s.end.tzinfo is UTC for s in slots)
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    assert all(s.staff_ids == ("a",) for s in slots)


def test_duration_rounds_up_to_whole_slots_and_must_fit_in_the_range() -> None:
    assert occupied_minutes(20, 15) == 30
    assert occupied_minutes(30, 15) == 30
    assert occupied_minutes(31, 15) == 45
    slots = slots_on_day(TUESDAY, 20, [member()], frozenset(), [], rules(slot=15), EARLY_MONDAY)
    assert local_times(slots) == ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30"]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    assert slots[-1].end.astimezone(TZ).strftime("%H:%M") == "11:00"


def test_grid_starts_at_each_range_start() -> None:
    staff = member("a", "tue 09:10-10:10", "tue 16:00-17:00")
    slots = slots_on_day(TUESDAY, 30, [staff], frozenset(), [], rules(), EARLY_MONDAY)
    assert local_times(slots) == ["09:10", "09:40", "16:00", "16:30"]


def test_procedure_longer_than_the_range_gives_nothing() -> None:
    slots = slots_on_day(TUESDAY, 150, [member()], frozenset(), [], rules(), EARLY_MONDAY)
    assert slots == []


def test_no_slots_on_a_day_off_or_without_staff() -> None:
    saturday = date(2026, 3, 7)
    assert slots_on_day(saturday, 30, [member()], frozenset(), [], rules(), EARLY_MONDAY) == []
    assert slots_on_day(TUESDAY, 30, [], frozenset(), [], rules(), EARLY_MONDAY) == []


# ----------------------------------------------------------------------- holidays


def test_holidays_are_excluded() -> None:
    wednesday = date(2026, 3, 4)
    days = free_days(30, [member()], frozenset({wednesday}), [], rules(horizon=6), EARLY_MONDAY)
    assert days == [date(2026, 3, 2), TUESDAY, date(2026, 3, 5), date(2026, 3, 6)]
    assert slots_on_day(wednesday, 30, [member()], {wednesday}, [], rules(), EARLY_MONDAY) == []


# ---------------------------------------------------------------------- busy staff


def test_busy_staff_loses_that_slot() -> None:
    busy = [Busy("a", local(2026, 3, 3, 9, 30), local(2026, 3, 3, 10, 0))]
    slots = slots_on_day(TUESDAY, 30, [member()], frozenset(), busy, rules(), EARLY_MONDAY)
    assert local_times(slots) == ["09:00", "10:00", "10:30"]


def test_partial_overlap_blocks_every_slot_it_touches() -> None:
    busy = [Busy("a", local(2026, 3, 3, 9, 45), local(2026, 3, 3, 10, 15))]
    slots = slots_on_day(TUESDAY, 30, [member()], frozenset(), busy, rules(), EARLY_MONDAY)
    assert local_times(slots) == ["09:00", "10:30"]


def test_slot_exists_while_one_of_two_staff_is_free() -> None:
    busy = [Busy("a", local(2026, 3, 3, 9, 30), local(2026, 3, 3, 10, 0))]
    staff = [member("a"), member("b")]
    slots = slots_on_day(TUESDAY, 30, staff, frozenset(), busy, rules(), EARLY_MONDAY)
    by_time = {t: s.staff_ids for t, s in zip(local_times(slots), slots, strict=True)}
    assert by_time == {
        "09:00": ("a", "b"),
        "09:30": ("b",),
        "10:00": ("a", "b"),
        "10:30": ("a", "b"),
    }
    both_busy = [*busy, Busy("b", local(2026, 3, 3, 9, 30), local(2026, 3, 3, 10, 0))]
    slots = slots_on_day(TUESDAY, 30, staff, frozenset(), both_busy, rules(), EARLY_MONDAY)
    assert "09:30" not in local_times(slots)


def test_busy_of_other_people_is_ignored() -> None:
    busy = [Busy("zz", local(2026, 3, 3, 9, 0), local(2026, 3, 3, 11, 0))]
    slots = slots_on_day(TUESDAY, 30, [member()], frozenset(), busy, rules(), EARLY_MONDAY)
    assert len(slots) == 4


def test_busy_in_any_time_zone_is_compared_as_an_instant() -> None:
    # 09:30 Madrid (CET, +01:00) is 08:30 UTC.
    busy = [Busy("a", utc(2026, 3, 3, 8, 30), utc(2026, 3, 3, 9, 0))]
    slots = slots_on_day(TUESDAY, 30, [member()], frozenset(), busy, rules(), EARLY_MONDAY)
    assert local_times(slots) == ["09:00", "10:00", "10:30"]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        free_slots(30, [member()], frozenset(), [], rules(), datetime(2026, 3, 2, 7))
    naive = [Busy("a", datetime(2026, 3, 3, 9), datetime(2026, 3, 3, 10))]
    with pytest.raises(ValueError):
        free_slots(30, [member()], frozenset(), naive, rules(), EARLY_MONDAY)


def test_prebuilt_index_gives_the_same_answer() -> None:
    busy = [
        Busy("a", local(2026, 3, 3, 9, 30), local(2026, 3, 3, 10, 0)),
        Busy("a", local(2026, 3, 3, 9, 45), local(2026, 3, 3, 10, 45)),
    ]
    index = BusyIndex(busy)
    assert not index.is_free("a", local(2026, 3, 3, 10, 0), local(2026, 3, 3, 10, 30))
    assert index.is_free("a", local(2026, 3, 3, 10, 45), local(2026, 3, 3, 11, 0))
    assert not index.is_free("a", local(2026, 3, 3, 10, 45), local(2026, 3, 3, 11, 0), 5)
    assert index.is_free("b", local(2026, 3, 3, 10, 0), local(2026, 3, 3, 10, 30))
    staff = [member()]
    assert free_slots(30, staff, frozenset(), index, rules(), EARLY_MONDAY) == free_slots(
        30, staff, frozenset(), busy, rules(), EARLY_MONDAY
    )


# ------------------------------------------------------------------------- buffer


def test_buffer_around_existing_appointments_counts_as_busy() -> None:
    busy = [Busy("a", local(2026, 3, 3, 10, 0), local(2026, 3, 3, 10, 30))]
    staff = [member("a", "tue 09:00-12:00")]
    no_buffer = slots_on_day(TUESDAY, 30, staff, frozenset(), busy, rules(slot=15), EARLY_MONDAY)
    assert "09:30" in local_times(no_buffer)
    assert "10:30" in local_times(no_buffer)
    buffered = slots_on_day(
        TUESDAY, 30, staff, frozenset(), busy, rules(slot=15, buffer=15), EARLY_MONDAY
    )
    times = local_times(buffered)
    assert "09:15" in times  # ends 09:45, 15 minutes before
    assert "09:30" not in times and "09:45" not in times
    assert "10:30" not in times
    assert "10:45" in times  # starts 15 minutes after


# ------------------------------------------------------------- notice and horizon


def test_min_notice_hides_slots_that_start_too_soon() -> None:
    now = local(2026, 3, 3, 9, 10)
    hour = rules(notice=timedelta(hours=1))
    slots = slots_on_day(TUESDAY, 30, [member()], frozenset(), [], hour, now)
    assert local_times(slots) == ["10:30"]
    slots = slots_on_day(TUESDAY, 30, [member()], frozenset(), [], rules(), now)
    assert local_times(slots) == ["09:30", "10:00", "10:30"]


def test_min_notice_can_push_to_the_next_day() -> None:
    now = local(2026, 3, 2, 10, 0)  # Monday
    day_notice = rules(notice=timedelta(hours=24), horizon=3)
    days = free_days(30, [member()], frozenset(), [], day_notice, now)
    assert days[0] == TUESDAY
    first = free_slots(30, [member()], frozenset(), [], rules(notice=timedelta(hours=24)), now)[0]
    assert first.start.astimezone(TZ) == local(2026, 3, 3, 10, 0)


def test_horizon_limits_the_last_bookable_day() -> None:
    days = free_days(30, [member()], frozenset(), [], rules(horizon=2), EARLY_MONDAY)
    assert days == [date(2026, 3, 2), TUESDAY, date(2026, 3, 4)]
    days = free_days(30, [member()], frozenset(), [], rules(horizon=0), EARLY_MONDAY)
    assert days == [date(2026, 3, 2)]


def test_first_and_last_day_narrow_the_search_but_not_beyond_today_or_horizon() -> None:
    staff = [member()]
    days = free_days(
        30,
        staff,
        frozenset(),
        [],
        rules(horizon=10),
        EARLY_MONDAY,
        first_day=date(2026, 2, 1),
        last_day=date(2026, 3, 3),
    )
    assert days == [date(2026, 3, 2), TUESDAY]
    days = free_days(
        30,
        staff,
        frozenset(),
        [],
        rules(horizon=3),
        EARLY_MONDAY,
        first_day=date(2026, 3, 4),
        last_day=date(2026, 4, 30),
    )
    assert days == [date(2026, 3, 4), date(2026, 3, 5)]


# ---------------------------------------------------------------------------- DST


def test_spring_forward_keeps_wall_clock_times() -> None:
    # 2027-03-28 (Sunday): 02:00 CET jumps to 03:00 CEST.
    staff = [member("a", "mon-sun 09:00-10:00")]
    now = local(2027, 3, 25, 6, 0)
    slots = free_slots(
        60,
        staff,
        frozenset(),
        [],
        rules(slot=60, horizon=5),
        now,
        first_day=date(2027, 3, 26),
        last_day=date(2027, 3, 29),
    )
    assert [s.start.astimezone(TZ).hour for s in slots] == [9, 9, 9, 9]
    assert [s.start for s in slots] == [
        utc(2027, 3, 26, 8),
        utc(2027, 3, 27, 8),
        utc(2027, 3, 28, 7),
        utc(2027, 3, 29, 7),
    ]


def test_spring_forward_skips_times_that_do_not_exist() -> None:
    staff = [member("a", "sun 01:00-04:00")]
    now = local(2027, 3, 25, 6, 0)
    slots = slots_on_day(date(2027, 3, 28), 30, staff, frozenset(), [], rules(), now)
    assert local_times(slots) == ["01:00", "01:30", "03:00", "03:30"]
    assert [s.start for s in slots] == [
        utc(2027, 3, 28, 0),
        utc(2027, 3, 28, 0, 30),
        utc(2027, 3, 28, 1),
        utc(2027, 3, 28, 1, 30),
    ]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)


def test_spring_forward_never_shifts_a_missing_time_off_the_grid() -> None:
    # With 45-minute slots, 02:15 does not exist; read naively it would become 03:15 and
    # overlap the 03:00 slot of the same person.
    staff = [member("a", "sun 01:30-05:00")]
    now = local(2027, 3, 25, 6, 0)
    slots = slots_on_day(date(2027, 3, 28), 45, staff, frozenset(), [], rules(slot=45), now)
    assert local_times(slots) == ["01:30", "03:00", "03:45"]


def test_fall_back_keeps_wall_clock_times() -> None:
    # 2026-10-25 (Sunday): 03:00 CEST goes back to 02:00 CET.
    staff = [member("a", "mon-sun 09:00-10:00")]
    now = local(2026, 10, 22, 6, 0)
    slots = free_slots(
        60,
        staff,
        frozenset(),
        [],
        rules(slot=60, horizon=5),
        now,
        first_day=date(2026, 10, 23),
        last_day=date(2026, 10, 26),
    )
    assert [s.start.astimezone(TZ).hour for s in slots] == [9, 9, 9, 9]
    assert [s.start for s in slots] == [
        utc(2026, 10, 23, 7),
        utc(2026, 10, 24, 7),
        utc(2026, 10, 25, 8),
        utc(2026, 10, 26, 8),
    ]


def test_fall_back_offers_the_repeated_hour_once() -> None:
    staff = [member("a", "sun 01:00-04:00")]
    now = local(2026, 10, 22, 6, 0)
    slots = slots_on_day(date(2026, 10, 25), 30, staff, frozenset(), [], rules(), now)
    assert local_times(slots) == ["01:00", "01:30", "02:00", "02:30", "03:00", "03:30"]
    assert [s.start for s in slots] == [
        utc(2026, 10, 24, 23),
        utc(2026, 10, 24, 23, 30),
        utc(2026, 10, 25, 0),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 2),
        utc(2026, 10, 25, 2, 30),
    ]
    assert len({s.start for s in slots}) == len(slots)


def test_busy_given_in_utc_blocks_the_right_local_slot_after_the_change() -> None:
    staff = [member("a", "mon 09:00-11:00")]
    monday = date(2027, 3, 29)
    busy = [Busy("a", utc(2027, 3, 29, 7), utc(2027, 3, 29, 7, 30))]  # 09:00 CEST
    slots = slots_on_day(monday, 30, staff, frozenset(), busy, rules(), local(2027, 3, 25, 6))
    assert local_times(slots) == ["09:30", "10:00", "10:30"]


# ---------------------------------------------------------------- cross-check


def _naive_free_slots(
    duration: int, staff: list[StaffMember], busy: list[Busy], r: SlotRules, now: datetime
) -> list[tuple[datetime, tuple[str, ...]]]:
    """Obvious O(n·m) reference, valid away from DST changes."""
    occupy = timedelta(minutes=occupied_minutes(duration, r.slot_minutes))
    buffer = timedelta(minutes=r.buffer_minutes)
    today = now.astimezone(TZ).date()
    found: dict[datetime, list[str]] = {}
    for offset in range(r.horizon_days + 1):
        day = today + timedelta(days=offset)
        for person in staff:
            for span in person.hours.for_date(day):
                minute = span.start
                while minute + occupy.total_seconds() / 60 <= span.end:
                    start = datetime(
                        day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=TZ
                    )
                    end = start + occupy
                    ok = start >= now + r.min_notice and not any(
                        b.staff_id == person.id
                        and b.start < end + buffer
                        and b.end > start - buffer
                        for b in busy
                    )
                    if ok:
                        found.setdefault(start.astimezone(UTC), []).append(person.id)
                    minute += r.slot_minutes
    return [(k, tuple(sorted(v))) for k, v in sorted(found.items())]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_a_brute_force_reference(seed: int) -> None:
    rng = random.Random(seed)
    staff = [
        member("a", "mon-fri 09:00-14:00"),
        member("b", "mon,wed,fri 08:30-13:30", "tue,thu 16:00-19:00"),
        member("c", "tue-sat 10:00-12:45"),
    ]
    r = rules(
        slot=15,
        buffer=rng.choice([0, 5, 15]),
        notice=timedelta(hours=rng.randint(0, 30)),
        horizon=12,
    )
    now = local(2026, 3, 2, 8, 20)
    busy = []
    for _ in range(120):
        day = 2 + rng.randrange(13)
        start = local(2026, 3, day, rng.randrange(8, 19), rng.choice([0, 10, 15, 30, 45]))
        length = timedelta(minutes=rng.choice([15, 20, 30, 60]))
        busy.append(Busy(rng.choice("abc"), start, start + length))
    got = free_slots(25, staff, frozenset(), busy, r, now)
    assert [(s.start, s.staff_ids) for s in got] == _naive_free_slots(25, staff, busy, r, now)


# -------------------------------------------------------------------------- misc


def test_slot_cells_cover_the_appointment_on_the_grid() -> None:
    start = local(2026, 3, 3, 9, 0)
    cells = slot_cells(start, start + timedelta(minutes=45), 15)
    assert cells == [utc(2026, 3, 3, 8), utc(2026, 3, 3, 8, 15), utc(2026, 3, 3, 8, 30)]
    assert all(c.tzinfo is UTC for c in cells)


def test_rules_are_validated() -> None:
    with pytest.raises(ValueError):
        rules(slot=0)
    with pytest.raises(ValueError):
        rules(buffer=-1)
    with pytest.raises(ValueError):
        rules(notice=timedelta(minutes=-1))
    with pytest.raises(ValueError):
        occupied_minutes(0, 30)
