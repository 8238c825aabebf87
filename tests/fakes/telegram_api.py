"""Stable import path for the Telegram Bot API emulator (code: ``tests.fakes.telegram``)."""

from tests.fakes.telegram import *  # noqa: F403
from tests.fakes.telegram import __all__  # noqa: F401
