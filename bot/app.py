"""The one wiring place: settings in, a running service out. Nothing is built at import."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.channels.base import Channel
from bot.clock import SystemClock
from bot.dispatcher import Dispatcher
from bot.effects import EffectsWorker
from bot.links import LinkSigner
from bot.scheduled import RetentionPurge
from bot.scheduler import Scheduler
from bot.services import Storage, build_sandbox, build_services, master_key_file, open_storage
from config.settings import ConfigError, Settings, embedded_text, parse_duration
from documents.sandbox import Sandbox
from domain.procedures import Catalog, CatalogError, parse_catalog
from domain.schedule import Holidays, ScheduleError, StaffMember, parse_holidays
from domain.slots import SlotRules
from handlers.engine import Engine
from handlers.notify import NoticeRenderer
from handlers.planner import Jobs
from handlers.ports import Clock, CouncilInfo, Office, Services, UnitOfWorkFactory
from handlers.registry import build_registry
from handlers.throttle import Rate
from storage import db, sealed
from storage.effects import EffectsStore
from storage.leader import Leader, build_leader
from storage.models import StaffRow
from storage.outbox import OutboxStore
from storage.sealed import Sealer
from storage.shared import ChannelState, InstanceRegistry, JibriStatusStore, LinkBindingStore
from storage.uow import uow_factory

log = logging.getLogger("videotramit.app")

# An instance unheard of for this long is taken as gone (it beats every INSTANCE_BEAT).
INSTANCE_BEAT = timedelta(seconds=10)
INSTANCE_ALIVE = timedelta(seconds=30)


def _config_text(path: str, embedded: str, key: str) -> str:
    if not path:
        return embedded_text(embedded)
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path} ({exc.strerror})") from exc


def load_catalog(settings: Settings) -> Catalog:
    text = _config_text(settings.procedures_file, "procedures.toml", "procedures_file")
    try:
        return parse_catalog(text)
    except CatalogError as exc:
        raise ConfigError(f"procedures_file: {exc}") from exc


def load_holidays(settings: Settings) -> Holidays:
    text = _config_text(settings.holidays_file, "holidays.toml", "holidays_file")
    try:
        return parse_holidays(text)
    except ScheduleError as exc:
        raise ConfigError(f"holidays_file: {exc}") from exc


def load_staff(settings: Settings, catalog: Catalog) -> tuple[StaffMember, ...]:
    members = []
    for index, entry in enumerate(settings.staff):
        key = f"staff[{index}]"
        try:
            member = StaffMember.build(
                entry.id,
                entry.name,
                roles=entry.roles,
                procedures=entry.procedures,
                hours=entry.hours,
            )
        except ScheduleError as exc:
            raise ConfigError(f"{key}.hours: {exc}") from exc
        unknown = [p for p in entry.procedures if p != "*" and p not in catalog]
        if unknown:
            raise ConfigError(f"{key}.procedures: unknown procedure {unknown[0]!r}")
        members.append(member)
    ids = [m.id for m in members]
    if len(set(ids)) != len(ids):
        raise ConfigError("staff: two staff members share the same id")
    return tuple(members)


def build_office(settings: Settings) -> Office:
    catalog = load_catalog(settings)
    council = settings.council
    return Office(
        catalog=catalog,
        staff=load_staff(settings, catalog),
        holidays=load_holidays(settings),
        rules=SlotRules(
            slot_minutes=settings.schedule.slot_minutes,
            buffer_minutes=settings.schedule.buffer_minutes,
            min_notice=timedelta(hours=settings.schedule.min_notice_hours),
            horizon_days=settings.schedule.horizon_days,
            tz=settings.tz,
        ),
        tz=settings.tz,
        council=CouncilInfo(
            name=council.name,
            address=council.address,
            privacy_url=council.privacy_url,
            dpo_contact=council.dpo_contact,
            in_sentence={str(k): v for k, v in council.name_in_sentence.items()},
            controller=per_language(council.controller, settings.languages),
            retention=per_language(council.retention, settings.languages),
        ),
        languages=tuple(settings.languages),
        default_language=settings.default_language,
        registry_prefix=council.registry_prefix,
        email_enabled=settings.email.enabled,
        session_lead=timedelta(minutes=settings.jitsi.lead_minutes),
        files_per_appointment=settings.intake.files_per_appointment,
        files_per_day=settings.intake.files_per_day,
        appointments_per_procedure=settings.fair_use.appointments_per_procedure,
        appointments_total=settings.fair_use.appointments_total,
        reminders=tuple(
            sorted(
                (timedelta(minutes=parse_duration(r)) for r in settings.schedule.reminders),
                reverse=True,
            )
        ),
        survey_delay=timedelta(minutes=settings.schedule.survey_delay_minutes),
        waitlist_hold=timedelta(minutes=settings.schedule.waitlist_hold_minutes),
        morning_summary=time.fromisoformat(settings.schedule.morning_summary),
    )


def per_language(text: str | Mapping[Any, str], languages: Sequence[str]) -> dict[str, str]:
    """A council text as one value per language ("" means: not given)."""
    if isinstance(text, str):
        return {language: text for language in languages} if text else {}
    return {str(language): value for language, value in text.items() if value}


def staff_accounts(settings: Settings, office: Office) -> dict[tuple[str, str], StaffMember]:
    """Which chat accounts belong to which staff member (console, Telegram, Matrix)."""
    accounts: dict[tuple[str, str], StaffMember] = {}
    for entry in settings.staff:
        member = office.staff_member(entry.id)
        assert member is not None
        for local in ("console", "memory"):  # the terminal and the demo/test channel
            accounts[(local, f"staff:{entry.id}")] = member
        if entry.telegram_id:
            accounts[("telegram", entry.telegram_id)] = member
        if entry.matrix_id:
            accounts[("matrix", entry.matrix_id)] = member
    return accounts


def _dialect_insert(sqlite: bool) -> Any:
    """The dialect's INSERT (both have ON CONFLICT); PostgreSQL's loads only when used."""
    if sqlite:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    return pg_insert


@dataclass
class App:
    settings: Settings
    office: Office
    db_engine: AsyncEngine
    sessions: async_sessionmaker[Any]
    engine: Engine
    dispatcher: Dispatcher
    effects: EffectsWorker
    outbox: OutboxStore
    clock: Clock
    uow: UnitOfWorkFactory
    services: Services
    storage: Storage
    links: LinkSigner
    scheduler: Scheduler
    # State every instance sees alike (tables; storage/shared.py).
    link_bindings: LinkBindingStore
    jibri_status: JibriStatusStore
    instances: InstanceRegistry
    instance_id: str
    # Who runs the scheduled work: `await leader.held()` (always true on SQLite).
    leader: Leader
    channels: dict[str, Channel] = field(default_factory=dict)
    sandbox: Sandbox | None = None  # the worker processes files are checked in

    def channel_memory(self, channel: str) -> ChannelState:
        """A channel's panels and notices, shared by every instance (the channel sees
        only the SharedMemory port of bot/channels/kit.py)."""
        return channel_memory(self.sessions, channel, self.clock)

    async def prepare_database(self) -> None:
        """Migrate, check the keyring opens what the database holds, then mirror the
        configured staff into the database."""
        await db.upgrade(self.db_engine, self.settings.database_url)
        await self.check_keys_open_the_database()
        await self.sync_staff()

    async def check_keys_open_the_database(self) -> None:
        """A database restored without its key file (or beside another one) is refused
        here, not found out value by value when a form or a receipt does not open."""
        from storage.reseal import newest_sealing_keys

        missing = sorted(await newest_sealing_keys(self.db_engine) - set(self.storage.keyring.ids))
        if missing:
            if self.storage.made_key_file is not None:
                self.storage.made_key_file.unlink(missing_ok=True)  # made for nothing
            raise ConfigError(
                f"storage.key_file: the database's values are sealed with master key"
                f" {', '.join(missing)}, which the keyring ({master_key_file(self.settings)}"
                " or VIDEOTRAMIT_STORAGE__MASTER_KEY) does not hold: restore the key file"
                " that goes with this database"
            )

    async def sync_staff(self) -> None:
        rows = [{"id": m.id, "name": m.name, "active": True} for m in self.office.staff]
        if not rows:
            return
        insert = _dialect_insert(db.is_sqlite(self.settings.database_url))
        async with self.sessions() as session, session.begin():
            statement = insert(StaffRow).values(rows)
            statement = statement.on_conflict_do_update(
                index_elements=[StaffRow.id], set_={"name": statement.excluded.name, "active": True}
            )
            await session.execute(statement)

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

    async def close(self) -> None:
        await self.scheduler.stop()
        await self.leader.close()
        await self.effects.stop()
        await self.dispatcher.stop()
        for channel in self.channels.values():
            try:
                await asyncio.wait_for(channel.stop(), timeout=10)
            except Exception:
                log.exception("channel did not stop cleanly", extra={"channel": channel.name})
        await self.engine.settle_sent()  # the replies the channels sent, before the pool goes
        if self.sandbox is not None:
            await self.sandbox.close()
        await self.db_engine.dispose()


def channel_memory(sessions: async_sessionmaker[Any], channel: str, clock: Clock) -> ChannelState:
    return ChannelState(sessions, channel, clock.now)


def instance_name() -> str:
    """This process among the instances: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def add_chat_channels(
    settings: Settings,
    conversation: Engine,
    channels: dict[str, Channel],
    sessions: async_sessionmaker[Any],
    clock: Clock,
) -> None:
    """Register the chat channels enabled in the settings (unless one was passed in)."""
    if settings.telegram.enabled and "telegram" not in channels:
        from bot.channels.telegram import build_channel as telegram

        channels["telegram"] = telegram(
            settings, conversation, memory=channel_memory(sessions, "telegram", clock)
        )
    if settings.matrix.enabled and "matrix" not in channels:
        from bot.channels.matrix import build_channel as matrix

        channels["matrix"] = matrix(settings, conversation)


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    channels: Mapping[str, Channel] | None = None,
    deliver_only: Mapping[str, Collection[str]] | None = None,
) -> App:
    """The service from its settings. `deliver_only` limits a channel's deliveries to some
    addresses (a terminal's own person)."""
    office = build_office(settings)
    # The one clock: every part below that needs the time is given this one.
    clock = clock or SystemClock()
    engine = db.create_engine(settings.database_url)
    sessions = db.sessionmaker(engine)
    channel_map: dict[str, Channel] = dict(channels or {})
    if settings.email.enabled and "email" not in channel_map:
        from bot.channels.email import EmailChannel

        channel_map["email"] = EmailChannel(settings.email, settings.council.name)
    storage = open_storage(settings)
    # Personal columns (form, identity, outbox payloads) are sealed with the master key.
    sealed.install(engine, Sealer(storage.keyring))
    sandbox = build_sandbox(settings.intake)
    services, links = build_services(settings, storage, sandbox)
    outbox = OutboxStore(sessions)
    wake: list[Callable[[], None]] = []

    def committed() -> None:
        for woken in wake:
            woken()

    accounts = staff_accounts(settings, office)
    uow = uow_factory(sessions, accounts, clock, on_commit=committed)
    dispatcher = Dispatcher(
        outbox,
        channel_map,
        clock=clock,
        files=storage.blobs.get,
        only=deliver_only,
        render=NoticeRenderer(uow, office, clock, services),
    )
    wake.append(dispatcher.wake)
    fair = settings.fair_use
    conversation = Engine(
        uow=uow,
        office=office,
        clock=clock,
        registry=build_registry(),
        services=services,
        turns=Rate(fair.turns_burst, fair.turns_per_minute / 60),
        uploads=Rate(fair.uploads_burst, fair.uploads_per_hour / 3600),
        unthrottled=frozenset(accounts),
    )
    effects = EffectsWorker(
        EffectsStore(sessions),
        uow=uow,
        engine=conversation,
        office=office,
        services=services,
        clock=clock,
    )
    wake.append(effects.wake)
    leader = build_leader(settings.database_url)
    add_chat_channels(settings, conversation, channel_map, sessions, clock)
    return App(
        settings=settings,
        office=office,
        db_engine=engine,
        sessions=sessions,
        engine=conversation,
        dispatcher=dispatcher,
        effects=effects,
        outbox=outbox,
        clock=clock,
        uow=uow,
        services=services,
        storage=storage,
        links=links,
        # Reminder planning, the morning summary and waitlist holds, on the one clock, by
        # the leading instance (SQLite: this one; PostgreSQL: an advisory lock).
        scheduler=Scheduler(
            {**Jobs(uow, office).all(), "purge": RetentionPurge(sessions, storage.blobs)},
            clock=clock,
            leader=leader,
        ),
        link_bindings=LinkBindingStore(sessions),
        jibri_status=JibriStatusStore(sessions),
        instances=InstanceRegistry(sessions, alive=INSTANCE_ALIVE),
        instance_id=instance_name(),
        leader=leader,
        channels=channel_map,
        sandbox=sandbox,
    )
