"""Errors as python-telegram-bot 22 sees them: the exception class and message PTB raises."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

from tests.fakes.telegram import RateLimits, TelegramEmulator

from .conftest import ptb_app, ptb_bot, seconds


@pytest.fixture
async def quiet() -> object:
    """An emulator without flood control, for tests that send many messages."""
    async with TelegramEmulator(limits=RateLimits.off()) as e:
        yield e


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<b>hola", 'can\'t find end tag corresponding to start tag "b"'),
        ("<p>hola</p>", 'unsupported start tag "p" at byte offset 0'),
        ("1 < 2", 'unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "unexpected end tag at byte offset 1"),
    ],
)
async def test_html_parse_errors_raise_bad_request(
    quiet: TelegramEmulator, html: str, expected: str
) -> None:
    user = quiet.user(id=2001)
    async with ptb_bot(quiet) as bot:
        with pytest.raises(BadRequest) as exc:
            await bot.send_message(user.id, html, parse_mode=ParseMode.HTML)
    assert str(exc.value).lower() == f"can't parse entities: {expected}".lower()
    call = quiet.calls_to("sendMessage")[-1]
    assert call.status == 400
    assert (
        call.description
        == f"Bad Request: can't parse entities: {expected[0].upper()}{expected[1:]}"
    )
    assert user.inbox == []


async def test_text_length_counts_after_entity_parsing(quiet: TelegramEmulator) -> None:
    user = quiet.user(id=2002)
    async with ptb_bot(quiet) as bot:
        ok = await bot.send_message(user.id, "<b>" + "é" * 4096 + "</b>", parse_mode="HTML")
        assert ok.text is not None and len(ok.text) == 4096 and ok.entities[0].length == 4096
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(user.id, "a" * 4097)
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(user.id, "")
        with pytest.raises(BadRequest, match="Text must be non-empty"):
            await bot.send_message(user.id, "<b> </b>", parse_mode="HTML")
        emoji = await bot.send_message(user.id, "👋 <i>hola</i> &lt;3", parse_mode="HTML")
    assert emoji.text == "👋 hola <3"
    assert emoji.entities[0].offset == 3 and emoji.entities[0].length == 4  # UTF-16 units
    assert emoji.text_html == "👋 <i>hola</i> &lt;3"


async def test_callback_data_limit(quiet: TelegramEmulator) -> None:
    user = quiet.user(id=2003)

    def kb(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data=data)]])

    async with ptb_bot(quiet) as bot:
        await bot.send_message(user.id, "ok", reply_markup=kb("é" * 32))  # 64 bytes
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(user.id, "no", reply_markup=kb("é" * 32 + "x"))
    assert quiet.calls_to("sendMessage")[-1].description == "Bad Request: BUTTON_DATA_INVALID"


async def test_scripted_429_raises_retry_after(quiet: TelegramEmulator) -> None:
    user = quiet.user(id=2004)
    quiet.fail_next("sendMessage", 429, retry_after=7)
    async with ptb_bot(quiet) as bot:
        with pytest.raises(RetryAfter) as exc:
            await bot.send_message(user.id, "hola")
        assert seconds(exc.value.retry_after) == 7
        await bot.send_message(user.id, "hola")  # the retry
    assert quiet.stats.throttled == 1 and quiet.stats.retried_after_429 == 1
    assert quiet.stats.retried_too_early == 1  # it did not wait 7 s
    assert [m.text for m in user.inbox] == ["hola"]


async def test_flood_control_per_chat(emu: TelegramEmulator) -> None:
    anna, bernat = emu.user(id=2005), emu.user(id=2006)
    async with ptb_bot(emu) as bot:
        for i in range(emu.limits.per_chat_burst):
            await bot.send_message(anna.id, f"m{i}")
        with pytest.raises(RetryAfter) as exc:
            await bot.send_message(anna.id, "una més")
        await bot.send_message(bernat.id, "un altre xat no està afectat")
    assert seconds(exc.value.retry_after) == 1
    assert emu.stats.throttled_by_limit == 1 and emu.stats.unretried_429 == 1


async def test_flood_control_global_and_group() -> None:
    limits = RateLimits(global_per_second=4, global_burst=4, per_group_burst=2)
    async with TelegramEmulator(limits=limits) as emu:
        users = [emu.user() for _ in range(5)]
        group = await users[0].add_bot_to_group()
        async with ptb_bot(emu) as bot:
            for u in users[:4]:
                await bot.send_message(u.id, "hola")
            with pytest.raises(RetryAfter):
                await bot.send_message(users[4].id, "hola")
            emu.flood.reset()
            await bot.send_message(group.chat_id, "1")
            await bot.send_message(group.chat_id, "2")
            with pytest.raises(RetryAfter) as exc:
                await bot.send_message(group.chat_id, "3")
    assert seconds(exc.value.retry_after) == 3  # 20 messages per minute per group


async def test_bad_token_is_rejected(emu: TelegramEmulator) -> None:
    app = ptb_app(emu, token="123456789:WRONG")
    with pytest.raises(InvalidToken, match="was rejected by the server"):
        await app.initialize()
    assert emu.calls[-1].status == 401 and emu.calls[-1].description == "Unauthorized"


async def test_blocked_user_and_unreachable_chats(emu: TelegramEmulator) -> None:
    anna = emu.user(id=2007)
    stranger = emu.user(id=2008, started=False)
    async with ptb_bot(emu) as bot:
        await bot.send_message(anna.id, "abans")
        emu.block(anna)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(anna.id, "després")
        with pytest.raises(Forbidden, match="initiate conversation"):
            await bot.send_message(stranger.id, "hola")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(999_999, "hola")
        emu.unblock(anna)
        await bot.send_message(anna.id, "de nou")
    assert [m.text for m in anna.inbox] == ["abans", "de nou"]
    kinds = [list(u)[1] for u in emu.updates]
    assert kinds == ["my_chat_member", "my_chat_member"]
    assert emu.updates[0]["my_chat_member"]["new_chat_member"]["status"] == "kicked"


async def test_edit_errors(quiet: TelegramEmulator) -> None:
    user = quiet.user(id=2009)
    async with ptb_bot(quiet) as bot:
        msg = await bot.send_message(user.id, "hola")
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("hola", user.id, msg.message_id)
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", user.id, 999)
        own = await user.send_text("meu")
        with pytest.raises(BadRequest, match="Message can't be edited"):
            await bot.edit_message_text("x", user.id, own.message_id)
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query("12345")


async def test_injected_502_is_a_network_error(quiet: TelegramEmulator) -> None:
    user = quiet.user(id=2010)
    quiet.inject_faults(1.0, kinds=["502"], methods=["sendMessage"])
    async with ptb_bot(quiet) as bot:
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(user.id, "hola")
        quiet.inject_faults(1.0, kinds=["reset"], methods=["sendMessage"])
        with pytest.raises(NetworkError):
            await bot.send_message(user.id, "hola")
        quiet.clear_faults()
        await bot.send_message(user.id, "hola")
    assert quiet.stats.bad_gateway == 1 and quiet.stats.resets == 1
    assert [m.text for m in user.inbox] == ["hola"]
