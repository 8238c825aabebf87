"""The notifications of the time around an appointment: reminders, the survey, waitlist
offers, the staff's morning summary, and their emails. Registered in handlers.notify.KINDS
(this module is only read from there, at first use)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from html import escape

from domain.appointments import Status
from domain.model import Appointment
from handlers.i18n import format_day, format_time
from handlers.messages import OutFile
from handlers.notify import Delivery, Kind, Rendered

# Registry entries the buttons hand over to (handlers/reminders.py, survey.py, waitlist.py).
REMINDER_ANSWER = "reminder.answer"
SURVEY_SCORE = "survey.score"
WAITLIST_TAKE = "waitlist.take"
SCORES = tuple(range(11))


def _moved(d: Delivery) -> bool:
    start = d.params.get("start")
    return bool(start and d.appointment and d.appointment.start.isoformat() != start)


async def missing_documents(d: Delivery, appointment: Appointment) -> list[str]:
    """The required documents not received yet, named in the recipient's language."""
    procedure = d.office.catalog.find(appointment.procedure)
    if procedure is None:
        return []
    received = {doc.requirement for doc in await d.uow.documents.for_appointment(appointment.id)}
    return [doc.name.get(d.lang) for doc in procedure.documents if doc.code not in received]


async def _reminder(d: Delivery) -> Rendered | None:
    """A reminder in the chat: dropped when the appointment was moved or cancelled since
    it was planned; the first one (24 h by default) lists what to have ready and offers
    one tap to confirm, change or cancel."""
    a = d.appointment
    assert a is not None
    if _moved(d) or a.status is not Status.BOOKED:
        return None
    text = d.t(
        "reminder.text",
        reference=a.reference,
        procedure=d.procedure_name(a.procedure),
        when=d.when(a.start),
    )
    if not d.params.get("full"):
        return Rendered(text)
    missing = await missing_documents(d, a)
    if missing:
        listed = "\n".join(f"- {name}" for name in missing)
        text += "\n\n" + d.t("reminder.missing", documents=listed)
    text += "\n\n" + d.t("reminder.question")
    answer = {"id": a.id, "start": a.start.isoformat()}
    buttons = [
        (REMINDER_ANSWER, d.t("reminder.yes"), {**answer, "answer": "yes"}),
        (REMINDER_ANSWER, d.t("reminder.move"), {**answer, "answer": "move"}),
        (REMINDER_ANSWER, d.t("reminder.cancel"), {**answer, "answer": "cancel"}),
    ]
    return Rendered(text, buttons=buttons)


def calendar_file(d: Delivery, a: Appointment, *, cancel: bool = False) -> OutFile:
    """The appointment's .ics: the same UID across reschedules, a higher SEQUENCE at each
    change, METHOD:CANCEL when it was cancelled."""
    from documents.ics import appointment_ics

    name = d.procedure_name(a.procedure)
    ics = appointment_ics(
        uid=f"{a.reference}@videotramit",
        start=a.start,
        end=a.end,
        summary=d.t("email.event", procedure=name, reference=a.reference),
        description=d.t("email.calendar.description", reference=a.reference),
        organizer_name=d.office.council.name,
        stamp=d.now,
        sequence=int(a.details.get("ics_sequence", 0)) + (1 if cancel else 0),
        cancel=cancel,
    )
    return OutFile(name=f"{a.reference}.ics", data=ics, content_type="text/calendar")


