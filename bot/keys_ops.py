"""`videotramit keys`: rotating the master key over both places it protects, the blobs
(documents, receipts, recordings) and the database's sealed values (forms, identity
data, queued messages, survey comments). A key is retired only when neither uses it."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.services import master_key_file
from storage.blobs import Keyring
from storage.reseal import PLAINTEXT, reseal, sealed_key_usage
from storage.sealed import Sealer

if TYPE_CHECKING:
    from bot.app import App


class KeyInUse(Exception):
    """The key still protects something: retiring it would make that unreadable."""


class KeysFromEnvironment(Exception):
    """The keys come from VIDEOTRAMIT_STORAGE__MASTER_KEY: the file cannot be changed."""


@dataclass(frozen=True)
class KeyUsage:
    key_id: str
    current: bool
    in_keyring: bool
    blobs: int
    values: int


@dataclass(frozen=True)
class KeyReport:
    keys: list[KeyUsage]
    # Database values stored as plain JSON: the reminders planned in SQL (kind, appointment
    # and time only, storage/sealed.py) and rows from before sealing. No key opens them.
    not_sealed: int


async def key_usage(app: App) -> KeyReport:
    """Every key id the keyring holds or something uses, with what it protects."""
    keyring = app.storage.keyring
    blobs = Counter(await asyncio.to_thread(app.storage.blobs.key_usage))
    values = await sealed_key_usage(app.db_engine)
    not_sealed = values.pop(PLAINTEXT, 0)
    ids = list(keyring.ids) + sorted((set(blobs) | set(values)) - set(keyring.ids))
    keys = [
        KeyUsage(
            key_id=kid,
            current=kid == keyring.current_id,
            in_keyring=kid in keyring.ids,
            blobs=blobs[kid],
            values=values[kid],
        )
        for kid in ids
    ]
    return KeyReport(keys, not_sealed)


async def rewrap_all(app: App) -> tuple[int, int]:
    """(blobs re-wrapped, database values sealed again) under the current key."""
    keyring = app.storage.keyring
    report = await app.storage.blobs.rewrap()
    values = await reseal(app.db_engine, Sealer(keyring), keyring.current_id)
    return report.rewrapped, values


def new_key(app: App) -> str:
    """Add a fresh key to the key file and make it current; returns its id. The service
    (every instance) seals with it once restarted; older keys stay to open what they
    sealed."""
    _refuse_environment(app, "add the new key to that variable instead")
    keyring = app.storage.keyring
    kid = keyring.add(Keyring.generate_key(), make_current=True)
    keyring.write(master_key_file(app.settings))
    return kid


def _refuse_environment(app: App, instead: str) -> None:
    if app.settings.storage.master_key.get_secret_value():
        raise KeysFromEnvironment(f"the keys come from VIDEOTRAMIT_STORAGE__MASTER_KEY: {instead}")


async def retire(app: App, key_id: str) -> None:
    """Remove `key_id` from the key file, refused while a blob or a value uses it."""
    _refuse_environment(app, f"remove {key_id}:… from that variable instead")
    if key_id == app.storage.keyring.current_id:
        raise KeyInUse(f"{key_id} is the current key: add a new one first (`videotramit keys new`)")
    used = {u.key_id: u for u in (await key_usage(app)).keys}.get(key_id)
    if used is not None and (used.blobs or used.values):
        raise KeyInUse(
            f"{key_id} still protects {used.blobs} file(s) and {used.values} database"
            " value(s): run `videotramit keys rewrap` first"
        )
    keyring = app.storage.keyring
    keyring.remove(key_id)
    keyring.write(master_key_file(app.settings))
