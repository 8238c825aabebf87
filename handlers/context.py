"""What a conversation step works with: who, what they sent, where they are; and the
registry through which conversations hand over to each other by name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import ModuleType
from typing import Any, Protocol

from domain.model import ConversationState, User
from handlers.i18n import translate
from handlers.messages import OutFile, Reply, Turn
from handlers.ports import IdentityPhoto, Office, Services, UnitOfWork

NAV_BACK = "nav:back"
NAV_CANCEL = "nav:cancel"


class ReadFirst(Exception):  # noqa: N818  (a request, not an error)
    """A step needs the identity zone of a stored photo read before it can go on.

    Reading it (Tesseract, about half a second) must not happen inside the turn's unit of
    work, which holds the database (SQLite's only connection): the engine lets the unit of
    work roll back, has the zone read in the sandbox's workers holding nothing, and runs
    the turn again with the reading at hand (`Ctx.identity_of`)."""

    def __init__(self, sha256: str) -> None:
        super().__init__(sha256)
        self.sha256 = sha256


@dataclass(slots=True)
class Prompt:
    """A question waiting for a choice; its options become buttons with opaque tokens."""

    text: str
    options: list[tuple[str, str]]
    columns: int = 1
    panel: str = ""


class Handover(Protocol):
    """How a step passes the person on to another conversation (the engine does it)."""

    async def go(self, ctx: Ctx, target: str, params: Mapping[str, Any]) -> None: ...
    async def command(self, ctx: Ctx, name: str) -> None: ...
    async def resume(self, ctx: Ctx, where: Mapping[str, Any]) -> None: ...


@dataclass(slots=True)
class Ctx:
    turn: Turn
    user: User
    state: ConversationState
    uow: UnitOfWork
    office: Office
    now: datetime
    services: Services | None = None
    handover: Handover | None = None
    choice: str | None = None
    replies: list[Reply | Prompt] = field(default_factory=list)
    # Identity zones read for this turn between its units of work, by photo sha256.
    readings: Mapping[str, IdentityPhoto] = field(default_factory=dict)

    @property
    def lang(self) -> str:
        return self.user.language

    @property
    def text(self) -> str:
        return self.turn.text.strip()

    def t(self, key: str, **values: Any) -> str:
        return translate(self.lang, key, **values)

    def say(self, text: str, *, file: OutFile | None = None) -> None:
        self.replies.append(Reply(text=text, file=file))

    def ask(
        self,
        text: str,
        options: Sequence[tuple[str, str]],
        *,
        flow: str,
        step: str,
        back: bool = True,
        cancel: bool = True,
        columns: int = 1,
        panel: str = "",
    ) -> None:
        """Ask a question with choices and wait for the answer at (flow, step)."""
        choices = list(options)
        if back:
            choices.append((NAV_BACK, self.t("nav.back")))
        if cancel:
            choices.append((NAV_CANCEL, self.t("nav.cancel")))
        self.replies.append(Prompt(text=text, options=choices, columns=columns, panel=panel))
        self.wait(flow, step)

    def wait(self, flow: str, step: str) -> None:
        """Wait for a free-text (or choice) answer at (flow, step)."""
        self.state.flow, self.state.step = flow, step

    def end(self) -> None:
        self.state.flow, self.state.step, self.state.data = "", "", {}

    @property
    def data(self) -> dict[str, Any]:
        return self.state.data

    def identity_of(self, sha256: str) -> IdentityPhoto:
        """What the zone of the stored photo `sha256` says; raises ReadFirst the first
        time in a turn (the engine reads it outside the unit of work and runs the turn
        again)."""
        photo = self.readings.get(sha256)
        if photo is None:
            raise ReadFirst(sha256)
        return photo

    async def go(self, target: str, **params: Any) -> None:
        """Hand over to another conversation by its registered name ("book.move")."""
        if self.handover is None:
            raise LookupError(f"no registry to find {target!r} in")
        await self.handover.go(self, target, params)

    async def resume(self, where: Mapping[str, Any]) -> None:
        """Back to a question kept earlier as {"flow", "step", "data"}."""
        if self.handover is None:
            raise LookupError("no registry to resume in")
        await self.handover.resume(self, where)

    async def command(self, name: str) -> None:
        """Do what the command (or its typed word) does, as if the person had sent it."""
        if self.handover is None:
            raise LookupError(f"no registry to find the command {name!r} in")
        await self.handover.command(self, name)


StepFn = Callable[[Ctx], Awaitable[None]]
Entry = Callable[..., Awaitable[None]]
# Reads a typed answer that matched no option ("tomorrow", "18h") as one of the step's
# option values, or None.
Understand = Callable[[Ctx, str], Awaitable[str | None]]


class Takes(StrEnum):
    """What a step waits for; the engine answers anything else itself."""

    CHOICE = "choice"  # one of its buttons: typed text picks one by number or by its words
    TEXT = "text"  # a value typed in: buttons match by their words only, never by number
    FILE = "file"  # a file (photo or PDF); typed text reaches the step, which explains


class Audience(StrEnum):
    ANYONE = "anyone"
    CITIZEN = "citizen"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class Step:
    """One point of a conversation: how to ask (`enter`), how to take the answer
    (`handle`), which step `back` returns to, what it takes, and whether it holds the
    person until answered (then cancel and menu explain and ask again)."""

    enter: StepFn
    handle: StepFn
    back: str | None = None
    takes: Takes = Takes.CHOICE
    hold: bool = False
    understand: Understand | None = None

    @property
    def files(self) -> bool:
        return self.takes is Takes.FILE


class UnknownConversation(LookupError):
    pass


@dataclass(frozen=True)
class Registry:
    """Every flow's steps, every named entry point, every command and typed word.

    A conversation module may define ``FLOW`` and ``STEPS`` (its waiting points),
    ``AUDIENCE`` (who may be in it) and ``ENTRIES`` (names other conversations use to
    hand over to it, e.g. ``"book.move"``); ``Registry.of`` gathers them.
    """

    flows: Mapping[str, Mapping[str, Step]]
    audiences: Mapping[str, Audience]
    entries: Mapping[str, Entry]
    commands: Mapping[str, str] = field(default_factory=dict)
    words: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        modules: Iterable[ModuleType],
        *,
        commands: Mapping[str, str] | None = None,
        words: Mapping[str, str] | None = None,
    ) -> Registry:
        flows: dict[str, dict[str, Step]] = {}
        audiences: dict[str, Audience] = {}
        entries: dict[str, Entry] = {}
        for module in modules:
            flow = getattr(module, "FLOW", "")
            steps: Mapping[str, Step] = getattr(module, "STEPS", {})
            if steps:
                merged = flows.setdefault(flow, {})
                clash = set(merged) & set(steps)
                if clash:
                    raise ValueError(f"flow {flow!r}: steps {sorted(clash)} defined twice")
                merged.update(steps)
                audiences[flow] = getattr(module, "AUDIENCE", Audience.ANYONE)
            for name, entry in getattr(module, "ENTRIES", {}).items():
                if name in entries:
                    raise ValueError(f"entry {name!r} defined twice")
                entries[name] = entry
        return cls(flows, audiences, entries, dict(commands or {}), dict(words or {}))

    def step(self, flow: str, step: str) -> Step | None:
        return self.flows.get(flow, {}).get(step)

    def entry(self, name: str) -> Entry:
        try:
            return self.entries[name]
        except KeyError:
            raise UnknownConversation(name) from None

    def audience(self, flow: str) -> Audience:
        return self.audiences.get(flow, Audience.ANYONE)
