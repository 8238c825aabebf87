"""Reply -> Matrix event contents, pure."""

from __future__ import annotations

from bot.channels.matrix.render import file_content, render, replacement, split_body
from handlers.messages import Choice, OutFile, Reply


def test_notices_escape_everything() -> None:
    [out] = render(Reply(text="<b>Joan & Co</b>\nsegona línia"))
    assert out.content["msgtype"] == "m.notice"
    assert out.content["body"] == "<b>Joan & Co</b>\nsegona línia"
    assert out.content["format"] == "org.matrix.custom.html"
    assert out.content["formatted_body"] == "&lt;b&gt;Joan &amp; Co&lt;/b&gt;<br>segona línia"


def test_choices_are_a_numbered_list_with_their_tokens() -> None:
    reply = Reply(
        text="Quin dia?", choices=(Choice("t1", "dl. 30"), Choice("t2", "<i>x</i>")), language="ca"
    )
    [out] = render(reply)
    assert out.tokens == ("t1", "t2")
    assert "1. dl. 30\n2. <i>x</i>" in out.content["body"]
    assert "Respon amb el número" in out.content["body"]
    assert "<ol><li>dl. 30</li><li>&lt;i&gt;x&lt;/i&gt;</li></ol>" in out.content["formatted_body"]


def test_choices_of_a_typed_value_are_words_only() -> None:
    reply = Reply(text="Correu?", choices=(Choice("t1", "No cal"),), by_number=False, language="en")
    [out] = render(reply)
    assert (
        out.tokens == () and "• No cal" in out.content["body"] and "1." not in out.content["body"]
    )
    assert "words of an option" in out.content["body"]


def test_files_follow_the_text_and_long_texts_are_split() -> None:
    pdf = OutFile("justificant.pdf", b"%PDF", "application/pdf")
    text_out, file_out = render(Reply(text="El justificant", file=pdf))
    assert text_out.content["body"] == "El justificant" and file_out.file is pdf
    assert all(len(chunk) <= 100 for chunk in split_body("línia\n" * 100, 100))
    assert "".join(split_body("a" * 250, 100)) == "a" * 250


def test_files_and_edits() -> None:
    pdf = OutFile("j.pdf", b"%PDF", "application/pdf")
    plain = file_content(pdf, "mxc://s/1", None)
    assert plain["msgtype"] == "m.file" and plain["url"] == "mxc://s/1" and "file" not in plain
    keys = {"key": {"k": "x"}, "iv": "i", "hashes": {"sha256": "h"}, "v": "v2"}
    encrypted = file_content(OutFile("a.png", b"png", "image/png"), "mxc://s/2", keys)
    assert encrypted["msgtype"] == "m.image" and "url" not in encrypted
    assert encrypted["file"]["url"] == "mxc://s/2" and encrypted["file"]["iv"] == "i"
    [panel] = render(Reply(text="Sessió"))
    edit = replacement(panel.content, "$orig")
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$orig"}
    assert edit["m.new_content"]["body"] == "Sessió" and edit["body"] == "* Sessió"
