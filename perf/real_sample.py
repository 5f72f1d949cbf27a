"""What the serving benchmarks share: their command line (a benchmark, how many of its real
questions, where the results go) and those questions, the first ones of the committed set."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from rgd_utils.benchmarks.store import read_questions
from rgd_utils.config import get_paths


def question_parser(description: str, questions: int, out: Path) -> argparse.ArgumentParser:
    """``--benchmark``, ``--questions`` and ``--out``, with these defaults; add the rest."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--benchmark", default="mmlu")
    parser.add_argument("--questions", type=int, default=questions)
    parser.add_argument("--out", type=Path, default=out)
    return parser


def real_sample(benchmark: str, n: int) -> pd.DataFrame:
    """The first ``n`` committed real questions of ``benchmark``."""
    real = read_questions(get_paths().questions, sources=["real"])
    return real[real["benchmark"] == benchmark].head(n)
