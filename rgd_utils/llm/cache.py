"""A content-addressed, append-only, resumable cache of LLM calls.

Every call is keyed by the sha256 of everything that changes its output: the model's identity
(file digest or endpoint model id), the operation, the full prompt, the continuations or the
decoding parameters, and the seed. A changed parameter is therefore a miss, never a stale hit.

Layout: one JSON-lines shard per model and operation, ``<root>/<model>/<op>.jsonl``. Each line
is ``{"key", "op", "value", "check"}`` where ``check`` is a digest of the value. Lines are only
ever appended, under an exclusive ``flock`` (two processes can write the same shard), and each
append is one ``write`` followed by ``fsync``, so a process killed with ``kill -9`` loses at most
the call it was making. A torn or corrupt line (bad JSON, wrong digest) is counted, ignored and
recomputed on the next run; ``repair`` rewrites a shard without it. Two lines giving different
values for one key are an error (:class:`CacheConflictError`, naming the shard and the lines)
until ``repair --keep <shard>:<line>`` says which one is right.

Modes:

* ``"readwrite"`` (default): hits are returned, misses computed and appended;
* ``"replay"``: a miss raises :class:`CacheMissError` instead of running a model (``make all``
  on a fresh machine replays the committed cache and must not need any LLM);
* ``"off"``: nothing is read or written.

The mode defaults to the ``RGD_LLM_CACHE`` environment variable, else ``"readwrite"``. When
``RGD_CACHE_READS`` names a file, every entry read is logged there (``<shard>\t<key>``), for
:mod:`rgd_utils.llm.cache_prune` to drop the entries no run reads.

Command line::

    python -m rgd_utils.llm.cache stats  [--root data/cache]   # exits 1 on a conflict
    python -m rgd_utils.llm.cache check  [--root data/cache]   # corrupt or conflicting lines
    python -m rgd_utils.llm.cache repair [--root data/cache] [--keep SHARD:LINE ...]
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

#: The environment variable naming the log of the entries read (see the module docstring).
READS_VARIABLE = "RGD_CACHE_READS"
MODES = ("readwrite", "replay", "off")
DEFAULT_ROOT = Path("data") / "cache"


class CacheMissError(LookupError):
    """Replay mode met a call that is not in the cache."""


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cache_key(request: dict) -> str:
    """Return the sha256 hex digest of a request (model identity, op, prompt, parameters)."""
    return hashlib.sha256(canonical_json(request).encode("utf-8")).hexdigest()


def _check(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:16]


class CacheConflictError(ValueError):
    """A shard holds two different values for one key: which one is right is not known."""


@dataclass
class ShardStats:
    """What reading one shard found: entries, and the lines that were set aside.

    ``corrupt`` lists the numbers of unreadable lines (bad JSON, wrong digest);
    ``duplicates`` counts lines that repeat an earlier line's key and value (harmless);
    ``conflicts`` maps a key to the numbers of the lines that give it different values.
    ``engines`` counts entries by the engine recorded in their line (``None``: not recorded).
    """

    entries: int = 0
    corrupt: list[int] = field(default_factory=list)
    duplicates: int = 0
    conflicts: dict[str, list[int]] = field(default_factory=dict)
    engines: Counter = field(default_factory=Counter)


@dataclass
class _Shard:
    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    stats: ShardStats = field(default_factory=ShardStats)

    def conflict_message(self) -> str:
        """Every conflict of the shard, with the command that resolves it."""
        described = "; ".join(f"key {key[:12]} on lines {', '.join(map(str, lines))}"
                              for key, lines in self.stats.conflicts.items())
        example = next(iter(self.stats.conflicts.values()))[0]
        return (f"{self.path}: different values for one key ({described}). Keep the right line "
                f"of each key with `python -m rgd_utils.llm.cache repair --keep "
                f"{self.path}:{example}` (one --keep per key); the other lines are dropped.")


def _parse(raw: bytes) -> dict | None:
    """A line's record when it is whole and its digest matches its value, else None."""
    try:
        record = json.loads(raw)
        ok = isinstance(record["key"], str) and record["check"] == _check(record["value"])
    except (ValueError, KeyError, TypeError):
        return None
    return record if ok else None


