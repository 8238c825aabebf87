"""The conversation engine: takes a Turn, runs the step the user is at, returns Replies.

One turn is one unit of work: the user's state, any booking and any queued notification are
committed together or not at all, so a failure never leaves anything half-stored. What is
slow and needs no database runs outside it: a file is checked in the sandbox before it
opens, and an identity photo's zone a step asks for (`Ctx.identity_of`) is read between
two attempts, the first rolled back (`ReadFirst`).

The engine itself answers what every step must answer the same way: the universal words
(help, cancel, menu), a stale button, a file nobody asked for, an empty or too long
message, and a typed answer that matches none of a choice step's options. Steps only see
what they asked for.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from domain.model import User
from handlers import choices
from handlers.context import (
    NAV_BACK,
    NAV_CANCEL,
    Audience,
    Ctx,
    Prompt,
    ReadFirst,
    Registry,
    Step,
    Takes,
)
from handlers.i18n import normalise_language, translate
from handlers.messages import Answer, Reply, Turn, TurnKind, reply_payload
from handlers.ports import Clock, IdentityPhoto, Office, Services, UnitOfWork, UnitOfWorkFactory
from handlers.throttle import Rate, Throttle

log = logging.getLogger("videotramit.engine")

MAX_TEXT = 2000
_CONTROL = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# Registry entries the engine hands over to.
MAIN_MENU = "menu"
FIRST_CONTACT = "start"
UNASKED_FILE = "sort.file"
MiB = 1 << 20
# Fair use: faster than a person types or taps (a script) is slowed down; files more so.
TURNS = Rate(burst=30, per_second=1.0)
UPLOADS = Rate(burst=10, per_second=1 / 60)
# What a channel learned about a person rather than something they wrote.
REACHABILITY = (TurnKind.GONE, TurnKind.BACK)
# Identity zones one turn may have read between its units of work (it needs one at most).
MAX_READINGS = 2
# How long a turn's replies are held for the instance answering it to send them itself:
# past that (it died), any dispatcher sends them. Longer than a turn's sends take, paced
# at one message a second in a chat and retried (the Telegram channel's `replies` backoff).
REPLY_HOLD = timedelta(seconds=30)
# A reply whose send failed with its turn is tried again by the dispatcher from then on.
HELD_RETRY = timedelta(seconds=5)
# How long sent replies wait to be settled together with those of other turns.
SETTLE_EVERY = timedelta(milliseconds=100)


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """Drop control and bidi-override characters; keep newlines; cap the length."""
    return _CONTROL.sub("", text)[:limit]


def fold(text: str) -> str:
    """Case- and accent-insensitive form for matching typed answers against labels."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^\w:]+", " ", stripped).strip()


# Short answers people type at a yes/no or confirm question, and the option values they
# stand for (the first such option offered wins).
YES_WORDS = frozenset(
    {"si", "yes", "ok", "okay", "vale", "d acord", "dacord", "de acuerdo", "sure"}
)
NO_WORDS = frozenset({"no", "nope"})
YES_VALUES = ("yes", "agree", "accept")
NO_VALUES = ("no", "decline", "skip", "change")


def _short_answer(typed: str, values: list[str]) -> str | None:
    wanted = YES_VALUES if typed in YES_WORDS else NO_VALUES if typed in NO_WORDS else ()
    return next((value for value in wanted if value in values), None)


def match_option(text: str, options: list[list[str]], *, numbers: bool = True) -> str | None:
    """A typed answer picks an option by its label, by a short yes/no word, and by its
    number when `numbers`."""
    typed = fold(text)
    if not typed:
        return None
    if typed.isdigit():
        if not numbers or text.strip() != typed:  # "-1" or "1." is not "1"
            return None
        index = int(typed) - 1
        return options[index][0] if 0 <= index < len(options) else None
    short = _short_answer(typed, [value for value, _ in options])
    if short is not None:
        return short
    labels = [(value, fold(label)) for value, label in options]
    for matches in (
        [value for value, label in labels if label == typed],
        [value for value, label in labels if len(typed) >= 3 and label.startswith(typed)],
        [value for value, label in labels if len(typed) >= 3 and f" {typed}" in f" {label}"],
    ):
        if len(matches) == 1:
            return matches[0]
        if matches:
            return None  # ambiguous: better to ask again than to guess
    return None


