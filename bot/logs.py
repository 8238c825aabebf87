"""Structured logs (JSON by default) with identity numbers masked on the way out."""

from __future__ import annotations

import logging
import re
import sys

import structlog

# DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter), loosely: mask before writing.
_ID_NUMBER = re.compile(r"\b([XYZxyz]?)\d{4,5}(\d{3}[A-Za-z])\b")


def mask_ids(text: str) -> str:
    return _ID_NUMBER.sub(lambda m: "*" * 5 + m.group(2), text)


class MaskIdNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_ids(record.msg)
        if record.args:
            record.args = tuple(mask_ids(a) if isinstance(a, str) else a for a in record.args)
        return True


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskIdNumbers())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
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
