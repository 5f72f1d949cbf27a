"""Long LLM runs from the command line: they fill the cache, which the notebooks then replay.

Run them in the background; every finished call is in the cache at once, so a killed run
resumes where it stopped::

    nohup .venv/bin/python -m rgd_utils.llm_runs answer --split train --per-benchmark 60 \\
        --experts qwen2.5-coder-1.5b:letter qwen2.5-coder-1.5b:cloze > runs/answer.log 2>&1 &
    nohup .venv/bin/python -m rgd_utils.llm_runs generate --generator qwen2.5-coder-1.5b \\
        > runs/generate.log 2>&1 &

Each run prints, per expert and benchmark, the accuracy it measured with its ``n``.
``progress`` prints what share of the study the cache holds, ``todo`` the commands that
compute the rest, one per line, in the order to run them one after another, and ``work`` runs
them until none is left (a preset on vLLM starts each model's server on loopback itself)::

    .venv/bin/python -m rgd_utils.llm_runs todo --preset cpu
    nohup .venv/bin/python -m rgd_utils.llm_runs work --presets cpu cpu-specialists > runs/work.log 2>&1 &
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import pandas as pd

from .benchmarks import assign_split, read_questions
from .calibration import calibration_table, experts_above_chance
from .command_claims import CommandClaims, run_command
from .config import GeneratorSpec, Preset, get_paths, get_preset
from .generation import GenerationValidation, generation_report, validate_generated
from .generation.run import generate_records, train_subjects
from .llm.cache import CacheMissError, LLMCache
from .llm_progress import cached_generation, command_units, embedding_questions, study_progress, todo_commands
from .llm.registry import load_model
from .llm.vllm_server import exit_on_sigterm
from .pool import select_questions, study_questions
from .pool_report import pool_strength_tables
from .responses import Expert, answer_questions
from .results import write_table
from .specialists.guard import TrainedOnError, check_not_trained_on


def run_answers(questions: pd.DataFrame, experts: list[Expert], cache: LLMCache,
                engine: str | None = None) -> pd.DataFrame:
    """Every expert answers every question, one model at a time (a server started for a model
    stops before the next one starts); returns the responses."""
    tables = []
    for model in dict.fromkeys(e.model for e in experts):
        llm = load_model(model, cache, engine=engine)
        for expert in (e for e in experts if e.model == model):
            start = time.perf_counter()
            table = answer_questions(llm, expert, questions)
            seconds = time.perf_counter() - start
            merged = table.merge(questions[["qid", "benchmark"]], on="qid")
            summary = merged.groupby("benchmark")["correct"].agg(["mean", "size"])
            print(f"{expert.name}: {seconds:.0f} s for {len(table)} questions "
                  f"({llm.computed} computed, {llm.hits} cached so far)", flush=True)
            for benchmark, row in summary.iterrows():
                print(f"    {benchmark:<15} accuracy {row['mean']:.3f}  n={int(row['size'])}", flush=True)
            tables.append(table)
        llm.close()
    return pd.concat(tables, ignore_index=True)


def validated_generation(
    spec: GeneratorSpec, questions: pd.DataFrame, benchmarks: list[str], attempts: int, seed: int,
    cache: LLMCache, engine: str | None = None,
) -> GenerationValidation:
    """One generator makes (or replays) ``attempts`` calls per benchmark; the screened outcome."""
    llm = load_model(spec.model, cache, engine=engine)
    try:
        records = generate_records(llm, spec, train_subjects(questions, benchmarks), seed, attempts)
    finally:
        llm.close()
    return validate_generated(records, questions)


def run_generation(
    spec: GeneratorSpec, questions: pd.DataFrame, benchmarks: list[str], attempts: int, seed: int,
    cache: LLMCache, engine: str | None = None,
) -> pd.DataFrame:
    """The per-benchmark report (attempts, parsed, kept after screening) of
    :func:`validated_generation`."""
    return generation_report(validated_generation(spec, questions, benchmarks, attempts, seed, cache,
                                                  engine))


def replay_answers(questions: pd.DataFrame, experts: list[Expert], cache_root: Path,
                   engine: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Responses of the experts whose answers are all in the cache (replay mode: no model is
    loaded); the names of the experts with missing answers come back separately."""
    cache = LLMCache(cache_root, mode="replay")
    tables, missing = [], []
    for expert in experts:
        try:
            tables.append(answer_questions(load_model(expert.model, cache, engine=engine), expert,
                                           questions, progress=False))
        except CacheMissError:
            missing.append(expert.name)
    return (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()), missing


