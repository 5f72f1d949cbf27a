"""Command line of the stage runner, which ``make`` calls::

    python -m rgd_utils.stages run   [STAGE ...] --preset cpu --out runs/cpu [--with-sim runs/sim] ...
    python -m rgd_utils.stages stale [STAGE ...] (the same options)

``run`` runs the stale notebooks (all, or the named stages and what they wait for); ``stale``
prints one line per notebook that ``run`` would run, with why, and runs nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rgd_utils.config import find_root
from rgd_utils.llm.cache import DEFAULT_ROOT, LLMCache

from .plan import Job, Settings, discover, needed, plan
from .run import Busy, run_jobs, take_lock
from .stamps import Digests, stale


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rgd_utils.stages")
    parser.add_argument("command", choices=["run", "stale"])
    parser.add_argument("stages", nargs="*", help="stage names (default: every notebook)")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--out", type=Path, default=None, help="default: runs/<preset>")
    parser.add_argument("--with-sim", type=Path, default=None, metavar="SIM_OUT",
                        help="run the simulated world first, into this folder")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--figures-dir", default="figures")
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--generators", default=None,
                        help="names, `none`, or empty for all (default: the preset's complete ones)")
    parser.add_argument("--nb-params", default="", help="papermill options: -p NAME VALUE, -y YAML, -f FILE")
    parser.add_argument("--pending", default="", help="notebooks left out")
    parser.add_argument("--jobs", type=int, default=2, help="analyses run side by side")
    return parser.parse_args(argv)


def _jobs(args: argparse.Namespace) -> list[Job]:
    """The jobs that ``make`` asked for: the simulated world's run first when asked, then the
    preset's; only the named stages (and what they wait for) when stages are named."""
    notebooks = discover(Path("notebooks"))
    common = dict(data_dir=args.data_dir, figures_dir=args.figures_dir, results_dir=args.results_dir,
                  overrides=args.nb_params, pending=tuple(args.pending.split()))
    before = []
    if args.with_sim is not None:
        before = plan(notebooks, Settings("sim", args.with_sim, **common))
    main = plan(notebooks, Settings(args.preset, args.out or Path("runs") / args.preset,
                                    generators=args.generators, **common), before)
    jobs = before + main
    return needed(jobs, args.stages) if args.stages else jobs


def check_cache(folder: Path) -> None:
    """Stop before any notebook runs on a cache line that cannot be trusted: a conflict always,
    a corrupt line when replaying (computing a run recomputes it, so then it is only reported)."""
    problems = LLMCache(folder).problems()
    replay = os.environ.get("RGD_LLM_CACHE", "readwrite") == "replay"
    fatal = problems["conflicting"] + (problems["corrupt"] if replay else [])
    if fatal:
        raise ValueError("the LLM cache has lines a run cannot use:\n" + "\n".join(fatal))
    for line in problems["corrupt"]:
        print(f"warning: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """``run`` or ``stale``; exit status 1 on a failed notebook, a bad setting or a held lock."""
    args = _arguments(argv)
    root = find_root()
    os.chdir(root)
    try:
        jobs = _jobs(args)
        if args.command == "stale":
            found = stale(jobs, Digests(root))
            for job in jobs:
                if job.key in found:
                    why = found[job.key]
                    more = f"; and {len(why) - 3} more" if len(why) > 3 else ""
                    print(f"{job.describe()}: {'; '.join(why[:3])}{more}")
            return 0
        lock = take_lock(root / "runs" / ".lock")
        check_cache(root / DEFAULT_ROOT)
        found = stale(jobs, Digests(root))
    except (ValueError, Busy, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    todo = [job for job in jobs if job.key in found]
    if not todo:
        print(f"all {len(jobs)} notebooks are current (`make stale` says why one would rerun)")
        return 0
    ok = run_jobs(todo, root, args.jobs)
    lock.close()
    if ok:
        print(f"{len(todo)} of {len(jobs)} notebooks ran; executed copies in "
              f"{', '.join(sorted({str(j.out) for j in todo}))}/")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
