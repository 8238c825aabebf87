"""The calendar file (.ics) attached to an appointment's emails."""

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
    sequence: int = 0,
    cancel: bool = False,
) -> bytes:
    """One VEVENT in UTC, so every calendar shows it at the right local time. The UID
    stays the same across reschedules and SEQUENCE grows at each change, so calendars
    update the event instead of adding another; a cancellation is METHOD:CANCEL."""
    calendar = Calendar()
    calendar.add("prodid", "-//videotramit//appointment//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("description", description)
    event.add("location", organizer_name)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    calendar.add_component(event)
    return bytes(calendar.to_ical())
