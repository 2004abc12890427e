"""One JSON reader for every body the service accepts: bounded depth, bounded numbers,
strict UTF-8 and strings a database can store. Anything else is a `JSONBodyError` (a 400)."""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

MAX_DEPTH = 64
MAX_NUMBER_CHARS = 40  # longer than any price, quantity or id we accept


class JSONBodyError(ValueError):
    """The body is not JSON this service accepts; the message says why."""


def _number(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise JSONBodyError(f"a number is longer than {MAX_NUMBER_CHARS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise JSONBodyError("numbers must be finite")
    return value


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise JSONBodyError(f"a number is longer than {MAX_NUMBER_CHARS} characters")
    return int(text)


def _constant(name: str) -> Any:
    raise JSONBodyError(f"{name} is not JSON")


def _check_string(value: str) -> None:
    if "\x00" in value:
        raise JSONBodyError("strings must not contain NUL (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONBodyError("strings must not contain unpaired surrogates") from None


def _check_tree(root: Any, max_depth: int) -> None:
    """Depth and string checks without recursion, so no shape can exhaust the stack."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_string(value)
        elif isinstance(value, dict | list):
            if depth > max_depth:
                raise JSONBodyError(f"nested deeper than {max_depth} levels")
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_string(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a request body; raise JSONBodyError naming what is wrong."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONBodyError(f"body is not UTF-8 (byte {exc.start})") from None
    else:
        text = raw
    if text.startswith("\ufeff"):
        raise JSONBodyError("body starts with a byte order mark")
    try:
        value = json.loads(text, parse_float=_number, parse_int=_integer, parse_constant=_constant)
    except RecursionError:
        raise JSONBodyError(f"nested deeper than {max_depth} levels") from None
    except JSONBodyError:
        raise
    except ValueError as exc:  # JSONDecodeError, or int() refusing a huge literal
        raise JSONBodyError(f"body is not valid JSON: {exc}") from None
    _check_tree(value, max_depth)
    return value


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, or a 400 response naming what is wrong."""
    try:
        return loads(await request.read())
    except JSONBodyError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": str(exc)}), content_type="application/json"
        ) from None
