"""Atomic file writes: write to a temporary name of one's own beside the target, then rename.

Two processes writing the same file never share a temporary name (each gets its own from
``tempfile.mkstemp``), and a reader sees the old file or the new one, never a torn one.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a unique temporary path beside ``path``; rename it onto ``path`` when the block
    succeeds, remove it when it raises."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(name)
        os.chmod(name, 0o644)  # mkstemp creates 0600; written files are meant to be shared
        os.replace(name, path)
    finally:
        if os.path.exists(name):
            os.unlink(name)
