from __future__ import annotations

import re

import pytest

from jitsi.rooms import is_room_name, join_url, new_room_name
from jitsi.tokens import ROOM_RE


def test_room_name_shape() -> None:
    names = {new_room_name() for _ in range(500)}
    assert len(names) == 500
    for name in names:
        assert re.fullmatch(r"vt-[a-z2-7]{26}", name), name
        assert ROOM_RE.match(name)
        assert is_room_name(name)
        assert name == name.lower()


def test_room_name_entropy_is_at_least_100_bits() -> None:
    # 26 base32 characters carry 5 bits each; the last one carries 3 (128 random bits).
    name = new_room_name()
    random_part = name.removeprefix("vt-")
    assert len(random_part) * 5 >= 128


def test_join_url() -> None:
    room = new_room_name()
    token = "eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoieCJ9.c2ln-_"
    assert join_url("https://meet.example.org/", room, token) == (
        f"https://meet.example.org/{room}#jwt={token}"
    )
    assert join_url("https://8x8.vc/vpaas-magic-cookie-abc", room, token).startswith(
        f"https://8x8.vc/vpaas-magic-cookie-abc/{room}#jwt="
    )


@pytest.mark.parametrize(
    ("base", "room", "token"),
    [
        ("https://m.test", "Room", "a.b.c"),
        ("https://m.test", "*", "a.b.c"),
        ("https://m.test", "vt-abc", "a.b.c#x"),
        ("https://m.test", "vt-abc", ""),
        ("javascript:alert(1)", "vt-abc", "a.b.c"),
    ],
)
def test_join_url_rejects_bad_parts(base: str, room: str, token: str) -> None:
    with pytest.raises(ValueError):
        join_url(base, room, token)
