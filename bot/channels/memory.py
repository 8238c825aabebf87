"""An in-memory channel: people are Python objects. Used by the demo and the tests.

`MemoryPerson.say/press/command/send_file` produce the same Turns a real channel would,
and keep a transcript of what the bot answered, including proactive messages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from handlers.engine import Engine
from handlers.messages import InFile, Reply, Turn, TurnKind

CHANNEL = "memory"


class MemoryChannel:
    name = CHANNEL

    def __init__(self) -> None:
        self.inbox: dict[str, list[Reply]] = defaultdict(list)
        # Everything ever delivered, kept when a test empties `inbox` after reading it.
        self.sent: dict[str, list[Reply]] = defaultdict(list)
        self.fail_next: int = 0

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def deliver(self, address: str, reply: Reply) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise ConnectionError("simulated network failure")
        self.inbox[address].append(reply)
        self.sent[address].append(reply)


class NoSuchChoice(LookupError):
    pass


@dataclass
class MemoryPerson:
    engine: Engine
    external_id: str
    name: str = ""
    language: str = ""
    channel: str = CHANNEL
    last: list[Reply] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)

    def _turn(self, kind: TurnKind, **values: Any) -> Turn:
        return Turn(
            channel=self.channel,
            external_id=self.external_id,
            address=self.external_id,
            kind=kind,
            display_name=self.name,
            language_hint=self.language,
            **values,
        )

    async def _send(self, shown: str, turn: Turn) -> list[Reply]:
        self.transcript.append((self.name or self.external_id, shown))
        self.last = await self.engine.handle(turn)
        for reply in self.last:
            self.transcript.append(("bot", reply.text))
        return self.last

    async def say(self, text: str) -> list[Reply]:
        return await self._send(text, self._turn(TurnKind.TEXT, text=text))

    async def command(self, command: str, args: str = "") -> list[Reply]:
        return await self._send(
            f"/{command} {args}".strip(), self._turn(TurnKind.COMMAND, command=command, text=args)
        )

    async def press_token(self, token: str, shown: str = "(button)") -> list[Reply]:
        return await self._send(f"[{shown}]", self._turn(TurnKind.CHOICE, choice=token))

    def choice_token(self, label: str) -> str:
        """The token of the button whose label starts with `label` in the last replies."""
        for reply in reversed(self.last):
            for choice in reply.choices:
                if choice.label == label or choice.label.startswith(label):
                    return choice.token
        offered = [c.label for r in self.last for c in r.choices]
        raise NoSuchChoice(f"no button {label!r}; offered: {offered}")

    def labels(self) -> list[str]:
        return [c.label for r in self.last for c in r.choices]

    async def press(self, label: str) -> list[Reply]:
        return await self.press_token(self.choice_token(label), label)

    async def press_nth(self, index: int) -> list[Reply]:
        choices = [c for r in self.last for c in r.choices]
        return await self.press_token(choices[index].token, choices[index].label)

    async def send_file(self, name: str, data: bytes, declared: str = "") -> list[Reply]:
        file = InFile(name=name, data=data, declared_type=declared or "application/octet-stream")
        return await self._send(f"(file {name})", self._turn(TurnKind.FILE, file=file))

    @property
    def text(self) -> str:
        """Everything the bot said in its last answer, as one string."""
        return "\n".join(r.text for r in self.last)
