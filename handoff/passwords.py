"""Argon2id hashing on a small executor of its own, with a bounded line of waiting checks.

Argon2 is deliberately slow and memory-hungry: run on the shared default executor, a login
flood would occupy the threads everything else uses (DNS, files). Here at most `workers`
hashes run at once and at most `max_waiting` wait; beyond that a check is refused at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

T = TypeVar("T")
WORKERS = 2
MAX_WAITING = 32

_hasher = PasswordHasher()  # argon2-cffi's default type is Argon2id
# Verified against when the username does not exist, so both cases cost the same.
_DECOY_HASH = _hasher.hash("decoy password for unknown usernames")


class PasswordCheckBusy(RuntimeError):
    """Too many password checks are already waiting; the caller should retry shortly."""


class PasswordWorker:
    """Runs Argon2 work on `workers` threads; refuses work when `max_waiting` is reached."""

    def __init__(self, workers: int = WORKERS, max_waiting: int = MAX_WAITING) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._limit = workers + max_waiting
        self._lock = threading.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Checks running or waiting now."""
        return self._in_flight

    async def run(self, work: Callable[[], T]) -> T:
        with self._lock:
            if self._in_flight >= self._limit:
                raise PasswordCheckBusy("too many password checks at once")
            self._in_flight += 1
        try:
            return await asyncio.wrap_future(self._executor.submit(work))
        finally:
            with self._lock:
                self._in_flight -= 1


PASSWORD_WORKER = PasswordWorker()


async def hash_password(password: str) -> str:
    return await PASSWORD_WORKER.run(lambda: _hasher.hash(password))


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a None hash (no such user) costs the same and is False."""

    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DECOY_HASH, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await PASSWORD_WORKER.run(check)
