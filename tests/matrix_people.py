"""People on Matrix for tests and benchmarks: a matrix-nio client with end-to-end
encryption that opens a direct chat with the bot the way Element does, talks to it, and
keeps what the bot sent (notices, edits and files, decrypted where the room is encrypted)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomEncryptedFile,
    RoomEncryptedImage,
    RoomMessageFile,
    RoomMessageImage,
    RoomMessageNotice,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
)
from nio.crypto.attachments import decrypt_attachment

from tests.synapse import Account

ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


@dataclass
class Seen:
    """One event from the bot as the person sees it."""

    event_id: str
    body: str
    formatted: str = ""
    msgtype: str = "m.notice"
    replaces: str | None = None
    encrypted: bool = False
    file: bytes | None = None
    name: str = ""
    mimetype: str = ""
    content: dict[str, Any] = field(default_factory=dict)


class MatrixPerson:
    def __init__(self, homeserver: str, account: Account, store: Path, bot_id: str) -> None:
        store.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=True,
            max_limit_exceeded=0,
            request_timeout=20,
        )
        self.client = AsyncClient(
            homeserver,
            account.user_id,
            device_id=account.device_id,
            store_path=str(store),
            config=config,
        )
        self.client.restore_login(account.user_id, account.device_id, account.access_token)
        self.account = account
        self.bot_id = bot_id
        self.room_id = ""
        self.seen: list[Seen] = []
        self.read = 0
        self._task: asyncio.Task[None] | None = None
        self._synced = asyncio.Event()
        self._undecrypted: list[tuple[MatrixRoom, MegolmEvent]] = []
        self.client.add_event_callback(self._on_megolm, MegolmEvent)  # type: ignore[arg-type]
        self.client.add_event_callback(
            self._on_event,
            (
                RoomMessageNotice,
                RoomMessageFile,
                RoomMessageImage,
                RoomEncryptedFile,
                RoomEncryptedImage,
            ),  # type: ignore[arg-type]
        )

    @property
    def user_id(self) -> str:
        return self.account.user_id

    async def start(self) -> None:
        await self.client.sync(timeout=0, full_state=True)
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        self.client.add_response_callback(self._on_sync, SyncResponse)  # type: ignore[arg-type]
        self._task = asyncio.create_task(self.client.sync_forever(timeout=1000))

    async def _on_megolm(self, room: MatrixRoom, event: MegolmEvent) -> None:
        self._undecrypted.append((room, event))

    async def _on_sync(self, response: Any) -> None:
        waiting = []
        store = self.client.olm.inbound_group_store if self.client.olm else None
        for room, event in self._undecrypted:  # its room key arrived after it
            if store is None or not store.get(room.room_id, event.sender_key, event.session_id):
                waiting.append((room, event))
                continue
            try:
                decrypted = self.client.decrypt_event(event)
            except Exception:
                waiting.append((room, event))
                continue
            await self._on_event(room, decrypted)
        self._undecrypted = waiting
        self._synced.set()

    @property
    def received(self) -> int:
        """How many of the bot's messages reached this client, decrypted or not yet."""
        waiting = sum(1 for _, event in self._undecrypted if event.sender == self.bot_id)
        return len(self.seen) + waiting

    def decrypted_all(self) -> bool:
        """No message from the bot is still waiting for its room key."""
        return not any(event.sender == self.bot_id for _, event in self._undecrypted)

    async def synced(self, rounds: int = 2, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        for _ in range(rounds):
            self._synced.clear()
            await asyncio.wait_for(self._synced.wait(), timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.client.close()

    async def _on_event(self, room: MatrixRoom, event: Any) -> None:
        if event.sender != self.bot_id:
            return
        content = event.source.get("content", {})
        relates = content.get("m.relates_to") or {}
        replaces = relates.get("event_id") if relates.get("rel_type") == "m.replace" else None
        if replaces:
            content = content.get("m.new_content", content)
        seen = Seen(
            event_id=event.event_id,
            body=str(content.get("body", "")),
            formatted=str(content.get("formatted_body", "")),
            msgtype=str(content.get("msgtype", "")),
            replaces=replaces,
            encrypted=bool(getattr(event, "decrypted", False)),
            content=content,
        )
        if isinstance(
            event, (RoomMessageFile, RoomMessageImage, RoomEncryptedFile, RoomEncryptedImage)
        ):
            download = await self.client.download(mxc=event.url)
            data = bytes(getattr(download, "body", b""))
            if isinstance(event, (RoomEncryptedFile, RoomEncryptedImage)):
                data = decrypt_attachment(data, event.key["k"], event.hashes["sha256"], event.iv)
            seen.file = data
            seen.name = str(content.get("filename") or content.get("body", ""))
            seen.mimetype = str((content.get("info") or {}).get("mimetype", ""))
        self.seen.append(seen)

    # --- talking to the bot -------------------------------------------------------------

    async def open_dm(self, *, encrypted: bool) -> str:
        """A direct chat with the bot, created the way Element does (an is_direct invite,
        m.room.encryption in the initial state when encrypted)."""
        answer = await self.client.room_create(
            is_direct=True,
            invite=[self.bot_id],
            preset=RoomPreset.trusted_private_chat,
            initial_state=[ENCRYPTION] if encrypted else [],
        )
        assert isinstance(answer, RoomCreateResponse), answer
        self.room_id = answer.room_id
        return self.room_id

    async def send(self, content: dict[str, Any]) -> str:
        answer = await self.client.room_send(
            self.room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(answer, RoomSendResponse), answer
        return str(answer.event_id)

    async def text(self, body: str, reply_to: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self.send(content)

    async def react(self, event_id: str, key: str) -> None:
        answer = await self.client.room_send(
            self.room_id,
            "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}},
        )
        assert isinstance(answer, RoomSendResponse), answer

    async def upload(self, data: bytes, name: str, mimetype: str) -> str:
        room = self.client.rooms[self.room_id]
        encrypted = bool(room.encrypted)
        answer, keys = await self.client.upload(
            lambda *_: __import__("io").BytesIO(data),
            content_type=mimetype,
            filename=name,
            encrypt=encrypted,
            filesize=len(data),
        )
        assert isinstance(answer, UploadResponse), answer
        kind = "m.image" if mimetype.startswith("image/") else "m.file"
        content: dict[str, Any] = {
            "msgtype": kind,
            "body": name,
            "filename": name,
            "info": {"mimetype": mimetype, "size": len(data)},
        }
        if encrypted:
            assert keys is not None
            content["file"] = {**keys, "url": answer.content_uri, "mimetype": mimetype}
        else:
            content["url"] = answer.content_uri
        return await self.send(content)

    def unread(self) -> list[Seen]:
        new = self.seen[self.read :]
        self.read = len(self.seen)
        return new

    async def wait_for(self, test: Callable[[], bool], timeout: float = 30.0) -> None:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not test():
            if loop.time() > deadline:
                shown = [s.body[:80] for s in self.seen[-5:]]
                raise TimeoutError(f"{self.user_id}: condition not met; last seen {shown}")
            await asyncio.sleep(0.02)
