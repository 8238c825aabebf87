"""The emulator's HTTP side checked directly (what PTB does not exercise on its own)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.telegram import FaultPlan, RateLimits, TelegramEmulator, parse_html
from tests.fakes.telegram.html import HtmlParseError
from tests.virtual_clock import run


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    emu: TelegramEmulator,
    method: str,
    token: str | None = None,
    **kw: Any,
) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
    url = f"{emu.base_url}/bot{token or emu.token}/{method}"
    verb = kw.pop("verb", "POST")
    async with http.request(verb, url, **kw) as resp:
        body = await resp.read()
        payload = json.loads(body) if resp.content_type == "application/json" else {"raw": body}
        return resp.status, payload, resp


async def test_envelope_and_status_equal_error_code(
    emu: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    status, body, resp = await call(http, emu, "getMe")
    assert status == 200 and body["ok"] is True and body["result"]["username"]
    assert resp.headers["Content-Type"] == "application/json"
    status, body, _ = await call(http, emu, "sendMessage", data={"chat_id": "1", "text": "x"})
    assert (status, body) == (
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
    )
    status, body, _ = await call(http, emu, "getMe", token="123:nope")
    assert (status, body["description"]) == (401, "Unauthorized")
    status, body, _ = await call(http, emu, "getMe", token="not-a-token")
    assert (status, body["description"]) == (401, "Unauthorized: invalid token specified")
    status, body, _ = await call(http, emu, "noSuchMethod")
    assert (status, body["description"]) == (404, "Not Found: method not found")
    async with http.get(f"{emu.base_url}/elsewhere") as resp:
        assert resp.status == 404 and (await resp.json())["description"] == "Not Found"


async def test_method_names_are_case_insensitive_and_all_encodings_work(
    emu: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    emu.limits.enabled = False
    user = emu.user(id=5001)
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    s1, b1, _ = await call(
        http,
        emu,
        "SENDMESSAGE",
        data={"chat_id": "5001", "text": "true", "reply_markup": json.dumps(markup)},
    )
    s2, b2, _ = await call(
        http, emu, "sendmessage", verb="GET", params={"chat_id": "5001", "text": "42"}
    )
    s3, b3, _ = await call(
        http, emu, "sendMessage", json={"chat_id": 5001, "text": "null", "reply_markup": markup}
    )
    form = aiohttp.FormData()
    form.add_field("chat_id", "5001")
    form.add_field("document", b"%PDF-1.4", filename="a.pdf", content_type="application/pdf")
    s4, b4, _ = await call(http, emu, "sendDocument", data=form)
    assert (s1, s2, s3, s4) == (200, 200, 200, 200)
    # text is a string parameter: never JSON-decoded (reference §1.2 "decode by schema")
    assert [b1["result"]["text"], b2["result"]["text"], b3["result"]["text"]] == [
        "true",
        "42",
        "null",
    ]
    assert b1["result"]["reply_markup"] == markup == b3["result"]["reply_markup"]
    assert b4["result"]["document"]["file_name"] == "a.pdf"
    assert [m.text for m in user.inbox][:3] == ["true", "42", "null"]
    assert emu.calls_to("sendMessage")[0].decoded["chat_id"] == 5001


async def test_429_has_header_and_integer_retry_after(http: aiohttp.ClientSession) -> None:
    async with TelegramEmulator(limits=RateLimits(per_chat_burst=1)) as emu:
        emu.user(id=5002)
        data = {"chat_id": "5002", "text": "x"}
        assert (await call(http, emu, "sendMessage", data=data))[0] == 200
        status, body, resp = await call(http, emu, "sendMessage", data=data)
    assert status == 429 and resp.headers["Retry-After"] == "1"
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }


async def test_faults_are_seeded_and_scoped_to_methods(http: aiohttp.ClientSession) -> None:
    async def pattern(plan: FaultPlan) -> list[int]:
        async with TelegramEmulator(limits=RateLimits.off(), faults=plan) as emu:
            statuses = [(await call(http, emu, "getMe"))[0] for _ in range(30)]
            for _ in range(5):
                assert (await call(http, emu, "getUpdates"))[0] == 200  # kept clean by default
            return statuses

    a = await pattern(FaultPlan(share=0.5, kinds=("429", "502"), seed=7))
    b = await pattern(FaultPlan(share=0.5, kinds=("429", "502"), seed=7))
    assert a == b and {429, 502, 200} == set(a)
    async with TelegramEmulator(
        faults=FaultPlan(share=1.0, kinds=("502",), methods=frozenset({"getUpdates"}))
    ) as emu:
        status, body, resp = await call(http, emu, "getUpdates")
        assert status == 502 and resp.content_type == "text/html"
        assert b"502 Bad Gateway" in body["raw"]
        assert (await call(http, emu, "getMe"))[0] == 200


# The long-poll tests run on an event loop whose clock the test controls
# (tests/virtual_clock.py): the emulator's deadline and the test's own waits are timers on
# that loop, which jumps to the next one when nothing else can run, while the HTTP
# requests go over real sockets. Instants on that clock are exact, so the tests assert
# when the poll was answered relative to its timeout and to the update, not elapsed time.
SHARP = 0.001  # instants on the virtual clock are exact to well within this


async def _parked(emu: TelegramEmulator) -> None:
    await emu.wait_for(lambda: emu.long_poll_waiting, what="getUpdates to be held open")


def test_long_poll_holds_until_its_timeout_when_there_is_nothing() -> None:
    async def main() -> tuple[bool, int, dict[str, Any], float]:
        async with TelegramEmulator() as emu, aiohttp.ClientSession() as http:
            emu.user(id=5003)
            loop = asyncio.get_running_loop()
            started = loop.time()
            poll = asyncio.create_task(call(http, emu, "getUpdates", data={"timeout": "5"}))
            await _parked(emu)
            await asyncio.sleep(4.9)  # moves the clock to just before the poll's timeout
            held = not poll.done() and emu.long_poll_waiting
            status, body, _ = await poll
            return held, status, body, loop.time() - started

    held_at_4_9, status, body, answered_at = run(main)
    assert held_at_4_9
    assert status == 200 and body["result"] == []
    assert answered_at == pytest.approx(5, abs=SHARP)  # at its timeout, not before or after


def test_long_poll_wakes_at_once_when_an_update_arrives() -> None:
    async def main() -> tuple[dict[str, Any], float]:
        async with TelegramEmulator() as emu, aiohttp.ClientSession() as http:
            user = emu.user(id=5003)
            loop = asyncio.get_running_loop()
            started = loop.time()
            poll = asyncio.create_task(call(http, emu, "getUpdates", data={"timeout": "50"}))
            await _parked(emu)
            await asyncio.sleep(2)  # moves the clock: the update comes 2 s into the poll
            await user.send_text("ara")
            _, body, _ = await poll
            return body, loop.time() - started

    body, answered_at = run(main)
    assert [u["message"]["text"] for u in body["result"]] == ["ara"]
    assert answered_at == pytest.approx(2, abs=SHARP)  # when the update came, not at 50 s


def test_long_poll_is_terminated_by_a_second_poll() -> None:
    async def main() -> tuple[tuple[int, dict[str, Any]], tuple[int, dict[str, Any]], float]:
        async with TelegramEmulator() as emu, aiohttp.ClientSession() as http:
            user = emu.user(id=5003)
            await user.send_text("ara")
            _, body, _ = await call(http, emu, "getUpdates")
            offset = str(body["result"][0]["update_id"] + 1)
            loop = asyncio.get_running_loop()
            started = loop.time()
            first = asyncio.create_task(
                call(http, emu, "getUpdates", data={"timeout": "50", "offset": offset})
            )
            await _parked(emu)
            second_status, second_body, _ = await call(
                http, emu, "getUpdates", data={"timeout": "0"}
            )
            first_status, first_body, _ = await first
            return (first_status, first_body), (second_status, second_body), loop.time() - started

    (first_status, first_body), second, ended_at = run(main)
    assert first_status == 409
    assert "terminated by other getUpdates request" in first_body["description"]
    assert second == (200, {"ok": True, "result": []})  # the first poll's offset confirmed it
    assert ended_at == pytest.approx(0, abs=SHARP)  # ended by the second poll, not its timeout


async def test_offset_limit_and_negative_offset(
    emu: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    user = emu.user(id=5004)
    for i in range(5):
        await user.send_text(str(i))
    _, body, _ = await call(http, emu, "getUpdates", data={"limit": "2"})
    ids = [u["update_id"] for u in body["result"]]
    assert len(ids) == 2
    _, body, _ = await call(http, emu, "getUpdates", data={"offset": str(ids[1] + 1)})
    assert [u["message"]["text"] for u in body["result"]] == ["2", "3", "4"]
    _, body, _ = await call(http, emu, "getUpdates", data={"offset": "-1"})
    assert [u["message"]["text"] for u in body["result"]] == ["4"]


async def test_file_download_accepts_raw_and_percent_encoded_token(
    emu: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    user = emu.user(id=5005)
    msg = await user.send_document(b"contingut", "a.txt")
    _, body, _ = await call(http, emu, "getFile", data={"file_id": msg.data["document"]["file_id"]})
    path = body["result"]["file_path"]
    assert path.startswith("documents/file_") and path.endswith(".txt")
    for token in (emu.token, emu.token.replace(":", "%3A")):
        async with http.get(f"{emu.base_url}/file/bot{token}/{path}") as resp:
            assert resp.status == 200 and await resp.read() == b"contingut"
    async with http.get(f"{emu.base_url}/file/bot{emu.token}/documents/nope") as resp:
        assert resp.status == 404


async def test_commands_per_scope_and_language(
    emu: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    anna = emu.user(id=5006, language_code="ca")
    eve = emu.user(id=5007, language_code="en")
    ca = [{"command": "cita", "description": "Demanar cita"}]
    default = [{"command": "book", "description": "Book"}]
    await call(http, emu, "setMyCommands", data={"commands": json.dumps(ca), "language_code": "ca"})
    await call(http, emu, "setMyCommands", data={"commands": json.dumps(default)})
    _, body, _ = await call(http, emu, "getMyCommands", data={"language_code": "ca"})
    assert body["result"] == ca
    assert anna.visible_commands() == ca and eve.visible_commands() == default
    status, body, _ = await call(
        http,
        emu,
        "setMyCommands",
        data={"commands": json.dumps([{"command": "Cita!", "description": "x"}])},
    )
    assert (status, body["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")
    await call(http, emu, "deleteMyCommands", data={"language_code": "ca"})
    assert anna.visible_commands() == default


def test_html_parser_details() -> None:
    text, ents = parse_html('<pre><code class="language-python">x = 1</code></pre> a&amp;b')
    assert text == "x = 1 a&b"
    assert ents == [{"offset": 0, "length": 5, "type": "pre", "language": "python"}]
    text, ents = parse_html('<a href="https://example.org">lloc</a> <tg-spoiler>s</tg-spoiler>')
    assert ents[0] == {"offset": 0, "length": 4, "type": "text_link", "url": "https://example.org"}
    assert ents[1]["type"] == "spoiler"
    assert parse_html("AT&T &unknown; &#128075;") == ("AT&T &unknown; 👋", [])
    with pytest.raises(HtmlParseError, match='Tag "span" must have class "tg-spoiler"'):
        parse_html("<span>x</span>")


async def test_set_webhook_descriptions_and_pending_poll(
    emu: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    poll = asyncio.create_task(call(http, emu, "getUpdates", data={"timeout": "5"}))
    await _parked(emu)
    url = "http://127.0.0.1:9/hook"  # never reached: no update is queued
    _, body, _ = await call(http, emu, "setWebhook", data={"url": url})
    assert body == {"ok": True, "result": True, "description": "Webhook was set"}
    status, body, _ = await poll
    assert status == 200 and body["result"] == []
    _, body, _ = await call(http, emu, "setWebhook", data={"url": url})
    assert body["description"] == "Webhook is already set"
    status, body, _ = await call(http, emu, "setWebhook", data={"url": url, "secret_token": "a b"})
    assert (status, body["description"]) == (
        400,
        "Bad Request: secret token contains unallowed characters",
    )
    _, body, _ = await call(http, emu, "deleteWebhook")
    assert body["description"] == "Webhook was deleted"
    _, body, _ = await call(http, emu, "deleteWebhook")
    assert body["description"] == "Webhook is already deleted"


async def test_a_stalled_send_is_kept_by_telegram_and_never_answered_until_released(
    emu: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    user = emu.user(id=5501)
    emu.stall_after(2)
    first = await call(http, emu, "sendMessage", data={"chat_id": "5501", "text": "one"})
    assert first[0] == 200
    refused = await call(http, emu, "sendMessage", data={"chat_id": "1", "text": "x"})
    assert refused[0] == 400  # not accepted, so not counted
    second = asyncio.create_task(
        call(http, emu, "sendMessage", data={"chat_id": "5501", "text": "two"})
    )
    await emu.wait_for(lambda: emu.stalled, what="the second send to hang")
    # Telegram has the message; its sender has no answer.
    assert [m.text for m in emu.messages(user.id)] == ["one", "two"]
    assert not second.done()
    assert await call(http, emu, "getMe") is not None  # other calls are answered meanwhile
    assert not second.done()
    emu.release_stall()
    status, body, _ = await second
    assert status == 200 and body["result"]["text"] == "two"
    third = await call(http, emu, "sendMessage", data={"chat_id": "5501", "text": "three"})
    assert third[0] == 200  # released: no more stalls
    assert [c.params["text"] for c in emu.stalled] == ["two"]
