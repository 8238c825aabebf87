"""python-telegram-bot's HTTP layer on aiohttp (the project's HTTP library).

PTB's default layer (httpx/httpcore) costs a lot of CPU per request once many requests are
in flight at the same time (its connection pool is re-scanned for every request), which is
exactly what a bot serving many chats at once does. This ``BaseRequest`` keeps PTB's wire
format (form-urlencoded with JSON-typed fields, multipart for files) and error mapping
(PTB interprets the status and body), and maps aiohttp's failures to PTB's ``TimedOut`` /
``NetworkError`` so that retries work as usual. Every request has connect and read timeouts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


def _seconds(value: Any, default: float | None) -> float | None:
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded connection pool."""

    def __init__(
        self,
        *,
        connections: int = 32,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        write_timeout: float = 10.0,
        pool_timeout: float = 10.0,
        media_write_timeout: float = 60.0,
    ) -> None:
        self._connections = connections
        self._connect = connect_timeout
        self._read = read_timeout
        self._write = write_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _body(self, request_data: RequestData | None) -> Any:
        if request_data is None:
            return None
        fields = request_data.json_parameters
        if not request_data.contains_files:
            return fields or None
        form = aiohttp.FormData()
        for name, value in fields.items():
            form.add_field(name, value)
        for name, part in request_data.multipart_data.items():
            filename, content = part[0], part[1]
            content_type = part[2] if len(part) > 2 else "application/octet-stream"
            form.add_field(name, content, filename=filename, content_type=content_type)
        return form

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("this AiohttpRequest is not initialized")
        has_files = request_data is not None and request_data.contains_files
        read = _seconds(read_timeout, self._read)
        write = _seconds(write_timeout, self._media_write if has_files else self._write)
        connect = _seconds(connect_timeout, self._connect)
        pool = _seconds(pool_timeout, self._pool)
        # aiohttp has no write timeout: the whole request is bounded instead.
        total = None
        if None not in (read, write, connect, pool):
            total = float(read or 0) + float(write or 0) + float(connect or 0) + float(pool or 0)
        timeout = aiohttp.ClientTimeout(
            total=total,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with session.request(
                method, url, data=self._body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut(f"aiohttp: timed out ({method})") from exc
        except asyncio.CancelledError:
            raise
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc
