"""Long LLM runs from the command line: they fill the cache, which the notebooks then replay.

Run them in the background; every finished call is in the cache at once, so a killed run
resumes where it stopped::

    nohup .venv/bin/python -m rgd_utils.llm_runs answer --split train --per-benchmark 60 \\
        --experts qwen2.5-coder-1.5b:letter qwen2.5-coder-1.5b:cloze > runs/answer.log 2>&1 &

Each run prints, per expert and benchmark, the accuracy it measured with its ``n``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from .benchmarks import read_questions, subsample
from .calibration import calibration_table, experts_above_chance
from .config import get_paths, get_preset
from .generation import description_for, generator_messages, generator_params, parse_generation, schedule
from .llm.cache import CacheMissError, LLMCache
from .llm.registry import load_model
from .responses import Expert, answer_questions


def select_questions(
    questions: pd.DataFrame, benchmarks: list[str], split: str | None, per_benchmark: int | None,
    seed: int,
) -> pd.DataFrame:
    """The questions of a run: some benchmarks, one split, at most ``per_benchmark`` each."""
    chosen = questions[questions["benchmark"].isin(benchmarks)]
    if split:
        chosen = chosen[chosen["split"] == split]
    if per_benchmark:
        chosen = subsample(chosen, per_benchmark, seed=seed)
    return chosen.reset_index(drop=True)


def run_answers(questions: pd.DataFrame, experts: list[Expert], cache: LLMCache) -> pd.DataFrame:
    """Every expert answers every question (one model load per model); returns the responses."""
    tables = []
    for model in dict.fromkeys(e.model for e in experts):
        llm = load_model(model, cache)
        for expert in (e for e in experts if e.model == model):
            start = time.perf_counter()
            table = answer_questions(llm, expert, questions, progress=False)
            seconds = time.perf_counter() - start
            merged = table.merge(questions[["qid", "benchmark"]], on="qid")
            summary = merged.groupby("benchmark")["correct"].agg(["mean", "size"])
            print(f"{expert.name}: {seconds:.0f} s for {len(table)} questions "
                  f"({llm.computed} computed, {llm.hits} cached so far)", flush=True)
            for benchmark, row in summary.iterrows():
                print(f"    {benchmark:<15} accuracy {row['mean']:.3f}  n={int(row['size'])}", flush=True)
            tables.append(table)
    return pd.concat(tables, ignore_index=True)


def run_generation(
    generator: str, subjects: dict[str, list[str]], per_benchmark: int, seed: int, cache: LLMCache,
) -> pd.DataFrame:
    """One generator writes ``per_benchmark`` questions per benchmark, round-robin over subjects.

    Returns one row per call (benchmark, subject, attempt, text, parsed, reason); parsing here
    is only for the progress report: notebook 01 parses and screens the cached texts itself.
    """
    llm = load_model(generator, cache)
    rows = []
    start = time.perf_counter()
    for i, call in enumerate(schedule(subjects, per_benchmark, seed), start=1):
        messages = generator_messages(description_for(call.benchmark, call.subject))
        text = llm.generate([messages], generator_params(call.attempt))[0].text
        parsed = parse_generation(text)
        rows.append({**call._asdict(), "text": text, "parsed": parsed.item is not None,
                     "reason": parsed.reason})
        if i % 10 == 0:
            done = pd.DataFrame(rows)
            print(f"{generator}: {i} calls, {done['parsed'].mean():.0%} parsed, "
                  f"{time.perf_counter() - start:.0f} s ({llm.computed} computed)", flush=True)
    return pd.DataFrame(rows)


def replay_answers(questions: pd.DataFrame, experts: list[Expert], cache_root: Path) -> tuple[pd.DataFrame, list[str]]:
    """Responses of the experts whose answers are all in the cache (replay mode: no model is
    loaded); the names of the experts with missing answers come back separately."""
    cache = LLMCache(cache_root, mode="replay")
    tables, missing = [], []
    for expert in experts:
        try:
            tables.append(answer_questions(load_model(expert.model, cache), expert, questions, progress=False))
        except CacheMissError:
            missing.append(expert.name)
    return (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()), missing


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m rgd_utils.llm_runs")
    sub = parser.add_subparsers(dest="command", required=True)
    answer = sub.add_parser("answer", help="pool experts answer real questions")
    answer.add_argument("--preset", default="cpu")
    answer.add_argument("--benchmarks", nargs="*", default=None)
    answer.add_argument("--split", choices=["train", "test"], default=None)
    answer.add_argument("--per-benchmark", type=int, default=None)
    answer.add_argument("--experts", nargs="+", required=True, help="<model>:<mode> names")
    answer.add_argument("--cache", type=Path, default=None)
    calibrate = sub.add_parser("calibrate", help="accuracy against chance, from the cache only")
    calibrate.add_argument("--preset", default="cpu")
    calibrate.add_argument("--benchmarks", nargs="*", default=None)
    calibrate.add_argument("--split", choices=["train", "test"], default="train")
    calibrate.add_argument("--per-benchmark", type=int, default=40)
    calibrate.add_argument("--experts", nargs="+", required=True)
    calibrate.add_argument("--cache", type=Path, default=None)
    generate = sub.add_parser("generate", help="a generator writes questions")
    generate.add_argument("--preset", default="cpu")
    generate.add_argument("--generator", required=True)
    generate.add_argument("--benchmarks", nargs="+", required=True)
    generate.add_argument("--per-benchmark", type=int, required=True)
    generate.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args(argv)
    preset = get_preset(args.preset)
    paths = get_paths()
    questions = read_questions(paths.questions, sources=["real"])
    if args.command == "calibrate":
        chosen = select_questions(questions, args.benchmarks or list(preset.benchmarks), args.split,
                                  args.per_benchmark, preset.seed)
        responses, missing = replay_answers(chosen, [Expert.parse(n) for n in args.experts],
                                            args.cache or paths.data / "cache")
        if missing:
            print("not (fully) in the cache, left out:", ", ".join(missing))
        if not responses.empty:
            table = calibration_table(responses, chosen)
            pd.set_option("display.width", 160)
            print(table.pivot(index="model", columns="benchmark", values="accuracy").round(3).to_string())
            print(table.pivot(index="model", columns="benchmark", values="above_chance").to_string())
            print(experts_above_chance(table).to_string())
        return 0
    if args.command == "generate":
        subjects = {b: sorted(questions.loc[questions["benchmark"] == b, "subject"].unique())
                    for b in args.benchmarks}
        cache = LLMCache(args.cache or paths.data / "cache")
        calls = run_generation(args.generator, subjects, args.per_benchmark, preset.seed, cache)
        print(calls.groupby("benchmark")["parsed"].agg(["mean", "size"]).to_string())
        return 0
    chosen = select_questions(questions, args.benchmarks or list(preset.benchmarks), args.split,
                              args.per_benchmark, preset.seed)
    cache = LLMCache(args.cache or paths.data / "cache")
    experts = [Expert.parse(name) for name in args.experts]
    print(f"{len(chosen)} questions x {len(experts)} experts; cache {cache.root} ({cache.mode})", flush=True)
    run_answers(chosen, experts, cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
