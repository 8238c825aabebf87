"""Notifications: typed things, rendered when they are delivered.

A notification is a kind + recipient + parameters + due time + dedupe key. Queuing one
(inside the turn's transaction) stores only that; the text is written by the kind's
renderer when the dispatcher delivers it, in its own unit of work: in the recipient's
language of that moment, with the appointment as it is then (a reminder of an appointment
that was cancelled or moved is dropped), with join links minted then, and with buttons and
conversation state armed then, not when it was queued.

`KINDS` is the one registry of kinds. Buttons come in two sorts: a *prompt* moves the
recipient's conversation to the step its buttons answer (as if the bot had asked it in
their own turn); *standing* buttons (a reminder's, a survey's) are stored server-side and
keep working from the same message later, whatever the conversation did in between.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.appointments import Status
from domain.evidence import EventKind
from domain.model import Appointment, OutboxMessage, StoredDocument, User
from domain.procedures import Procedure
from handlers.casework import document_name, runner
from handlers.choices import arm
from handlers.context import Ctx
from handlers.i18n import format_when, translate
from handlers.messages import Choice, OutFile, Reply
from handlers.ports import Clock, Office, Services, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("videotramit.notify")

Text = Callable[[str], str]  # language -> text
ACTIVE = (Status.BOOKED, Status.IN_SESSION)
# What is withdrawn when an appointment is moved or cancelled: everything that speaks of
# its time (the citizen's reminders, the clerk's "booked" note not yet delivered...).
ABOUT_THE_TIME = ("reminder", "reminder_email", "moved_email", "staff_booked", "call_ready")


# --- queuing --------------------------------------------------------------------------


async def queue(
    uow: UnitOfWork,
    recipient: User,
    kind: str,
    params: Mapping[str, Any] | None = None,
    *,
    due: datetime | None = None,
    dedupe_key: str | None = None,
    appointment_id: int | None = None,
    address: tuple[str, str] | None = None,
) -> None:
    """Queue a notification of `kind` for `recipient` (on their chat, or at `address`,
    a (channel, address) pair such as their email), due now or at `due`."""
    if kind not in KINDS:
        raise LookupError(f"unknown notification kind {kind!r}")
    channel, to = address or (recipient.channel, recipient.address)
    payload: dict[str, Any] = {"kind": kind, "params": dict(params or {})}
    if appointment_id is not None:
        payload["appointment_id"] = appointment_id
    await uow.outbox.enqueue(
        channel=channel,
        address=to,
        payload=payload,
        user_id=recipient.id,
        dedupe_key=dedupe_key,
        not_before=due,
        kind=kind,
        appointment_id=appointment_id,
    )


async def to_clerk(
    uow: UnitOfWork,
    staff_id: str,
    kind: str,
    params: Mapping[str, Any] | None = None,
    *,
    dedupe_key: str | None = None,
    appointment_id: int | None = None,
) -> None:
    """Tell a clerk, if they have ever talked to the bot (otherwise it cannot reach them)."""
    clerk = await uow.users.find_staff_user(staff_id)
    if clerk is not None:
        await queue(uow, clerk, kind, params, dedupe_key=dedupe_key, appointment_id=appointment_id)


async def withdraw(uow: UnitOfWork, appointment_id: int) -> None:
    """The appointment moved or was cancelled: what was pending about its time goes."""
    await uow.outbox.withdraw(appointment_id, ABOUT_THE_TIME)


# --- the notifications the conversations send ----------------------------------------


async def staff_of_booking(ctx: Ctx, appointment: Appointment, procedure: Procedure) -> None:
    del procedure  # read again at delivery
    await to_clerk(
        ctx.uow,
        appointment.staff_id,
        "staff_booked",
        {"start": appointment.start.isoformat()},
        dedupe_key=f"booked:{appointment.reference}",
        appointment_id=appointment.id,
    )


async def staff_of_move(ctx: Ctx, before: Appointment, after: Appointment) -> None:
    for staff_id in {before.staff_id, after.staff_id}:
        await to_clerk(
            ctx.uow,
            staff_id,
            "staff_moved",
            {"before": before.start.isoformat(), "after": after.start.isoformat()},
            appointment_id=after.id,
        )


async def staff_of_cancel(ctx: Ctx, appointment: Appointment) -> None:
    await to_clerk(
        ctx.uow,
        appointment.staff_id,
        "staff_cancelled",
        {"start": appointment.start.isoformat()},
        dedupe_key=f"cancelled:{appointment.reference}",
        appointment_id=appointment.id,
    )


async def citizen_of_no_show(ctx: Ctx, appointment: Appointment) -> None:
    citizen = await ctx.uow.users.get(appointment.citizen_id)
    await queue(
        ctx.uow,
        citizen,
        "no_show",
        dedupe_key=f"noshow:{appointment.reference}",
        appointment_id=appointment.id,
    )


async def staff_of_document(
    ctx: Ctx, appointment: Appointment, document: StoredDocument, requirement: str, label: str = ""
) -> None:
    await to_clerk(
        ctx.uow,
        runner(appointment),
        "staff_document",
        {"document": document.id, "requirement": requirement, "label": label},
        dedupe_key=f"doc:{document.id}",
        appointment_id=appointment.id,
    )


async def survey_after(ctx: Ctx, appointment: Appointment) -> None:
    """The satisfaction survey, some minutes after a completed session; once per
    appointment, whatever happens next (a session ended twice asks once)."""
    if not await ctx.uow.notices.survey_asked(appointment.id, ctx.now):
        return
    citizen = await ctx.uow.users.get(appointment.citizen_id)
    await queue(
        ctx.uow,
        citizen,
        "survey",
        due=ctx.now + ctx.office.survey_delay,
        dedupe_key=f"survey:{appointment.id}",
        appointment_id=appointment.id,
    )


async def said(
    uow: UnitOfWork,
    recipient: User,
    key: str,
    values: Mapping[str, Any] | None = None,
    *,
    dedupe_key: str | None = None,
    appointment_id: int | None = None,
) -> None:
    """A catalog text, written in the recipient's language at delivery. `values` hold
    only what the text shows as it is (a reference, an entry number); times come from
    the appointment, read again then."""
    await queue(
        uow,
        recipient,
        "said",
        {"key": key, "values": dict(values or {})},
        dedupe_key=dedupe_key,
        appointment_id=appointment_id,
    )


async def prompt(
    uow: UnitOfWork,
    recipient: User,
    kind: str,
    params: Mapping[str, Any],
    *,
    flow: str,
    step: str,
    data: Mapping[str, Any],
    options: Sequence[tuple[str, str]] = (),
    dedupe_key: str | None = None,
    appointment_id: int | None = None,
) -> None:
    """A question for someone else than the person whose turn it is: when it is
    delivered, their conversation moves to (flow, step) and `options` (value, catalog
    key of the label) become their live buttons."""
    await queue(
        uow,
        recipient,
        kind,
        {
            **params,
            "_prompt": {
                "flow": flow,
                "step": step,
                "data": dict(data),
                "options": [[value, key] for value, key in options],
            },
        },
        dedupe_key=dedupe_key,
        appointment_id=appointment_id,
    )


# --- reminders ----------------------------------------------------------------------


def reminder_key(appointment: Appointment, minutes: int, channel: str = "") -> str:
    # The scheduler's planning pass writes the same keys in SQL (storage/reminders.py):
    # change both, or a restart plans every reminder a second time.
    suffix = f":{channel}" if channel else ""
    return f"rem:{appointment.id}:{appointment.start.isoformat()}:{minutes}{suffix}"


async def plan_reminders(
    uow: UnitOfWork, office: Office, appointment: Appointment, citizen: User, now: datetime
) -> int:
    """Queue the reminders of a booked appointment; returns how many were due later."""
    if appointment.status is not Status.BOOKED:
        return 0
    planned = 0
    start = appointment.start.isoformat()
    for offset in office.reminders:  # longest first
        due = appointment.start - offset
        if due <= now:
            continue
        minutes = int(offset.total_seconds() // 60)
        full = planned == 0
        await queue(
            uow,
            citizen,
            "reminder",
            {"start": start, "full": full},
            due=due,
            dedupe_key=reminder_key(appointment, minutes),
            appointment_id=appointment.id,
        )
        if full and appointment.email and office.email_enabled:
            await queue(
                uow,
                citizen,
                "reminder_email",
                {"start": start},
                due=due,
                dedupe_key=reminder_key(appointment, minutes, "email"),
                appointment_id=appointment.id,
                address=("email", appointment.email),
            )
        planned += 1
    return planned


async def after_move(ctx: Ctx, appointment: Appointment) -> None:
    """After a reschedule: what was planned for the old time goes, the new time's comes."""
    await withdraw(ctx.uow, appointment.id)
    # The calendar file keeps its UID; a higher SEQUENCE makes calendars update the event.
    current = await ctx.uow.appointments.get(appointment.id) or appointment
    details = dict(current.details)
    details["ics_sequence"] = int(details.get("ics_sequence", 0)) + 1
    appointment = await ctx.uow.appointments.update(appointment.id, details=details)
    await plan_reminders(ctx.uow, ctx.office, appointment, ctx.user, ctx.now)
    if appointment.email and ctx.office.email_enabled:
        await queue(
            ctx.uow,
            ctx.user,
            "moved_email",
            {"start": appointment.start.isoformat()},
            dedupe_key=f"moved:{appointment.id}:{appointment.start.isoformat()}",
            appointment_id=appointment.id,
            address=("email", appointment.email),
        )


