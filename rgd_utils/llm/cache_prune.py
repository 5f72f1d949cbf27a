"""Drop the cache entries that no run reads, once a study has moved on to new calls.

Run the study with ``RGD_CACHE_READS=<log>`` set (every preset whose replay must keep working,
and the tests that replay the committed cache), then prune with that log: each shard keeps the
entries that were read, a shard with none is deleted. Nothing is pruned from an empty log, and
``--dry-run`` only counts::

    RGD_CACHE_READS=$PWD/runs/reads.log make all
    RGD_CACHE_READS=$PWD/runs/reads.log make all PRESET=cpu-specialists
    python -m rgd_utils.llm.cache_prune runs/reads.log --dry-run
    python -m rgd_utils.llm.cache_prune runs/reads.log
"""

from __future__ import annotations

import argparse
import fcntl
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from .cache import DEFAULT_ROOT, LLMCache, _read_shard, _rewrite


def read_log(paths: Sequence[Path]) -> dict[str, set[str]]:
    """The keys read, per shard (its path relative to the cache root), from reads logs."""
    reads: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            shard, _, key = line.partition("\t")
            if key:
                reads[shard].add(key)
    return dict(reads)


def prune(cache: LLMCache, reads: dict[str, set[str]], dry_run: bool = False) -> dict[str, tuple[int, int]]:
    """Keep only the entries in ``reads``; return ``shard -> (kept, dropped)`` for every shard.

    Raises
    ------
    ValueError
        When ``reads`` is empty (a run that logged nothing must not empty the cache).
    """
    if not reads:
        raise ValueError("the reads log names no entry: nothing is pruned (was RGD_CACHE_READS set "
                         "for the runs, with the cache replayed?)")
    counts = {}
    for _, op, path in list(cache.shards()):
        name = path.relative_to(cache.root).as_posix()
        wanted = reads.get(name, set())
        with open(path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                shard = _read_shard(path)
                kept = {k: v for k, v in shard.values.items() if k in wanted}
                counts[name] = (len(kept), len(shard.values) - len(kept))
                if dry_run or not counts[name][1]:
                    continue
                if kept:
                    _rewrite(replace(shard, values=kept,
                                     lines={k: n for k, n in shard.lines.items() if k in kept}), op, {})
                else:
                    path.unlink()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        if not any(path.parent.iterdir()):
            path.parent.rmdir()
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m rgd_utils.llm.cache_prune")
    parser.add_argument("logs", nargs="+", type=Path, help="reads logs (RGD_CACHE_READS)")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
    args = parser.parse_args(argv)
    try:
        counts = prune(LLMCache(args.root, mode="readwrite"), read_log(args.logs), args.dry_run)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    for shard, (kept, dropped) in sorted(counts.items()):
        print(f"{shard:<45} kept {kept:>7,}  {'would drop' if args.dry_run else 'dropped'} {dropped:>7,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
