"""The real python-telegram-bot 22 polling against the emulator."""

from __future__ import annotations

import pytest
from telegram import Message, Update

from tests.fakes.telegram import TelegramEmulator

from .conftest import Seen, echo_app, polling


async def test_startup_sequence_on_the_wire(emu: TelegramEmulator) -> None:
    app = echo_app(emu, Seen())
    async with polling(app):
        await emu.wait_for(lambda: emu.calls_to("getUpdates") or emu._poller, 3, "first poll")
        assert app.bot.username == "videotramit_test_bot"
    names = [c.method for c in emu.calls]
    assert names[:2] == ["getMe", "deleteWebhook"]
    first_poll = emu.calls_to("getUpdates")[0]
    assert first_poll.params["offset"] == "0"
    assert all(c.http_method == "POST" for c in emu.calls)
    get_me = emu.calls_to("getMe")[0]
    assert get_me.content_type is None  # parameterless POST, no Content-Type (reference §1.2)


async def test_echo_text(emu: TelegramEmulator) -> None:
    seen = Seen()
    anna = emu.user(id=1001, first_name="Anna", language_code="ca")
    async with polling(echo_app(emu, seen)):
        sent = await anna.send_text("hola, què tal? 👋")
        [reply] = await anna.wait_for_messages(1)
    assert reply.text == "hola, què tal? 👋"
    assert reply.from_bot and reply.chat_id == anna.id
    assert reply.message_id == sent.message_id + 1  # one id sequence per chat
    update = seen.updates[0]
    assert update.effective_user is not None and update.effective_user.language_code == "ca"
    assert not seen.errors


async def test_command_with_deep_link_payload(emu: TelegramEmulator) -> None:
    seen = Seen()
    anna = emu.user(id=1002)
    async with polling(echo_app(emu, seen)):
        await anna.send_command("/start", payload="cita-42")
        [reply] = await anna.wait_for_messages(1)
        await anna.send_text("/start@other_bot x")  # addressed to another bot: ignored by PTB
        await anna.send_text("/start")  # typed: the client adds the bot_command entity
        [reply2] = await anna.wait_for_messages(1)
    assert reply.text == "Hola, args=cita-42"
    assert reply.entities == [{"type": "bold", "offset": 0, "length": 4}]
    assert reply.sent_text == "<b>Hola</b>, args=cita-42"
    assert reply.button_texts == ["Sí", "No"]
    assert reply2.text == "Hola, args="


async def test_button_press_answered_edited_and_stale(emu: TelegramEmulator) -> None:
    seen = Seen()
    anna = emu.user(id=1003)
    async with polling(echo_app(emu, seen)):
        await anna.send_command("/start")
        [menu] = await anna.wait_for_messages(1)
        old = menu.snapshot()
        press = await anna.press(menu, "Sí")
        answer = await press.wait_answered(3)
        await anna.wait_for_edit(menu, 3)
        assert answer["text"] == "triat: yes" and answer["data"] == "yes"
        assert emu.answered_callbacks == [answer]
        # editMessageText without reply_markup removes the keyboard, as on Telegram
        assert menu.text == "Has triat yes" and menu.buttons == []
        assert menu.history[0]["text"] == "Hola, args=" and old.button_texts == ["Sí", "No"]
        with pytest.raises(LookupError):
            await anna.press(menu, "No")  # no longer on the message
        stale = await anna.press(old, "No", stale=True)  # an out-of-date client still can
        await stale.wait_answered(3)
    assert seen.callbacks == ["yes", "no"]
    last = seen.updates[-1].callback_query
    assert last is not None and isinstance(last.message, Message)
    assert last.message.text == "Has triat yes"  # the message as it is now
    assert len(menu.history) == 1  # the stale press did not edit again
    assert not seen.errors


async def test_offsets_confirm_updates_across_restarts(emu: TelegramEmulator) -> None:
    emu.limits.enabled = False  # five replies to one chat within a second would hit 429
    anna = emu.user(id=1004)
    seen1 = Seen()
    async with polling(echo_app(emu, seen1)):
        for text in ("u", "dos", "tres"):
            await anna.send_text(text)
        await anna.wait_for_messages(3)
    assert not emu.updates  # updater.stop() confirmed the last batch with a final offset
    await anna.send_text("quatre")  # while the bot is down
    await anna.send_text("cinc")
    assert len(emu.updates) == 2
    seen2 = Seen()
    async with polling(echo_app(emu, seen2)):
        await anna.wait_for_messages(2)
    texts1 = [u.message.text for u in seen1.updates if u.message]
    texts2 = [u.message.text for u in seen2.updates if u.message]
    assert texts1 == ["u", "dos", "tres"]
    assert texts2 == ["quatre", "cinc"]
    ids = [u.update_id for u in seen1.updates + seen2.updates]
    assert ids == sorted(set(ids))  # increasing, no duplicates
    assert [m.text for m in anna.inbox] == ["u", "dos", "tres", "quatre", "cinc"]


async def test_group_chat(emu: TelegramEmulator) -> None:
    seen = Seen()
    anna = emu.user(id=1005)
    async with polling(echo_app(emu, seen)):
        group = await anna.add_bot_to_group("Veïns del carrer")
        await emu.wait_for(lambda: seen.members, 3, "my_chat_member")
        await anna.send_text("xerrameca", chat=group)  # privacy mode: not delivered
        await anna.send_command("/start", chat=group, mention=True)
        [reply] = await group.wait_for_messages(1)
    assert seen.members == [("left", "member")]
    chats = {u.effective_chat.type for u in seen.updates if u.effective_chat}
    assert chats == {"group"}
    assert group.chat_id < 0 and reply.chat_id == group.chat_id
    texts = [u.message.text for u in seen.updates if u.message and u.message.text]
    assert texts == [f"/start@{emu.bot['username']}"]
    service = [u for u in seen.updates if u.message and u.message.new_chat_members]
    assert not service or service[0].message.new_chat_members[0].id == emu.bot_id  # type: ignore[union-attr]


async def test_allowed_updates_are_sticky(emu: TelegramEmulator) -> None:
    seen = Seen()
    anna = emu.user(id=1006)
    async with polling(echo_app(emu, seen), allowed_updates=[Update.MESSAGE]):
        await anna.send_command("/start")
        [menu] = await anna.wait_for_messages(1)
        press = await anna.press(menu, "Sí")
        await anna.send_text("després")
        await anna.wait_for_messages(1)
    assert emu.allowed_updates == ["message"]
    assert not press.answered and seen.callbacks == []
    assert emu.stats.updates_dropped_not_allowed == 1