async def after_cancel(ctx: Ctx, appointment: Appointment) -> None:
    """After a cancellation: nothing more is said about its time; the email (with the
    calendar's cancellation) tells the citizen's calendar too; the freed time is offered
    to the first on the waitlist it suits."""
    from handlers import waiting

    await withdraw(ctx.uow, appointment.id)
    await waiting.offer_freed(ctx.uow, ctx.office, appointment.start, ctx.now)
    if appointment.email and ctx.office.email_enabled:
        citizen = await ctx.uow.users.get(appointment.citizen_id)
        await queue(
            ctx.uow,
            citizen,
            "cancelled_email",
            dedupe_key=f"cancelled-email:{appointment.id}",
            appointment_id=appointment.id,
            address=("email", appointment.email),
        )


# --- rendering at delivery ------------------------------------------------------------


@dataclass(slots=True)
class Delivery:
    """What a kind's renderer sees: everything read again at delivery."""

    uow: UnitOfWork
    office: Office
    services: Services | None
    recipient: User
    channel: str
    params: dict[str, Any]
    appointment: Appointment | None
    now: datetime

    @property
    def lang(self) -> str:
        return self.recipient.language

    def t(self, key: str, **values: Any) -> str:
        return translate(self.lang, key, **values)

    def when(self, moment: datetime | str) -> str:
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return format_when(moment, self.lang, self.office.tz)

    def procedure_name(self, code: str) -> str:
        found = self.office.catalog.find(code)
        return found.name.get(self.lang) if found is not None else code


