"""Telegram updates -> Turns (or nothing, in groups)."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.channels.telegram.translate import GroupNotice, Ignored, Inbound, classify
from handlers.messages import TurnKind

BOT = {"id": 999, "is_bot": True, "first_name": "VT", "username": "vt_bot"}
USER = {"id": 42, "is_bot": False, "first_name": "Núria", "last_name": "<b>P</b>",
        "language_code": "ca"}  # fmt: skip
PRIVATE = {"id": 42, "type": "private", "first_name": "Núria"}
GROUP = {"id": -100, "type": "group", "title": "Veïns"}


def message(chat: dict[str, Any] = PRIVATE, **content: Any) -> dict[str, Any]:
    return {"message_id": 7, "date": 0, "chat": chat, "from": USER, **content}


def command(text: str, chat: dict[str, Any] = PRIVATE) -> dict[str, Any]:
    length = len(text.split()[0])
    entity = {"type": "bot_command", "offset": 0, "length": length}
    return message(chat, text=text, entities=[entity])


def event(**update: Any) -> Any:
    return classify(Update.de_json({"update_id": 1, **update}, None), bot_id=999,
                    bot_username="vt_bot")  # fmt: skip


def test_text() -> None:
    got = event(message=message(text="hola <i>"))
    assert isinstance(got, Inbound)
    turn = got.turn
    assert (turn.kind, turn.text, turn.channel) == (TurnKind.TEXT, "hola <i>", "telegram")
    assert (turn.external_id, turn.address) == ("42", "42")
    assert turn.display_name == "Núria <b>P</b>" and turn.language_hint == "ca"


def test_commands_and_deep_links() -> None:
    got = event(message=command("/start oac-poster"))
    assert isinstance(got, Inbound)
    assert (got.turn.kind, got.turn.command, got.turn.text) == (
        TurnKind.COMMAND, "start", "oac-poster",
    )  # fmt: skip
    got = event(message=command("/Book@vt_bot"))
    assert isinstance(got, Inbound) and got.turn.command == "book"
    other = event(message=command("/start@other_bot"))
    assert isinstance(other, Inbound) and other.turn.kind is TurnKind.TEXT
    no_entity = event(message=message(text="/start"))
    assert isinstance(no_entity, Inbound) and no_entity.turn.kind is TurnKind.TEXT


def test_button_press_and_stale_press() -> None:
    keyboard = {"inline_keyboard": [[{"text": "Català", "callback_data": "k3x"}]]}
    pressed = message(text="Quin idioma?", reply_markup=keyboard)
    pressed["from"] = BOT
    got = event(callback_query={"id": "q1", "from": USER, "chat_instance": "1",
                                "data": "k3x", "message": pressed})  # fmt: skip
    assert isinstance(got, Inbound) and got.press is not None
    assert (got.turn.kind, got.turn.choice) == (TurnKind.CHOICE, "k3x")
    assert (got.press.label, got.press.message_id, got.press.message_text) == (
        "Català", 7, "Quin idioma?",
    )  # fmt: skip
    del pressed["reply_markup"]  # the keyboard was removed: a stale press
    stale = event(callback_query={"id": "q2", "from": USER, "chat_instance": "1",
                                  "data": "k3x", "message": pressed})  # fmt: skip
    assert isinstance(stale, Inbound) and stale.press is not None
    assert stale.press.label is None and stale.turn.choice == "k3x"


def test_photo_takes_the_largest_size_and_documents_keep_name_and_type() -> None:
    sizes = [
        {"file_id": f"f{n}", "file_unique_id": f"u{n}", "width": w, "height": w,
         "file_size": w * 10}
        for n, w in enumerate((90, 320, 1280))
    ]  # fmt: skip
    got = event(message=message(photo=sizes, caption="DNI"))
    assert isinstance(got, Inbound) and got.file is not None
    assert (got.file.file_id, got.file.size, got.file.declared_type) == ("f2", 12800, "image/jpeg")
    assert got.turn.kind is TurnKind.FILE and got.turn.text == "DNI"
    document = {"file_id": "d", "file_unique_id": "ud", "file_name": "contracte.pdf",
                "mime_type": "application/pdf", "file_size": 25 << 20}  # fmt: skip
    got = event(message=message(document=document))
    assert isinstance(got, Inbound) and got.file is not None
    assert (got.file.name, got.file.declared_type, got.file.size) == (
        "contracte.pdf", "application/pdf", 25 << 20,
    )  # fmt: skip


def test_other_messages_become_empty_text() -> None:
    sticker = {"file_id": "s", "file_unique_id": "us", "width": 1, "height": 1,
               "is_animated": False, "is_video": False, "type": "regular"}  # fmt: skip
    got = event(message=message(sticker=sticker))
    assert isinstance(got, Inbound) and got.turn.kind is TurnKind.TEXT and got.turn.text == ""


def test_groups_never_reach_the_engine() -> None:
    assert isinstance(event(message=message(GROUP, text="la meva cita és la VT-1")), Ignored)
    assert isinstance(event(message=command("/book@vt_bot", GROUP)), GroupNotice)
    assert isinstance(event(message=command("/book@other_bot", GROUP)), Ignored)
    added = message(GROUP, new_chat_members=[BOT])
    assert isinstance(event(message=added), GroupNotice)
    member = {
        "chat": GROUP, "from": USER, "date": 0,
        "old_chat_member": {"user": BOT, "status": "left"},
        "new_chat_member": {"user": BOT, "status": "member"},
    }  # fmt: skip
    assert isinstance(event(my_chat_member=member), GroupNotice)
    press = event(callback_query={"id": "q", "from": USER, "chat_instance": "1", "data": "x",
                                  "message": message(GROUP, text="?")})  # fmt: skip
    assert isinstance(press, Ignored) and press.callback_query_id == "q"
    channel = {"id": -200, "type": "channel", "title": "Notícies"}
    assert isinstance(event(channel_post={"message_id": 1, "date": 0, "chat": channel,
                                          "text": "hola"}), Ignored)  # fmt: skip
