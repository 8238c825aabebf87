"""Structured logs (JSON by default) with personal numbers masked on the way out.

Masking is applied to the final rendered line, so it covers the message, its extra fields
and any exception traceback (a database error quotes the statement it failed on). The
database engine is also built with ``hide_parameters=True`` (storage/db.py), so SQL
parameters are not in its exceptions to begin with.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

# DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter), loosely.
_ID_NUMBER = re.compile(r"\b([XYZxyz]?)\d{4,5}(\d{3}[A-Za-z])\b")
# Passports: two or three letters and six or seven digits (Spain: AAA123456).
_PASSPORT = re.compile(r"\b[A-Z]{2,3}\d{6,7}\b")
# IBAN: country, check digits and 11 to 30 letters or digits, optionally in groups of 4.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
# Phone numbers: Spanish (9 digits from 6, 7, 8 or 9, optionally +34 and spaced 3-3-3 or
# 3-2-2-2) and any international +CC number of 8 to 14 digits.
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)34[ ]?)?[6789]\d{2}(?:[ ]?\d{3}[ ]?\d{3}|(?:[ ]?\d{2}){3})(?!\d)"
    r"|(?<![\w+])\+\d{1,3}[ ]?\d(?:[ ]?\d){7,13}(?!\d)"
)


def mask_ids(text: str) -> str:
    """Mask identity numbers, passports, IBANs and phone numbers in `text`."""
    text = _ID_NUMBER.sub(lambda m: "*" * 5 + m.group(2), text)
    text = _IBAN.sub(lambda m: m.group(0)[:4] + "*" * 8 + m.group(0)[-2:], text)
    text = _PASSPORT.sub(lambda m: "*" * (len(m.group(0)) - 3) + m.group(0)[-3:], text)
    return _PHONE.sub(lambda m: "*" * 6 + m.group(0)[-3:], text)


class MaskIdNumbers(logging.Filter):
    """Masks a record's message and arguments (for handlers that are not ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_ids(record.msg)
        if record.args:
            record.args = tuple(mask_ids(a) if isinstance(a, str) else a for a in record.args)
        return True


class MaskingFormatter(structlog.stdlib.ProcessorFormatter):
    """Renders the record, then masks the whole line (traceback included)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_ids(super().format(record))


def configure_logging(level: str = "INFO", fmt: str = "json", stream: Any = None) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        MaskingFormatter(
            processor=renderer,
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(),
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter stays at WARNING; it could carry message bodies at INFO/DEBUG.
    for noisy in ("aiohttp.access", "httpx", "telegram", "sqlalchemy", "alembic", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