def _read_shard(path: Path) -> _Shard:
    shard = _Shard(path)
    if not path.exists():
        return shard
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            record = _parse(raw)
            if record is None:
                shard.stats.corrupt.append(number)
                continue
            key = record["key"]
            if key not in shard.values:
                shard.values[key], shard.lines[key] = record["value"], number
                shard.stats.engines[record.get("engine")] += 1
            elif record["check"] == _check(shard.values[key]):
                shard.stats.duplicates += 1
            else:
                shard.stats.conflicts.setdefault(key, [shard.lines[key]]).append(number)
    shard.stats.entries = len(shard.values)
    return shard


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    if not cleaned or cleaned.startswith("."):
        raise ValueError(f"{name!r} cannot name a cache shard")
    return cleaned


class LLMCache:
    """The cache of LLM calls under one root folder.

    Parameters
    ----------
    root : pathlib.Path, default ``data/cache``
        Folder of the shards.
    mode : {"readwrite", "replay", "off"}, optional
        Default: the ``RGD_LLM_CACHE`` environment variable, else ``"readwrite"``.
    """

    def __init__(self, root: Path = DEFAULT_ROOT, mode: str | None = None) -> None:
        self.root = Path(root)
        self.mode = mode or os.environ.get("RGD_LLM_CACHE", "readwrite")
        if self.mode not in MODES:
            raise ValueError(f"cache mode must be one of {MODES}, got {self.mode!r}")
        self._shards: dict[tuple[str, str], _Shard] = {}
        self._reads = os.environ.get(READS_VARIABLE)
        self._noted: set[tuple[str, str]] = set()

    def _path(self, model: str, op: str) -> Path:
        return self.root / _safe_name(model) / f"{_safe_name(op)}.jsonl"

    def _shard(self, model: str, op: str) -> _Shard:
        if (model, op) not in self._shards:
            shard = _read_shard(self._path(model, op))
            if shard.stats.conflicts:
                raise CacheConflictError(shard.conflict_message())
            self._shards[(model, op)] = shard
        return self._shards[(model, op)]

    def get(self, model: str, op: str, key: str) -> Any | None:
        """Return the cached value of a call, or None on a miss (raises in replay mode).

        Parameters
        ----------
        model : str
            Short model name (names the shard folder).
        op : str
            Operation, e.g. ``"generate"`` or ``"score"``.
        key : str
            :func:`cache_key` of the request.

        Raises
        ------
        CacheMissError
            In replay mode, when the call is not cached.
        CacheConflictError
            When the shard gives two different values for one key (see ``repair``).
        """
        if self.mode == "off":
            return None
        value = self._shard(model, op).values.get(key)
        if value is not None and self._reads:
            self._note_read(model, op, key)
        if value is None and self.mode == "replay":
            raise CacheMissError(
                f"replay mode: no cached {op} call {key[:12]} for model {model!r} in "
                f"{self._path(model, op)}. The committed cache does not cover this run: use the "
                "study's default parameters, or compute the missing calls with "
                "RGD_LLM_CACHE=readwrite (installs and runs the model; see the README)."
            )
        return value

    def _note_read(self, model: str, op: str, key: str) -> None:
        """Append ``<shard>\\t<key>`` to the reads log, once per entry and process."""
        shard = self._path(model, op).relative_to(self.root).as_posix()
        if (shard, key) not in self._noted:
            self._noted.add((shard, key))
            with open(self._reads, "a", encoding="utf-8") as log:  # type: ignore[arg-type]
                log.write(f"{shard}\t{key}\n")

    def holds(self, model: str, op: str, key: str) -> bool:
        """Whether the call is cached (never raises on a miss, whatever the mode)."""
        return self.mode != "off" and key in self._shard(model, op).values

    def put(self, model: str, op: str, key: str, value: Any, engine: str | None = None) -> None:
        """Append one computed call to its shard (atomically, under an exclusive lock).

        ``engine`` (the ``backend`` of the model's identity, e.g. ``"llama.cpp"``) is stored in
        the line so that ``stats`` can count entries per engine; the key already depends on it.
        """
        if self.mode == "off":
            return
        if self.mode == "replay":
            raise CacheMissError("replay mode never writes to the cache")
        path = self._path(model, op)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = canonical_json(_record(key, op, value, engine))
        with open(path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0, os.SEEK_END)
                prefix = b""
                if handle.tell() > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":
                        prefix = b"\n"  # a torn line from a killed writer: start afresh
                handle.write(prefix + line.encode("utf-8") + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        self._shard(model, op).values[key] = value

    def shards(self) -> Iterator[tuple[str, str, Path]]:
        """Yield ``(model, op, path)`` for every shard on disk, sorted."""
        for path in sorted(self.root.glob("*/*.jsonl")):
            yield path.parent.name, path.stem, path

    def stats(self) -> list[dict]:
        """Entries per model, operation and engine, with each shard's corrupt, duplicate and
        conflicting lines (read fresh from disk). Lines that do not record their engine count
        under the engine ``"not recorded"``."""
        rows = []
        for model, op, path in self.shards():
            stats = _read_shard(path).stats
            for engine, entries in sorted(stats.engines.items(), key=lambda e: str(e[0])) or [(None, 0)]:
                rows.append({"model": model, "op": op, "engine": engine or "not recorded",
                             "entries": entries, "corrupt": len(stats.corrupt),
                             "duplicates": stats.duplicates, "conflicts": len(stats.conflicts),
                             "bytes": path.stat().st_size})
        return rows

    def problems(self) -> dict[str, list[str]]:
        """The shards with ``"corrupt"`` or ``"conflicting"`` lines, one message each naming the
        lines (fast: reads the shards, loads no model)."""
        found: dict[str, list[str]] = {"corrupt": [], "conflicting": []}
        for _, _, path in self.shards():
            shard = _read_shard(path)
            if shard.stats.corrupt:
                numbers = ", ".join(map(str, shard.stats.corrupt[:10]))
                found["corrupt"].append(f"{path}: {len(shard.stats.corrupt)} corrupt line(s) (line "
                                        f"{numbers}); `python -m rgd_utils.llm.cache repair` drops them")
            if shard.stats.conflicts:
                found["conflicting"].append(shard.conflict_message())
        return found

    def repair(self, keep: Sequence[str] = ()) -> Counter:
        """Rewrite every shard without its corrupt and duplicate lines; return what was dropped.

        Parameters
        ----------
        keep : sequence of str
            ``"<shard path>:<line>"`` choices, one per conflicting key: the value of that line
            is kept and the key's other lines dropped. A conflict without a choice is never
            resolved by guessing.

        Raises
        ------
        CacheConflictError
            When a shard has a conflict that ``keep`` does not resolve (nothing is rewritten).
        """
        chosen = _choices(keep)
        plans = []
        for model, op, path in self.shards():
            shard = _read_shard(path)
            picked = _resolve(shard, chosen.get(path.resolve(), set()))
            if shard.stats.corrupt or shard.stats.duplicates or picked:
                plans.append((model, op, path, picked))
        dropped: Counter = Counter()
        for model, op, path, picked in plans:
            with open(path, "a+b") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    shard = _read_shard(path)
                    _rewrite(shard, op, _resolve(shard, chosen.get(path.resolve(), set())))
                    dropped[f"{model}/{op} corrupt"] += len(shard.stats.corrupt)
                    dropped[f"{model}/{op} duplicates"] += shard.stats.duplicates
                    dropped[f"{model}/{op} conflicting"] += sum(len(v) - 1 for v in shard.stats.conflicts.values())
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        self._shards.clear()
        return dropped


def _record(key: str, op: str, value: Any, engine: str | None) -> dict:
    record = {"key": key, "op": op, "value": value, "check": _check(value)}
    return record if engine is None else {**record, "engine": engine}


def _choices(keep: Sequence[str]) -> dict[Path, set[int]]:
    """``path:line`` choices by shard."""
    chosen: dict[Path, set[int]] = {}
    for choice in keep:
        path, _, line = choice.rpartition(":")
        if not path or not line.isdigit():
            raise ValueError(f"--keep takes <shard path>:<line number>, got {choice!r}")
        chosen.setdefault(Path(path).resolve(), set()).add(int(line))
    return chosen


def _resolve(shard: _Shard, lines: set[int]) -> dict[str, int]:
    """The line kept for each conflicting key of a shard, from the chosen line numbers."""
    picked = {}
    for key, numbers in shard.stats.conflicts.items():
        mine = lines & set(numbers)
        if len(mine) != 1:
            raise CacheConflictError(shard.conflict_message() if not mine else
                                     f"{shard.path}: keep one line of key {key[:12]}, not {sorted(mine)}")
        picked[key] = mine.pop()
    return picked


def _rewrite(shard: _Shard, op: str, picked: dict[str, int]) -> None:
    """Write a shard's entries (the picked line's value for a conflicting key) and swap it in."""
    raw = shard.path.read_bytes().splitlines() if picked else []
    records = {key: _record(key, op, value, None) for key, value in shard.values.items()}
    with open(shard.path, "rb") as handle:  # keep each first line's engine
        for number, line in enumerate(handle, start=1):
            record = _parse(line)
            if record and shard.lines.get(record["key"]) == number:
                records[record["key"]] = record
    for key, number in picked.items():
        records[key] = _parse(raw[number - 1])
    fd, tmp = tempfile.mkstemp(dir=shard.path.parent, prefix=f".{shard.path.name}.", suffix=".repair")
    with os.fdopen(fd, "wb") as out:
        for record in records.values():
            out.write(canonical_json(record).encode() + b"\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, shard.path)


def _format_stats(rows: list[dict]) -> str:
    if not rows:
        return "the cache is empty"
    header = (f"{'model':<28} {'op':<10} {'engine':<18} {'entries':>8} {'corrupt':>8} {'dupes':>6} "
              f"{'conflicts':>9} {'MB':>7}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['model']:<28} {r['op']:<10} {r['engine']:<18} {r['entries']:>8} "
                     f"{r['corrupt']:>8} {r['duplicates']:>6} {r['conflicts']:>9} {r['bytes'] / 1e6:>7.2f}")
    shards = {(r["model"], r["op"]): r for r in rows}.values()
    lines.append(f"{'total':<58} {sum(r['entries'] for r in rows):>8} "
                 f"{sum(r['corrupt'] for r in shards):>8} {sum(r['duplicates'] for r in shards):>6} "
                 f"{sum(r['conflicts'] for r in shards):>9}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``stats`` or ``repair``."""
    parser = argparse.ArgumentParser(prog="python -m rgd_utils.llm.cache")
    parser.add_argument("command", choices=["stats", "check", "repair"])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--keep", action="append", default=[], metavar="SHARD:LINE",
                        help="repair: the line whose value to keep for a conflicting key")
    args = parser.parse_args(argv)
    cache = LLMCache(args.root, mode="readwrite")
    if args.command == "stats":
        rows = cache.stats()
        print(_format_stats(rows))
        if any(r["conflicts"] for r in rows):
            print("\n".join(["", *cache.problems()["conflicting"]]), file=sys.stderr)
            return 1
        return 0
    if args.command == "check":
        problems = [line for lines in cache.problems().values() for line in lines]
        print("\n".join(problems) or "no corrupt or conflicting line",
              file=sys.stderr if problems else sys.stdout)
        return 1 if problems else 0
    try:
        dropped = cache.repair(args.keep)
    except (CacheConflictError, ValueError) as error:
        print(error, file=sys.stderr)
        return 1
    print("\n".join(f"dropped {n} {what}" for what, n in sorted(dropped.items()) if n)
          or "nothing to repair")
    return 0


if __name__ == "__main__":
    sys.exit(main())