def real_questions(preset: Preset, folder: Path) -> pd.DataFrame:
    """The real questions with the preset's own train/test split (the committed files hold the
    default study's)."""
    return assign_split(read_questions(folder, sources=["real"]), preset.train_fraction, preset.seed)


def work(presets: Sequence[str], python: str, cache_root: Path | None = None, poll: float = 300.0) -> int:
    """Run every preset's missing LLM calls to the end: the first ``todo`` command whose work
    no other worker is doing (:class:`CommandClaims` on :func:`command_units`), the presets taken
    in order (a later preset's work when all of an earlier one's is taken), each command in a
    process of its own, then ``todo`` again (commands resume from the cache, so a killed worker
    restarted later goes on where it stopped). Several workers may run side by side, one per
    core or GPU. Stops at a command that fails twice in a row."""
    failures: dict[str, int] = {}
    paths = get_paths()
    claims = CommandClaims(paths.runs / "claims", units=command_units)
    cache = cache_root or paths.data / "cache"
    studies = [(preset, real_questions(preset, paths.questions)) for preset in map(get_preset, presets)]
    done: set[str] = set()
    while True:
        claim, waiting = None, False
        for preset, questions in studies:
            if preset.name in done:
                continue
            commands = todo_commands(preset, study_progress(preset, questions, cache), python)
            if not commands:
                done.add(preset.name)
                print(f"{preset.name}: every LLM call is in the cache", flush=True)
                continue
            claim = claims.take(commands)
            if claim is not None:
                break
            waiting = True  # the rest of this preset runs in other workers, or was just run here
        if claim is None:
            if not waiting:
                return 0
            time.sleep(poll)
            continue
        with claim:
            print(f"[{time.strftime('%H:%M:%S')}] {claim.command}", flush=True)
            failed = run_command(claim.command) != 0
        failures[claim.command] = failures.get(claim.command, 0) + 1 if failed else 0
        if failures[claim.command] >= 2:
            print(f"failed twice, stopping: {claim.command}", flush=True)
            return 1
        if failed:  # wait out what may pass (memory held by another worker's server)
            time.sleep(poll)
        else:
            claims.finished(claim.command)


def run_embeddings(preset: Preset, questions: pd.DataFrame, cache_root: Path) -> int:
    """Embed the study's real questions and the generated items kept so far; returns how many
    vectors the cache now holds for them (computing the missing ones)."""
    from .embeddings import embed_questions, encoder_for

    vectors = embed_questions(embedding_questions(preset, questions, cached_generation(preset, questions, cache_root)[1]),
                              encoder_for(preset.embedder, preset.engine), LLMCache(cache_root),
                              progress="embedding questions")
    return len(vectors)


def pool_tables(preset: Preset, questions: pd.DataFrame, experts: list[Expert], cache_root: Path,
                test_only: bool = False) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """A pool's measured strength, from the cache only: each expert's real test accuracy per
    benchmark (95% Wilson interval), the gain of choosing an expert per benchmark over the best
    single one, and, when the pool holds specialists, each one against its base and the
    strongest other expert.

    With train answers, the expert per benchmark and the best single expert are chosen on
    train (and the routing headroom is measured). The specialists of the pool, if they cover
    every study benchmark, are also scored as chosen by design (each on its own domain) against
    the best single expert in hindsight on test.

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        ``"accuracy"`` (expert × benchmark cells), and, when they apply, ``"domain_choice"``
        (one row per way of choosing), ``"headroom"`` and ``"specialists"``
        (:func:`rgd_utils.specialists.compare.specialist_comparison`).
    missing : list of str
        Experts without all their answers in the cache, left out.
    """
    splits = (("test", preset.n_test),) if test_only else (("train", preset.n_train), ("test", preset.n_test))
    real = pd.concat([select_questions(questions, list(preset.study_benchmarks), split, n, preset.seed)
                      for split, n in splits])
    responses, missing = replay_answers(real, experts, cache_root, preset.engine)
    if responses.empty:
        return {}, missing
    return pool_strength_tables(preset, real, responses, test_only), missing


