"""The calendar file (.ics) attached to an appointment's confirmation email."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event


def appointment_ics(
    *,
    uid: str,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    organizer_name: str,
    stamp: datetime,
) -> bytes:
    """One VEVENT in UTC, so every calendar shows it at the right local time."""
    calendar = Calendar()
    calendar.add("prodid", "-//videotramit//appointment//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("description", description)
    event.add("location", organizer_name)
    event.add("status", "CONFIRMED")
    calendar.add_component(event)
    return bytes(calendar.to_ical())
