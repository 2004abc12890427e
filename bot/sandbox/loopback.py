"""`/sandbox/*` answers loopback clients only: its clock, inbound and phone are not for the network.

The peer address is the TCP connection's own; forwarding headers are never trusted, and a
request that carries them came through a proxy, so it is refused even from loopback.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web
from aiohttp.typedefs import Handler

PREFIX = "/sandbox"
_FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def is_loopback(remote: str | None) -> bool:
    """127.0.0.0/8 or ::1 (an IPv4-mapped ::ffff:127.x too); False for anything unreadable."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _is_sandbox(request: web.Request) -> bool:
    route = request.match_info.route.resource
    paths = {request.path, route.canonical if route is not None else ""}
    return any(p == PREFIX or p.startswith(PREFIX + "/") for p in paths)


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _is_sandbox(request) and (
        not is_loopback(request.remote)
        or any(name in request.headers for name in _FORWARDING_HEADERS)
    ):
        return web.json_response(
            {"error": "sandbox endpoints answer loopback clients only"}, status=403
        )
    return await handler(request)
