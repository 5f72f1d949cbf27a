"""Running stale notebooks through papermill: in order, analyses side by side, under a lock.

Each notebook runs in a kernel whose file access is traced (an IPython startup file loads
:mod:`rgd_utils.stages.trace`); when it succeeds its executed copy is renamed into place and its
stamp written. A failing cell stops the run and is named (:mod:`rgd_utils.notebook_failure`).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import IO

from rgd_utils.notebook_failure import describe_failure

from . import trace
from .plan import Job
from .stamps import Digests, read_trace, write_stamp

KERNEL = "rgd"
#: One thread per numeric library when notebooks run side by side (no spinning threads).
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Busy(RuntimeError):
    """Another run of the study holds the checkout's lock."""


def take_lock(path: Path) -> IO:
    """Hold ``path`` (an exclusive ``flock``, with this pid inside) or raise :class:`Busy` at once.

    The lock is released when the process ends, however it ends.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise Busy(f"another run of the study (pid {holder}) is running in this checkout "
                   f"(lock {path}); wait for it to finish, or stop it (kill {holder})") from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def command(job: Job, root: Path, partial: Path) -> list[str]:
    """The papermill command line of a job: its parameters as one YAML (JSON) mapping."""
    return [str(Path(sys.executable).parent / "papermill"), str(job.notebook.path), str(partial),
            "-k", KERNEL, "--cwd", str(root), "--no-progress-bar", "--log-level", "WARNING",
            "-y", json.dumps(job.parameters)]


def _environment(scratch: Path, root: Path, one_thread: bool) -> dict[str, str]:
    startup = scratch / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    log = scratch / "trace.log"
    (startup / "00_rgd_trace.py").write_text(
        "import importlib.util as _u\n"
        f"_s = _u.spec_from_file_location('rgd_stage_trace', {trace.__file__!r})\n"
        "_m = _u.module_from_spec(_s); _s.loader.exec_module(_m)\n"
        f"_m.install({str(log)!r}, {str(root)!r})\n"
        "del _u, _s, _m\n")
    env = {**os.environ, "IPYTHONDIR": str(scratch / "ipython"), trace.LOG_VARIABLE: str(log)}
    return {**env, **ONE_THREAD} if one_thread else env


def run_one(job: Job, root: Path, one_thread: bool) -> bool:
    """Run one notebook; on success rename its executed copy into place and stamp it."""
    job.out.mkdir(parents=True, exist_ok=True)
    partial = job.executed.with_suffix(".partial.ipynb")
    print(f"=== {job.notebook.path} (preset {job.preset})", flush=True)
    with tempfile.TemporaryDirectory(prefix="rgd-stage-") as scratch:
        env = _environment(Path(scratch), root, one_thread)
        done = subprocess.run(command(job, root, partial), cwd=root, env=env).returncode == 0
        if not done:
            print(f"\n*** {describe_failure(job.notebook.path, partial)}", file=sys.stderr, flush=True)
            return False
        traced = read_trace(Path(env[trace.LOG_VARIABLE]), root)
    partial.replace(job.executed)
    write_stamp(job, Digests(root), traced)
    return True


def run_jobs(jobs: list[Job], root: Path, parallel: int) -> bool:
    """Run ``jobs`` (each after the ones it waits for, each run after the run listed before it),
    ``parallel`` at a time; False on a failure (the jobs already started finish first)."""
    waiting, running, finished, failed = list(jobs), {}, set(), False
    runs = list(dict.fromkeys(j.out for j in jobs))

    def ready(job: Job) -> bool:
        earlier = runs[:runs.index(job.out)]
        return all(j.key in finished for j in jobs if j.key in job.after or j.out in earlier)

    with ThreadPoolExecutor(max_workers=max(parallel, 1)) as pool:
        while (waiting and not failed) or running:
            starting = [] if failed else [j for j in waiting if ready(j)][:max(parallel, 1) - len(running)]
            for job in starting:
                waiting.remove(job)
                running[pool.submit(run_one, job, root, parallel > 1)] = job
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                if future.result():
                    finished.add(job.key)
                else:
                    failed = True
    return not failed