@dataclass(slots=True)
class Rendered:
    """A notification's message: text, standing buttons (entry, label, params), a file
    by its blob hash, an email subject and HTML body."""

    text: str
    buttons: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    file: dict[str, str] | None = None
    attachment: OutFile | None = None  # a file made at delivery (a calendar, a chart)
    subject: str = ""
    html: str = ""
    columns: int = 1


Renderer = Callable[[Delivery], Awaitable[Rendered | None]]


@dataclass(frozen=True, slots=True)
class Kind:
    render: Renderer
    # The appointment statuses for which it is still sent (None: whatever the status).
    keep: tuple[Status, ...] | None = ACTIVE


def _moved(delivery: Delivery) -> bool:
    """The appointment is no longer at the time the notification was about."""
    start = delivery.params.get("start")
    appointment = delivery.appointment
    return bool(start and appointment and appointment.start.isoformat() != start)


async def _staff_booked(d: Delivery) -> Rendered | None:
    a = d.appointment
    assert a is not None
    if _moved(d):
        return None
    return Rendered(
        d.t(
            "notify.staff_booked",
            reference=a.reference,
            procedure=d.procedure_name(a.procedure),
            when=d.when(a.start),
        )
    )


async def _staff_moved(d: Delivery) -> Rendered | None:
    a = d.appointment
    assert a is not None
    return Rendered(
        d.t(
            "notify.staff_moved",
            reference=a.reference,
            before=d.when(d.params["before"]),
            after=d.when(d.params["after"]),
        )
    )


