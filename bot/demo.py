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
from zoneinfo import ZoneInfo

from bot.app import App, build_app
from bot.channels.memory import MemoryChannel, MemoryPerson
from bot.clock import ManualClock
from config.settings import Settings, embedded_text, load_settings
from domain.model import Appointment
from handlers.messages import Reply
from storage.evidence_keys import EvidenceSigner


def first_working_morning(now: datetime, tz: ZoneInfo, holidays: frozenset[date]) -> datetime:
    """8:00 local time on the first working day from ``now``'s local date (that day if it
    is one, even when 8:00 has passed: the story then tells that day's morning)."""
    day = now.astimezone(tz).date()
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

    async def command(self, name: str, args: str = "") -> None:
        self.log.person(self.p.name, f"/{name} {args}".strip())
        self.log.bot(await self.p.command(name, args))

    async def press(self, label: str) -> None:
        self.log.person(self.p.name, f"(taps {label})")
        self.log.bot(await self.p.press(label))

    async def press_nth(self, index: int) -> None:
        label = self.p.labels()[index]
        self.log.person(self.p.name, f"(taps {label})")
        self.log.bot(await self.p.press_nth(index))


CHART = "statistics.png"
DEMO_KEY = "demo-evidence-key.DEMO-ONLY.pem"
DEMO_PUBLIC_KEY = "council-public-key.pem"
FORGED = "forged-copy.zip"


def demo_evidence_key(out_dir: Path) -> EvidenceSigner:
    """A fresh, demo-only evidence key, written to the output folder with its public key.
    (A council keeps its real key outside data_dir; the demo has only one folder.)"""
    signer = EvidenceSigner.generate()
    (out_dir / DEMO_KEY).write_bytes(signer.private_pem())
    (out_dir / DEMO_KEY).chmod(0o600)
    (out_dir / DEMO_PUBLIC_KEY).write_text(signer.public_pem(), encoding="ascii")
    return signer


# The demo's Jitsi secret: set here, not in config/demo.toml (no file ships a secret).
DEMO_JITSI_SECRET = "demo-only-secret-not-for-production-use-0123456789"


def demo_settings(out_dir: Path, evidence_key: str = "", *, log_level: str = "WARNING") -> Settings:
    """The demo council (config/demo.toml) with its data in `out_dir`; also what
    `videotramit chat` runs on when no staff is configured."""
    overrides = tomllib.loads(embedded_text("demo.toml"))
    overrides.update(
        data_dir=str(out_dir),
        log_level=log_level,
        database={"url": f"sqlite+aiosqlite:///{out_dir / 'videotramit.db'}"},
        evidence={"signing_key": evidence_key},
    )
    overrides["jitsi"] = {**overrides.get("jitsi", {}), "app_secret": DEMO_JITSI_SECRET}
    return load_settings(None, overrides=overrides)


