"""rgd_utils.llm.inflight: slots per endpoint, back-pressure, deadlines and cancellation."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from rgd_utils.llm.inflight import DeadlineExceeded, run_in_flight


class Recorder:
    """An async call that records how many calls run at once, per endpoint."""

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.running: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.started = 0

    async def __call__(self, endpoint: str, item: int) -> tuple[str, int]:
        with self.lock:
            self.started += 1
            self.running[endpoint] = self.running.get(endpoint, 0) + 1
            self.peak[endpoint] = max(self.peak.get(endpoint, 0), self.running[endpoint])
        try:
            await asyncio.sleep(self.delay)
            if item < 0:
                raise ValueError(f"bad item {item}")
            return endpoint, item * 2
        finally:
            with self.lock:
                self.running[endpoint] -= 1


def test_every_item_once_each_endpoint_within_its_slots() -> None:
    call = Recorder()
    out = dict(run_in_flight(list(range(40)), call, [("a", 3), ("b", 5)]))
    assert sorted(out) == list(range(40))
    assert all(value[1] == 2 * index for index, value in out.items())
    assert call.peak == {"a": 3, "b": 5}
    assert sum(v[0] == "b" for v in out.values()) > sum(v[0] == "a" for v in out.values())


def test_an_error_is_an_outcome_not_the_end_of_the_run() -> None:
    out = dict(run_in_flight([1, -1, 2], Recorder(), [("a", 2)]))
    assert out[0] == ("a", 2) and out[2] == ("a", 4)
    assert isinstance(out[1], ValueError) and "bad item -1" in str(out[1])


def test_a_slot_is_freed_only_when_its_outcome_was_taken() -> None:
    """Back-pressure: a consumer that stops taking outcomes stops new calls after the slots."""
    call = Recorder(delay=0.0)
    stream = run_in_flight(list(range(20)), call, [("a", 4)])
    next(stream)
    time.sleep(0.3)  # the loop had time to start everything it was allowed to
    assert call.started == 4
    stream.close()


def test_a_call_past_its_deadline_is_a_deadline_error() -> None:
    call = Recorder(delay=2.0)
    started = time.monotonic()
    [(index, outcome)] = list(run_in_flight([1], call, [("a", 1)], deadline=0.1))
    assert index == 0 and isinstance(outcome, DeadlineExceeded)
    assert time.monotonic() - started < 1.5


def test_closing_the_stream_cancels_the_calls_in_flight_and_runs_cleanup() -> None:
    cleaned, cancelled = [], []

    async def call(endpoint: str, item: int) -> int:
        try:
            await asyncio.sleep(0.0 if item == 0 else 30.0)
        except asyncio.CancelledError:
            cancelled.append(item)
            raise
        return item

    async def cleanup() -> None:
        cleaned.append(True)

    stream = run_in_flight(list(range(10)), call, [("a", 3)], cleanup=cleanup)
    assert next(stream) == (0, 0)
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 2
    assert sorted(cancelled) in ([1, 2], [1, 2, 3]) and cleaned == [True]  # 3 may not have started


def test_no_slots_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        list(run_in_flight([1], Recorder(), [("a", 0)]))


def test_a_request_repeated_in_one_run_is_computed_once_and_cached_once(tmp_path) -> None:
    """Two questions with one text share a key: computing both could store two values."""
    from rgd_utils.llm.backend import ContinuationScore, LLMRequest
    from rgd_utils.llm.cache import LLMCache
    from rgd_utils.llm.cached import CachedLLM

    calls = []

    class Counting:
        identity = {"m": 1}

        def generate(self, prompts, params):
            raise AssertionError("not used")

        def score(self, prompt, continuations):
            calls.append(prompt)
            return [ContinuationScore(-float(len(calls)), 1) for _ in continuations]

    llm = CachedLLM("m", {"m": 1}, Counting, LLMCache(tmp_path, "readwrite"))
    same = LLMRequest("Q?", continuations=(" a", " b"))
    out = llm.run([same, LLMRequest("Other?", continuations=(" a",)), same])
    assert calls == ["Q?", "Other?"] and out[0] == out[2]
    assert LLMCache(tmp_path).stats()[0]["entries"] == 2 and LLMCache(tmp_path).stats()[0]["duplicates"] == 0