def print_pool(preset: Preset, questions: pd.DataFrame, experts: list[Expert], cache_root: Path,
               test_only: bool = False, tables_dir: Path | None = None) -> int:
    """Print :func:`pool_tables` (and write them as ``pool_<table>_<preset>`` CSV, Markdown and
    LaTeX files into ``tables_dir`` when given); 1 if no expert has its answers cached."""
    tables, missing = pool_tables(preset, questions, experts, cache_root, test_only)
    if missing:
        print("not (fully) in the cache, left out:", ", ".join(missing))
    if not tables:
        return 1
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 20)
    for name, table in tables.items():
        print(f"\n{name}:\n{table.to_string()}")
        if tables_dir is not None:
            print("wrote", *write_table(table, tables_dir, f"pool_{name}_{preset.name}"))
    return 0


def _part(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)``, with ``0 <= K < N``."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 0/2, got {text!r}") from None
    if not 0 <= k < n:
        raise argparse.ArgumentTypeError(f"K/N needs 0 <= K < N, got {text!r}")
    return k, n


def _parser() -> argparse.ArgumentParser:
    """The command line's parser: one subcommand per kind of run."""
    parser = argparse.ArgumentParser(prog="python -m rgd_utils.llm_runs")
    sub = parser.add_subparsers(dest="command", required=True)
    answer = sub.add_parser("answer", help="pool experts answer real questions")
    answer.add_argument("--preset", default="cpu")
    answer.add_argument("--benchmarks", nargs="*", default=None)
    answer.add_argument("--split", choices=["train", "test"], default=None)
    answer.add_argument("--per-benchmark", type=int, default=None)
    answer.add_argument("--experts", nargs="+", required=True, help="<model>:<mode> names")
    answer.add_argument("--generator", default=None,
                        help="answer this generator's screened items instead of real questions")
    answer.add_argument("--real", action="store_true",
                        help="answer the preset's real train and test samples")
    answer.add_argument("--generated", action="store_true",
                        help="answer every generator's screened items (the calls cached so far)")
    answer.add_argument("--attempts", type=int, default=None,
                        help="with --generator: its calls per benchmark (default: the preset's)")
    answer.add_argument("--part", type=_part, default=None, metavar="K/N",
                        help="answer every N-th of the chosen questions from the K-th (0-based): "
                             "N processes with parts 0/N..N-1/N share one long command")
    answer.add_argument("--cache", type=Path, default=None)
    calibrate = sub.add_parser("calibrate", help="accuracy against chance, from the cache only")
    calibrate.add_argument("--preset", default="cpu")
    calibrate.add_argument("--benchmarks", nargs="*", default=None)
    calibrate.add_argument("--split", choices=["train", "test"], default="train")
    calibrate.add_argument("--per-benchmark", type=int, default=40)
    calibrate.add_argument("--experts", nargs="+", required=True)
    calibrate.add_argument("--cache", type=Path, default=None)
    generate = sub.add_parser("generate", help="a generator of the preset writes questions")
    generate.add_argument("--preset", default="cpu")
    generate.add_argument("--generator", required=True, help="a generator name of the preset")
    generate.add_argument("--benchmarks", nargs="*", default=None)
    generate.add_argument("--attempts", type=int, default=None,
                          help="calls per benchmark (default: the preset's)")
    generate.add_argument("--cache", type=Path, default=None)
    progress = sub.add_parser("progress", help="share of the preset's LLM calls in the cache")
    progress.add_argument("--preset", default="cpu")
    progress.add_argument("--cache", type=Path, default=None)
    todo = sub.add_parser("todo", help="the commands that compute what the cache is missing, in order")
    todo.add_argument("--preset", default="cpu")
    todo.add_argument("--python", default=".venv/bin/python", help="the interpreter of the commands")
    todo.add_argument("--cache", type=Path, default=None)
    pool = sub.add_parser("pool", help="a pool's test accuracy with intervals, and the gain of "
                          "choosing an expert per benchmark (from the cache only)")
    pool.add_argument("--preset", default="cpu")
    pool.add_argument("--experts", nargs="+", default=None, help="default: the preset's pool")
    pool.add_argument("--test-only", action="store_true", help="without train answers")
    pool.add_argument("--cache", type=Path, default=None)
    pool.add_argument("--tables", type=Path, default=None,
                      help="also write the tables (CSV, Markdown, LaTeX) into this folder")
    worker = sub.add_parser("work", help="run the todo commands of presets until none is left "
                            "(resumable; run it in the background with nohup; several workers share the "
                            "commands, one per core or GPU)")
    worker.add_argument("--presets", nargs="+", default=["cpu"])
    worker.add_argument("--python", default=sys.executable, help="the interpreter of the commands")
    worker.add_argument("--cache", type=Path, default=None)
    embed = sub.add_parser("embed", help="embed the study's questions (real, and generated so far)")
    embed.add_argument("--preset", default="cpu")
    embed.add_argument("--cache", type=Path, default=None)
    return parser


