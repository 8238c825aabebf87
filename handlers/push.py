"""Speaking first to someone else than the person whose turn it is (e.g. staff asks the
citizen for a document): the message goes through the outbox, and when it carries
buttons, the other person's conversation moves to the step those buttons answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.model import User
from handlers.choices import arm
from handlers.ports import UnitOfWork


async def push_prompt(
    uow: UnitOfWork,
    user: User,
    *,
    text: str,
    flow: str,
    step: str,
    data: dict[str, Any],
    options: Sequence[tuple[str, str]] = (),
    dedupe_key: str | None = None,
) -> None:
    state = await uow.conversations.load(user.id)
    state.flow, state.step, state.data = flow, step, dict(data)
    armed = arm(state, options)
    await uow.conversations.save(user.id, state)
    choices = [[choice.token, choice.label] for choice in armed]
    await uow.outbox.enqueue(
        channel=user.channel,
        address=user.address,
        payload={"text": text, "choices": choices},
        user_id=user.id,
        dedupe_key=dedupe_key,
    )


async def push_file(
    uow: UnitOfWork,
    user: User,
    *,
    text: str,
    sha256: str,
    name: str,
    content_type: str,
    dedupe_key: str | None = None,
) -> None:
    """A file for someone (the receipt): the outbox keeps the blob's hash, not the bytes."""
    await uow.outbox.enqueue(
        channel=user.channel,
        address=user.address,
        payload={
            "text": text,
            "file": {"sha256": sha256, "name": name, "type": content_type},
            "language": user.language,
        },
        user_id=user.id,
        dedupe_key=dedupe_key,
    )
