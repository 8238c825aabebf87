"""`videotramit demo`: a scripted day at the office on a fresh SQLite database, no tokens.

Four neighbours talk to the bot in three languages, a clerk looks at the agenda, an
administrator asks for statistics. The transcript is printed as it happens.
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.app import App, build_app
from bot.channels.memory import MemoryChannel, MemoryPerson
from config.settings import Settings, embedded_text, load_settings
from domain.model import Appointment
from handlers.messages import Reply


class DemoClock:
    """The demo's own time, moved forward by the script."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def first_working_morning(app_settings: Settings, holidays: frozenset[date]) -> datetime:
    """8:00 on the next working day (today if it is one), local time."""
    tz = app_settings.tz
    day = datetime.now(tz).date()
    while day.weekday() >= 5 or day in holidays:
        day += timedelta(days=1)
    return datetime.combine(day, time(8, 0), tz).astimezone(UTC)


class Transcript:
    def __init__(self, out: Callable[[str], None]) -> None:
        self.out = out

    def scene(self, title: str) -> None:
        self.out(f"\n=== {title} ===")

    def person(self, name: str, what: str) -> None:
        self.out(f"{name}: {what}")

    def bot(self, replies: list[Reply], to: str = "") -> None:
        for reply in replies:
            prefix = f"Bot → {to}: " if to else "Bot: "
            body = reply.text.replace("\n", "\n     ")
            self.out(prefix + body)
            if reply.choices:
                self.out("     " + "  ".join(f"[{c.label}]" for c in reply.choices))


class Actor:
    """A person in the demo, printing both sides of the conversation."""

    def __init__(self, person: MemoryPerson, log: Transcript) -> None:
        self.p = person
        self.log = log

    async def say(self, text: str) -> None:
        self.log.person(self.p.name, text)
        self.log.bot(await self.p.say(text))

    async def command(self, name: str) -> None:
        self.log.person(self.p.name, f"/{name}")
        self.log.bot(await self.p.command(name))

    async def press(self, label: str) -> None:
        self.log.person(self.p.name, f"(taps {label})")
        self.log.bot(await self.p.press(label))

    async def press_nth(self, index: int) -> None:
        label = self.p.labels()[index]
        self.log.person(self.p.name, f"(taps {label})")
        self.log.bot(await self.p.press_nth(index))


def demo_settings(out_dir: Path) -> Settings:
    overrides = tomllib.loads(embedded_text("demo.toml"))
    overrides.update(
        data_dir=str(out_dir),
        log_level="WARNING",
        database={"url": f"sqlite+aiosqlite:///{out_dir / 'videotramit.db'}"},
    )
    return load_settings(None, overrides=overrides)


async def run_demo(out_dir: Path, out: Callable[[str], None] = print) -> App:
    if out_dir.exists():
        for name in ("videotramit.db", "videotramit.db-wal", "videotramit.db-shm"):
            (out_dir / name).unlink(missing_ok=True)
        shutil.rmtree(out_dir / "blobs", ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = demo_settings(out_dir)
    channel = MemoryChannel()
    probe = build_app(settings)
    clock = DemoClock(first_working_morning(settings, probe.office.holidays))
    await probe.db_engine.dispose()
    app = build_app(settings, clock=clock, channels={channel.name: channel})
    await app.prepare_database()
    log = Transcript(out)
    tz = settings.tz

    def person(external_id: str, name: str, language: str) -> Actor:
        return Actor(MemoryPerson(app.engine, external_id, name, language), log)

    async def deliver() -> None:
        await app.dispatcher.drain()
        for address, replies in sorted(channel.inbox.items()):
            log.bot(replies, to=address)
        channel.inbox.clear()

    out(f"videotramit demo — {settings.council.name}")
    out(f"Database: {settings.database_url}")
    out(f"It is {clock.now().astimezone(tz):%A %d %B %Y, %H:%M} (Europe/Madrid).")

    log.scene("A clerk starts the day")
    anna = Actor(MemoryPerson(app.engine, "staff:anna", "Anna (clerk)", "ca"), log)
    await anna.command("today")

    log.scene("Maria books a census registration, in Catalan")
    maria = person("maria", "Maria", "ca")
    await maria.command("start")
    await maria.press("Català")
    await maria.press("D'acord")
    await maria.press("Demanar cita")
    await maria.press("Alta")
    await maria.press_nth(0)  # the first free day
    await maria.press_nth(1)  # the second free time
    await maria.say("maria.garcia@example.cat")
    await maria.press("Confirmar")
    await deliver()

    log.scene("Jordi books a cohabitation certificate in Spanish, then moves it")
    jordi = person("jordi", "Jordi", "es")
    await jordi.command("start")
    await jordi.press("Castellano")
    await jordi.press("De acuerdo")
    await jordi.press("Pedir cita")
    await jordi.press("Certificado")
    await jordi.say("I'd like tomorrow")  # free text where a choice is due
    await jordi.press_nth(0)
    await jordi.press_nth(0)
    await jordi.press("No hace falta")
    await jordi.press("Confirmar")
    await jordi.press("Mis citas")
    await jordi.press_nth(0)
    await jordi.press("Cambiar el día")
    await jordi.press_nth(0)
    await jordi.press_nth(3)
    await jordi.press("Confirmar")
    await deliver()

    log.scene("Aisha asks for information in English, then cancels")
    aisha = person("aisha", "Aisha", "en")
    await aisha.command("start")
    await aisha.press("English")
    await aisha.press("I understand")
    await aisha.press("Book")
    await aisha.press("Information")
    await aisha.press_nth(0)
    await aisha.press_nth(2)
    await aisha.press("No need")
    await aisha.press("Confirm")
    await aisha.press("My appointments")
    await aisha.press_nth(0)
    await aisha.press("Cancel the appointment")
    await aisha.press("Yes, cancel it")
    await deliver()

    log.scene("Pere books the first time of the day and does not turn up")
    pere = person("pere", "Pere", "ca")
    await pere.command("start")
    await pere.press("Català")
    await pere.press("D'acord")
    await pere.press("Demanar cita")
    await pere.press("Volant")
    await pere.press_nth(0)
    await pere.press_nth(0)
    await pere.press("No cal")
    await pere.press("Confirmar")
    await deliver()

    log.scene("Later that morning: the clerk's agenda")
    first = next(a.start for a in await _all(app) if a.citizen_name == "Pere")
    clock.current = first + timedelta(minutes=15)
    out(f"(It is now {clock.now().astimezone(tz):%H:%M}.)")
    await anna.command("today")
    await anna.press(f"{first.astimezone(tz).hour}:{first.astimezone(tz).minute:02d}")
    if "Marcar" in " ".join(anna.p.labels()):
        await anna.press("Marcar")
    await deliver()

    log.scene("The administrator asks for statistics")
    admin = Actor(MemoryPerson(app.engine, "staff:admin", "Laia (admin)", "ca"), log)
    await admin.command("stats")

    out(f"\nEverything above is stored in {settings.database_url.split('///')[-1]}.")
    return app


async def _all(app: App) -> list[Appointment]:
    now = app.clock.now()
    async with app.uow() as uow:
        return await uow.appointments.for_staff(
            None, now - timedelta(days=1), now + timedelta(days=60)
        )
