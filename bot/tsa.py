"""The RFC 3161 authority over HTTP: POST the request, get the answer, with a timeout.
Called by the evidence worker after commit, never inside a transaction."""

from __future__ import annotations

import aiohttp

from storage.timestamps import (
    CONTENT_TYPE_QUERY,
    TimestampError,
    check_response,
    request_for,
)

MAX_ANSWER = 64 * 1024


class TimestampUnavailable(Exception):
    """The authority did not answer usefully (retried later)."""


async def fetch_timestamp(
    url: str, statement: bytes, *, seconds: float, trusted_certificate: bytes | None = None
) -> bytes:
    """The DER answer of the authority at ``url`` for ``statement``, checked."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as http,
            http.post(
                url,
                data=request_for(statement),
                headers={"Content-Type": CONTENT_TYPE_QUERY},
            ) as answer,
        ):
            if answer.status != 200:
                raise TimestampUnavailable(f"HTTP {answer.status}")
            body = await answer.content.read(MAX_ANSWER + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TimestampUnavailable(exc.__class__.__name__) from exc
    if len(body) > MAX_ANSWER:
        raise TimestampUnavailable("answer too large")
    try:
        check_response(body, statement, trusted_certificate=trusted_certificate)
    except TimestampError as exc:
        raise TimestampUnavailable(str(exc)) from exc
    return body
