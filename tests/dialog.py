"""Conversation tests as tables: (what the person sends → what the bot's answer contains).

What is sent: "/cmd" a command, "[Label]" presses the button whose label starts with
Label, "#N" presses the N-th button (from 1), "(file NAME)" is not supported here;
anything else is typed text. Expected: every string must appear in the bot's answer;
a string starting with "!" must NOT appear.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.channels.memory import MemoryPerson

Row = tuple[str, Sequence[str]]


async def send(person: MemoryPerson, what: str) -> None:
    if what.startswith("/"):
        command, _, args = what[1:].partition(" ")
        await person.command(command, args)
    elif what.startswith("[") and what.endswith("]"):
        await person.press(what[1:-1])
    elif what.startswith("#") and what[1:].isdigit():
        await person.press_nth(int(what[1:]) - 1)
    else:
        await person.say(what)


async def run_dialog(person: MemoryPerson, rows: Sequence[Row]) -> None:
    for number, (what, expected) in enumerate(rows, start=1):
        await send(person, what)
        answer = person.text + "\n" + "\n".join(person.labels())
        for item in expected:
            if item.startswith("!"):
                assert item[1:] not in answer, (
                    f"row {number} ({what!r}): {item[1:]!r} shown:\n{answer}"
                )
            else:
                assert item in answer, f"row {number} ({what!r}): expected {item!r} in:\n{answer}"
