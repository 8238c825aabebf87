"""Buttons: each question's options get fresh opaque tokens, kept in the person's own
conversation state. Only the current question's tokens resolve, so a button from an
older message, or from someone else's chat, is recognised as stale."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from domain.model import ConversationState
from handlers.messages import Choice


def arm(state: ConversationState, options: Sequence[tuple[str, str]]) -> tuple[Choice, ...]:
    """Give `options` (value, label) live tokens; earlier tokens stop working."""
    tokens = {secrets.token_urlsafe(8): value for value, _ in options}  # 64 random bits
    state.data["_tokens"] = tokens
    state.data["_options"] = [[value, label] for value, label in options]
    return tuple(
        Choice(token=token, label=label) for token, (_, label) in zip(tokens, options, strict=True)
    )


def current(state: ConversationState) -> tuple[Choice, ...]:
    """The live buttons again, with the same tokens (a question redrawn, not asked anew:
    the buttons already shown keep working)."""
    tokens = state.data.get("_tokens") or {}
    options = state.data.get("_options") or []
    if not isinstance(tokens, dict) or len(tokens) != len(options):
        return ()
    return tuple(
        Choice(token=token, label=str(label))
        for token, (_, label) in zip(tokens, options, strict=True)
    )


def resolve(state: ConversationState, token: str) -> str | None:
    tokens = state.data.get("_tokens") or {}
    value = tokens.get(token[:16]) if isinstance(tokens, dict) else None
    return value if isinstance(value, str) else None


def disarm(state: ConversationState) -> None:
    state.data.pop("_tokens", None)
    state.data.pop("_options", None)
