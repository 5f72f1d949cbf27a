"""Let several background workers share one list of commands without running any work twice.

A command does one or more units of work (say, one expert's answers to the generated items).
A worker claims a command by holding an exclusive ``flock`` on a file named after each of its
units; another worker finds one of them taken and moves on to the next command. Two commands
that share a unit are therefore never run at once, even when they are written differently
(``--experts A B`` against ``--experts B``, a list made before A was complete). The operating
system drops the locks when the worker's process ends, killed or not, so a restarted worker takes
the command up again (the commands themselves resume from the LLM cache). A command this worker
finished a moment ago is not taken again before ``cooldown`` seconds: a command that another
worker keeps feeding (answering the items a generator is still writing) is then run in batches,
not restarted back to back with a model load each time.
"""

from __future__ import annotations

import fcntl
import hashlib
import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO


class Claim:
    """One claimed command: the locks of its units are held until :meth:`release` (or the
    ``with`` block's end)."""

    def __init__(self, command: str, handles: list[IO[str]]) -> None:
        self.command = command
        self._handles = handles

    def release(self) -> None:
        """Drop the locks: another worker may take the command."""
        for handle in self._handles:
            if not handle.closed:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()

    def __enter__(self) -> "Claim":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class CommandClaims:
    """Which commands this worker may take now.

    Parameters
    ----------
    folder : Path
        Where the lock files live; every worker sharing the commands must use the same folder.
    cooldown : float, default 600
        Seconds during which a command this worker finished is not taken again.
    clock : callable, default time.monotonic
        The time source (a test passes its own).
    units : callable, default: the command itself
        ``command -> units of work`` it does (``llm_progress.command_units`` for ``llm_runs``).
    """

    def __init__(self, folder: Path, cooldown: float = 600.0, clock=time.monotonic,
                 units: Callable[[str], Sequence[str]] = lambda command: [command]) -> None:
        self.folder = Path(folder)
        self.cooldown = cooldown
        self.clock = clock
        self.units = units
        self._finished: dict[str, float] = {}

    def lock_path(self, unit: str) -> Path:
        """The lock file of a unit of work (named by a hash: units are long and hold spaces)."""
        return self.folder / f"{hashlib.sha256(unit.encode()).hexdigest()[:20]}.lock"

    def take(self, commands: Sequence[str]) -> Claim | None:
        """Claim the first command none of whose units another worker holds and that this
        worker did not finish within the cooldown; ``None`` when there is none."""
        self.folder.mkdir(parents=True, exist_ok=True)
        now = self.clock()
        for command in commands:
            if now - self._finished.get(command, -float("inf")) < self.cooldown:
                continue
            handles = []
            for unit in dict.fromkeys(self.units(command)):
                handle = open(self.lock_path(unit), "a+", encoding="utf-8")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    Claim(command, handles).release()
                    break
                handle.seek(0)
                handle.truncate()
                handle.write(f"{unit}\t{command}\n")
                handle.flush()
                handles.append(handle)
            else:
                return Claim(command, handles)
        return None

    def finished(self, command: str) -> None:
        """Note that this worker ran ``command`` to its end just now."""
        self._finished[command] = self.clock()


def run_command(command: str) -> int:
    """Run ``command`` in a child process and return its exit code. A worker stopped meanwhile
    (Ctrl-C, SIGTERM) passes SIGTERM on and waits, so the child stops its model servers."""
    child = subprocess.Popen(shlex.split(command))
    try:
        return child.wait()
    except BaseException:
        child.terminate()
        child.wait(timeout=90)
        raise