class Engine:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        office: Office,
        clock: Clock,
        registry: Registry,
        services: Services | None = None,
        turns: Rate = TURNS,
        uploads: Rate = UPLOADS,
        unthrottled: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        self._unthrottled = unthrottled  # the staff's chat accounts
        self._turns = Throttle(turns)
        self._uploads = Throttle(uploads)
        self._uow = uow
        self._office = office
        self._clock = clock
        self._services = services
        self.registry = registry
        # Not what keeps a person's turns apart (the database does, see `hold_turn`):
        # a queue in front of it, so one person writing fast waits here for their turn
        # instead of holding several pooled connections that other people need.
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        # Held replies sent (and not sent) waiting to be settled, and whether a settling
        # round is being written (see `sent`).
        self._settling: tuple[list[int], list[int]] = ([], [])
        self._settler: asyncio.Task[None] | None = None

    def _lock(self, turn: Turn) -> asyncio.Lock:
        key = (turn.channel, turn.external_id)
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) > 10_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def handle(self, turn: Turn) -> list[Reply]:
        """Answer one turn. Never raises: a failure becomes a polite message."""
        return (await self._answer(turn, hold=False)).replies

    async def answer(self, turn: Turn) -> Answer:
        """As `handle`, and the replies are kept in the outbox in the turn's own
        transaction, held for the calling channel to send at once and then settle with
        `sent`. If this instance dies first, they are not lost with it: the hold runs out
        and the dispatcher of any instance sends them."""
        return await self._answer(turn, hold=True)

    async def sent(self, answer: Answer, count: int) -> None:
        """The channel sent the first `count` replies of `answer`; the others (a send
        failed) are left to the dispatcher, which tries them again in order. Settled
        together with the other turns' a moment later (`settle_sent`), in one transaction
        for them all: a commit per turn would cost a third of a turn. Unsettled when this
        instance dies just then, they are sent again when their hold runs out."""
        if not answer.held:
            return
        self._settling[0].extend(answer.held[:count])
        self._settling[1].extend(answer.held[count:])
        if self._settler is None or self._settler.done():
            self._settler = asyncio.create_task(self._settle_soon(), name="settle-replies")

    async def _settle_soon(self) -> None:
        await asyncio.sleep(SETTLE_EVERY.total_seconds())
        await self.settle_sent()

    async def settle_sent(self) -> None:
        """Settle now what the channels said they sent (the app also calls it on close)."""
        while self._settling[0] or self._settling[1]:
            sent, unsent = self._settling
            self._settling = ([], [])
            await self._settle(sent, unsent)

    async def _settle(self, sent: list[int], unsent: list[int]) -> None:
        retry_at = self._clock.now() + HELD_RETRY
        try:
            async with self._uow() as uow:
                await uow.outbox.settle_held(sent, unsent, retry_at)
                await uow.commit()
        except Exception:
            log.exception("held replies not settled", extra={"held": len(sent) + len(unsent)})

    async def _answer(self, turn: Turn, *, hold: bool) -> Answer:
        oversized = turn.kind is TurnKind.TEXT and len(turn.text) > MAX_TEXT
        turn = replace(
            turn,
            text="" if oversized else clean_text(turn.text),
            display_name=clean_text(turn.display_name, 120).strip(),
        )
        if turn.kind is TurnKind.GROUP:
            return Answer([self._group_notice(turn)])
        throttled = self._throttled(turn)
        if throttled is not None:
            return Answer(throttled)
        async with self._lock(turn):
            try:
                return await self._handle(turn, oversized, hold)
            except Exception:
                log.exception("turn failed", extra={"channel": turn.channel, "kind": turn.kind})
                language = normalise_language(turn.language_hint, self._office.default_language)
                return Answer([Reply(text=translate(language, "error.internal"))])

    def _throttled(self, turn: Turn) -> list[Reply] | None:
        """None when the person may go on; else what to answer (once, then nothing)."""
        key, now = (turn.channel, turn.external_id), self._clock.now()
        if turn.kind in REACHABILITY or turn.kind is TurnKind.JOINED or key in self._unthrottled:
            return None
        verdict = self._turns.take(key, now)
        message = "error.slow_down"
        if verdict == "ok" and turn.kind is TurnKind.FILE:
            verdict, message = self._uploads.take(key, now), "error.slow_down_files"
        if verdict == "ok":
            return None
        if verdict == "drop":
            return []
        language = normalise_language(turn.language_hint, self._office.default_language)
        if language not in self._office.languages:
            language = self._office.default_language
        return [Reply(text=translate(language, message))]

    async def _handle(self, turn: Turn, oversized: bool, hold: bool) -> Answer:
        if turn.kind is TurnKind.FILE and turn.file is not None and self._services is not None:
            # Checked in the sandbox before the unit of work opens: a file that is slow to
            # decode holds no database connection and never delays anyone else's turn.
            turn = replace(turn, file=await self._services.documents.check(turn.file))
        readings: dict[str, IdentityPhoto] = {}
        while True:
            try:
                return await self._attempt(turn, oversized, readings, hold)
            except ReadFirst as needed:
                # A step needs an identity photo's zone. Its unit of work has rolled back,
                # so nothing of this attempt is kept and no connection is held while the
                # zone is read in the sandbox; then the turn runs again with the reading.
                if self._services is None or needed.sha256 in readings:
                    raise
                if len(readings) >= MAX_READINGS:
                    raise
                documents = self._services.documents
                readings[needed.sha256] = await documents.read_identity(needed.sha256)

    async def _attempt(
        self, turn: Turn, oversized: bool, readings: Mapping[str, IdentityPhoto], hold: bool
    ) -> Answer:
        async with self._uow() as uow:
            # One turn of a person at a time, on every instance sharing the database.
            await uow.hold_turn(turn.channel, turn.external_id)
            if turn.key and not await uow.handled.first_time(
                turn.channel, turn.key, self._clock.now()
            ):
                # Delivered again (this instance or another died before saying it was
                # handled): taken already, and its replies are kept in the outbox.
                log.info("turn delivered again, not taken twice", extra={"channel": turn.channel})
                return Answer([])
            language = normalise_language(turn.language_hint, self._office.default_language)
            if language not in self._office.languages:
                language = self._office.default_language
            user = await uow.users.get_or_create(
                turn.channel,
                turn.external_id,
                address=turn.address,
                display_name=turn.display_name,
                language=language,
            )
            if turn.kind in REACHABILITY or user.unreachable:
                # Whoever writes (or unblocks the bot) can be reached; GONE says otherwise.
                await uow.users.set_unreachable(user.id, turn.kind is TurnKind.GONE)
                if turn.kind in REACHABILITY:
                    await uow.commit()
                    return Answer([])
            ctx = await self._ctx(turn, user, uow, readings)
            await self._route(ctx, oversized)
            replies = self._finish(ctx)
            await uow.conversations.save(user.id, ctx.state)
            held = await self._hold(uow, turn, user, replies) if hold else ()
            await uow.commit()
        return Answer(replies, held)

    async def _hold(
        self, uow: UnitOfWork, turn: Turn, user: User, replies: list[Reply]
    ) -> tuple[int, ...]:
        return await uow.outbox.hold(
            channel=turn.channel,
            address=turn.address,
            payloads=[reply_payload(reply, user.language) for reply in replies],
            user_id=user.id,
            until=self._clock.now() + REPLY_HOLD,
        )

    async def _ctx(
        self,
        turn: Turn,
        user: User,
        uow: UnitOfWork,
        readings: Mapping[str, IdentityPhoto] | None = None,
    ) -> Ctx:
        """What a step works with in this turn: the person's conversation as stored (and
        the identity zones read for it between two attempts)."""
        return Ctx(
            turn=turn,
            user=user,
            state=await uow.conversations.load(user.id),
            uow=uow,
            office=self._office,
            now=self._clock.now(),
            services=self._services,
            handover=self,
            readings=readings if readings is not None else {},
        )

    async def act(
        self, *, channel: str, external_id: str, address: str, entry: str, params: Mapping[str, Any]
    ) -> None:
        """A turn the service takes for a person, e.g. when an outside call it made after
        their turn came back: `entry` runs in their conversation, under their turn lock,
        and what it says is queued for them in the outbox, in the same transaction."""
        turn = Turn(channel=channel, external_id=external_id, address=address, kind=TurnKind.JOINED)
        async with self._lock(turn), self._uow() as uow:
            await uow.hold_turn(channel, external_id)
            user = await uow.users.get_or_create(
                channel,
                external_id,
                address=address,
                display_name="",
                language=self._office.default_language,
            )
            ctx = await self._ctx(turn, user, uow)
            await self.go(ctx, entry, params)
            # Said as is: no question is asked anew, so the person's live buttons stay.
            replies = [
                item if isinstance(item, Reply) else Reply(text=item.text) for item in ctx.replies
            ]
            await uow.conversations.save(user.id, ctx.state)
            for reply in replies:
                await uow.outbox.enqueue(
                    channel=user.channel,
                    address=user.address,
                    payload=reply_payload(reply, user.language),
                    user_id=user.id,
                )
            await uow.commit()

    # --- handing over by name (the Handover protocol) ------------------------------------

    async def go(self, ctx: Ctx, target: str, params: Mapping[str, Any]) -> None:
        await self.registry.entry(target)(ctx, **params)

    async def resume(self, ctx: Ctx, where: Mapping[str, Any]) -> None:
        """Take the person back to the question they were at before something came in
        between (a file sent unasked), as if it had just been asked."""
        ctx.state.flow = str(where.get("flow", ""))
        ctx.state.step = str(where.get("step", ""))
        data = where.get("data")
        ctx.state.data = dict(data) if isinstance(data, Mapping) else {}
        await self._reprompt(ctx)

    async def command(self, ctx: Ctx, name: str) -> None:
        if name == "help":
            await self._help(ctx)
        elif name == "cancel":
            await self._cancel(ctx)
        elif name == "menu":
            await self._menu(ctx)
        elif name in self.registry.commands:
            await self.go(ctx, self.registry.commands[name], {})
        else:
            ctx.say(ctx.t("error.unknown_command", command=name[:32], commands=self._commands(ctx)))
            await self._reprompt(ctx)

    def _commands(self, ctx: Ctx) -> str:
        """The commands this person can use, as they would type them."""
        if ctx.user.is_staff:
            names = ["start", "today", *(["stats"] if ctx.user.is_admin else []), "language"]
        else:
            names = ["start", "book", "my", "language"]
        return ", ".join(f"/{name}" for name in [*names, "help", "menu", "cancel"])

    # --- routing ----------------------------------------------------------------------

    def _group_notice(self, turn: Turn) -> Reply:
        """Nothing from a group reaches a conversation, and nothing personal is said there:
        only that the bot works in private chats, and how to find it."""
        language = normalise_language(turn.language_hint, self._office.default_language)
        if language not in self._office.languages:
            language = self._office.default_language
        return Reply(text=translate(language, "channel.private_only", link=turn.link))

    async def _route(self, ctx: Ctx, oversized: bool) -> None:
        turn = ctx.turn
        step = self._step(ctx)
        if turn.kind is TurnKind.JOINED:
            await self._joined(ctx)
            return
        if turn.kind is TurnKind.FILE_TOO_BIG:
            ctx.say(ctx.t("error.file_too_big", max_mb=max(1, turn.size_limit // MiB)))
            return
        if turn.kind is TurnKind.FILE_LOST:
            ctx.say(ctx.t("error.file_lost"))
            return
        if turn.kind is TurnKind.COMMAND:
            await self.command(ctx, turn.command.lower())
            return
        if turn.kind is TurnKind.TEXT:
            if oversized or not ctx.text:
                key = "error.too_long" if oversized else "error.empty"
                ctx.say(ctx.t(key, limit=MAX_TEXT))
                await self._reprompt(ctx)
                return
            word = self.registry.words.get(fold(turn.text))
            if word is not None:
                await self.command(ctx, word)
                return
            options = ctx.state.data.get("_options")
            if options:
                numbers = step is None or step.takes is Takes.CHOICE
                ctx.choice = match_option(turn.text, options, numbers=numbers)
        elif turn.kind is TurnKind.CHOICE:
            ctx.choice = choices.resolve(ctx.state, turn.choice)
            if ctx.choice is None:
                # A notification's standing button (a reminder's, a survey's) works from
                # its message whatever the conversation did since; it hands over by name.
                standing = await ctx.uow.notices.pressed(ctx.user.id, turn.choice)
                if standing is not None:
                    entry, params = standing
                    await self.go(ctx, entry, params)
                    return
                ctx.say(ctx.t("error.stale"))
                await self._reprompt(ctx)
                return
        if ctx.choice == NAV_CANCEL:
            await self._cancel(ctx)
            return
        if turn.kind is TurnKind.FILE and (step is None or not step.files):
            await self._unasked_file(ctx, step)
            return
        if step is None:
            await self.go(ctx, MAIN_MENU, {"greet": True})
            return
        if ctx.choice == NAV_BACK:
            target = self.registry.step(ctx.state.flow, step.back or "")
            if target is None:
                await self._menu(ctx)
            else:
                await target.enter(ctx)
            return
        if ctx.choice is None and step.understand is not None and turn.kind is TurnKind.TEXT:
            ctx.choice = await step.understand(ctx, ctx.text)
        if step.takes is Takes.CHOICE and ctx.choice is None:
            ctx.say(ctx.t("error.choose"))
            await step.enter(ctx)
            return
        await step.handle(ctx)

    async def _unasked_file(self, ctx: Ctx, step: Step | None) -> None:
        """A file nobody asked for: its conversation may ask what it is; afterwards the
        person is back at the question they were at (kept, without its buttons)."""
        before = (ctx.state.flow, ctx.state.step)
        paused = None
        if step is not None:
            kept = {k: v for k, v in ctx.state.data.items() if not k.startswith("_")}
            paused = {"flow": before[0], "step": before[1], "data": kept}
        await self.go(ctx, UNASKED_FILE, {"paused": paused})
        if (ctx.state.flow, ctx.state.step) == before or not ctx.state.flow:
            await self._reprompt(ctx)

    def _step(self, ctx: Ctx) -> Step | None:
        """The step the person waits at, if it still exists and is theirs to be in."""
        step = self.registry.step(ctx.state.flow, ctx.state.step)
        if step is None:
            return None
        audience = self.registry.audience(ctx.state.flow)
        if audience is Audience.STAFF and not ctx.user.is_staff:
            ctx.end()
            return None
        if audience is Audience.CITIZEN and ctx.user.is_staff:
            ctx.end()
            return None
        return step

    async def _joined(self, ctx: Ctx) -> None:
        """A new private chat: a newcomer is greeted and asked their language; someone
        known is greeted in theirs and shown where they are."""
        if ctx.user.privacy_accepted_at is None and not ctx.user.is_staff:
            await self.go(ctx, FIRST_CONTACT, {})
            return
        step = self._step(ctx)
        if step is None:
            await self.go(ctx, MAIN_MENU, {"greet": True})
        else:
            ctx.say(ctx.t("menu.greeting", council=ctx.office.council.name))
            await step.enter(ctx)

    async def _reprompt(self, ctx: Ctx) -> None:
        step = self._step(ctx)
        if step is None:
            await self.go(ctx, MAIN_MENU, {})
        else:
            await step.enter(ctx)

    # --- the universal words -------------------------------------------------------------

    async def _help(self, ctx: Ctx) -> None:
        """Help says where you are and how to go on; the current question stays open."""
        where = ctx.t(f"help.where.{ctx.state.flow or 'menu'}")
        ctx.say(ctx.t("help.text", where=where))
        if ctx.user.is_staff:
            ctx.say(ctx.t("help.staff"))
        await self._reprompt(ctx)

    async def _held(self, ctx: Ctx) -> bool:
        """A question that must be answered stays open: say so and ask it again."""
        step = self._step(ctx)
        if step is None or not step.hold:
            return False
        ctx.say(ctx.t("nav.answer_first"))
        await step.enter(ctx)
        return True

    async def _cancel(self, ctx: Ctx) -> None:
        if await self._held(ctx):
            return
        had_flow = ctx.state.flow not in ("", MAIN_MENU)
        ctx.end()
        ctx.say(ctx.t("nav.stopped" if had_flow else "nav.nothing_to_stop"))
        await self.go(ctx, MAIN_MENU, {})

    async def _menu(self, ctx: Ctx) -> None:
        if await self._held(ctx):
            return
        ctx.end()
        await self.go(ctx, MAIN_MENU, {})

    def _finish(self, ctx: Ctx) -> list[Reply]:
        """Turn the step's output into replies; only the last question gets live buttons."""
        last_prompt = max(
            (i for i, item in enumerate(ctx.replies) if isinstance(item, Prompt)), default=-1
        )
        if last_prompt < 0 and not ctx.state.flow:
            choices.disarm(ctx.state)
        replies: list[Reply] = []
        for index, item in enumerate(ctx.replies):
            if isinstance(item, Reply):
                replies.append(item)
            elif index != last_prompt:
                replies.append(Reply(text=item.text))
            else:
                replies.append(self._publish(ctx, item))
        if not replies:
            replies.append(Reply(text=ctx.t("error.not_understood")))
        return [replace(reply, language=reply.language or ctx.lang) for reply in replies]

    def _publish(self, ctx: Ctx, prompt: Prompt) -> Reply:
        step = self._step(ctx)
        return Reply(
            text=prompt.text,
            choices=choices.arm(ctx.state, prompt.options),
            columns=prompt.columns,
            panel=prompt.panel,
            by_number=step is None or step.takes is Takes.CHOICE,
        )
