from __future__ import annotations

from datetime import date, time, timedelta
from importlib import resources

import pytest

from domain.schedule import (
    Holidays,
    ScheduleError,
    StaffMember,
    TimeRange,
    WeeklyHours,
    eligible_staff,
    parse_holidays,
)


def hm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def r(start: str, end: str) -> TimeRange:
    return TimeRange(hm(start), hm(end))


# ---------------------------------------------------------------------- weekly hours


def test_day_ranges_and_lists() -> None:
    hours = WeeklyHours.parse(["mon-fri 09:00-14:00", "tue,thu 16:00-19:00"])
    assert hours.on(0) == (r("09:00", "14:00"),)
    assert hours.on(1) == (r("09:00", "14:00"), r("16:00", "19:00"))
    assert hours.on(3) == (r("09:00", "14:00"), r("16:00", "19:00"))
    assert hours.on(4) == (r("09:00", "14:00"),)
    assert hours.on(5) == () and hours.on(6) == ()
    assert hours.for_date(date(2026, 3, 3)) == hours.on(1)  # a Tuesday
    assert hours.describe()[1] == "tue 09:00-14:00,16:00-19:00"


@pytest.mark.parametrize(
    "rule",
    [
        "mon-wed,fri 08:30-13:30",
        "Mon-Wed, Fri 08:30-13:30",
        "monday-wednesday,friday 8:30-13:30",
        "mon-wed,fri   08:30-13:30  ",
    ],
)
def test_spelling_variants(rule: str) -> None:
    hours = WeeklyHours.parse([rule])
    assert [bool(hours.on(d)) for d in range(7)] == [True, True, True, False, True, False, False]
    assert hours.on(0) == (r("08:30", "13:30"),)


def test_several_ranges_in_one_rule_and_merging() -> None:
    hours = WeeklyHours.parse(["mon 09:00-11:00,10:30-12:00 16:00-18:00", "mon 12:00-13:00"])
    assert hours.on(0) == (r("09:00", "13:00"), r("16:00", "18:00"))


def test_end_of_day_and_single_string() -> None:
    hours = WeeklyHours.parse("sun 20:00-24:00")
    assert hours.on(6) == (TimeRange(1200, 1440),)
    assert hours.on(6)[0].end_time == time.max
    assert hours.on(6)[0].start_time == time(20, 0)


