"""What a failed provider request means for the message (R-CH2, R-SR9): surely not processed,
so it is retried, or perhaps delivered, so it is `unknown` and never sent again.

Each channel module has one table (`FAILURES`) naming its failures by key, built with the
helpers below; the retry loop (bot/channels/pacing.with_retries) reads it. An error answer the
table does not list is a final failure (the provider rejected the request); any other failure
the table does not list (a transport error of another kind) may have been delivered.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

import httpx


class Fate(enum.Enum):
    NOT_SENT = "not sent"  # surely never processed: safe to retry
    MAYBE_SENT = "maybe sent"  # may have been delivered: `unknown`, never re-sent


@dataclass(frozen=True)
class Row:
    fate: Fate
    why: str


FailureTable = Mapping[str, Row]

# Transport failures of the httpx-based clients.
NO_CONNECTION = "no connection"  # refused, DNS failure, connect or pool timeout: not written
READ_TIMEOUT = "read timeout"  # the request was written, the answer did not come in time
DROPPED = "connection dropped"  # closed or reset after the request was written
OTHER_TRANSPORT = "transport error"  # anything else: not in any table, so `unknown`


def transport_rows(not_connected: str) -> dict[str, Row]:
    """The rows every httpx-based client has, whatever its provider."""
    return {
        NO_CONNECTION: Row(Fate.NOT_SENT, not_connected),
        READ_TIMEOUT: Row(Fate.MAYBE_SENT, "the request was written; no answer in time"),
        DROPPED: Row(Fate.MAYBE_SENT, "the connection closed after the request was written"),
    }


def not_sent(why: str) -> Row:
    return Row(Fate.NOT_SENT, why)


def maybe_sent(why: str) -> Row:
    return Row(Fate.MAYBE_SENT, why)


def http_failures(codes: Mapping[str, Row]) -> FailureTable:
    """The table of an httpx-based provider client: the transport rows, 429 and the gateway and
    5xx answers every such provider shares, around the provider's own documented error codes."""
    return {
        **transport_rows("refused, DNS failure, connect or pool timeout: nothing was sent"),
        "http 429": not_sent("too many requests"),
        **codes,
        "http 502": maybe_sent("bad gateway: the request may have been processed"),
        "http 504": maybe_sent("gateway timeout: the request may have been processed"),
        "http 5xx": maybe_sent("server error without a documented code"),
    }


def transport_key(exc: httpx.TransportError) -> str:
    """The table key of an httpx transport error."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return NO_CONNECTION
    if isinstance(exc, httpx.ReadTimeout):
        return READ_TIMEOUT
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return DROPPED
    return OTHER_TRANSPORT


def http_key(table: FailureTable, status: int, code: str | None) -> str | None:
    """The most specific key of an HTTP error answer the table lists: the provider's code,
    then the status, then `http 5xx`; None for an answer it does not list (final)."""
    for key in (f"code {code}" if code else "", f"http {status}"):
        if key in table:
            return key
    return "http 5xx" if status >= 500 and "http 5xx" in table else None
