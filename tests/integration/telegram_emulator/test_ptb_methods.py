"""Other Bot API methods the project uses, called through python-telegram-bot 22."""

from __future__ import annotations

import asyncio

import pytest
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MenuButtonCommands,
    ReplyKeyboardMarkup,
    ReplyParameters,
)
from telegram.constants import ChatAction
from telegram.error import BadRequest

from tests.fakes.telegram import TelegramEmulator

from .conftest import Seen, echo_app, jpeg, polling, ptb_bot


async def test_edit_reply_markup_delete_and_chat_action(emu: TelegramEmulator) -> None:
    anna = emu.user(id=7001)
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    async with ptb_bot(emu) as bot:
        msg = await bot.send_message(anna.id, "tria", reply_markup=kb)
        edited = await bot.edit_message_reply_markup(anna.id, msg.message_id)  # removes it
        assert not isinstance(edited, bool) and edited.reply_markup is None
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_reply_markup(anna.id, msg.message_id)
        assert await bot.send_chat_action(anna.id, ChatAction.TYPING)
        assert await bot.delete_message(anna.id, msg.message_id)
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(anna.id, msg.message_id)
    [stored] = anna.inbox
    assert stored.deleted and stored.buttons == [] and stored.history[0]["reply_markup"]
    with pytest.raises(LookupError):
        await anna.press(stored, "A", stale=True)  # a deleted message cannot be pressed


async def test_reply_keyboard_is_accepted_but_never_echoed(emu: TelegramEmulator) -> None:
    anna = emu.user(id=7002)
    async with ptb_bot(emu) as bot:
        msg = await bot.send_message(
            anna.id, "comparteix", reply_markup=ReplyKeyboardMarkup([[KeyboardButton("Sí")]])
        )
        own = await anna.send_text("resposta")
        reply = await bot.send_message(
            anna.id, "d'acord", reply_parameters=ReplyParameters(own.message_id)
        )
        with pytest.raises(BadRequest, match="Message to be replied not found"):
            await bot.send_message(anna.id, "x", reply_parameters=ReplyParameters(999))
    assert msg.reply_markup is None  # reference §2.2: only inline markup comes back
    assert emu.calls_to("sendMessage")[0].json("reply_markup")["keyboard"]
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "resposta"


async def test_commands_menu_button_and_get_chat(emu: TelegramEmulator) -> None:
    anna = emu.user(id=7003, first_name="Anna", language_code="es")
    async with ptb_bot(emu) as bot:
        await bot.set_my_commands([BotCommand("cita", "Pedir cita")], language_code="es")
        await bot.set_my_commands(
            [BotCommand("admin", "Admin")], scope=BotCommandScopeChat(anna.id)
        )
        assert [c.command for c in await bot.get_my_commands(language_code="es")] == ["cita"]
        assert await bot.get_my_commands() == ()
        await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
        assert (await bot.get_chat_menu_button(anna.id)).type == "commands"
        chat = await bot.get_chat(anna.id)
        with pytest.raises(BadRequest, match="Invalid language code"):
            await bot.set_my_commands([BotCommand("x", "y")], language_code="cat")
    assert chat.first_name == "Anna" and chat.type == "private"
    assert [c["command"] for c in anna.visible_commands()] == ["admin"]


async def test_photo_limits_for_bot_uploads(emu: TelegramEmulator) -> None:
    anna = emu.user(id=7004)
    async with ptb_bot(emu) as bot:
        with pytest.raises(BadRequest, match="Photo_invalid_dimensions"):
            await bot.send_photo(anna.id, jpeg(2100, 100))  # ratio over 20
        with pytest.raises(BadRequest, match="Image_process_failed"):
            await bot.send_photo(anna.id, b"not an image")
        with pytest.raises(BadRequest, match="File must be non-empty"):
            await bot.send_document(anna.id, b"", filename="buit.txt")


async def test_writing_again_unblocks(emu: TelegramEmulator) -> None:
    seen = Seen()
    anna = emu.user(id=7005)
    emu.block(anna)
    async with polling(echo_app(emu, seen)):
        await anna.send_text("he tornat")
        [reply] = await anna.wait_for_messages(1)
    assert reply.text == "he tornat"
    assert seen.members == [("member", "kicked"), ("kicked", "member")]


async def test_idle_polling_does_not_busy_loop(emu: TelegramEmulator) -> None:
    async with polling(echo_app(emu, Seen())):
        await asyncio.sleep(1.0)
        assert len(emu.calls_to("getUpdates")) <= 2  # one long poll held open


async def test_dates_follow_the_emulators_clock(emu: TelegramEmulator) -> None:
    """Message and edit dates come from the clock the test gives, never the machine's."""
    from datetime import UTC, datetime

    from bot.clock import ManualClock

    clock = ManualClock(datetime(2027, 3, 28, 0, 59, 30, tzinfo=UTC))  # 01:59:30 in Madrid
    emu.clock = clock
    anna = emu.user(id=7003)
    own = await anna.send_text("hola")
    assert own.data["date"] == int(clock.now().timestamp())
    async with ptb_bot(emu) as bot:
        clock.advance(seconds=45)  # across the spring-forward hour in Madrid
        sent = await bot.send_message(anna.id, "bon dia")
        assert sent.date == clock.now()
        clock.advance(minutes=2)
        edited = await bot.edit_message_text("bon dia!", anna.id, sent.message_id)
        assert not isinstance(edited, bool) and edited.edit_date == clock.now()
    assert emu.calls_to("editMessageText")[-1].at == clock.now().timestamp()
    emu.clock = lambda: datetime(2028, 2, 29, 11, 0, tzinfo=UTC)  # a plain callable will do
    assert (await anna.send_text("adéu")).data["date"] == int(
        datetime(2028, 2, 29, 11, 0, tzinfo=UTC).timestamp()
    )
