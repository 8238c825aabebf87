"""Every conversation, command and typed word, in one greppable place.

A new conversation is one module (FLOW, AUDIENCE, STEPS, ENTRIES) and one line below.
Conversations never import each other: they hand over by the names in ENTRIES.
"""

from __future__ import annotations

from handlers import (
    admin,
    agreement,
    booking,
    documents,
    menu,
    my_appointments,
    receipting,
    reminders,
    session,
    session_steps,
    staff,
    start,
    survey,
    unasked_files,
    waitlist,
)
from handlers.context import Registry

CONVERSATIONS = (
    menu,
    start,
    booking,
    my_appointments,
    documents,
    unasked_files,
    agreement,
    staff,
    session,
    session_steps,
    receipting,
    reminders,
    survey,
    waitlist,
    admin,
)

# Commands (/name) and the entry each starts. help, cancel and menu are the engine's own.
COMMANDS = {
    "start": "start",
    "book": "book",
    "my": "my",
    "language": "start.language",
    "today": "staff.today",
    "stats": "admin.stats",
    "waitlist": "waitlist",
}

# Typed words that act like commands, in every language (compared case- and accent-folded).
WORDS = {
    "help": "help",
    "ajuda": "help",
    "ayuda": "help",
    "cancel": "cancel",
    "cancella": "cancel",
    "cancel la": "cancel",
    "cancela": "cancel",
    "cancelar": "cancel",
    "menu": "menu",
    "inici": "menu",
    "inicio": "menu",
}


def build_registry() -> Registry:
    return Registry.of(CONVERSATIONS, commands=COMMANDS, words=WORDS)
