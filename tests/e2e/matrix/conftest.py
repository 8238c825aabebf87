"""The whole bot on Matrix against a real Synapse (matrix-synapse from PyPI), started once
per test run; people are matrix-nio clients with end-to-end encryption.

Each test gets its own bot account (so crypto stores and rooms never mix) and its own
SQLite database; the service's pieces are built by ``bot/app.py`` as ``videotramit run``
builds them.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app
from bot.channels.matrix import MatrixChannel
from tests.e2e.conftest import bot_database_url
from tests.matrix_people import MatrixPerson, Seen
from tests.support import STAFF_TOML, Clock, office_settings
from tests.synapse import Account, Synapse

_names = itertools.count(1)


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


@dataclass
class MatrixBot:
    synapse: Synapse
    app: App
    account: Account
    folder: Path
    people: list[MatrixPerson] = field(default_factory=list)
    # What each person had received before this bot ran (one who stayed across a restart):
    # this bot's sent counter starts again at 0.
    received_before: dict[int, int] = field(default_factory=dict)

    def adopt(self, person: MatrixPerson) -> None:
        """A person who talked to an earlier bot on the same account talks to this one."""
        self.received_before[id(person)] = person.received
        self.people.append(person)

    def received(self) -> int:
        """Messages the people received from this bot."""
        return sum(p.received - self.received_before.get(id(p), 0) for p in self.people)

    @property
    def channel(self) -> MatrixChannel:
        channel = self.app.channels["matrix"]
        assert isinstance(channel, MatrixChannel)
        return channel

    async def person(
        self, name: str = "", display_name: str = "", account: Account | None = None
    ) -> MatrixPerson:
        account = account or self.synapse.register(unique(name or "citizen"))
        person = MatrixPerson(
            self.synapse.url,
            account,
            self.folder / "people" / account.user_id,
            self.account.user_id,
        )
        if display_name:
            await person.client.set_displayname(display_name)
        await person.start()
        self.people.append(person)
        return person


class Talk:
    """One person's conversation with the bot: say something, get the bot's answer."""

    def __init__(self, bot: MatrixBot, person: MatrixPerson) -> None:
        self.bot = bot
        self.person = person
        self.last: list[Seen] = []

    @property
    def text(self) -> str:
        return "\n".join(seen.body for seen in self.last)

    async def settle(self, events: int) -> list[Seen]:
        """Until the bot has taken ``events`` events from people, answered them, and the
        person's client has synced what it sent."""
        channel = self.bot.channel
        await self.person.wait_for(lambda: channel.counters["events"] >= events and channel.idle)
        # Everything the bot sent has reached someone's client: no need to wait for idle
        # sync rounds. (A person who left the test would never count: then two rounds.)
        try:
            await self.person.wait_for(self._all_received, timeout=10)
        except TimeoutError:
            await self.person.synced()
        await self.person.wait_for(self.person.decrypted_all)  # room keys travel separately
        await self.bot.app.engine.settle_sent()  # what it sent, marked sent (see Engine.sent)
        self.last = self.person.unread()
        return self.last

    def _all_received(self) -> bool:
        return self.bot.received() >= self.bot.channel.counters["sent"]

    async def opened(self, *, encrypted: bool) -> list[Seen]:
        before = len(self.person.seen)
        await self.person.open_dm(encrypted=encrypted)
        # The greeting ends with a question (its options listed).
        await self.person.wait_for(
            lambda: any("\n1. " in s.body or "\n• " in s.body for s in self.person.seen[before:]),
            30,
        )
        await self.settle(self.bot.channel.counters["events"])
        return self.last

    async def say(self, text: str, reply_to: str | None = None) -> list[Seen]:
        expected = self.bot.channel.counters["events"] + 1
        await self.person.text(text, reply_to)
        return await self.settle(expected)

    async def send_file(self, data: bytes, name: str, mimetype: str) -> list[Seen]:
        expected = self.bot.channel.counters["events"] + 1
        await self.person.upload(data, name, mimetype)
        return await self.settle(expected)

    def number_of(self, label: str) -> str:
        """The number the newest list gives to the option starting with ``label``."""
        for seen in reversed(self.person.seen):
            for line in seen.body.split("\n"):
                number, dot, rest = line.partition(". ")
                if dot and number.isdigit() and rest.startswith(label):
                    return number
        raise LookupError(
            f"no option {label!r} in {[s.body[-200:] for s in self.person.seen[-2:]]}"
        )

    async def react(self, label: str) -> list[Seen]:
        """React with the keycap number of ``label`` on the newest list that offers it."""
        number = self.number_of(label)
        target = next(
            s for s in reversed(self.person.seen) if f"\n{number}. {label}" in f"\n{s.body}"
        )
        expected = self.bot.channel.counters["events"] + 1
        await self.person.react(target.replaces or target.event_id, f"{number}\ufe0f\u20e3")
        return await self.settle(expected)

    async def choose(self, label: str) -> list[Seen]:
        return await self.say(self.number_of(label))

    async def wait_seen(self, words: str, timeout: float = 30.0) -> Seen:  # noqa: ASYNC109
        """Until something the bot sent on its own (e.g. from the outbox) says ``words``."""
        await self.person.wait_for(lambda: any(words in s.body for s in self.person.seen), timeout)
        return next(s for s in reversed(self.person.seen) if words in s.body)


async def book(
    talk: Talk, *, encrypted: bool, procedure: str = "Volant", time: str = "9:00"
) -> str:
    """Invite the bot, then Català -> D'acord -> Demanar cita -> procedure -> Monday ->
    time -> Confirmar, all by numbers; returns the booking reference."""
    await talk.opened(encrypted=encrypted)
    for label in ("Català", "D'acord", "Demanar cita", procedure, "dl. 30", time):
        await talk.choose(label)
    await talk.choose("Confirmar")
    assert "Fet! La teva cita és la VT-" in talk.text, talk.text
    return talk.text.split("La teva cita és la ")[1].split(".")[0]


def staff_entries(ids: dict[str, str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = tomllib.loads(STAFF_TOML)["staff"]
    return [{**entry, "matrix_id": ids.get(entry["id"], "")} for entry in entries]


def matrix_settings(synapse: Synapse, folder: Path, account: Account, **extra: Any) -> Any:
    return office_settings(
        bot_database_url(folder),
        folder,
        matrix={
            "enabled": True,
            "homeserver": synapse.url,
            "user_id": account.user_id,
            "password": account.password,
        },
        **extra,
    )


@asynccontextmanager
async def running_bot(
    synapse: Synapse,
    folder: Path,
    clock: Clock,
    *,
    account: Account | None = None,
    dispatcher: bool = False,
    staff: dict[str, str] | None = None,
    **channel_options: Any,
) -> AsyncIterator[MatrixBot]:
    account = account or synapse.register(unique("oac"))
    extra: dict[str, Any] = {}
    if staff:
        extra["staff"] = staff_entries(staff)
    settings = matrix_settings(synapse, folder, account, **extra)
    app = build_app(settings, clock=clock)
    assert isinstance(app.channels["matrix"], MatrixChannel)  # wired by bot/app.py
    if channel_options:
        from bot.channels.matrix import build_channel

        app.channels["matrix"] = build_channel(settings, app.engine, **channel_options)
    await app.prepare_database()
    bot = MatrixBot(synapse, app, account, folder)
    await bot.channel.start()
    await bot.channel.wait_synced()
    if dispatcher:
        app.dispatcher.start()
        app.effects.start()
    try:
        yield bot
    finally:
        for person in bot.people:
            await person.stop()
        await app.close()
