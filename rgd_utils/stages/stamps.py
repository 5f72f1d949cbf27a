"""The stamp of an executed notebook, and why a notebook is stale.

A stamp (``<out>/<notebook>.stamp.json``, written after a successful run) holds the value of
each of the notebook's parameters (given, or its default), digests of its code (the notebook,
each module of ``rgd_utils`` that its kernel imported, and ``pyproject.toml``, which pins the
environment), and the sha256 of every file under the repository that it read (inputs: the LLM
cache shards it replayed, the data it loaded) and wrote (outputs), as traced in its kernel
(:mod:`rgd_utils.stages.trace`). Digesting the imported modules only, not the whole package, keeps
an edit of code a notebook never runs (the LLM worker, the report) from making it stale. A notebook is stale when any
of these differs from what is on disk now, when an output is missing, or when a notebook it
waits for is stale.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, NamedTuple

from .plan import Job

_CODE = {"notebook": "the notebook changed", "environment": "pyproject.toml (the environment) changed"}
_PACKAGE = "rgd_utils/"
_CODE_FOLDERS = (_PACKAGE, "notebooks/")


class Trace(NamedTuple):
    """What a notebook's kernel touched, as paths relative to the repository root."""

    inputs: list[str]
    outputs: list[str]
    modules: list[str]


class Digests:
    """sha256 of files, each read once per instance."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._known: dict[Path, str | None] = {}

    def file(self, path: str | Path) -> str | None:
        """Digest of a file (relative to the root), None when it does not exist."""
        full = self.root / path
        if full not in self._known:
            self._known[full] = hashlib.sha256(full.read_bytes()).hexdigest() if full.is_file() else None
        return self._known[full]

    def code(self, job: Job, modules: list[str]) -> dict[str, Any]:
        """The notebook's, the environment's and each of ``modules``' digests."""
        return {"notebook": self.file(job.notebook.path), "environment": self.file("pyproject.toml"),
                "modules": {m: self.file(m) for m in modules}}


def _module_source(path: str) -> str:
    """``rgd_utils/a/__pycache__/b.cpython-311.pyc`` -> ``rgd_utils/a/b.py`` (others unchanged)."""
    folder, _, name = path.rpartition("/__pycache__/")
    return f"{folder}/{name.split('.')[0]}.py" if name.endswith(".pyc") else path


def read_trace(log: Path, root: Path) -> Trace:
    """The files read and written, from a trace log: existing files only, outside the package
    and the notebooks (a file both read and written counts as written), and the package's files
    that the kernel imported or read (compiled modules named by their source)."""
    read, written = set(), set()
    for line in log.read_text(encoding="utf-8").splitlines() if log.exists() else ():
        kind, _, path = line.partition(" ")
        (written if kind == "w" else read).add(path)

    def keep(paths: set[str]) -> list[str]:
        return sorted(p for p in paths if (root / p).is_file() and not p.startswith(_CODE_FOLDERS))
    modules = {_module_source(p) for p in read if p.startswith(_PACKAGE)}
    return Trace(keep(read - written), keep(written), sorted(m for m in modules if (root / m).is_file()))


def write_stamp(job: Job, digests: Digests, trace: Trace) -> None:
    """Record what ``job`` ran with (after it succeeded)."""
    stamp = {"parameters": job.effective_parameters(), "code": digests.code(job, trace.modules),
             "inputs": {p: digests.file(p) for p in trace.inputs},
             "outputs": {p: digests.file(p) for p in trace.outputs}}
    partial = job.stamp.with_name(job.stamp.name + ".partial")
    partial.write_text(json.dumps(stamp, indent=1, sort_keys=True, default=str) + "\n")
    partial.replace(job.stamp)


def _files(recorded: dict[str, str], digests: Digests, what: str) -> list[str]:
    reasons = []
    for path, digest in sorted(recorded.items()):
        now = digests.file(path)
        if now is None:
            reasons.append(f"{what} {path} is missing")
        elif now != digest:
            reasons.append(f"{what} {path} changed")
    return reasons


def _parameters(was: dict[str, Any], now: dict[str, Any]) -> list[str]:
    return [f"parameter {name}: {json.dumps(was.get(name))} -> {json.dumps(now.get(name))}"
            for name in sorted(set(was) | set(now))
            if json.dumps(was.get(name), default=str) != json.dumps(now.get(name), default=str)]


def _load(job: Job) -> dict | None:
    return json.loads(job.stamp.read_text()) if job.stamp.exists() else None


def reasons(job: Job, digests: Digests, stamp: dict | None, later: set[str] = frozenset()) -> list[str]:
    """Why ``job`` must run (empty when its executed copy is current); files in ``later``
    belong to notebooks that run after it (they write them) and are not checked."""
    if not job.executed.exists():
        return [f"never ran into {job.out}/"]
    if stamp is None:
        return ["no stamp (ran before stamps were kept)"]
    if "modules" not in stamp["code"]:
        return ["its stamp predates the digests of the modules it imports"]
    code = digests.code(job, list(stamp["code"]["modules"]))
    found = _parameters(stamp["parameters"], job.effective_parameters())
    found += [why for part, why in _CODE.items() if stamp["code"].get(part) != code[part]]
    found += _files(stamp["code"]["modules"], digests, "module")
    for what in ("inputs", "outputs"):
        files = {p: d for p, d in stamp[what].items() if p not in later}
        found += _files(files, digests, what[:-1])
    return found


def stale(jobs: list[Job], digests: Digests) -> dict[str, list[str]]:
    """The jobs that must run, with why, in order (a job after a stale one is stale too).

    A file written by several notebooks (07 of each run writes every table) belongs to the last
    one; a file that a notebook read but a later one writes (00 lists the generated questions
    that 01 writes) is that later notebook's output, not the earlier one's input.
    """
    stamps = [_load(job) for job in jobs]
    writer = {path: i for i, stamp in enumerate(stamps) if stamp for path in stamp["outputs"]}
    found: dict[str, list[str]] = {}
    for i, (job, stamp) in enumerate(zip(jobs, stamps)):
        why = reasons(job, digests, stamp, {p for p, w in writer.items() if w > i})
        upstream = [k for k in job.after if k in found]
        if not why and upstream:
            why = [f"runs after {', '.join(k.replace(':', ' ') for k in upstream)}"]
        if why:
            found[job.key] = why
    return found
