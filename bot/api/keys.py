"""Shop API keys: random tokens stored as SHA-256 hashes, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

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


@dataclass(frozen=True)
class KeyInfo:
    name: str
    shop: str
    created_at: datetime
    revoked_at: datetime | None


async def list_keys(sessions: SessionFactory) -> list[KeyInfo]:
    """Every key's name, shop and dates; never the key or its hash."""
    async with sessions() as session:
        rows = await session.execute(
            select(ApiKey.name, ApiKey.shop, ApiKey.created_at, ApiKey.revoked_at).order_by(
                ApiKey.id
            )
        )
        return [KeyInfo(*row) for row in rows.all()]


async def revoke_keys(sessions: SessionFactory, name: str, now: datetime) -> int:
    """Revoke every active key called `name`; return how many were revoked."""
    async with sessions.begin() as session:
        result = await session.execute(
            update(ApiKey)
            .where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class KeyRing:
    """Resolves a bearer key to its shop, asking the database every time: a key revoked by
    another process (`nudge keys revoke`) fails on the very next request."""

    def __init__(self, sessions: SessionFactory, env_key: str) -> None:
        self._sessions = sessions
        self._env_key = env_key

    async def shop_for(self, presented: str | None) -> str | None:
        if not presented:
            return None
        if self._env_key and hmac.compare_digest(presented.encode(), self._env_key.encode()):
            return "default"
        # looked up by a hash of the key (unique index), so timing reveals nothing about it
        async with self._sessions() as session:
            shop: str | None = await session.scalar(
                select(ApiKey.shop).where(
                    ApiKey.key_hash == hash_key(presented), ApiKey.revoked_at.is_(None)
                )
            )
        return shop


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
