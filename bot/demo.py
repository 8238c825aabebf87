"""`videotramit demo`: a scripted day at the office on a fresh SQLite database, no tokens.

Four neighbours talk to the bot in three languages, a clerk looks at the agenda, an
administrator asks for statistics. The transcript is printed as it happens.
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Awaitable, Callable
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
        shutil.rmtree(out_dir / "jibri", ignore_errors=True)
        for old in [*out_dir.glob("VT-*.pdf"), *out_dir.glob("evidence-VT-*.zip")]:
            old.unlink()
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
        actor = Actor(MemoryPerson(app.engine, external_id, name, language), log)
        actors[external_id] = actor
        return actor

    actors: dict[str, Actor] = {}

    async def deliver() -> None:
        await app.dispatcher.drain()
        for address, replies in sorted(channel.inbox.items()):
            log.bot(replies, to=address)
            with_buttons = [r for r in replies if r.choices]
            if with_buttons and address in actors:
                actors[address].p.last = with_buttons[-1:]  # they can tap what arrived
            for reply in replies:
                if reply.file is not None:
                    saved = out_dir / reply.file.name
                    saved.write_bytes(reply.file.data)
                    out(f"     (file saved as {saved})")
        channel.inbox.clear()

    out(f"videotramit demo — {settings.council.name}")
    out(f"Database: {settings.database_url}")
    out(f"It is {clock.now().astimezone(tz):%A %d %B %Y, %H:%M} (Europe/Madrid).")

    log.scene("A clerk starts the day")
    anna = person("staff:anna", "Anna (clerk)", "ca")
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

    await session_scene(app, clock, anna, maria, deliver, log, out_dir)

    log.scene("The administrator asks for statistics")
    admin = Actor(MemoryPerson(app.engine, "staff:admin", "Laia (admin)", "ca"), log)
    await admin.command("stats")

    out(f"\nEverything above is stored in {settings.database_url.split('///')[-1]}.")
    out(f"The receipt, the recording's Jibri folder and the evidence bundle are in {out_dir}.")
    return app


async def _all(app: App) -> list[Appointment]:
    now = app.clock.now()
    async with app.uow() as uow:
        return await uow.appointments.for_staff(
            None, now - timedelta(days=1), now + timedelta(days=60)
        )


async def session_scene(
    app: App,
    clock: DemoClock,
    anna: Actor,
    maria: Actor,
    deliver: Callable[[], Awaitable[None]],
    log: Transcript,
    out_dir: Path,
) -> None:
    """Maria's video session: identity, a missing document photographed at once, data,
    agreement, receipt; then the recording is ingested and the evidence exported."""
    from bot.demo_photo import describe_stored, sideways_photo_with_gps
    from bot.evidence_ops import export_reference, ingest_recording
    from bot.jibri_layout import lay_out_session
    from storage.evidence_bundle import verify_bundle

    tz = app.settings.tz
    mine = next(a for a in await _all(app) if a.citizen_name == "Maria")
    clock.current = mine.start - timedelta(minutes=5)
    log.scene(f"{clock.now().astimezone(tz):%H:%M}: the clerk opens Maria's video session")
    await anna.command("today")
    await anna.press(f"{mine.start.astimezone(tz):%-H:%M}")
    await anna.press("Obrir la sessió")
    await deliver()
    await anna.press("Documents")
    await anna.press("Demanar DNI")
    await deliver()
    log.person(maria.p.name, "(photographs the back of her ID card, phone held sideways)")
    log.bot(await maria.p.send_file("IMG_20261130_092741.jpg", sideways_photo_with_gps()))
    async with app.uow() as uow:
        [photo] = await uow.documents.for_appointment(mine.id)
    stored = await app.services.documents.read(photo.sha256)
    log.out(f"     (check: {describe_stored(stored)}; encrypted on disk as {photo.sha256[:16]}…)")
    await deliver()
    # The panel, then the identity step, start with what the photo's zone said.
    await anna.press("Actualitzar")
    await anna.press("Identitat")
    await anna.press("Fer servir ****5678Z (llegit)")
    await anna.press("Sí, coincideix")
    await anna.press("Dades")
    await anna.press("Vinc d'un altre municipi")
    await anna.say("Carrer de la Riera, 12, 2n 1a")
    await anna.say("08999")
    await anna.say("2")
    await anna.say("Girona")
    await anna.say("612 345 678")
    await anna.press("Tornar al tauler")
    await anna.press("Enviar per conformitat")
    await deliver()
    await maria.press("Hi estic d'acord")
    await deliver()
    await anna.press("Justificant")
    await deliver()
    await anna.press("Finalitzar")
    await anna.press("Finalitzar la sessió")
    await deliver()

    await verify_receipt_scene(app, mine.id, log)

    log.scene("After the call: Jibri hands over the recording")
    folder = lay_out_session(
        out_dir / "jibri",
        room=(await _reload(app, mine.id)).room,
        started=mine.start.astimezone(tz),
        meeting_base_url=app.settings.jitsi.base_url,
        participants=[
            {"id": "staff-anna", "name": "Anna Puig"},
            {"id": "citizen", "name": "Maria"},
        ],
    )
    log.out(f"$ videotramit recording ingest {folder}")
    done = await ingest_recording(app, folder)
    log.out(f"{done.reference}: recording {done.sha256[:16]}… ({done.size} bytes) stored")
    bundle = out_dir / f"evidence-{done.reference}.zip"
    log.out(f"$ videotramit evidence export {done.reference} --out {bundle}")
    manifest = await export_reference(app, done.reference, bundle)
    log.out(f"wrote {bundle}: {manifest['record_count']} records, {len(manifest['files'])} files")
    check = verify_bundle(bundle)
    log.out(f"$ videotramit evidence verify {bundle}")
    log.out("intact" if check.ok else f"BROKEN: {check.first_problem}")


async def _reload(app: App, appointment_id: int) -> Appointment:
    async with app.uow() as uow:
        found = await uow.appointments.get(appointment_id)
    assert found is not None
    return found


async def verify_receipt_scene(app: App, appointment_id: int, log: Transcript) -> None:
    """Anyone with the receipt checks it on the council's page (/verify/{code})."""
    import hashlib

    from aiohttp.test_utils import TestClient, TestServer

    from bot.web import build_web

    async with app.uow() as uow:
        receipt = await uow.receipts.for_appointment(appointment_id)
    assert receipt is not None
    log.scene("Anyone can check the receipt on the council's verification page")
    async with TestClient(TestServer(build_web(app))) as client:
        page = await client.get(f"/verify/{receipt.csv_code}", headers={"Accept-Language": "ca"})
        shown = await page.text()
        pdf = await client.get(f"/verify/{receipt.csv_code}/receipt.pdf")
        body = await pdf.read()
    log.out(f"GET {app.settings.web.public_base_url}/verify/{receipt.csv_code} -> {page.status}")
    confirmed = page.status == 200 and receipt.entry_number in shown and receipt.sha256 in shown
    same = hashlib.sha256(body).hexdigest() == receipt.sha256
    log.out(
        f"the page {'confirms' if confirmed else 'does NOT confirm'} entry {receipt.entry_number};"
        f" the PDF it serves {'is' if same else 'is NOT'} the one sent to Maria"
        f" (SHA-256 {receipt.sha256[:16]}…)"
    )
