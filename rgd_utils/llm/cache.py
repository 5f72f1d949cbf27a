"""A content-addressed, append-only, resumable cache of LLM calls.

Every call is keyed by the sha256 of everything that changes its output: the model's identity
(file digest or endpoint model id), the operation, the full prompt, the continuations or the
decoding parameters, and the seed. A changed parameter is therefore a miss, never a stale hit.

Layout: one JSON-lines shard per model and operation, ``<root>/<model>/<op>.jsonl``. Each line
is ``{"key", "op", "value", "check"}`` where ``check`` is a digest of the value. Lines are only
ever appended, under an exclusive ``flock`` (two processes can write the same shard), and each
append is one ``write`` followed by ``fsync``, so a process killed with ``kill -9`` loses at most
the call it was making. A torn or corrupt line (bad JSON, wrong digest) is counted, ignored and
recomputed on the next run; ``repair`` rewrites a shard without it.

Modes:

* ``"readwrite"`` (default): hits are returned, misses computed and appended;
* ``"replay"``: a miss raises :class:`CacheMissError` instead of running a model (``make all``
  on a fresh machine replays the committed cache and must not need any LLM);
* ``"off"``: nothing is read or written.

The mode defaults to the ``RGD_LLM_CACHE`` environment variable, else ``"readwrite"``.

Command line::

    python -m rgd_utils.llm.cache stats  [--root data/cache]
    python -m rgd_utils.llm.cache repair [--root data/cache]
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

MODES = ("readwrite", "replay", "off")
DEFAULT_ROOT = Path("data") / "cache"
#: The engine of an entry written before engines were recorded (all of them llama.cpp's or the
#: MiniLM encoder's).
UNRECORDED = "unrecorded"


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


@dataclass
class ShardStats:
    """What reading one shard found."""

    entries: int = 0
    corrupt: int = 0
    duplicates: int = 0


@dataclass
class _Shard:
    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    engines: dict[str, str] = field(default_factory=dict)  # key -> the engine recorded with it
    stats: ShardStats = field(default_factory=ShardStats)


def _read_shard(path: Path) -> _Shard:
    shard = _Shard(path)
    if not path.exists():
        return shard
    with open(path, "rb") as handle:
        for raw in handle:
            try:
                record = json.loads(raw)
                key, value = record["key"], record["value"]
                ok = record["check"] == _check(value)
            except (ValueError, KeyError, TypeError):
                ok = False
            if not ok:
                shard.stats.corrupt += 1
            elif key in shard.values:
                shard.stats.duplicates += 1
            else:
                shard.values[key] = value
                if record.get("engine"):
                    shard.engines[key] = record["engine"]
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

    def _path(self, model: str, op: str) -> Path:
        return self.root / _safe_name(model) / f"{_safe_name(op)}.jsonl"

    def _shard(self, model: str, op: str) -> _Shard:
        if (model, op) not in self._shards:
            self._shards[(model, op)] = _read_shard(self._path(model, op))
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
        """
        if self.mode == "off":
            return None
        value = self._shard(model, op).values.get(key)
        if value is None and self.mode == "replay":
            raise CacheMissError(
                f"replay mode: no cached {op} call {key[:12]} for model {model!r} in "
                f"{self._path(model, op)}. The committed cache does not cover this run: use the "
                "study's default parameters, or compute the missing calls with "
                "RGD_LLM_CACHE=readwrite (installs and runs the model; see the README)."
            )
        return value

    def put(self, model: str, op: str, key: str, value: Any, engine: str | None = None) -> None:
        """Append one computed call to its shard (atomically, under an exclusive lock); the
        engine that computed it, when given, is recorded beside it (``cache stats`` counts it)."""
        if self.mode == "off":
            return
        if self.mode == "replay":
            raise CacheMissError("replay mode never writes to the cache")
        path = self._path(model, op)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"key": key, "op": op, "value": value, "check": _check(value)}
        if engine:
            record["engine"] = engine
        line = canonical_json(record)
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
        shard = self._shard(model, op)
        shard.values[key] = value
        if engine:
            shard.engines[key] = engine

    def shards(self) -> Iterator[tuple[str, str, Path]]:
        """Yield ``(model, op, path)`` for every shard on disk, sorted."""
        for path in sorted(self.root.glob("*/*.jsonl")):
            yield path.parent.name, path.stem, path

    def stats(self) -> list[dict]:
        """Entries per model, operation and engine (``"unrecorded"`` for lines written before
        engines were recorded), with each shard's corrupt lines, duplicates and size on its
        first row (read fresh from disk)."""
        rows = []
        for model, op, path in self.shards():
            shard = _read_shard(path)
            engines = Counter(shard.engines.get(key, UNRECORDED) for key in shard.values) or Counter({UNRECORDED: 0})
            for i, (engine, entries) in enumerate(sorted(engines.items())):
                rows.append({"model": model, "op": op, "engine": engine, "entries": entries,
                             "corrupt": 0 if i else shard.stats.corrupt,
                             "duplicates": 0 if i else shard.stats.duplicates,
                             "bytes": 0 if i else path.stat().st_size})
        return rows

    def repair(self) -> Counter:
        """Rewrite every shard without its corrupt and duplicate lines; return what was dropped."""
        dropped: Counter = Counter()
        for model, op, path in self.shards():
            with open(path, "a+b") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    shard = _read_shard(path)
                    if shard.stats.corrupt or shard.stats.duplicates:
                        tmp = path.with_suffix(".jsonl.repair")
                        with open(tmp, "wb") as out:
                            for key, value in shard.values.items():
                                record = {"key": key, "op": op, "value": value, "check": _check(value)}
                                if key in shard.engines:
                                    record["engine"] = shard.engines[key]
                                out.write(canonical_json(record).encode() + b"\n")
                            out.flush()
                            os.fsync(out.fileno())
                        os.replace(tmp, path)
                        dropped[f"{model}/{op} corrupt"] += shard.stats.corrupt
                        dropped[f"{model}/{op} duplicates"] += shard.stats.duplicates
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        self._shards.clear()
        return dropped


def _format_stats(rows: list[dict]) -> str:
    if not rows:
        return "the cache is empty"
    header = (f"{'model':<28} {'op':<10} {'engine':<11} {'entries':>8} {'corrupt':>8} {'dupes':>6} "
              f"{'MB':>7}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['model']:<28} {r['op']:<10} {r['engine']:<11} {r['entries']:>8} "
                     f"{r['corrupt']:>8} {r['duplicates']:>6} {r['bytes'] / 1e6:>7.2f}")
    engines = Counter()
    for r in rows:
        engines[r["engine"]] += r["entries"]
    lines.append(f"{'total':<51} {sum(engines.values()):>8} {sum(r['corrupt'] for r in rows):>8}")
    lines += [f"{'  by ' + engine:<51} {n:>8}" for engine, n in sorted(engines.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``stats`` or ``repair``."""
    parser = argparse.ArgumentParser(prog="python -m rgd_utils.llm.cache")
    parser.add_argument("command", choices=["stats", "repair"])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    args = parser.parse_args(argv)
    cache = LLMCache(args.root, mode="readwrite")
    if args.command == "stats":
        print(_format_stats(cache.stats()))
    else:
        dropped = cache.repair()
        print("nothing to repair" if not dropped else
              "\n".join(f"dropped {n} {what}" for what, n in sorted(dropped.items()) if n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