def _html(text: str) -> str:
    """The plain text as simple HTML (the same words; paragraphs and lines kept)."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    body = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<!doctype html><html lang="en"><body>{body}</body></html>'


def email(d: Delivery, subject: str, text: str, attachment: OutFile | None = None) -> Rendered:
    html = _html(text).replace('lang="en"', f'lang="{escape(d.lang)}"')
    return Rendered(text, subject=subject, html=html, attachment=attachment)


async def _reminder_email(d: Delivery) -> Rendered | None:
    a = d.appointment
    assert a is not None
    if _moved(d) or a.status is not Status.BOOKED:
        return None
    when = d.when(a.start)
    missing = await missing_documents(d, a)
    text = d.t(
        "email.reminder.body",
        reference=a.reference,
        procedure=d.procedure_name(a.procedure),
        when=when,
        council=d.office.council.name,
        documents="\n".join(f"- {name}" for name in missing) or "-",
    )
    subject = d.t("email.reminder.subject", reference=a.reference, when=when)
    return email(d, subject, text, calendar_file(d, a))


async def _confirmation_email(d: Delivery) -> Rendered | None:
    a = d.appointment
    assert a is not None
    if _moved(d):
        return None  # the email of the move says the new time
    procedure = d.office.catalog.find(a.procedure)
    documents = [doc.name.get(d.lang) for doc in procedure.documents] if procedure else []
    when = d.when(a.start)
    text = d.t(
        "email.body",
        reference=a.reference,
        procedure=d.procedure_name(a.procedure),
        when=when,
        council=d.office.council.name,
        documents="\n".join(f"- {name}" for name in documents) or "-",
    )
    subject = d.t("email.subject", reference=a.reference, when=when)
    return email(d, subject, text, calendar_file(d, a))


async def _cancelled_email(d: Delivery) -> Rendered | None:
    a = d.appointment
    assert a is not None
    if a.status is not Status.CANCELLED:
        return None
    when = d.when(a.start)
    text = d.t("email.cancelled.body", reference=a.reference, when=when)
    subject = d.t("email.cancelled.subject", reference=a.reference, when=when)
    return email(d, subject, text, calendar_file(d, a, cancel=True))


async def _moved_email(d: Delivery) -> Rendered | None:
    a = d.appointment
    assert a is not None
    if _moved(d) or a.status is not Status.BOOKED:
        return None
    when = d.when(a.start)
    text = d.t("email.moved.body", reference=a.reference, when=when)
    subject = d.t("email.moved.subject", reference=a.reference, when=when)
    return email(d, subject, text, calendar_file(d, a))


async def _survey(d: Delivery) -> Rendered | None:
    """The survey, once per appointment: 0-10 as buttons that keep working from this
    message; if the citizen is not in the middle of something, a typed number works too."""
    a = d.appointment
    assert a is not None
    answered = await d.uow.notices.survey(a.id)
    if answered is not None and answered.score is not None:
        return None
    buttons = [(SURVEY_SCORE, str(n), {"id": a.id, "score": n}) for n in SCORES]
    state = await d.uow.conversations.load(d.recipient.id)
    if state.flow in ("", "menu"):
        state.flow, state.step, state.data = "survey", "score", {"id": a.id}
        await d.uow.conversations.save(d.recipient.id, state)
    return Rendered(d.t("survey.ask", reference=a.reference), buttons=buttons, columns=6)


async def _staff_day(d: Delivery) -> Rendered | None:
    """A clerk's morning summary: the day's appointments, with what is still missing."""
    staff_id = d.recipient.staff_id
    if staff_id is None:
        return None
    day = datetime.fromisoformat(d.params["day"]).date()
    tz = d.office.tz
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    found = await d.uow.appointments.for_staff(staff_id, start, end)
    booked = [a for a in found if a.status is Status.BOOKED]
    if not booked:
        return Rendered(d.t("reminder.staff_day_empty", day=format_day(day, d.lang)))
    confirmed = await d.uow.notices.attendance([a.id for a in booked])
    lines = []
    for a in booked:
        missing = await missing_documents(d, a)
        parts = [
            f"{format_time(a.start, tz)} {a.reference}",
            d.procedure_name(a.procedure),
            a.citizen_name or d.t("staff.unnamed"),
        ]
        if confirmed.get(a.id) == "confirmed":
            parts.append(d.t("reminder.confirmed_mark"))
        if missing:
            parts.append(d.t("staff.documents_missing", count=len(missing)))
        lines.append(" · ".join(parts))
    return Rendered(
        d.t(
            "reminder.staff_day",
            day=format_day(day, d.lang),
            count=len(booked),
            lines="\n".join(lines),
        )
    )


async def _waitlist_offer(d: Delivery) -> Rendered | None:
    """A freed time offered to the first in line, held for them until `until`."""
    until = datetime.fromisoformat(d.params["until"])
    if until <= d.now:
        return None  # the hold ran out before it could be delivered: the next is asked
    start = datetime.fromisoformat(d.params["start"])
    text = d.t(
        "waitlist.offer",
        procedure=d.procedure_name(d.params["procedure"]),
        when=d.when(start),
        until=format_time(until, d.office.tz),
    )
    take = {"entry": d.params["entry"], "start": d.params["start"]}
    buttons = [
        (WAITLIST_TAKE, d.t("waitlist.take"), {**take, "take": True}),
        (WAITLIST_TAKE, d.t("waitlist.pass"), {**take, "take": False}),
    ]
    return Rendered(text, buttons=buttons)


KINDS: dict[str, Kind] = {
    "reminder": Kind(_reminder),
    "reminder_email": Kind(_reminder_email),
    "moved_email": Kind(_moved_email),
    "confirmation_email": Kind(_confirmation_email),
    "cancelled_email": Kind(_cancelled_email, keep=None),
    "survey": Kind(_survey, keep=(Status.COMPLETED,)),
    "staff_day": Kind(_staff_day, keep=None),
    "waitlist_offer": Kind(_waitlist_offer, keep=None),
}
