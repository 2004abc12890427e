"""Application keys private to the touches part."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.touches.firing import Firing
    from flows.designer import DesignerFiles

FLOWS: web.AppKey[DesignerFiles] = web.AppKey("touch_flows")
FIRING: web.AppKey[Firing] = web.AppKey("touch_firing")