async def _staff_cancelled(d: Delivery) -> Rendered | None:
    a = d.appointment
    assert a is not None
    return Rendered(
        d.t("notify.staff_cancelled", reference=a.reference, when=d.when(d.params["start"]))
    )


async def _no_show(d: Delivery) -> Rendered | None:
    a = d.appointment
    assert a is not None
    return Rendered(d.t("notify.citizen_no_show", reference=a.reference, when=d.when(a.start)))


async def _staff_document(d: Delivery) -> Rendered | None:
    a = d.appointment
    assert a is not None
    document = await d.uow.documents.get(int(d.params["document"]))
    if document is None:
        return None
    warnings = ", ".join(d.t(f"doc.quality_short.{w}") for w in document.warnings)
    name = document_name(d.office, a, d.params["requirement"], d.lang, d.params.get("label", ""))
    return Rendered(
        d.t(
            "notify.staff_document",
            reference=a.reference,
            document=name,
            filename=document.filename,
            warnings=f" ({warnings})" if warnings else "",
        )
    )


async def _text(d: Delivery) -> Rendered | None:
    """Words given as they are (written by a person, not from the catalogs)."""
    return Rendered(str(d.params["text"]))


async def _said(d: Delivery) -> Rendered | None:
    values = dict(d.params.get("values", {}))
    if d.appointment is not None:
        values.setdefault("reference", d.appointment.reference)
    return Rendered(d.t(str(d.params["key"]), **values))


async def _call_ready(d: Delivery) -> Rendered | None:
    """The citizen's link to the call, minted now (never stored): it is valid from the
    moment they receive it."""
    a = d.appointment
    assert a is not None and d.services is not None
    if a.status is not Status.IN_SESSION or not a.room:
        return None
    url = d.services.meetings.join_url(
        a,
        role="citizen",
        user_id=f"citizen-{a.citizen_id}",
        name=a.citizen_name,
        now=d.now,
    )
    return Rendered(d.t("session.call_ready", url=url, reference=a.reference))


async def _document_request(d: Delivery) -> Rendered | None:
    a = d.appointment
    assert a is not None
    if d.params.get("identity"):
        return Rendered(d.t("doc.please_send_identity"))
    name = document_name(d.office, a, d.params["requirement"], d.lang, d.params.get("label", ""))
    return Rendered(d.t("doc.please_send", document=name))


async def _agreement(d: Delivery) -> Rendered | None:
    """The summary to agree to: exactly the text whose hash the evidence holds (stored
    as a file when it was sent), so it is read back, not written again."""
    assert d.services is not None
    a = d.appointment
    assert a is not None
    agreement = a.details.get("agreement") or {}
    if agreement.get("sha256") != d.params["sha256"] or agreement.get("status") != "pending":
        return None  # withdrawn or replaced by a newer summary before it was delivered
    text = (await d.services.documents.read(d.params["sha256"])).decode("utf-8")
    return Rendered(text)


async def _receipt(d: Delivery) -> Rendered | None:
    return Rendered(
        d.t("receipt_issue.for_citizen", entry=d.params["entry"], code=d.params["code"]),
        file={"sha256": d.params["sha256"], "name": d.params["name"], "type": "application/pdf"},
    )


def _kinds() -> dict[str, Kind]:
    from handlers import notices  # reminders, survey, waitlist, summaries, email

    kinds = {
        "staff_booked": Kind(_staff_booked),
        "staff_moved": Kind(_staff_moved),
        "staff_cancelled": Kind(_staff_cancelled, keep=None),
        "no_show": Kind(_no_show, keep=None),
        "staff_document": Kind(_staff_document, keep=None),
        "said": Kind(_said, keep=None),
        "text": Kind(_text, keep=None),
        "call_ready": Kind(_call_ready, keep=(Status.IN_SESSION,)),
        "document_request": Kind(_document_request, keep=(Status.IN_SESSION,)),
        "agreement": Kind(_agreement, keep=(Status.IN_SESSION,)),
        "receipt": Kind(_receipt, keep=None),
    }
    kinds.update(notices.KINDS)
    return kinds


