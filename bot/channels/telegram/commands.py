"""The command menu Telegram shows (``setMyCommands``), per language and per audience.

Descriptions live in the message catalogs (``[telegram]`` in handlers/locales/*.toml), so a
missing translation fails the catalog test like any other message. Staff see ``/today`` and
administrators ``/stats`` too: their menus are set for their own private chat only
(``BotCommandScopeChat``); everybody else's menu lists only the citizen commands.
"""

from __future__ import annotations

from collections.abc import Iterable

from telegram import BotCommand

from handlers.i18n import translate

CITIZEN = ("start", "book", "my", "help", "language", "cancel")
STAFF = ("today",)
ADMIN = ("stats",)


def commands_for(roles: Iterable[str] = ()) -> tuple[str, ...]:
    roles = set(roles)
    names = list(CITIZEN)
    if roles & {"staff", "admin"}:
        names += STAFF
    if "admin" in roles:
        names += ADMIN
    return tuple(names)


def menu(language: str, names: Iterable[str]) -> list[BotCommand]:
    return [BotCommand(name, translate(language, f"telegram.command.{name}")) for name in names]
