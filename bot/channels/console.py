"""The terminal channel: one person typing (or a pipe feeding lines) into the engine.

Choices show as a numbered list; typing the number presses that button. `/file PATH`
sends a file. Proactive messages for this person are printed as they are delivered.
"""

from __future__ import annotations

import asyncio
import mimetypes
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from handlers.engine import Engine
from handlers.messages import InFile, Reply, Turn, TurnKind

CHANNEL = "console"


def render(reply: Reply) -> str:
    lines = [reply.text]
    lines += [f"  {n}. {choice.label}" for n, choice in enumerate(reply.choices, start=1)]
    if reply.file is not None:
        lines.append(f"  [file: {reply.file.name}, {len(reply.file.data)} bytes]")
    return "\n".join(lines)


class ConsoleChannel:
    """Delivers proactive messages by printing them; used by `videotramit chat`."""

    name = CHANNEL

    def __init__(self, out: Callable[[str], None]) -> None:
        self._out = out
        self.me = ""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def deliver(self, address: str, reply: Reply) -> None:
        prefix = "" if address == self.me else f"(message for {address}) "
        self._out(prefix + render(reply))


class ConsoleSession:
    def __init__(
        self,
        engine: Engine,
        *,
        external_id: str,
        display_name: str,
        language: str = "",
        out: Callable[[str], None] | None = None,
    ) -> None:
        """`language`, when given, is the person's choice and is not asked again."""
        self._engine = engine
        self._id = external_id
        self._name = display_name
        self._language = language
        self._out = out or (lambda text: print(text, flush=True))
        self._choices: list[str] = []

    def _turn(self, kind: TurnKind, **values: Any) -> Turn:
        return Turn(
            channel=CHANNEL,
            external_id=self._id,
            address=self._id,
            kind=kind,
            display_name=self._name,
            language_hint=self._language,
            language_chosen=bool(self._language),
            **values,
        )

    def to_turn(self, line: str) -> Turn:
        stripped = line.strip()
        if stripped.isdigit() and 0 < int(stripped) <= len(self._choices):
            return self._turn(TurnKind.CHOICE, choice=self._choices[int(stripped) - 1])
        if stripped.startswith("/file"):
            path = Path(stripped[5:].strip()).expanduser()
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            file = InFile(name=path.name, data=path.read_bytes(), declared_type=kind)
            return self._turn(TurnKind.FILE, file=file)
        if stripped.startswith("/") and len(stripped) > 1:
            command, _, rest = stripped[1:].partition(" ")
            return self._turn(TurnKind.COMMAND, command=command.split("@")[0], text=rest)
        return self._turn(TurnKind.TEXT, text=line.rstrip("\n"))

    async def send(self, line: str) -> list[Reply]:
        try:
            turn = self.to_turn(line)
        except OSError:
            # Said by the engine, in the person's language, like a file lost on the way.
            turn = self._turn(TurnKind.FILE_LOST)
        replies = await self._engine.handle(turn)
        for reply in replies:
            if reply.choices:
                self._choices = [c.token for c in reply.choices]
            self._out(render(reply))
        return replies

    async def run(self, stream: TextIO = sys.stdin, *, echo: bool | None = None) -> None:
        """Read lines until end of input. Piped input is echoed so the transcript reads."""
        echo = (not stream.isatty()) if echo is None else echo
        loop = asyncio.get_running_loop()
        if stream.isatty():
            self._out("(Ctrl-D to leave. Type a number to choose, /file PATH to send a file.)")
        while True:
            line = await loop.run_in_executor(None, stream.readline)
            if not line:
                return
            if not line.strip():
                continue
            if echo:
                self._out(f"> {line.rstrip()}")
            await self.send(line)
            self._out("")
