"""Seconds per LoRA training step of the specialists' recipe, per base model, against
Gemma-3-270M (the specialists' base) measured in the same run.

What it tells: how long a specialist made from another packaged base would take to train
(steps = questions / batch size x passes). Each base trains the same real train questions
(OpenBookQA, short: the steps are as cheap as they get) with the committed recipe's settings,
twice in a row; the time of the second training is reported, so that model loading, GGUF
dequantisation and first-call warm-up are left out. Needs the specialists extra
(``make specialists-env``).

    .venv/bin/python perf/specialist_training_step.py --bases qwen2.5-coder-0.5b qwen2.5-coder-1.5b

Seen on 2 cores (AVX2, 2026-11-29): Gemma-3-270M 2.6 s per step of 8 questions, Qwen2.5-Coder-1.5B
14.8 s (5.7x).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rgd_utils.benchmarks import read_questions
from rgd_utils.config import get_paths
from rgd_utils.llm import packaged
from rgd_utils.pool import select_questions
from rgd_utils.specialists import Recipe
from rgd_utils.specialists.train import train_adapter

BASELINE = "gemma3-270m"


def seconds_per_step(base: str, questions, recipe: Recipe) -> float:
    """Training seconds per step of the second of two identical trainings of ``base``."""
    gguf = packaged.assemble(base)
    with tempfile.TemporaryDirectory() as folder:
        for run in ("warm-up", "timed"):
            summary = train_adapter(gguf, questions, recipe, Path(folder) / run, log=lambda line: None)
    return summary["seconds"] / summary["steps"]


def main() -> None:
    """Print seconds per step of each base and its ratio to the baseline's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bases", nargs="+", default=["qwen2.5-coder-1.5b"])
    parser.add_argument("--steps", type=int, default=2, help="steps per training (batches of 8)")
    args = parser.parse_args()
    recipe = Recipe(batch_size=8, warmup_steps=1, max_tokens=128)
    questions = select_questions(read_questions(get_paths().questions, sources=["real"]),
                                 ["openbookqa"], "train", 8 * args.steps, 0)
    baseline = seconds_per_step(BASELINE, questions, recipe)
    print(f"{BASELINE:<22} {baseline:6.1f} s per step (baseline)", flush=True)
    for base in args.bases:
        seconds = seconds_per_step(base, questions, recipe)
        print(f"{base:<22} {seconds:6.1f} s per step, {seconds / baseline:4.1f}x the baseline", flush=True)


if __name__ == "__main__":
    main()