class _Registry(dict[str, Kind]):
    """The kinds, gathered on first use (nothing is built at import time)."""

    def _load(self) -> None:
        if not super().__len__():
            self.update(_kinds())

    def __contains__(self, key: object) -> bool:
        self._load()
        return super().__contains__(key)

    def __getitem__(self, key: str) -> Kind:
        self._load()
        return super().__getitem__(key)

    def get_kind(self, key: str) -> Kind | None:
        self._load()
        return super().get(key)


KINDS = _Registry()


class NoticeRenderer:
    """What the dispatcher calls for each notification it claimed: the Reply to deliver
    now, or None when it is not to be sent any more. Runs in its own unit of work, which
    it commits (armed buttons and conversation state) before the message leaves."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        office: Office,
        clock: Clock,
        services: Services | None = None,
    ) -> None:
        self._uow = uow
        self._office = office
        self._clock = clock
        self._services = services

    async def __call__(self, message: OutboxMessage) -> Reply | None:
        kind = KINDS.get_kind(str(message.payload.get("kind", "")))
        if kind is None or message.user_id is None:
            log.warning("notification of no known kind dropped", extra={"outbox_id": message.id})
            return None
        params = dict(message.payload.get("params", {}))
        async with self._uow() as uow:
            recipient = await uow.users.get(message.user_id)
            appointment = None
            appointment_id = message.payload.get("appointment_id")
            if appointment_id is not None:
                appointment = await uow.appointments.get(int(appointment_id))
                if appointment is None:
                    return None
                if kind.keep is not None and appointment.status not in kind.keep:
                    return None
            delivery = Delivery(
                uow=uow,
                office=self._office,
                services=self._services,
                recipient=recipient,
                channel=message.channel,
                params=params,
                appointment=appointment,
                now=self._clock.now(),
            )
            rendered = await kind.render(delivery)
            if rendered is None:
                return None
            choices: list[Choice] = []
            for entry, label, values in rendered.buttons:
                token = await uow.notices.button(recipient.id, entry, values, delivery.now)
                choices.append(Choice(token=token, label=label))
            asked = params.get("_prompt")
            if asked:
                state = await uow.conversations.load(recipient.id)
                state.flow, state.step = asked["flow"], asked["step"]
                state.data = dict(asked["data"])
                options = [(value, delivery.t(key)) for value, key in asked["options"]]
                choices.extend(arm(state, options))
                await uow.conversations.save(recipient.id, state)
            await uow.commit()
        file = None
        if rendered.file is not None and self._services is not None:
            data = await self._services.documents.read(rendered.file["sha256"])
            file = OutFile(
                name=rendered.file["name"], data=data, content_type=rendered.file["type"]
            )
        elif rendered.attachment is not None:
            file = rendered.attachment
        extra = {}
        if rendered.subject:
            extra["subject"] = rendered.subject
        if rendered.html:
            extra["html"] = rendered.html
        return Reply(
            text=rendered.text,
            choices=tuple(choices),
            file=file,
            extra=extra,
            language=recipient.language,
            columns=rendered.columns,
        )


def due_times(start: datetime, offsets: Sequence[timedelta], now: datetime) -> list[datetime]:
    """When reminders go out for an appointment at `start`: each offset before it, never
    for a moment already past (a booking 30 minutes ahead gets no 1 h reminder)."""
    return [start - offset for offset in offsets if start - offset > now]


async def booked(ctx: Ctx, appointment: Appointment, procedure: Procedure, **more: Any) -> None:
    """A new appointment enters its evidence; its clerk is told and its reminders planned."""
    await ctx.uow.evidence.append(
        appointment_id=appointment.id,
        reference=appointment.reference,
        kind=EventKind.BOOKED,
        actor="citizen",
        data={
            "procedure": procedure.code,
            "start": appointment.start.isoformat(),
            "staff": appointment.staff_id,
            "channel": ctx.user.channel,
            **more,
        },
        at=ctx.now,
    )
    await staff_of_booking(ctx, appointment, procedure)
    await plan_reminders(ctx.uow, ctx.office, appointment, ctx.user, ctx.now)