def _calibrate(args: argparse.Namespace, preset: Preset, questions: pd.DataFrame,
               cache_root: Path) -> int:
    """Print the experts' accuracy against chance, from the cache only."""
    chosen = select_questions(questions, args.benchmarks or list(preset.benchmarks), args.split,
                              args.per_benchmark, preset.seed)
    responses, missing = replay_answers(chosen, [Expert.parse(n) for n in args.experts],
                                        cache_root, preset.engine)
    if missing:
        print("not (fully) in the cache, left out:", ", ".join(missing))
    if not responses.empty:
        table = calibration_table(responses, chosen)
        pd.set_option("display.width", 160)
        print(table.pivot(index="model", columns="benchmark", values="accuracy").round(3).to_string())
        print(table.pivot(index="model", columns="benchmark", values="above_chance").to_string())
        print(experts_above_chance(table).to_string())
    return 0


def _answer(args: argparse.Namespace, preset: Preset, questions: pd.DataFrame,
            cache_root: Path) -> int:
    """Let the experts answer the chosen questions, filling the cache."""
    cache = LLMCache(cache_root)
    if args.real:
        chosen = study_questions(questions, replace(preset, generators=()), preset.n_train, preset.n_test)
    elif args.generated:
        chosen = cached_generation(preset, questions, cache.root)[1]
    elif args.generator:
        spec = preset.generator(args.generator)
        chosen = validated_generation(spec, questions, args.benchmarks or list(preset.study_benchmarks),
                                      args.attempts or spec.attempts, preset.seed, cache,
                                      preset.engine).kept
    else:
        chosen = select_questions(questions, args.benchmarks or list(preset.benchmarks), args.split,
                                  args.per_benchmark, preset.seed)
    if args.part:
        chosen = chosen.iloc[args.part[0]::args.part[1]]
    experts = [Expert.parse(name) for name in args.experts]
    try:
        # the adapters load_model serves: those beside the cache
        check_not_trained_on([e.model for e in experts], chosen, cache.root.parent)
    except TrainedOnError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(chosen)} questions x {len(experts)} experts; cache {cache.root} ({cache.mode})", flush=True)
    run_answers(chosen, experts, cache, preset.engine)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    args = _parser().parse_args(argv)
    exit_on_sigterm()
    if args.command == "work":
        return work(args.presets, args.python, args.cache)
    preset = get_preset(args.preset)
    paths = get_paths()
    questions = real_questions(preset, paths.questions)
    cache_root = args.cache or paths.data / "cache"
    if args.command == "progress":
        table = study_progress(preset, questions, cache_root)
        table["share"] = (table["cached"] / table["needed"].clip(lower=1)).round(3)
        print(table.to_string(index=False))
        return 0
    if args.command == "todo":
        print("\n".join(todo_commands(preset, study_progress(preset, questions, cache_root),
                                      args.python)))
        return 0
    if args.command == "embed":
        print(f"{run_embeddings(preset, questions, cache_root):,} question vectors in the cache")
        return 0
    if args.command == "pool":
        return print_pool(preset, questions, [Expert.parse(n) for n in args.experts or preset.experts],
                          cache_root, args.test_only, args.tables)
    if args.command == "calibrate":
        return _calibrate(args, preset, questions, cache_root)
    if args.command == "generate":
        spec = preset.generator(args.generator)
        report = run_generation(spec, questions, args.benchmarks or list(preset.study_benchmarks),
                                args.attempts or spec.attempts, preset.seed,
                                LLMCache(cache_root), preset.engine)
        pd.set_option("display.width", 200)
        print(report.to_string())
        return 0
    return _answer(args, preset, questions, cache_root)


if __name__ == "__main__":
    sys.exit(main())
