"""Matrix event content -> Turn, pure."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.matrix.translate import (
    file_ref,
    picked,
    reaction_number,
    strip_reply_fallback,
    turn_for,
)
from handlers.messages import TurnKind


def turn(content: dict[str, Any], tokens: list[str] | None = None) -> Any:
    return turn_for(
        content,
        sender="@maria:example.org",
        room_id="!r:example.org",
        display_name="Maria",
        tokens=tokens,
    )


@pytest.mark.parametrize(
    ("body", "command", "args"),
    [
        ("!start", "start", ""),
        ("!Book", "book", ""),
        ("/language", "language", ""),
        ("!start vt-7k3m", "start", "vt-7k3m"),
    ],
)
def test_commands_with_a_bang_or_a_slash(body: str, command: str, args: str) -> None:
    found = turn({"msgtype": "m.text", "body": body})
    assert found.kind is TurnKind.COMMAND and found.command == command and found.text == args
    assert found.channel == "matrix" and found.address == "!r:example.org"
    assert found.external_id == "@maria:example.org"


def test_a_number_picks_the_option_of_the_list_it_answers() -> None:
    assert turn({"msgtype": "m.text", "body": "2"}, ["a", "b", "c"]).choice == "b"
    assert turn({"msgtype": "m.text", "body": " 3. "}, ["a", "b", "c"]).choice == "c"
    assert turn({"msgtype": "m.text", "body": "4"}, ["a", "b", "c"]).kind is TurnKind.TEXT
    assert turn({"msgtype": "m.text", "body": "2"}).kind is TurnKind.TEXT  # no list known
    assert picked("-1", ["a"]) is None and picked("0", ["a"]) is None


def test_words_notices_edits_and_replies() -> None:
    assert turn({"msgtype": "m.text", "body": "ajuda"}).text == "ajuda"
    assert turn({"msgtype": "m.notice", "body": "a bot"}) is None  # bots do not answer bots
    edit = {"msgtype": "m.text", "body": "* 2", "m.relates_to": {"rel_type": "m.replace"}}
    assert turn(edit) is None
    reply = "> <@oac:example.org> En quin idioma?\n> 1. Català\n\n1"
    assert strip_reply_fallback(reply) == "1"
    assert turn({"msgtype": "m.text", "body": reply}, ["ca"]).choice == "ca"
    assert turn({"msgtype": "m.location", "body": "geo"}).text == ""  # not understood


def test_files_plain_and_encrypted() -> None:
    plain = {
        "msgtype": "m.image",
        "body": "dni.jpg",
        "url": "mxc://s/abc",
        "info": {"mimetype": "image/jpeg", "size": 1234},
    }
    ref = file_ref(plain)
    assert ref is not None and ref.url == "mxc://s/abc" and ref.size == 1234
    assert ref.encryption is None and turn(plain).kind is TurnKind.FILE
    encrypted = {
        "msgtype": "m.file",
        "body": "c.pdf",
        "filename": "contracte.pdf",
        "file": {"url": "mxc://s/x", "key": {"k": "k"}, "iv": "i", "hashes": {}},
        "info": {"mimetype": "application/pdf"},
    }
    ref = file_ref(encrypted)
    assert ref is not None and ref.name == "contracte.pdf" and ref.encryption is not None
    assert ref.size is None and ref.declared_type == "application/pdf"
    assert file_ref({"msgtype": "m.file", "body": "x", "url": "https://evil"}) is None


def test_reactions_with_numbers() -> None:
    assert reaction_number("1\ufe0f\u20e3") == 1 and reaction_number("3\u20e3") == 3
    assert reaction_number("\U0001f51f") == 10 and reaction_number("7") == 7
    assert reaction_number("\U0001f44d") is None and reaction_number("0") is None
