"""The study's pool at work: which questions it answers, how its experts agree, how much room
there is to route among them (notebook 02)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .benchmarks import subsample
from .config import Preset


def select_questions(
    questions: pd.DataFrame, benchmarks: list[str], split: str | None, per_benchmark: int | None,
    seed: int,
) -> pd.DataFrame:
    """The questions of some benchmarks and one split, at most ``per_benchmark`` each.

    The sample is chosen by a seeded hash of the question id, so a smaller sample is part of a
    larger one (its LLM calls are in the cache once the larger one ran).
    """
    chosen = questions[questions["benchmark"].isin(benchmarks)]
    if split:
        chosen = chosen[chosen["split"] == split]
    if per_benchmark:
        chosen = subsample(chosen, per_benchmark, seed=seed)
    return chosen.reset_index(drop=True)


def study_questions(
    questions: pd.DataFrame, preset: Preset, n_train: int | None, n_test: int | None
) -> pd.DataFrame:
    """Every question the pool answers: real train and test samples and generated items.

    Parameters
    ----------
    questions : pandas.DataFrame
        The question dataset (real and generated sources).
    preset : Preset
        Gives the study benchmarks, the seed and the generators' names.
    n_train, n_test : int or None
        Real questions per benchmark and split (None: all).

    Returns
    -------
    pandas.DataFrame
        Real train, real test, then every generated item of the preset's generators on the
        study benchmarks.
    """
    benchmarks = list(preset.study_benchmarks)
    real = questions[questions["source"] == "real"]
    parts = [select_questions(real, benchmarks, split, n, preset.seed)
             for split, n in (("train", n_train), ("test", n_test))]
    generators = [g.name for g in preset.generators]
    parts.append(questions[questions["source"].isin(generators) & questions["benchmark"].isin(benchmarks)])
    return pd.concat(parts, ignore_index=True)


def agreement_matrix(responses: pd.DataFrame, experts: list[str]) -> pd.DataFrame:
    """Share of questions on which two experts give the same (non-null) choice.

    Parameters
    ----------
    responses : pandas.DataFrame
        Responses (``qid, model, choice``) of the experts to the same questions.
    experts : list of str
        Row and column order.

    Returns
    -------
    pandas.DataFrame
        ``(m, m)``, symmetric, 1 on the diagonal for experts that always answer; a question
        that one of the two leaves unanswered counts as a disagreement.
    """
    choices = responses.pivot(index="qid", columns="model", values="choice")[experts]
    values = choices.to_numpy(dtype=object)
    answered = pd.notna(choices).to_numpy()
    m = len(experts)
    same = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            same[i, j] = np.mean(answered[:, i] & answered[:, j] & (values[:, i] == values[:, j]))
    return pd.DataFrame(same, index=experts, columns=experts)


def routing_headroom(responses: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Per benchmark: the best single expert (chosen on train) against the per-query oracle.

    Parameters
    ----------
    responses : pandas.DataFrame
        Responses (``qid, model, correct``) of every expert to the real questions.
    real : pandas.DataFrame
        The real questions (``qid, benchmark, split``), train and test.

    Returns
    -------
    pandas.DataFrame
        One row per benchmark: ``n_test``; ``best_expert`` (highest train accuracy; ties go
        to the first in name order) and its ``best_expert_test`` accuracy; ``best_in_hindsight``
        (the highest test accuracy of any expert); ``oracle`` (share of test questions that
        some expert gets right) and ``headroom`` (oracle minus best_expert_test).
    """
    merged = responses.merge(real[["qid", "benchmark", "split"]], on="qid")
    merged["hit"] = merged["correct"].fillna(False).astype(bool)
    rows = []
    for benchmark, group in merged.groupby("benchmark", sort=True):
        accuracy = group.groupby(["split", "model"])["hit"].mean()
        train, test = accuracy.loc["train"], accuracy.loc["test"]
        best = train[train == train.max()].index.min()
        oracle = group[group["split"] == "test"].groupby("qid")["hit"].any()
        rows.append({
            "benchmark": benchmark, "n_test": len(oracle), "best_expert": best,
            "best_expert_test": float(test[best]), "best_in_hindsight": float(test.max()),
            "oracle": float(oracle.mean()), "headroom": float(oracle.mean() - test[best]),
        })
    return pd.DataFrame(rows).set_index("benchmark")


def domain_choice_gain(
    responses: pd.DataFrame,
    real: pd.DataFrame,
    assignment: dict[str, str] | None = None,
    single_chosen_on: str = "train",
    random_state: int = 0,
) -> dict:
    """Does choosing the expert per benchmark beat the best single expert, on the test split?

    The expert per benchmark is ``assignment`` when given (chosen by design, e.g. each
    specialist for its own domain), else the most accurate on the train split. The best single
    expert is the most accurate over all benchmarks on ``single_chosen_on``: ``"train"``, or
    ``"test"`` (in hindsight, which favours it: a gain against it is conservative). Ties go to
    the first name in order. Both are scored on the same test questions, and their difference
    gets a paired bootstrap interval over questions.

    Parameters
    ----------
    responses : pandas.DataFrame
        Responses (``qid, model, correct``) of every expert to the real questions.
    real : pandas.DataFrame
        The real questions (``qid, benchmark, split``).
    assignment : dict of str to str, optional
        Benchmark -> expert.
    single_chosen_on : {"train", "test"}, default "train"
        Where the best single expert is chosen.
    random_state : int, default 0
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``best_single`` (expert) and ``per_benchmark`` (benchmark -> expert); their test
        accuracies ``best_single_test`` and ``per_benchmark_test``; ``gain`` with ``low`` and
        ``high`` (95% interval); ``n_test``.
    """
    from .evaluation import bootstrap_difference

    if single_chosen_on not in ("train", "test"):
        raise ValueError(f"single_chosen_on must be 'train' or 'test', got {single_chosen_on!r}")
    merged = responses.merge(real[["qid", "benchmark", "split"]], on="qid")
    merged["hit"] = merged["correct"].fillna(False).astype(bool)
    test = merged[merged["split"] == "test"].pivot(index="qid", columns="model", values="hit")
    benchmark_of = real.set_index("qid")["benchmark"].loc[test.index]

    def best(rows: pd.DataFrame) -> str:
        accuracy = rows.groupby("model")["hit"].mean()
        return str(accuracy[accuracy == accuracy.max()].index.min())

    single = best(merged[merged["split"] == single_chosen_on])
    chosen = dict(assignment) if assignment is not None else {
        str(b): best(rows) for b, rows in merged[merged["split"] == "train"].groupby("benchmark", sort=True)}
    per_benchmark = np.array([test.at[q, chosen[b]] for q, b in zip(test.index, benchmark_of)],
                             dtype=float)
    gain, low, high = bootstrap_difference(per_benchmark, test[single].to_numpy(dtype=float),
                                           random_state=random_state)
    return {"best_single": single, "per_benchmark": chosen,
            "best_single_test": float(test[single].mean()),
            "per_benchmark_test": float(per_benchmark.mean()),
            "gain": gain, "low": low, "high": high, "n_test": len(test)}