async def run_demo(out_dir: Path, out: Callable[[str], None] = print) -> App:
    if out_dir.exists():
        for name in ("videotramit.db", "videotramit.db-wal", "videotramit.db-shm"):
            (out_dir / name).unlink(missing_ok=True)
        shutil.rmtree(out_dir / "blobs", ignore_errors=True)
        shutil.rmtree(out_dir / "jibri", ignore_errors=True)
        for old in [*out_dir.glob("VT-*.pdf"), *out_dir.glob("evidence-VT-*.zip")]:
            old.unlink()
        for name in (DEMO_KEY, DEMO_PUBLIC_KEY, FORGED, CHART):
            (out_dir / name).unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    signer = demo_evidence_key(out_dir)
    settings = demo_settings(out_dir, signer.private_pem().decode("ascii"))
    channel = MemoryChannel()
    # The story's day comes from the app's own clock (the machine's, as `run` would have
    # it); from then on the script moves a clock of its own through that morning.
    probe = build_app(settings)
    story_morning = first_working_morning(probe.clock.now(), settings.tz, probe.office.holidays)
    clock = ManualClock(story_morning)
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
        await app.effects.drain()  # what turns asked for (a recording, a receipt)
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
    out(
        f"Evidence key: DEMO ONLY, made for this run in {out_dir / DEMO_KEY}; its public key"
        f" ({out_dir / DEMO_PUBLIC_KEY}) plays the council's published verification key,"
        f" fingerprint {signer.fingerprint}."
    )
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
    await pere.press("Confirmar")
    await deliver()

    log.scene("Later that morning: the clerk's agenda")
    first = next(a.start for a in await _all(app) if a.citizen_name == "Pere")
    clock.set(first + timedelta(minutes=15))
    out(f"(It is now {clock.now().astimezone(tz):%H:%M}.)")
    await anna.command("today")
    await anna.press(f"{first.astimezone(tz).hour}:{first.astimezone(tz).minute:02d}")
    if "Marcar" in " ".join(anna.p.labels()):
        await anna.press("Marcar")
    await deliver()

    await session_scene(app, clock, anna, maria, deliver, log, out_dir)

    await reminder_scene(app, clock, person, deliver, log)

    log.scene("The administrator asks for statistics, and the chart")
    admin = Actor(MemoryPerson(app.engine, "staff:admin", "Laia (admin)", "ca"), log)
    # The story's year by name: told on 31 December, the evidence scene is already in the
    # next one, which plain /stats (this year) would show.
    year = story_morning.astimezone(tz).year
    await admin.command("stats", f"{year}-01-01 {year}-12-31")
    await admin.press("Gràfic")
    for reply in admin.p.last:
        if reply.file is not None:
            chart = out_dir / CHART
            chart.write_bytes(reply.file.data)
            out(f"     (chart saved as {chart})")

    out(f"\nEverything above is stored in {settings.database_url.split('///')[-1]}.")
    out(f"The receipt, the recording's Jibri folder and the evidence bundle are in {out_dir}.")
    return app


async def reminder_scene(
    app: App,
    clock: ManualClock,
    person: Callable[[str, str, str], Actor],
    deliver: Callable[[], Awaitable[None]],
    log: Transcript,
) -> None:
    """Núria books; when her first reminder is due it lists what to bring and she taps
    "I'll be there"; the clerk's agenda shows it confirmed."""
    tz = app.settings.tz
    log.scene("Núria books, and gets her reminder")
    nuria = person("nuria", "Núria", "ca")
    await nuria.command("start")
    await nuria.press("Català")
    await nuria.press("D'acord")
    await nuria.press("Demanar cita")
    await nuria.press("Alta")
    await nuria.press_nth(1)  # the second free day
    await nuria.press_nth(0)
    await nuria.press("Confirmar")
    await deliver()
    [mine] = [a for a in await _all(app) if a.citizen_name == "Núria"]
    due = [
        mine.start - offset for offset in app.office.reminders if mine.start - offset > clock.now()
    ]
    clock.set(min(due))
    log.out(f"(It is now {clock.now().astimezone(tz):%A %H:%M}.)")
    await deliver()
    await nuria.press("Hi seré")


async def _all(app: App) -> list[Appointment]:
    now = app.clock.now()
    async with app.uow() as uow:
        return await uow.appointments.for_staff(
            None, now - timedelta(days=1), now + timedelta(days=60)
        )


async def session_scene(
    app: App,
    clock: ManualClock,
    anna: Actor,
    maria: Actor,
    deliver: Callable[[], Awaitable[None]],
    log: Transcript,
    out_dir: Path,
) -> None:
    """Maria's video session: identity, a missing document photographed at once, data,
    agreement, receipt; then the recording is ingested and the evidence exported."""
    from bot.demo_photo import describe_stored, sideways_photo_with_gps
    from bot.evidence_ops import ingest_recording
    from bot.jibri_layout import lay_out_session

    tz = app.settings.tz
    mine = next(a for a in await _all(app) if a.citizen_name == "Maria")
    clock.set(mine.start - timedelta(minutes=5))
    log.scene(f"{clock.now().astimezone(tz):%H:%M}: the clerk opens Maria's video session")
    await anna.command("today")
    await anna.press(f"{mine.start.astimezone(tz):%-H:%M}")
    await anna.press("Obrir la sessió")
    await deliver()
    await anna.press("Documents")
    clock.set(clock.now() + timedelta(minutes=4))  # the call: greeting, what she needs
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
    await anna.press("Ve d'un altre municipi")
    await anna.say("Carrer de la Riera, 12, 2n 1a")
    await anna.say("08999")
    await anna.say("2")
    await anna.say("Girona")
    await anna.say("612 345 678")
    clock.set(clock.now() + timedelta(minutes=9))  # the form, filled in while they talk
    await anna.press("Tornar al tauler")
    await anna.press("Enviar per conformitat")
    await deliver()
    await maria.press("Hi estic d'acord")
    await deliver()
    await anna.press("Justificant")
    await deliver()
    clock.set(clock.now() + timedelta(minutes=3))  # the receipt explained, goodbyes
    await anna.press("Finalitzar")
    await anna.press("Finalitzar la sessió")
    await deliver()

    log.scene("Ten minutes later: the satisfaction survey")
    clock.set(clock.now() + app.office.survey_delay)
    await deliver()
    await maria.press("9")
    await maria.press("Sí")
    await maria.say("La persona que m'ha atès ha estat molt amable.")

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
    await evidence_scene(app, clock, done.reference, log, out_dir)


