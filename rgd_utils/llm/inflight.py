"""Keep a fixed number of requests in flight on each endpoint, and hand results back as they come.

An engine such as vLLM batches the requests it has at once: one request at a time leaves it
mostly idle. :func:`run_in_flight` runs an async function over many items on an event loop of its
own (a background thread, so that it also works inside a Jupyter kernel, whose main thread already
runs a loop) and yields ``(index, outcome)`` in completion order to the calling thread. The caller
stays the only writer of whatever it stores (the LLM cache), so a killed run loses at most the
requests in flight.

Scheduling: each endpoint owns ``in_flight`` slots; a new item starts only when a slot is free,
and a slot is freed only when the consumer has taken the outcome of its call (back-pressure: at
most the slots' total are pending or waiting to be stored). The slot's endpoint is passed to the
call, so replicas of one model share the work by how fast they answer. Each call has an
overall deadline (retries included). When the consumer stops early (an error, a closed
generator), the calls still running are cancelled.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
E = TypeVar("E")


class DeadlineExceeded(TimeoutError):
    """A call did not finish within its overall deadline (retries included)."""


def run_in_flight(
    items: Sequence[T],
    call: Callable[[E, T], Awaitable[R]],
    slots: Sequence[tuple[E, int]],
    deadline: float | None = None,
    cleanup: Callable[[], Awaitable[None]] | None = None,
) -> Iterator[tuple[int, R | BaseException]]:
    """Run ``call(endpoint, item)`` over ``items`` with each endpoint's slots kept busy.

    Parameters
    ----------
    items : sequence
        What to send, in order.
    call : async callable (endpoint, item) -> result
        One request (with its own retries).
    slots : sequence of (endpoint, int)
        Each endpoint and how many of its requests may be in flight at once (>= 1).
    deadline : float, optional
        Seconds one call may take in all; past it the outcome is :class:`DeadlineExceeded`.
    cleanup : async callable, optional
        Awaited on the loop once every call has ended (closes what the calls opened on it).

    Yields
    ------
    (int, result or exception)
        The item's index and what its call returned or raised, in completion order.
    """
    if not slots or any(n < 1 for _, n in slots):
        raise ValueError("every endpoint needs at least one request in flight")
    if not items:
        return
    outcomes: queue.Queue = queue.Queue()
    free: asyncio.Queue = asyncio.Queue()  # the slots not taken; bound to the loop on first use
    for endpoint, n in slots:
        for _ in range(n):
            free.put_nowait(endpoint)
    done = object()

    async def one(endpoint: E, index: int) -> None:
        try:
            result: R | BaseException = await asyncio.wait_for(call(endpoint, items[index]), deadline)
        except asyncio.TimeoutError:
            result = DeadlineExceeded(f"no answer within the call's deadline of {deadline:g} s")
        except Exception as error:  # handed to the consumer, which decides
            result = error
        outcomes.put((index, result, endpoint))  # the consumer frees the slot once it took it

    async def main() -> None:
        tasks: set[asyncio.Task] = set()
        try:
            for index in range(len(items)):
                task = asyncio.create_task(one(await free.get(), index))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            while tasks:
                await asyncio.wait(set(tasks))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if cleanup is not None:
                await cleanup()

    loop = asyncio.new_event_loop()
    runner = loop.create_task(main())
    worker = _run_in_thread(loop, runner, outcomes, done)
    try:
        while (outcome := outcomes.get()) is not done:
            index, result, endpoint = outcome
            yield index, result
            _soon(loop, free.put_nowait, endpoint)  # stored by the consumer: the slot is free
    finally:
        _soon(loop, runner.cancel)
        worker.join()


def _run_in_thread(loop: asyncio.AbstractEventLoop, runner: asyncio.Task, outcomes: queue.Queue,
                   done: object) -> threading.Thread:
    """Run ``runner`` to its end on ``loop`` in a daemon thread, then close the loop and put
    ``done`` on ``outcomes`` (the consumer's signal that nothing more will come)."""

    def thread_main() -> None:
        try:
            loop.run_until_complete(asyncio.gather(runner, return_exceptions=True))
        finally:
            loop.close()
            outcomes.put(done)

    worker = threading.Thread(target=thread_main, name="rgd-in-flight", daemon=True)
    worker.start()
    return worker


def _soon(loop: asyncio.AbstractEventLoop, callback: Callable, *args: object) -> None:
    """Run ``callback`` on the loop's thread, unless the loop has already finished."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop is closed: nothing left to do there
        pass
