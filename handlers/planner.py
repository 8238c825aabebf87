"""The scheduler's jobs (bot/scheduler.py runs them on the app's clock): reminders
planned again for every upcoming appointment (after a restart, or a change of the
configured offsets: what is planned already stays as it is), the staff's morning
summary, and the waitlist's holds that ran out."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from handlers import waiting
from handlers.ports import Office, UnitOfWorkFactory


class Jobs:
    def __init__(self, uow: UnitOfWorkFactory, office: Office) -> None:
        self._uow = uow
        self._office = office
        self._summaries_done: date | None = None
        self._planned_once = False

    def all(self) -> dict[str, Any]:
        return {
            "reminders": self.plan_reminders,
            "morning_summary": self.morning_summary,
            "waitlist": self.waitlist,
        }

    async def plan_reminders(self, now: datetime) -> int:
        """Every booked appointment still ahead has its reminders queued, as a booking
        queues them (handlers.notify.plan_reminders), leaving what is queued already
        untouched; returns rows added."""
        # The first pass (after a start) looks as far as anyone can book; later ones only
        # at the coming days, since bookings and moves plan their own reminders.
        longest = max(self._office.reminders, default=timedelta(0))
        ahead = longest + timedelta(days=1)
        if not self._planned_once:
            ahead = max(ahead, timedelta(days=self._office.rules.horizon_days + 1))
        office = self._office
        async with self._uow() as uow:
            added = await uow.outbox.enqueue_reminders(
                now, now + ahead, office.reminders, email=office.email_enabled
            )
            await uow.commit()
        self._planned_once = True
        return added

    async def morning_summary(self, now: datetime) -> None:
        """Once a day, from `[schedule] morning_summary`, each clerk with appointments
        that day (and who has talked to the bot) gets the summary of their day."""
        local = now.astimezone(self._office.tz)
        if local.time() < self._office.morning_summary or self._summaries_done == local.date():
            return
        from handlers import notify

        day = local.date()
        start = datetime.combine(day, time(0), self._office.tz)
        async with self._uow() as uow:
            for member in self._office.staff:
                found = await uow.appointments.for_staff(member.id, start, start + timedelta(1))
                if not any(a.status.value == "booked" for a in found):
                    continue
                clerk = await uow.users.find_staff_user(member.id)
                if clerk is None:
                    continue
                await notify.queue(
                    uow,
                    clerk,
                    "staff_day",
                    {"day": day.isoformat()},
                    dedupe_key=f"day:{member.id}:{day.isoformat()}",
                )
            await uow.commit()
        self._summaries_done = day

    async def waitlist(self, now: datetime) -> None:
        async with self._uow() as uow:
            await waiting.expire_holds(uow, self._office, now)
            await uow.commit()
