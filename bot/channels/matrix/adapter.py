"""The Matrix channel: matrix-nio 0.26 (with its ``e2e`` extra: vodozemac) as a transport.

The bot logs in once and keeps its session (device id and access token) and its crypto
store (identity keys, Megolm sessions, trusted devices) and sync token in
``data_dir/matrix``, so a restart is the same device: it still decrypts what arrives for it
and does not answer old history again. Invitations to private chats are accepted (a few per
inviter and hour); each room's events are served in order by a queue per room; each event
becomes at most one Turn. Replies are ``m.notice`` events; proactive messages come from the
outbox dispatcher through ``deliver()``.

Message bodies are never logged above DEBUG, and the access token never at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ContentRepositoryConfigResponse,
    DownloadError,
    ErrorResponse,
    InviteMemberEvent,
    JoinedMembersResponse,
    JoinResponse,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RoomMemberEvent,
    RoomMessage,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError

from bot.channels.base import Unreachable
from bot.channels.kit import ChatQueues, Conversation, PanelMemory, send_in_order
from bot.channels.matrix.render import Outgoing, file_content, notice, render, replacement
from bot.channels.matrix.translate import (
    CHANNEL,
    file_ref,
    is_edit,
    reaction_number,
    replied_to,
    turn_for,
)
from config.settings import ConfigError
from handlers.i18n import LANGUAGES, translate
from handlers.messages import InFile, Reply, Turn, TurnKind

log = logging.getLogger("videotramit.matrix")

MiB = 1 << 20
WRITTEN = (TurnKind.TEXT, TurnKind.COMMAND, TurnKind.CHOICE, TurnKind.FILE)


class SendFailed(Exception):
    """The homeserver did not take an event after the bounded retries."""


class NotInRoom(SendFailed):
    """The bot is not (or no longer) in the room: the person cannot be reached there."""


@dataclass(frozen=True)
class MatrixOptions:
    homeserver: str
    user_id: str
    store_dir: Path
    password: str = ""
    access_token: str = ""
    device_id: str = ""
    device_name: str = "videotramit"
    default_language: str = "ca"
    sync_timeout_ms: int = 30_000  # long-poll
    request_timeout: float = 30.0  # every other call
    max_limit_exceeded: int = 5  # M_LIMIT_EXCEEDED: wait retry_after_ms, at most this often
    max_timeouts: int = 3  # connection errors retried by nio before we see them
    send_attempts: int = 6  # a reply is tried this often ...
    send_within: float = 120.0  # ... within this long (seconds)
    proactive_attempts: int = 3  # the outbox retries later anyway
    invites_per_hour: int = 5  # per inviter
    download_limit: int = 20 * MiB  # largest file a person can send
    max_active_rooms: int = 64
    max_concurrent_turns: int = 16  # 1 on SQLite (one writer anyway)
    stop_timeout: float = 8.0
    join_timeout: float = 20.0  # until a joined room shows up in the sync


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing to serve in a room, in order: an invite to accept, an event, a leave."""

    kind: str  # "invite" | "event" | "left"
    room_id: str
    sender: str
    event: Any = None


class InviteLimiter:
    """At most ``limit`` invitations per inviter in any hour (monotonic clock)."""

    def __init__(self, limit: int, window: float = 3600.0) -> None:
        self._limit = limit
        self._window = window
        self._seen: dict[str, deque[float]] = {}

    def allow(self, inviter: str) -> bool:
        now = time.monotonic()
        seen = self._seen.setdefault(inviter, deque())
        while seen and now - seen[0] > self._window:
            seen.popleft()
        if len(seen) >= self._limit:
            return False
        seen.append(now)
        if len(self._seen) > 10_000:
            self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < self._window}
        return True


