"""Reply -> Bot API calls: escaping, splitting under 4,096, keyboards, files."""

from __future__ import annotations

import pytest

from bot.channels.telegram.render import (
    EMPTY_TEXT,
    MAX_TEXT,
    RenderError,
    chosen,
    escape,
    keyboard,
    render,
    split_text,
    utf16_len,
)
from handlers.messages import Choice, OutFile, Reply
from tests.fakes.telegram_api import parse_html


def test_escape_shows_markup_literally() -> None:
    text = "<b>Joan & Co</b> \"cometes\" 'x' &amp;"
    assert escape(text) == "&lt;b&gt;Joan &amp; Co&lt;/b&gt; \"cometes\" 'x' &amp;amp;"
    plain, entities = parse_html(escape(text))  # what Telegram shows
    assert plain == text and entities == []


def test_short_text_is_one_message() -> None:
    assert split_text("Hola\nQuè vols fer?") == ["Hola\nQuè vols fer?"]


def test_long_text_splits_on_line_boundaries() -> None:
    lines = [f"línia {n}: " + "x" * 90 for n in range(200)]  # ~20,000 characters
    chunks = split_text("\n".join(lines))
    assert len(chunks) > 4
    assert all(utf16_len(chunk) <= MAX_TEXT for chunk in chunks)
    assert "\n".join(chunks).split("\n") == lines  # nothing lost, no line cut in two


def test_a_huge_line_is_cut_at_spaces_then_anywhere() -> None:
    words = " ".join(["paraula"] * 2000)
    chunks = split_text(words)
    assert all(utf16_len(c) <= MAX_TEXT for c in chunks)
    assert " ".join(chunks) == words
    blob = "y" * 10_000
    assert "".join(split_text(blob)) == blob


def test_length_counts_utf16_units() -> None:
    emoji = "😀" * 3000  # 6,000 UTF-16 units
    chunks = split_text(emoji)
    assert len(chunks) == 2 and all(utf16_len(c) <= MAX_TEXT for c in chunks)
    assert "".join(chunks) == emoji


def test_keyboard_rows_follow_columns_and_tokens_become_callback_data() -> None:
    choices = tuple(Choice(token=f"t{n}", label=f"Opció {n}") for n in range(5))
    markup = keyboard(choices, columns=2)
    assert markup is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert rows == [
        [("Opció 0", "t0"), ("Opció 1", "t1")],
        [("Opció 2", "t2"), ("Opció 3", "t3")],
        [("Opció 4", "t4")],
    ]
    assert keyboard((), 3) is None


def test_callback_data_is_at_most_64_bytes() -> None:
    keyboard((Choice(token="a" * 64, label="ok"),))
    with pytest.raises(RenderError):
        keyboard((Choice(token="à" * 33, label="massa llarg"),))  # 66 bytes


def test_the_keyboard_rides_on_the_last_chunk() -> None:
    reply = Reply(text="\n".join(["z" * 100] * 100), choices=(Choice("t", "D'acord"),))
    out = render(reply)
    assert len(out) == 3
    assert [o.keyboard is not None for o in out] == [False, False, True]


def test_files_go_as_documents_with_the_text_as_caption() -> None:
    pdf = OutFile(name="justificant.pdf", data=b"%PDF-1.4", content_type="application/pdf")
    [only] = render(Reply(text="El teu justificant <VT-1>", file=pdf))
    assert only.file is pdf and only.html == "El teu justificant &lt;VT-1&gt;"
    long = render(Reply(text="x" * 2000, file=pdf, choices=(Choice("t", "Gràcies"),)))
    assert [o.file is not None for o in long] == [False, True]
    assert long[-1].keyboard is not None and long[-1].html == ""


def test_empty_text() -> None:
    assert render(Reply(text="  ")) == []
    [only] = render(Reply(text="", choices=(Choice("t", "Sí"),)))
    assert only.html == EMPTY_TEXT


def test_the_pressed_message_shows_the_choice() -> None:
    edited = chosen("Quin dia? <ara>", "dl. 30 & co")
    assert edited is not None
    plain, entities = parse_html(edited)
    assert plain == "Quin dia? <ara>\n\n→ dl. 30 & co"
    assert [e["type"] for e in entities] == ["bold"]
    assert chosen("x" * 4090, "massa") is None