async def evidence_scene(
    app: App, clock: ManualClock, reference: str, log: Transcript, out_dir: Path
) -> None:
    """The next morning the day's seals are gathered in a signed root; the bundle then
    verifies with the council's public key alone, and a consistently rewritten copy
    does not."""
    from bot.evidence_anchor import journal_closed_days
    from bot.evidence_ops import export_reference
    from storage.evidence_bundle import verify_bundle

    tz = app.settings.tz
    morning = clock.now().astimezone(tz).date() + timedelta(days=1)
    clock.set(datetime.combine(morning, time(0, 5), tz).astimezone(UTC))
    log.scene(f"{clock.now().astimezone(tz):%A %H:%M}: yesterday's seals get a signed root")
    log.out("$ videotramit evidence journal")
    for entry in await journal_closed_days(app):
        log.out(f"journal {entry.day}: {entry.size} seal(s), root {entry.root[:16]}…")
    bundle = out_dir / f"evidence-{reference}.zip"
    log.out(f"$ videotramit evidence export {reference} --out {bundle}")
    manifest = await export_reference(app, reference, bundle)
    log.out(f"wrote {bundle}: {manifest['record_count']} records, {len(manifest['files'])} files")
    key = out_dir / DEMO_PUBLIC_KEY
    for path in (bundle, forge_copy(bundle, out_dir / FORGED)):
        check = verify_bundle(path, public_key=key.read_bytes())
        log.out(f"$ videotramit evidence verify {path.name} --key {key.name}")
        log.out(
            f"intact: sealed {check.seals} time(s), {check.proofs} in a signed daily root"
            if check.ok
            else f"BROKEN: {check.first_problem}"
        )
    log.out(
        f"({FORGED} has 'citizen_agreed' turned into 'citizen_declined' and every hash,"
        " the manifest and SHA256SUMS redone: only the council's key could re-sign it.)"
    )


def forge_copy(bundle: Path, out: Path) -> Path:
    """What an insider with the database but not the key can do: change an event, redo
    every hash, the manifest and SHA256SUMS with our own exporter."""
    import json
    import tempfile
    import zipfile

    from domain.evidence import EventKind, next_record, record_from_dict
    from storage.bundle_seals import Anchors
    from storage.evidence_bundle import export_bundle

    with zipfile.ZipFile(bundle) as zf, tempfile.TemporaryDirectory() as tmp:
        lines = zf.read("events.jsonl").decode().splitlines()
        key_pem = zf.read("council-key.pem").decode()
        files: dict[str, Path | bytes] = {
            Path(n).name.split(".")[0]: zf.read(n) for n in zf.namelist() if n.startswith("files/")
        }
        forged, prev = [], None
        for raw in (record_from_dict(json.loads(line)) for line in lines if line):
            kind = (
                EventKind.CITIZEN_DECLINED.value
                if raw.kind == EventKind.CITIZEN_AGREED.value
                else raw.kind
            )
            data = dict(raw.data)
            if raw.kind == EventKind.CHAIN_SEALED.value and prev is not None:
                data.update(head=prev.hash, head_seq=prev.seq)
            at = datetime.fromisoformat(raw.at.replace("Z", "+00:00"))
            prev = next_record(
                prev,
                appointment_ref=raw.appointment_ref,
                kind=kind,
                at=at,
                actor=raw.actor,
                data=data,
            )
            forged.append(prev)
        del tmp
        export_bundle(forged, files, out, anchors=Anchors(public_key_pem=key_pem))
    return out


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