class MatrixChannel:
    """The ``Channel`` for Matrix. Build with ``build_channel`` (bot/channels/matrix)."""

    name = CHANNEL

    def __init__(self, options: MatrixOptions, conversation: Conversation) -> None:
        self.options = options
        self._conversation = conversation
        self._client: AsyncClient | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._rooms: ChatQueues[str, Incoming] = ChatQueues(
            self._serve, max_active=options.max_active_rooms, on_error=self._failed
        )
        self._turn_slots = asyncio.Semaphore(max(1, options.max_concurrent_turns))
        self._invites = InviteLimiter(options.invites_per_hour)
        self._joining: set[str] = set()
        self._panels: PanelMemory[str, str] = PanelMemory()  # (room, panel) -> event id
        self._last: dict[str, str] = {}  # room -> id of the newest message in it
        self._latest_list: dict[str, tuple[str, ...]] = {}  # room -> tokens of its last list
        self._lists: OrderedDict[str, tuple[str, ...]] = OrderedDict()  # event id -> tokens
        self._history_done = False  # the first sync without a stored token replays history
        self._undecrypted: deque[tuple[str, MegolmEvent, float]] = deque()  # awaiting keys
        self.upload_limit: int | None = None
        self.device_id = ""
        self.synced = asyncio.Event()
        self.syncs = 0
        self.counters: dict[str, int] = {
            "events": 0,
            "turns": 0,
            "sent": 0,
            "edits": 0,
            "retries": 0,
            "failed": 0,
            "refused_files": 0,
            "refused_invites": 0,
            "undecryptable": 0,
            "rate_limited": 0,
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._sync_task is not None and not self._sync_task.done()

    @property
    def idle(self) -> bool:
        return self._rooms.idle

    def room_idle(self, room_id: str) -> bool:
        return self._rooms.chat_idle(room_id)

    async def wait_idle(self, timeout: float) -> bool:  # noqa: ASYNC109
        return await self._rooms.wait_idle(timeout)

    def _live(self) -> AsyncClient:
        if self._client is None:
            raise RuntimeError("the Matrix channel is not running")
        return self._client

    @property
    def _session_file(self) -> Path:
        return self.options.store_dir / "session.json"

    def _config(self) -> AsyncClientConfig:
        o = self.options
        return AsyncClientConfig(
            max_limit_exceeded=o.max_limit_exceeded,
            max_timeouts=o.max_timeouts,
            request_timeout=o.request_timeout,
            backoff_factor=0.2,
            max_timeout_retry_wait_time=5,
            encryption_enabled=True,
            store_sync_tokens=True,
        )

    def _load_session(self) -> dict[str, str] | None:
        try:
            saved = json.loads(self._session_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        o = self.options
        if saved.get("user_id") != o.user_id or saved.get("homeserver") != o.homeserver:
            return None  # another account: log in again
        if o.device_id and saved.get("device_id") != o.device_id:
            return None
        return {k: str(v) for k, v in saved.items()}

    def _save_session(self, device_id: str, access_token: str) -> None:
        o = self.options
        data = {
            "homeserver": o.homeserver,
            "user_id": o.user_id,
            "device_id": device_id,
            "access_token": access_token,
        }
        temporary = self._session_file.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(temporary, self._session_file)

    async def _sign_in(self) -> AsyncClient:
        """Restore the saved session, else use the configured token, else log in once."""
        o = self.options
        o.store_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        store = str(o.store_dir)
        saved = self._load_session()
        if saved is not None:
            client = AsyncClient(
                o.homeserver,
                o.user_id,
                device_id=saved["device_id"],
                store_path=store,
                config=self._config(),
            )
            client.restore_login(o.user_id, saved["device_id"], saved["access_token"])
            return client
        if o.access_token:
            client = AsyncClient(o.homeserver, o.user_id, store_path=store, config=self._config())
            device_id = o.device_id
            if not device_id:
                client.access_token = o.access_token
                who = await client.whoami()
                if not isinstance(who, WhoamiResponse) or not who.device_id:
                    await client.close()
                    raise ConfigError(
                        "matrix.access_token: the homeserver did not accept it "
                        "(or it has no device; set matrix.device_id)"
                    )
                device_id = who.device_id
            client.restore_login(o.user_id, device_id, o.access_token)
            self._save_session(device_id, o.access_token)
            return client
        if not o.password:
            raise ConfigError(
                "matrix.password: required when matrix.enabled is true and there is no access "
                "token (set VIDEOTRAMIT_MATRIX__PASSWORD or VIDEOTRAMIT_MATRIX__ACCESS_TOKEN)"
            )
        client = AsyncClient(
            o.homeserver,
            o.user_id,
            device_id=o.device_id or None,
            store_path=store,
            config=self._config(),
        )
        answer = await client.login(o.password, device_name=o.device_name)
        if not isinstance(answer, LoginResponse):
            await client.close()
            status = getattr(answer, "status_code", "")
            raise ConfigError(f"matrix.password: the homeserver refused the login ({status})")
        self._save_session(answer.device_id, answer.access_token)
        return client

    async def start(self) -> None:
        if self._client is not None:
            return
        client = await self._sign_in()
        self._client = client
        self.device_id = client.device_id or ""
        self._history_done = client.loaded_sync_token is not None
        client.add_event_callback(self._on_invite, InviteMemberEvent)
        client.add_event_callback(self._on_message, (RoomMessage, MegolmEvent))
        client.add_event_callback(self._on_member, RoomMemberEvent)
        client.add_event_callback(self._on_reaction, ReactionEvent)
        client.add_response_callback(self._on_sync, SyncResponse)
        client.add_response_callback(self._on_error, ErrorResponse)
        try:
            await self._read_upload_limit()
        except Exception as exc:
            log.warning("matrix upload limit unknown", extra={"error": exc.__class__.__name__})
        self._sync_task = asyncio.create_task(self._sync_loop(), name="matrix-sync")
        log.info("matrix channel started", extra={"user": self.options.user_id})

    async def stop(self) -> None:
        client = self._client
        if client is None:
            return
        try:
            await self.wait_idle(self.options.stop_timeout)
        finally:
            task, self._sync_task = self._sync_task, None
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self._rooms.close()
            self._client = None
            with contextlib.suppress(Exception):
                await client.close()
            log.info("matrix channel stopped")

    async def _read_upload_limit(self) -> None:
        answer = await self._live().content_repository_config()
        if isinstance(answer, ContentRepositoryConfigResponse):
            self.upload_limit = answer.upload_size

    async def _sync_loop(self) -> None:
        """Sync until stopped; a homeserver restart or a network error only pauses it
        (the sync token is kept, so nothing is missed and nothing is seen twice)."""
        client = self._live()
        pause = 0.5
        while True:
            try:
                await client.sync_forever(timeout=self.options.sync_timeout_ms, full_state=True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("matrix sync interrupted", extra={"error": exc.__class__.__name__})
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    async def _on_error(self, response: ErrorResponse) -> None:
        if response.status_code == "M_LIMIT_EXCEEDED":  # nio waits retry_after_ms, then retries
            self.counters["rate_limited"] += 1
            log.info("matrix rate limited", extra={"retry_after_ms": response.retry_after_ms})

    async def _on_sync(self, response: SyncResponse) -> None:
        self._retry_decryption()
        self._history_done = True
        self.syncs += 1
        self.synced.set()
        self.synced.clear()

    def _retry_decryption(self) -> None:
        """Messages whose room key came after them (keys travel separately, to-device):
        decrypted and served once the key is there; forgotten after an hour."""
        if not self._undecrypted:
            return
        client = self._live()
        store = client.olm.inbound_group_store if client.olm is not None else None
        now = time.monotonic()
        waiting: deque[tuple[str, MegolmEvent, float]] = deque()
        for room_id, event, since in self._undecrypted:
            known = store is not None and store.get(room_id, event.sender_key, event.session_id)
            if not known:
                if now - since < 3600:
                    waiting.append((room_id, event, since))
                continue
            try:
                decrypted = client.decrypt_event(event)
            except Exception:
                continue
            self._rooms.submit(room_id, Incoming("event", room_id, event.sender, decrypted))
        self._undecrypted = waiting

    async def wait_synced(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Until one more sync went through (tests and benchmarks)."""
        await asyncio.wait_for(self.synced.wait(), timeout)

    # ------------------------------------------------------------------ incoming

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        client = self._live()
        if event.state_key != client.user_id or event.membership != "invite":
            return
        if room.room_id in self._joining or room.room_id in client.rooms:
            return
        self._joining.add(room.room_id)
        if not self._invites.allow(event.sender):
            self.counters["refused_invites"] += 1
            log.info("matrix invite refused: too many from one inviter")
            await self._leave(room.room_id)
            self._joining.discard(room.room_id)
            return
        self._rooms.submit(room.room_id, Incoming("invite", room.room_id, event.sender))

    async def _on_message(self, room: MatrixRoom, event: Any) -> None:
        client = self._live()
        content = event.source.get("content") if isinstance(event.source, dict) else None
        if not isinstance(event, MegolmEvent) and not (
            isinstance(content, dict) and is_edit(content)
        ):
            self._last[room.room_id] = event.event_id  # edits show in their original's place
        if event.sender == client.user_id:
            return  # our own echo
        if not self._history_done:
            return  # history replayed by the very first sync
        self.counters["events"] += 1
        self._rooms.submit(room.room_id, Incoming("event", room.room_id, event.sender, event))

    async def _on_reaction(self, room: MatrixRoom, event: ReactionEvent) -> None:
        """A reaction with a number (1️⃣ …) on one of the bot's lists picks that option;
        it is not a message, so a panel it answers stays the newest message (and is edited)."""
        client = self._live()
        if event.sender == client.user_id or not self._history_done:
            return
        if event.reacts_to not in self._lists:
            return  # 👍 and the like, or on a message without options: nothing to do
        self.counters["events"] += 1
        self._rooms.submit(room.room_id, Incoming("reaction", room.room_id, event.sender, event))

    async def _on_member(self, room: MatrixRoom, event: RoomMemberEvent) -> None:
        client = self._live()
        if not self._history_done or event.state_key == client.user_id:
            return
        if event.membership in ("leave", "ban") and event.prev_membership == "join":
            self._rooms.submit(room.room_id, Incoming("left", room.room_id, event.state_key))

    def _failed(self, item: Incoming, exc: Exception) -> None:
        self.counters["failed"] += 1
        log.error("matrix event failed", extra={"kind": item.kind, "error": repr(exc)[:300]})

    async def _serve(self, item: Incoming) -> None:
        if item.kind == "invite":
            await self._accept(item)
        elif item.kind == "left":
            await self._left(item)
        elif item.kind == "reaction":
            await self._reaction(item)
        else:
            await self._event(item)

    async def _wait_room(self, room_id: str) -> MatrixRoom | None:
        client = self._live()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.join_timeout
        while loop.time() < deadline:
            room = client.rooms.get(room_id)
            if room is not None and client.user_id in room.users:
                return room
            await asyncio.sleep(0.05)
        return None

    async def _accept(self, item: Incoming) -> None:
        client = self._live()
        try:
            answer = await client.join(item.room_id)
            if not isinstance(answer, JoinResponse):
                log.warning(
                    "matrix join failed", extra={"error": getattr(answer, "status_code", "")}
                )
                return
            room = await self._wait_room(item.room_id)
        finally:
            self._joining.discard(item.room_id)
        if room is None:
            log.warning("matrix room did not appear after joining")
            return
        members = await client.joined_members(item.room_id)
        count = len(members.members) if isinstance(members, JoinedMembersResponse) else 2
        if count > 2 or room.invited_count + count > 2:
            await self._group(room, item.sender)
            await self._leave(item.room_id)
            return
        await self._handle(room, self._turn(room, item.sender, TurnKind.JOINED))

    async def _group(self, room: MatrixRoom, sender: str) -> None:
        """A room with more people: personal data never goes there. Say so, then leave."""
        turn = self._turn(
            room, sender, TurnKind.GROUP, link=f"https://matrix.to/#/{self.options.user_id}"
        )
        for reply in await self._conversation.handle(turn):
            with contextlib.suppress(SendFailed):
                await self._send(room.room_id, reply, self.options.proactive_attempts)

    async def _left(self, item: Incoming) -> None:
        client = self._live()
        room = client.rooms.get(item.room_id)
        if room is None:
            return
        await self._handle(room, self._turn(room, item.sender, TurnKind.GONE))
        await self._leave(item.room_id)  # nobody left to talk to

    async def _leave(self, room_id: str) -> None:
        """Leave (or decline) a room and forget it, so nothing is sent there any more."""
        client = self._live()
        with contextlib.suppress(Exception):
            await client.room_leave(room_id)
            await client.room_forget(room_id)
        client.rooms.pop(room_id, None)
        self._latest_list.pop(room_id, None)
        self._last.pop(room_id, None)

    def _turn(self, room: MatrixRoom, sender: str, kind: TurnKind, **values: Any) -> Turn:
        return Turn(
            channel=CHANNEL,
            external_id=sender,
            address=room.room_id,
            kind=kind,
            display_name=self._name(room, sender),
            **values,
        )

    @staticmethod
    def _name(room: MatrixRoom, sender: str) -> str:
        user = room.users.get(sender)
        name = user.display_name if user is not None and user.display_name else ""
        return name or sender.split(":")[0].lstrip("@")

    async def _event(self, item: Incoming) -> None:
        client = self._live()
        room = client.rooms.get(item.room_id)
        event = item.event
        if room is None:
            return
        if isinstance(event, MegolmEvent):  # its key has not arrived (yet)
            self.counters["undecryptable"] += 1
            log.info("matrix event not decryptable yet", extra={"session": event.session_id[:12]})
            self._undecrypted.append((room.room_id, event, time.monotonic()))
            with contextlib.suppress(Exception):
                await client.request_room_key(event)
            return
        content = event.source.get("content", {})
        if not isinstance(content, dict):
            return
        if room.member_count > 2:  # a group the bot is still in: commands get a pointer
            if str(content.get("body", "")).startswith("!"):
                await self._group(room, item.sender)
            return
        target = replied_to(content)
        tokens = self._lists.get(target) if target else self._latest_list.get(room.room_id)
        turn = turn_for(
            content,
            sender=item.sender,
            room_id=room.room_id,
            display_name=self._name(room, item.sender),
            tokens=list(tokens) if tokens else None,
        )
        if turn is None:
            return
        if turn.kind is TurnKind.FILE:
            turn = await self._fetch(turn, content)
        await self._handle(room, turn)

    async def _reaction(self, item: Incoming) -> None:
        room = self._live().rooms.get(item.room_id)
        event = item.event
        tokens = self._lists.get(event.reacts_to, ())
        number = reaction_number(event.key)
        if room is None or number is None or not 0 < number <= len(tokens):
            return
        choice = tokens[number - 1]
        await self._handle(room, self._turn(room, item.sender, TurnKind.CHOICE, choice=choice))

    async def _fetch(self, turn: Turn, content: dict[str, Any]) -> Turn:
        """Download (authenticated media) and, for an encrypted attachment, decrypt and
        check its hash; what went wrong becomes a FILE_TOO_BIG or FILE_LOST turn."""
        ref = file_ref(content)
        limit = self.options.download_limit
        too_big = replace(turn, kind=TurnKind.FILE_TOO_BIG, size_limit=limit)
        lost = replace(turn, kind=TurnKind.FILE_LOST)
        if ref is None:
            return lost
        if ref.size is not None and ref.size > limit:
            self.counters["refused_files"] += 1
            return too_big
        answer = await self._live().download(mxc=ref.url)
        if isinstance(answer, DownloadError) or not hasattr(answer, "body"):
            log.warning(
                "matrix file not fetched", extra={"error": getattr(answer, "status_code", "")}
            )
            return lost
        data = bytes(answer.body)
        if ref.encryption is not None:
            try:
                data = decrypt_attachment(
                    data,
                    ref.encryption["key"]["k"],
                    ref.encryption["hashes"]["sha256"],
                    ref.encryption["iv"],
                )
            except (EncryptionError, KeyError, TypeError, ValueError):
                log.warning("matrix attachment failed its hash check or could not be decrypted")
                return lost
        if len(data) > limit:
            self.counters["refused_files"] += 1
            return too_big
        return replace(turn, file=InFile(name=ref.name, data=data, declared_type=ref.declared_type))

    async def _handle(self, room: MatrixRoom, turn: Turn) -> None:
        if turn.kind in WRITTEN:
            self.counters["turns"] += 1
        async with self._turn_slots:
            answer = await self._conversation.answer(turn)
        sent = await send_in_order(answer.replies, lambda r: self._reply(room.room_id, r))
        await self._conversation.sent(answer, sent)

    async def _reply(self, room_id: str, reply: Reply) -> bool:
        try:
            await self._send(room_id, reply, self.options.send_attempts)
        except NotInRoom:
            log.info("matrix reply not delivered: not in the room any more")
            return False
        except SendFailed as exc:
            self.counters["failed"] += 1
            log.error(
                "matrix reply not sent with its turn, left to the outbox",
                extra={"error": str(exc)[:200]},
            )
            return False
        return True

    # ------------------------------------------------------------------ outgoing

    async def deliver(self, address: str, reply: Reply) -> None:
        """A proactive message from the outbox; returns once the homeserver took it."""
        client = self._live()
        room = client.rooms.get(address)
        if room is None or not (set(room.users) - {client.user_id}):
            raise Unreachable("the bot shares no room with this person any more")
        if room.member_count > 2:  # someone else joined their chat: nothing personal there
            raise Unreachable("the private chat has become a group")
        try:
            await self._send(address, reply, self.options.proactive_attempts)
        except NotInRoom as exc:
            raise Unreachable(str(exc)) from exc

    def _trust(self, room: MatrixRoom) -> None:
        """Trust on first use: every device of the room's members that the bot has not
        seen before is trusted as it is; a known device whose keys change is not (nio keeps
        the first keys). See docs/matrix.md for what this means."""
        client = self._live()
        if not room.encrypted or client.olm is None:
            return
        for user_id in room.users:
            for device in client.device_store.active_user_devices(user_id):
                if not device.verified and not device.blacklisted:
                    client.verify_device(device)

    async def _room_send(self, room_id: str, content: dict[str, Any], attempts: int) -> str:
        """Send one event, retried on failures within bounds (the same transaction id, so
        the homeserver keeps one copy); 429s are waited out inside nio (bounded)."""
        client = self._live()
        txn = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.send_within
        pause = 0.2
        last = ""
        for attempt in range(max(1, attempts)):
            room = client.rooms.get(room_id)
            if room is None:
                raise NotInRoom("not in the room")
            try:
                if room.encrypted and client.olm is not None and client.should_query_keys:
                    # Know every member's devices before the room key is shared: a device
                    # learnt of later only gets the key from that message on.
                    await client.keys_query()
                self._trust(room)
                answer = await client.room_send(
                    room_id, "m.room.message", content, tx_id=txn, ignore_unverified_devices=True
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection errors after nio's own retries, ...
                last = f"{exc.__class__.__name__}: {str(exc)[:120]}"
            else:
                if isinstance(answer, RoomSendResponse):
                    self.counters["sent"] += 1
                    self._last[room_id] = answer.event_id
                    return str(answer.event_id)
                last = str(getattr(answer, "status_code", "") or answer)
                if last == "M_FORBIDDEN":
                    raise NotInRoom(last)
            if attempt + 1 >= attempts or loop.time() + pause > deadline:
                break
            self.counters["retries"] += 1
            log.info("matrix send retried", extra={"error": last})
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
        raise SendFailed(last or "not sent")

    async def _send(self, room_id: str, reply: Reply, attempts: int) -> None:
        outgoing = render(reply)
        if reply.panel and await self._edit_panel(room_id, reply.panel, outgoing, attempts):
            return
        for item in outgoing:
            if item.file is not None:
                event_id = await self._send_file(room_id, item, reply, attempts)
            else:
                event_id = await self._room_send(room_id, item.content, attempts)
                self._note_list(room_id, event_id, item)
            if reply.panel and item is outgoing[-1]:
                self._panels.remember(room_id, reply.panel, event_id)

    def _note_list(self, room_id: str, event_id: str, item: Outgoing) -> None:
        if (
            not item.tokens
            and "<ol>" not in item.content.get("formatted_body", "")
            and ("<ul>" not in item.content.get("formatted_body", ""))
        ):
            return
        self._latest_list[room_id] = item.tokens
        self._lists[event_id] = item.tokens
        while len(self._lists) > 20_000:
            self._lists.popitem(last=False)

    async def _edit_panel(
        self, room_id: str, panel: str, outgoing: list[Outgoing], attempts: int
    ) -> bool:
        """Edit the panel in place (``m.replace``) while it is the newest message in the
        room; otherwise (or if that fails) it is sent anew at the bottom."""
        original = self._panels.get(room_id, panel)
        if original is None or len(outgoing) != 1 or outgoing[0].file is not None:
            return False
        if self._last.get(room_id) != original:
            return False
        item = outgoing[0]
        try:
            await self._room_send(room_id, replacement(item.content, original), attempts)
        except NotInRoom:
            raise
        except SendFailed:
            return False
        self.counters["edits"] += 1
        self._last[room_id] = original  # the edit shows in the original's place
        self._note_list(room_id, original, item)
        return True

    async def _send_file(self, room_id: str, item: Outgoing, reply: Reply, attempts: int) -> str:
        """Upload (encrypted in an encrypted room) and send as m.file / m.image; a file over
        the homeserver's upload limit is not sent, and the person is told so."""
        client = self._live()
        file = item.file
        assert file is not None
        room = client.rooms.get(room_id)
        if room is None:
            raise NotInRoom("not in the room")
        limit = self.upload_limit
        if limit is not None and len(file.data) > limit:
            self.counters["refused_files"] += 1
            language = (
                reply.language if reply.language in LANGUAGES else self.options.default_language
            )
            text = translate(
                language, "channel.file_not_sent", name=file.name, max_mb=max(1, limit // MiB)
            )
            return await self._room_send(room_id, notice(text), attempts)
        encrypted = bool(room.encrypted)
        data = file.data
        last = ""
        for _ in range(max(1, attempts)):
            try:
                answer, keys = await client.upload(
                    lambda *_: io.BytesIO(data),
                    content_type="application/octet-stream" if encrypted else file.content_type,
                    filename=file.name,
                    encrypt=encrypted,
                    filesize=len(data),
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                last = exc.__class__.__name__
                await asyncio.sleep(0.5)
                continue
            if isinstance(answer, UploadResponse):
                content = file_content(file, answer.content_uri, keys if encrypted else None)
                return await self._room_send(room_id, content, attempts)
            last = str(getattr(answer, "status_code", "") or answer)
            if last == "M_TOO_LARGE":
                break
            await asyncio.sleep(0.5)
        raise SendFailed(f"upload failed: {last}")
