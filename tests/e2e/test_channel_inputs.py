"""What a channel learns about a person is an engine input, answered like any other turn:
a file too big or lost, a block and an unblock, a new private chat, a group."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from bot.app import App
from handlers.messages import Turn, TurnKind
from storage.models import UserRow
from tests.support import person


def turn(kind: TurnKind, external_id: str = "rosa", **values: object) -> Turn:
    return Turn(channel="memory", external_id=external_id, address=external_id, kind=kind, **values)  # type: ignore[arg-type]


async def unreachable(app: App, external_id: str) -> bool:
    async with app.sessions() as session:
        query = select(UserRow.unreachable).where(UserRow.external_id == external_id)
        return bool((await session.execute(query)).scalar_one())


async def test_files_too_big_or_lost_are_explained(app: App) -> None:
    rosa = person(app, "rosa", language="en")
    await rosa.command("start")
    [answer] = await app.engine.handle(turn(TurnKind.FILE_TOO_BIG, size_limit=20 << 20))
    assert "up to 20 MB" in answer.text and answer.language == "en"
    [answer] = await app.engine.handle(turn(TurnKind.FILE_LOST))
    assert "could not receive that file" in answer.text


async def test_blocking_unblocking_and_writing_again(app: App) -> None:
    rosa = person(app, "rosa", language="ca")
    await rosa.command("start")
    assert await app.engine.handle(turn(TurnKind.GONE)) == []
    assert await unreachable(app, "rosa")
    assert await app.engine.handle(turn(TurnKind.BACK)) == []
    assert not await unreachable(app, "rosa")
    await app.engine.handle(turn(TurnKind.GONE))
    await rosa.say("hola")  # whoever writes can be reached
    assert not await unreachable(app, "rosa")


async def test_a_new_private_chat_greets_newcomers_and_known_people(app: App) -> None:
    replies = await app.engine.handle(turn(TurnKind.JOINED, "pau", language_hint="es"))
    assert "¡Hola!" in replies[0].text and [c.label for c in replies[-1].choices][:3] == [
        "Català",
        "Castellano",
        "English",
    ]
    pau = person(app, "pau", language="es")
    pau.last = replies
    await pau.press("Castellano")
    await pau.press("De acuerdo")
    again = await app.engine.handle(turn(TurnKind.JOINED, "pau"))
    assert "¿Qué quieres hacer?" in "\n".join(r.text for r in again)  # straight to the menu


async def test_a_group_gets_only_a_pointer_and_nothing_is_stored(app: App) -> None:
    group = replace(turn(TurnKind.GROUP, "someone", language_hint="en"), link="https://t.me/x")
    [answer] = await app.engine.handle(group)
    assert "only work in private chats" in answer.text and "https://t.me/x" in answer.text
    async with app.sessions() as session:
        assert not (await session.execute(select(UserRow))).scalars().all()
