"""Every option of every command says in --help what it is for, and what it takes when
it takes a value (issue 13, point 5)."""

from __future__ import annotations

import argparse

from bot.cli import _parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        found[path] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}".strip())

    walk(_parser(), "")
    return found


def test_every_option_has_a_help_text_and_shows_what_it_takes() -> None:
    unexplained = []
    for path, parser in _commands().items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            if not action.option_strings:
                continue  # positional: named by its metavar in the usage line
            name = f"{path} {action.option_strings[-1]}"
            if not action.help:
                unexplained.append(f"{name}: no help")
            takes_value = action.nargs != 0
            if takes_value and action.metavar is None and action.choices is None:
                unexplained.append(f"{name}: says not what it takes")
    assert unexplained == []


def test_the_stats_dates_say_their_format() -> None:
    stats = _commands()["stats"].format_help()
    assert "--from YYYY-MM-DD" in stats and "--to YYYY-MM-DD" in stats
