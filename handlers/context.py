"""The context a conversation step works with: who, what they sent, where they are."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.model import ConversationState, User
from handlers.i18n import translate
from handlers.messages import OutFile, Reply, Turn
from handlers.ports import Office, Services, UnitOfWork

NAV_BACK = "nav:back"
NAV_CANCEL = "nav:cancel"


@dataclass(slots=True)
class Prompt:
    """A question waiting for a choice; its options become buttons with opaque tokens."""

    text: str
    options: list[tuple[str, str]]
    columns: int = 1
    panel: str = ""


@dataclass(slots=True)
class Ctx:
    turn: Turn
    user: User
    state: ConversationState
    uow: UnitOfWork
    office: Office
    now: datetime
    services: Services | None = None
    choice: str | None = None
    replies: list[Reply | Prompt] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return self.user.language

    @property
    def text(self) -> str:
        return self.turn.text.strip()

    def t(self, key: str, **values: Any) -> str:
        return translate(self.lang, key, **values)

    def say(self, text: str, *, file: OutFile | None = None) -> None:
        self.replies.append(Reply(text=text, file=file))

    def ask(
        self,
        text: str,
        options: Sequence[tuple[str, str]],
        *,
        flow: str,
        step: str,
        back: bool = True,
        cancel: bool = True,
        columns: int = 1,
        panel: str = "",
    ) -> None:
        """Ask a question with choices and wait for the answer at (flow, step)."""
        choices = list(options)
        if back:
            choices.append((NAV_BACK, self.t("nav.back")))
        if cancel:
            choices.append((NAV_CANCEL, self.t("nav.cancel")))
        self.replies.append(Prompt(text=text, options=choices, columns=columns, panel=panel))
        self.wait(flow, step)

    def wait(self, flow: str, step: str) -> None:
        """Wait for a free-text (or choice) answer at (flow, step)."""
        self.state.flow, self.state.step = flow, step

    def end(self) -> None:
        self.state.flow, self.state.step, self.state.data = "", "", {}

    @property
    def data(self) -> dict[str, Any]:
        return self.state.data


StepFn = Callable[[Ctx], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Step:
    """One point of a conversation: how to ask (`enter`), how to take the answer
    (`handle`) and which step `back` returns to."""

    enter: StepFn
    handle: StepFn
    back: str | None = None
    files: bool = False
