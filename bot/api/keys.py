"""Shop API keys: random tokens stored as SHA-256 hashes, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime

from sqlalchemy import select

from bot.store.db import SessionFactory
from bot.store.models import ApiKey


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return "nk_" + secrets.token_urlsafe(32)


async def add_key(sessions: SessionFactory, name: str, shop: str, now: datetime) -> str:
    """Create a key; the plain key is returned once and never stored."""
    key = new_key()
    async with sessions.begin() as session:
        session.add(ApiKey(name=name, shop=shop, key_hash=hash_key(key), created_at=now))
    return key


class KeyRing:
    """Resolves a bearer key to its shop; database keys are cached for a few seconds."""

    def __init__(self, sessions: SessionFactory, env_key: str, ttl_seconds: float = 5.0) -> None:
        self._sessions = sessions
        self._env_key = env_key
        self._ttl = ttl_seconds
        self._cache: dict[str, str] = {}
        self._loaded_at = 0.0

    async def _refresh(self) -> None:
        async with self._sessions() as session:
            rows = await session.execute(
                select(ApiKey.key_hash, ApiKey.shop).where(ApiKey.revoked_at.is_(None))
            )
            self._cache = {key_hash: shop for key_hash, shop in rows.all()}
        self._loaded_at = time.monotonic()

    async def shop_for(self, presented: str | None) -> str | None:
        if not presented:
            return None
        if self._env_key and hmac.compare_digest(presented.encode(), self._env_key.encode()):
            return "default"
        if time.monotonic() - self._loaded_at > self._ttl:
            await self._refresh()
        # the dict lookup is by a hash of the key, so timing reveals nothing about the key
        return self._cache.get(hash_key(presented))


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
