"""Which subject each generation call is about, and its attempt number (the paper's §2.3).

The paper pops seed questions round-robin across each benchmark's subjects (refilling a
subject when it runs out), so the generated data is balanced across subjects; only the
subject of a seed is used. Here each benchmark cycles through its subjects in a seeded
shuffled order: call ``i`` of a benchmark is about subject ``order[i % n_subjects]``, so after
any number of calls the per-subject counts differ by at most one.

Every call gets an integer ``attempt``, distinct within the schedule, which becomes its
sampling seed and the last part of its question id. Attempt numbers depend only on the seed,
the benchmark and the call's index within its benchmark, never on ``n_per_benchmark`` or on the
other benchmarks, so a resumed run that asks for more calls (or for a subset of benchmarks)
repeats the same calls and hits the LLM cache. Orders and offsets come from sha256, not from a
random generator, so they are the same on every machine and library version.
"""

from __future__ import annotations

import hashlib
from typing import Mapping, NamedTuple, Sequence

#: Attempt numbers of one benchmark fill one block of this size (at most this many calls).
ATTEMPT_BLOCK = 2**20
#: Number of blocks: attempts stay below 2**31, a valid seed for every backend.
N_BLOCKS = 2**11


class ScheduledCall(NamedTuple):
    """One generation call.

    Attributes
    ----------
    benchmark : str
        Benchmark the question is for.
    subject : str
        Subject whose description is in the prompt.
    attempt : int
        Distinct call number: the sampling seed and the end of the question id.
    """

    benchmark: str
    subject: str
    attempt: int


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def subject_cycle(benchmark: str, subjects: Sequence[str], seed: int) -> list[str]:
    """Return a benchmark's subjects in their seeded order (independent of the input order).

    Parameters
    ----------
    benchmark : str
        Benchmark name (part of the key, so benchmarks get different orders).
    subjects : sequence of str
        Its subjects; repeats are ignored.
    seed : int
        Schedule seed.

    Returns
    -------
    list of str
        The distinct subjects sorted by ``sha256(f"{seed}:{benchmark}:{subject}")``.
    """
    return sorted(set(subjects), key=lambda s: (_digest(f"{seed}:{benchmark}:{s}"), s))


def attempt_offset(benchmark: str, seed: int) -> int:
    """Return the first attempt number of a benchmark's block under a seed."""
    return (_digest(f"{seed}:{benchmark}") % N_BLOCKS) * ATTEMPT_BLOCK


def _check_offsets(benchmarks: Sequence[str], seed: int) -> dict[str, int]:
    offsets = {b: attempt_offset(b, seed) for b in benchmarks}
    owners: dict[int, str] = {}
    for benchmark, offset in offsets.items():
        if offset in owners:
            raise ValueError(
                f"benchmarks {owners[offset]!r} and {benchmark!r} share attempt numbers under "
                f"seed {seed}; choose another seed"
            )
        owners[offset] = benchmark
    return offsets


def schedule(
    subjects: Mapping[str, Sequence[str]], n_per_benchmark: int, seed: int, start: int = 0
) -> list[ScheduledCall]:
    """Return the generation calls ``start..n_per_benchmark-1`` of every benchmark.

    Calls are ordered by index, then by benchmark in the mapping's order, so
    ``schedule(s, n, seed)`` is a prefix of ``schedule(s, m, seed)`` for ``m > n``, and
    ``schedule(s, m, seed, start=n)`` is exactly the rest: the way to extend a run.

    Parameters
    ----------
    subjects : mapping of str to sequence of str
        Each benchmark's subjects (each needs at least one).
    n_per_benchmark : int
        Calls per benchmark, at most :data:`ATTEMPT_BLOCK`.
    seed : int
        Fixes the subject order and the attempt numbers.
    start : int, default 0
        Index of the first call to return, within each benchmark.

    Returns
    -------
    list of ScheduledCall
        ``(benchmark, subject, attempt)`` per call.

    Raises
    ------
    ValueError
        For a benchmark without subjects, a count out of range, or (rarely) two benchmarks
        whose attempt blocks coincide under ``seed``.
    """
    if not 0 <= start <= n_per_benchmark <= ATTEMPT_BLOCK:
        raise ValueError(
            f"need 0 <= start <= n_per_benchmark <= {ATTEMPT_BLOCK}, got start={start}, "
            f"n_per_benchmark={n_per_benchmark}"
        )
    empty = [b for b, s in subjects.items() if not s]
    if empty:
        raise ValueError(f"benchmarks without subjects: {empty}")
    cycles = {b: subject_cycle(b, s, seed) for b, s in subjects.items()}
    offsets = _check_offsets(list(subjects), seed)
    return [
        ScheduledCall(b, cycle[i % len(cycle)], offsets[b] + i)
        for i in range(start, n_per_benchmark)
        for b, cycle in cycles.items()
    ]
