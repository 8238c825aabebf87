"""The notifications of the time around an appointment: reminders, the survey, waitlist
offers, the staff's morning summary, and their emails. Registered in handlers.notify.KINDS."""

from __future__ import annotations

from handlers.notify import Kind

KINDS: dict[str, Kind] = {}
