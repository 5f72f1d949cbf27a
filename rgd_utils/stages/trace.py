"""Record which files a notebook's kernel reads and writes, for the stamps of the stage runner.

:func:`install` adds a Python audit hook (``sys.addaudithook``) that sees every ``open`` and
rename of the process, and wraps pandas' parquet reader and writer, whose file access (native,
in pyarrow) the hook does not see. Each file under the repository root is appended to a log as ``r <path>``
or ``w <path>``. The runner loads this module in the kernel from an IPython startup file, by
its path: it uses the standard library only (and pandas when installed), never the package.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

#: The environment variable naming the log file; the root is the kernel's working folder.
LOG_VARIABLE = "RGD_TRACE_LOG"
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT


class _Log:
    """Appends each traced file once, as ``r <path>`` or ``w <path>``, relative to ``root``."""

    def __init__(self, path: Path, root: Path) -> None:
        self.root = str(root) + os.sep
        self.seen: set[tuple[str, str]] = set()
        self.busy = False
        self.handle = open(path, "a", encoding="utf-8", buffering=1)
        self.own = os.path.abspath(path)

    def record(self, kind: str, target: Any) -> None:
        if self.busy or not isinstance(target, (str, bytes, os.PathLike)):
            return
        self.busy = True  # writing the log opens nothing, but a nested event must not recurse
        try:
            path = os.path.abspath(os.fsdecode(target))
            if path.startswith(self.root) and path != self.own and (kind, path) not in self.seen:
                self.seen.add((kind, path))
                self.handle.write(f"{kind} {path[len(self.root):]}\n")
        finally:
            self.busy = False

    def hook(self, event: str, args: tuple) -> None:
        if event == "open":
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            self.record("w" if flags & _WRITE_FLAGS else "r", args[0])
        elif event == "os.rename":
            self.record("w", args[1])


def _wrap(function: Callable, log: _Log, kind: str, position: int) -> Callable:
    """``function``, recording its ``path`` argument (at ``position``, or by keyword)."""
    def traced(*args: Any, **kwargs: Any) -> Any:
        log.record(kind, args[position] if len(args) > position else kwargs.get("path"))
        return function(*args, **kwargs)
    return traced


def install(log_path: Path, root: Path) -> None:
    """Trace this process's file access under ``root`` into ``log_path``."""
    log = _Log(log_path, root)
    sys.addaudithook(log.hook)
    try:
        import pandas
    except ImportError:
        return
    pandas.read_parquet = _wrap(pandas.read_parquet, log, "r", 0)
    pandas.DataFrame.to_parquet = _wrap(pandas.DataFrame.to_parquet, log, "w", 1)
