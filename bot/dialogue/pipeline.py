"""Middlewares around a step, aiogram-style: each gets the next step and the event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

Event = TypeVar("Event")
Result = TypeVar("Result")
Step = Callable[[Event], Awaitable[Result]]
Middleware = Callable[[Step[Event, Result], Event], Awaitable[Result]]


def wrap(
    step: Step[Event, Result], middlewares: Sequence[Middleware[Event, Result]]
) -> Step[Event, Result]:
    """`step` inside `middlewares`, the first of them outermost."""
    for middleware in reversed(middlewares):
        step = _bind(middleware, step)
    return step


def _bind(middleware: Middleware[Event, Result], inner: Step[Event, Result]) -> Step[Event, Result]:
    async def call(event: Event) -> Result:
        return await middleware(inner, event)

    return call
