"""The store's one group-commit writer: concurrent items share a batch, a failing item fails
alone (or, when asked, the whole batch fails together), sizes bound a batch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.store.group_commit import GroupCommit


async def test_concurrent_items_share_one_batch_and_get_their_own_results() -> None:
    batches: list[list[int]] = []

    async def commit(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        return [item * 10 for item in items]

    group: GroupCommit[int, int] = GroupCommit(commit)
    assert await asyncio.gather(*(group.submit(i) for i in range(5))) == [0, 10, 20, 30, 40]
    assert batches == [[0, 1, 2, 3, 4]]
    assert not group.writing


async def test_a_failing_item_fails_alone() -> None:
    async def commit(items: Sequence[int]) -> list[int]:
        if 2 in items:
            raise ValueError("two")
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(commit)
    results = await asyncio.gather(*(group.submit(i) for i in range(4)), return_exceptions=True)
    assert results[:2] == [0, 1] and results[3] == 3
    assert isinstance(results[2], ValueError)


async def test_without_retry_the_whole_batch_gets_the_error() -> None:
    async def commit(items: Sequence[int]) -> list[int]:
        raise ValueError("down")

    group: GroupCommit[int, int] = GroupCommit(commit, alone_on_failure=False)
    results = await asyncio.gather(*(group.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)


async def test_sizes_bound_a_batch_but_one_item_always_goes() -> None:
    batches: list[list[str]] = []

    async def commit(items: Sequence[str]) -> list[int]:
        batches.append(list(items))
        return [len(item) for item in items]

    group: GroupCommit[str, int] = GroupCommit(commit, max_size=4, size=len)
    await asyncio.gather(*(group.submit(s) for s in ("aa", "bb", "c", "dddddd", "e")))
    assert batches == [["aa", "bb"], ["c"], ["dddddd"], ["e"]]


async def test_close_cancels_the_batch_in_commit_and_what_is_queued() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def commit(items: Sequence[int]) -> list[int]:
        started.set()
        await release.wait()
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(commit)
    first = asyncio.ensure_future(group.submit(1))
    await started.wait()
    second = asyncio.ensure_future(group.submit(2))
    await asyncio.sleep(0)
    await group.close()
    for waiting in (first, second):
        with pytest.raises(asyncio.CancelledError):
            await waiting