def test_empty_hours() -> None:
    assert WeeklyHours.parse([]).is_empty
    assert not WeeklyHours.parse(["sat 10:00-11:00"]).is_empty


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("mon-fry 09:00-14:00", "unknown day 'fry'"),
        ("lun 09:00-14:00", "unknown day 'lun'"),
        ("fri-mon 09:00-14:00", "goes backwards"),
        ("mon-fri 9-14", "not a time range"),
        ("mon-fri 09:00", "not a time range"),
        ("mon-fri 14:00-09:00", "end is not after the start"),
        ("mon-fri 09:00-09:00", "end is not after the start"),
        ("mon-fri 25:00-26:00", "impossible time"),
        ("mon-fri 09:60-10:00", "impossible time"),
        ("mon-fri 23:00-24:30", "impossible time"),
        ("09:00-14:00", "expected days and times"),
        ("mon-fri", "expected days and times"),
        ("mon,,fri 09:00-14:00", "empty day"),
    ],
)
def test_bad_rules_are_explained(rule: str, fragment: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        WeeklyHours.parse([rule])
    assert fragment in str(caught.value)
    assert repr(rule) in str(caught.value)


def test_weekly_hours_need_seven_days() -> None:
    with pytest.raises(ScheduleError):
        WeeklyHours(((),) * 6)


# ----------------------------------------------------------------------------- staff


def test_staff_member_build_and_eligibility() -> None:
    anna = StaffMember.build("anna", "Anna", hours=["mon-fri 09:00-14:00"])
    marc = StaffMember.build("marc", "Marc", procedures=["padro_alta"], hours=["mon 09:00-10:00"])
    laia = StaffMember.build("laia", "Laia", roles=["admin"], procedures=[], hours=[])
    nuria = StaffMember.build(
        "nuria", "Núria", roles=["staff", "admin"], procedures=[], hours=["tue 09:00-10:00"]
    )
    idle = StaffMember.build("idle", "Idle", hours=[])
    assert anna.serves("x") and anna.procedures == frozenset({"*"})
    assert marc.serves("padro_alta") and not marc.serves("obres_menors")
    assert nuria.serves("obres_menors")  # empty list = every procedure
    assert laia.is_admin and not laia.is_staff
    assert not laia.can_attend("padro_alta")
    team = [anna, marc, laia, nuria, idle]
    assert [m.id for m in eligible_staff(team, "padro_alta")] == ["anna", "marc", "nuria"]
    assert [m.id for m in eligible_staff(team, "obres_menors")] == ["anna", "nuria"]


def test_staff_errors_name_the_person() -> None:
    with pytest.raises(ScheduleError) as caught:
        StaffMember.build("anna", "Anna", hours=["mon-fri 9-14"])
    assert "staff 'anna' hours" in str(caught.value)
    with pytest.raises(ScheduleError) as caught:
        StaffMember.build("anna", "Anna", roles=["boss"])
    assert "unknown role 'boss'" in str(caught.value)


# -------------------------------------------------------------------------- holidays


def test_parse_holidays_with_names() -> None:
    text = """
[[holiday]]
date = 2026-06-24
name = "Sant Joan"
scope = "catalonia"

[[holiday]]
date = "2026-09-11"
name = "Diada"
"""
    holidays = parse_holidays(text)
    assert isinstance(holidays, frozenset)
    assert holidays == {date(2026, 6, 24), date(2026, 9, 11)}
    assert holidays.name(date(2026, 6, 24)) == "Sant Joan"
    assert holidays.name(date(2026, 6, 25)) is None
    assert date(2026, 9, 11) in holidays
    assert parse_holidays("") == frozenset()
    assert Holidays([date(2026, 1, 1)]).name(date(2026, 1, 1)) == ""


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[holiday]]\ndate = 2026-13-01\n", "not valid TOML"),
        ('[[holiday]]\ndate = "1 de gener"\n', "holiday[0].date"),
        ("[[holiday]]\ndate = 2026-01-01T10:00:00\n", "holiday[0].date"),
        ('[[holiday]]\nname = "x"\n', "holiday[0].date: missing"),
        ("[[holiday]]\ndate = 2026-01-01\nnom = 'x'\n", "holiday[0].nom: unknown key"),
        ("[[holiday]]\ndate = 2026-01-01\nscope = 'galaxy'\n", "holiday[0].scope"),
        ("[[holiday]]\ndate = 2026-01-01\nname = 3\n", "holiday[0].name"),
        (
            "[[holiday]]\ndate = 2026-01-01\n[[holiday]]\ndate = 2026-01-01\n",
            "holiday[1].date: 2026-01-01 is listed twice",
        ),
        ("[[holidays]]\ndate = 2026-01-01\n", "unknown key 'holidays'"),
        ("holiday = 3\n", "expected [[holiday]]"),
    ],
)
def test_bad_holidays_are_explained(text: str, fragment: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_holidays(text)
    assert fragment in str(caught.value)


def _easter(year: int) -> date:
    """Anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def test_shipped_holidays() -> None:
    text = resources.files("config").joinpath("holidays.toml").read_text(encoding="utf-8")
    holidays = parse_holidays(text)
    catalonia_2026 = {
        date(2026, m, d)
        for m, d in [
            (1, 1),
            (1, 6),
            (4, 3),
            (4, 6),
            (5, 1),
            (6, 24),
            (8, 15),
            (9, 11),
            (10, 12),
            (12, 8),
            (12, 25),
            (12, 26),
        ]
    }
    assert catalonia_2026 <= holidays
    assert _easter(2026) == date(2026, 4, 5) and _easter(2027) == date(2027, 3, 28)
    for year in (2026, 2027):
        easter = _easter(year)
        assert easter - timedelta(days=2) in holidays  # Good Friday
        assert easter + timedelta(days=1) in holidays  # Easter Monday
        assert date(year, 1, 1) in holidays and date(year, 9, 11) in holidays
        assert len([d for d in holidays if d.year == year]) >= 13  # incl. local days
    assert holidays.name(date(2027, 3, 29)) == "Dilluns de Pasqua Florida"
    assert all(d.weekday() != 6 for d in holidays)  # Sundays are closed anyway
