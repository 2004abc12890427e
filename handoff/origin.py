"""Cross-site request refusal for the console: state-changing requests must come from the
console's own pages (same origin), and its API takes JSON only (no plain form can send it)."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from bot.app_keys import SETTINGS

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(request: web.Request) -> set[str]:
    """The configured public URL's origin and the origin this request was addressed to."""
    return {
        _origin_of(request.app[SETTINGS].public_url),
        f"{request.scheme}://{request.host}".lower(),
    }


def cross_site_problem(request: web.Request) -> str | None:
    """Why a state-changing request is not known to come from the console itself, or None."""
    if request.method in SAFE_METHODS:
        return None
    origin = request.headers.get("Origin")
    if origin is not None:
        if origin.lower() in allowed_origins(request):
            return None
        return "cross-site request refused: Origin is not this service"
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return None if fetch_site == "same-origin" else "cross-site request refused"
    return "request refused: send Origin (or Sec-Fetch-Site: same-origin)"


def json_body_problem(request: web.Request) -> str | None:
    """A state-changing API request must declare a JSON body."""
    if request.method in SAFE_METHODS or request.content_type == "application/json":
        return None
    return "send Content-Type: application/json"
