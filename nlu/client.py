"""HTTP client for Rasa `POST /model/parse` (a short timeout and a circuit breaker) and
`GET /status` (which model the server serves)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)


class NluUnavailable(Exception):
    """The NLU server could not answer (down, slow, garbage, or the circuit is open)."""


@dataclass(frozen=True)
class Parse:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()


# Hand-written: aiobreaker and purgatory read the wall clock, this an injected monotonic one.
class CircuitBreaker:
    """Opens after `failures` consecutive errors; lets one probe through after `reset_after` s."""

    def __init__(
        self,
        failures: int = 3,
        reset_after: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.reset_after = reset_after
        self._monotonic = monotonic
        self._consecutive = 0
        self._opened_at: float | None = None

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._monotonic() - self._opened_at >= self.reset_after:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        return self.state != "open"

    def success(self) -> None:
        self._consecutive = 0
        self._opened_at = None

    def failure(self) -> None:
        self._consecutive += 1
        if self._consecutive >= self.failures or self._opened_at is not None:
            # a failed half-open probe re-opens the circuit for another period
            self._opened_at = self._monotonic()


def _parse_body(body: object) -> Parse:
    if not isinstance(body, dict):
        raise NluUnavailable("NLU answer is not a JSON object")
    intent = body.get("intent")
    if not isinstance(intent, dict):
        raise NluUnavailable("NLU answer has no intent object")
    name = intent.get("name")
    confidence = intent.get("confidence")
    if not isinstance(name, str) or not isinstance(confidence, int | float):
        raise NluUnavailable("NLU intent lacks a name or a numeric confidence")
    ranking: list[tuple[str, float]] = []
    for item in body.get("intent_ranking") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            value = item.get("confidence")
            ranking.append((item["name"], float(value) if isinstance(value, int | float) else 0.0))
    return Parse(name, float(confidence), tuple(ranking))


class RasaClient:
    """One Rasa server; `url` and `token` may be callables (the supervisor may restart it)."""

    def __init__(
        self,
        url: str | Callable[[], str],
        token: str | Callable[[], str] | None = None,
        *,
        timeout: float = 2.0,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url
        self._token = token
        self.timeout = timeout
        self.breaker = breaker or CircuitBreaker()
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0)), transport=transport
        )

    @property
    def url(self) -> str:
        return (self._url() if callable(self._url) else self._url).rstrip("/")

    @property
    def token(self) -> str:
        token = self._token() if callable(self._token) else self._token
        return token or ""

    @property
    def available(self) -> bool:
        return self.breaker.state == "closed"

    async def parse(self, text: str) -> Parse:
        """The model's intent for `text`; raises NluUnavailable instead of anything else."""
        if not self.breaker.allow():
            raise NluUnavailable("circuit open")
        params = {"token": self.token} if self.token else None
        try:
            response = await self._client.post(
                f"{self.url}/model/parse", params=params, json={"text": text}
            )
            if response.status_code != 200:
                raise NluUnavailable(f"NLU answered HTTP {response.status_code}")
            result = _parse_body(response.json())
        except NluUnavailable:
            self.breaker.failure()
            raise
        except (httpx.HTTPError, ValueError) as exc:
            self.breaker.failure()
            raise NluUnavailable(f"{type(exc).__name__}: {exc}") from exc
        self.breaker.success()
        return result

    async def served_model(self, answer_within: float | None = None) -> str | None:
        """The file name of the model the server serves (Rasa's `GET /status` `model_file`,
        "" when it names none), or None when the server cannot be reached or refuses. Leaves
        the circuit breaker alone: only replies count."""
        params = {"token": self.token} if self.token else None
        try:
            response = await self._client.get(
                f"{self.url}/status",
                params=params,
                timeout=self._client.timeout if answer_within is None else answer_within,
            )
            if response.status_code != 200:
                return None
            body = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        model_file = body.get("model_file") if isinstance(body, dict) else None
        return model_file if isinstance(model_file, str) else ""

    async def aclose(self) -> None:
        await self._client.aclose()
