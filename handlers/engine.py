"""The conversation engine: takes a Turn, runs the step the user is at, returns Replies.

One turn is one unit of work: the user's state, any booking and any queued notification are
committed together or not at all, so a failure never leaves anything half-stored.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import replace

from handlers import choices
from handlers.context import NAV_BACK, NAV_CANCEL, Ctx, Prompt, Step
from handlers.documents import receive_ahead
from handlers.i18n import normalise_language, translate
from handlers.messages import Reply, Turn, TurnKind
from handlers.ports import Clock, Office, Services, UnitOfWorkFactory
from handlers.registry import COMMANDS, FLOWS, WORDS, main_menu

log = logging.getLogger("videotramit.engine")

MAX_TEXT = 2000
_CONTROL = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """Drop control and bidi-override characters; keep newlines; cap the length."""
    return _CONTROL.sub("", text)[:limit]


def fold(text: str) -> str:
    """Case- and accent-insensitive form for matching typed answers against labels."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^\w:]+", " ", stripped).strip()


def match_option(text: str, options: list[list[str]]) -> str | None:
    """A typed answer picks an option by its number or by its label."""
    typed = fold(text)
    if not typed:
        return None
    if typed.isdigit():
        index = int(typed) - 1
        return options[index][0] if 0 <= index < len(options) else None
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
        services: Services | None = None,
        flows: Mapping[str, Mapping[str, Step]] = FLOWS,
    ) -> None:
        self._uow = uow
        self._office = office
        self._clock = clock
        self._services = services
        self._flows = flows
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

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
        turn = replace(
            turn,
            text=clean_text(turn.text),
            display_name=clean_text(turn.display_name, 120).strip(),
        )
        async with self._lock(turn):
            try:
                return await self._handle(turn)
            except Exception:
                log.exception("turn failed", extra={"channel": turn.channel, "kind": turn.kind})
                language = normalise_language(turn.language_hint, self._office.default_language)
                return [Reply(text=translate(language, "error.internal"))]

    async def _handle(self, turn: Turn) -> list[Reply]:
        async with self._uow() as uow:
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
            state = await uow.conversations.load(user.id)
            ctx = Ctx(
                turn=turn,
                user=user,
                state=state,
                uow=uow,
                office=self._office,
                now=self._clock.now(),
                services=self._services,
            )
            await self._route(ctx)
            replies = self._finish(ctx)
            await uow.conversations.save(user.id, ctx.state)
            await uow.commit()
        return replies

    async def _route(self, ctx: Ctx) -> None:
        turn = ctx.turn
        if turn.kind is TurnKind.COMMAND:
            await self._command(ctx)
            return
        if turn.kind is TurnKind.CHOICE:
            ctx.choice = choices.resolve(ctx.state, turn.choice)
            if ctx.choice is None:
                ctx.say(ctx.t("error.stale"))
                await self._reprompt(ctx)
                return
        elif turn.kind is TurnKind.TEXT:
            word = WORDS.get(fold(turn.text))
            if word is not None:
                await COMMANDS[word](ctx)
                return
            options = ctx.state.data.get("_options")
            if options:
                ctx.choice = match_option(turn.text, options)
        if ctx.choice == NAV_CANCEL:
            await COMMANDS["cancel"](ctx)
            return
        step = self._step(ctx)
        if turn.kind is TurnKind.FILE and (step is None or not step.files):
            if not await receive_ahead(ctx):
                ctx.say(ctx.t("error.file_not_expected"))
            await self._reprompt(ctx)
            return
        if step is None:
            await main_menu(ctx, greet=True)
            return
        if ctx.choice == NAV_BACK:
            target = self._flows[ctx.state.flow].get(step.back or "")
            if target is None:
                await main_menu(ctx)
            else:
                await target.enter(ctx)
            return
        await step.handle(ctx)

    async def _command(self, ctx: Ctx) -> None:
        handler = COMMANDS.get(ctx.turn.command.lower())
        if handler is None:
            ctx.say(ctx.t("error.unknown_command", command=ctx.turn.command[:32]))
            await self._reprompt(ctx)
            return
        await handler(ctx)

    def _step(self, ctx: Ctx) -> Step | None:
        return self._flows.get(ctx.state.flow, {}).get(ctx.state.step)

    async def _reprompt(self, ctx: Ctx) -> None:
        step = self._step(ctx)
        if step is None:
            await main_menu(ctx)
        else:
            await step.enter(ctx)

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
        return replies

    def _publish(self, ctx: Ctx, prompt: Prompt) -> Reply:
        return Reply(
            text=prompt.text,
            choices=choices.arm(ctx.state, prompt.options),
            columns=prompt.columns,
            panel=prompt.panel,
        )
