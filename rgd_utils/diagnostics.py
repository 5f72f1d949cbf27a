"""Generator diagnostics: self-consistency, performance spread, the filters built on them, and
ranking agreement (notebooks 03 and 04).

[OURS] The paper names the two properties of an effective generator (the paper's §1.4, §3) but its
formulas and thresholds were not retrievable; what follows is the project's operationalisation
of the paper's §3, on the study's tables:

* **questions** ``qid, benchmark, subject, question, options, answer, split, source``;
* **responses** ``qid, source, model, choice, confidence, raw, correct``.

Per generated query ``q`` with generated label ``â_q`` and a pool of ``M`` experts:

* self-consistency ``sc(q) = 1[G's own answer == â_q]``, G answering with the pool prompt; when
  G is not available as a solver, ``sc(q) = 1[â_q == pool majority]``;
* correctness ``c_m(q) = 1[m's answer == label]``, the label being ``â_q`` (``"generated"``) or
  the pool majority (``"consensus"``, label-free); ``n_right(q) = Σ_m c_m(q)`` and
  ``spread(q) = std_m c_m(q)`` (population std: 0 when the whole pool is right or wrong);
* filters: keep ``sc(q) == 1``; keep ``0 < n_right(q) < M``; or both.

A missing answer (null ``choice``) never matches anything: it counts as a wrong answer and casts
no vote. A missing response *row* is an error, never a silent zero.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

#: Labels a query's correctness can be measured against.
LABELS: tuple[str, ...] = ("generated", "consensus")
#: The filters of the paper's §3.3.
FILTERS: tuple[str, ...] = ("sc", "spread", "both")

_KEYS = ["qid", "source", "benchmark", "subject"]


def choice_matrix(responses: pd.DataFrame, qids: list[str], models: list[str]) -> pd.DataFrame:
    """Each model's answer to each query, as a wide table.

    Parameters
    ----------
    responses : pandas.DataFrame
        Responses (``qid, model, choice``), one row per query and model.
    qids : list of str
        The ``n`` queries, in row order.
    models : list of str
        The ``m`` models (expert names), in column order.

    Returns
    -------
    pandas.DataFrame
        ``(n, m)``, object letters, None where the model gave no answer.

    Raises
    ------
    ValueError
        If a (query, model) pair has no response row, or more than one.
    """
    chosen = responses[responses["qid"].isin(set(qids)) & responses["model"].isin(models)]
    repeated = chosen.duplicated(["qid", "model"])
    if repeated.any():
        raise ValueError(f"{int(repeated.sum())} (query, model) pairs have more than one response")
    wide = chosen.pivot(index="qid", columns="model", values="choice")
    present = chosen.assign(present=True).pivot(index="qid", columns="model", values="present")
    missing = present.reindex(index=qids, columns=models).isna()
    if missing.to_numpy().any():
        qid, model = missing.stack().loc[lambda s: s].index[0]
        raise ValueError(f"{int(missing.to_numpy().sum())} (query, model) pairs have no response, "
                         f"e.g. model {model!r} on {qid!r}")
    wide = wide.reindex(index=qids, columns=models).astype(object)
    return wide.where(wide.notna(), None)


def pool_majority(choices: pd.DataFrame) -> pd.Series:
    """The pool's majority letter per query; None when the top count is tied (no majority).

    Parameters
    ----------
    choices : pandas.DataFrame
        ``(n, m)`` answers (:func:`choice_matrix`); None casts no vote.

    Returns
    -------
    pandas.Series
        ``(n,)`` object, indexed like ``choices``: the most frequent letter if it is the only one
        with that count, else None (a tie, or no model answered).
    """
    values = choices.to_numpy(dtype=object)
    letters = sorted({v for v in values.ravel() if v is not None})
    majority = np.full(len(values), None, dtype=object)
    if letters:
        counts = np.stack([(values == letter).sum(axis=1) for letter in letters], axis=1)
        top = counts.max(axis=1)
        unique = (counts == top[:, None]).sum(axis=1) == 1
        majority[unique] = np.asarray(letters, dtype=object)[counts.argmax(axis=1)[unique]]
    return pd.Series(majority, index=choices.index, dtype=object)


def _agree(answers: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Elementwise ``answers == labels`` where both are present (broadcasting), as bool."""
    answers, labels = np.asarray(answers, dtype=object), np.asarray(labels, dtype=object)
    return (answers == labels) & pd.notna(answers) & pd.notna(labels)


def _as_object(values: object) -> pd.Series:
    """An object column with None for missing values (pandas would infer a string dtype, NaN)."""
    series = pd.Series(values, dtype=object)
    return series.where(series.notna(), None)


def _generated(questions: pd.DataFrame) -> pd.DataFrame:
    return questions[questions["source"] != "real"]


def self_consistency(
    questions: pd.DataFrame, responses: pd.DataFrame, generator_expert: str | None, pool: list[str]
) -> pd.DataFrame:
    """[OURS] Per generated query: does the generator stand by its own label?

    Parameters
    ----------
    questions : pandas.DataFrame
        Question table; only generated rows (``source != "real"``) are scored.
    responses : pandas.DataFrame
        Responses to those queries (of ``generator_expert``, or of the ``pool``).
    generator_expert : str or None
        The generator's expert name (its model answering with the pool prompt). Given: ``sc`` is
        1 when its answer equals the generated label (then ``questions`` must hold one generator's
        items). None: the fallback, ``sc`` is 1 when the label equals the pool majority; a tied
        top count means no majority, so ``sc`` is 0.
    pool : list of str
        The pool's expert names (used by the fallback only).

    Returns
    -------
    pandas.DataFrame
        One row per generated query: ``qid, source, benchmark, subject``, ``sc`` (int 0/1) and
        ``method`` (``"generator"`` or ``"pool-majority"``).
    """
    generated = _generated(questions).reset_index(drop=True)
    qids = generated["qid"].tolist()
    if generator_expert is not None:
        sources = sorted(set(generated["source"]))
        if len(sources) > 1:
            raise ValueError(f"one generator expert cannot score several generators: {sources}")
        answers, method = choice_matrix(responses, qids, [generator_expert]).iloc[:, 0], "generator"
    else:
        answers, method = pool_majority(choice_matrix(responses, qids, list(pool))), "pool-majority"
    table = generated[_KEYS].copy()
    table["sc"] = _agree(answers.to_numpy(), generated["answer"].to_numpy()).astype(int)
    table["method"] = _as_object([method] * len(table))
    return table


def _labelled_correctness(
    questions: pd.DataFrame, responses: pd.DataFrame, pool: list[str], label: str
) -> tuple[np.ndarray, pd.DataFrame]:
    """The label per query and ``c_m(q)`` as an ``(n, m)`` bool table indexed by qid."""
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}; choose one of {LABELS}")
    choices = choice_matrix(responses, questions["qid"].tolist(), list(pool))
    if label == "generated":
        target = questions["answer"].to_numpy(dtype=object)
    else:
        target = pool_majority(choices).to_numpy()
    correct = _agree(choices.to_numpy(dtype=object), target[:, None])
    return target, pd.DataFrame(correct, index=choices.index, columns=choices.columns)


def correctness(
    questions: pd.DataFrame, responses: pd.DataFrame, pool: list[str], label: str = "generated"
) -> pd.DataFrame:
    """``c_m(q)``: whether each pool model's answer equals the query's label.

    Parameters
    ----------
    questions : pandas.DataFrame
        Question table (any sources).
    responses : pandas.DataFrame
        The pool's responses to those queries.
    pool : list of str
        The ``m`` expert names.
    label : {"generated", "consensus"}
        The item's own answer (gold for real items, the generated label otherwise; a missing one
        makes every model wrong), or the pool majority (a tie makes every model wrong).

    Returns
    -------
    pandas.DataFrame
        ``(n, m)`` bool, indexed by qid in the order of ``questions``. Its column means are the
        per-model accuracies that :func:`ranking_agreement` compares.
    """
    return _labelled_correctness(questions, responses, pool, label)[1]


def performance_spread(
    questions: pd.DataFrame, responses: pd.DataFrame, pool: list[str], label: str = "generated"
) -> pd.DataFrame:
    """[OURS] Per query: how many pool models get it right, and how much they differ.

    Parameters
    ----------
    questions, responses, pool, label
        As in :func:`correctness`.

    Returns
    -------
    pandas.DataFrame
        One row per query, in the order of ``questions``: ``qid, source, benchmark, subject``,
        ``label`` (the letter measured against, None if none), ``n_right`` (Σ_m c_m),
        ``n_models`` (M) and ``spread`` (population std over models of c_m, in [0, 0.5]).
    """
    target, correct = _labelled_correctness(questions, responses, pool, label)
    values = correct.to_numpy()
    table = questions[_KEYS].reset_index(drop=True)
    table["label"] = _as_object(target)
    table["n_right"] = values.sum(axis=1)
    table["n_models"] = values.shape[1]
    table["spread"] = values.std(axis=1)
    return table


def query_diagnostics(
    questions: pd.DataFrame, responses: pd.DataFrame, pool: list[str],
    generator_experts: Mapping[str, str] | None = None, label: str = "generated",
) -> pd.DataFrame:
    """Self-consistency and spread of every query side by side (what the filters read).

    Parameters
    ----------
    questions, responses, pool, label
        As in :func:`performance_spread`.
    generator_experts : mapping of str to str, optional
        Generator name (``source``) -> its expert name in the responses. Generators left out
        are scored with the pool-majority fallback of :func:`self_consistency`.

    Returns
    -------
    pandas.DataFrame
        The :func:`performance_spread` table plus ``sc`` and ``method``; real queries have
        ``sc`` NaN and ``method`` None (self-consistency is a property of generated data).
    """
    experts = dict(generator_experts or {})
    generated = _generated(questions)
    parts = [self_consistency(generated[generated["source"] == source], responses,
                              experts.get(source), pool)
             for source in sorted(set(generated["source"]))]
    spread = performance_spread(questions, responses, pool, label)
    if not parts:
        return spread.assign(sc=np.nan, method=_as_object([None] * len(spread)))
    sc = pd.concat(parts, ignore_index=True)[["qid", "sc", "method"]]
    table = spread.merge(sc, on="qid", how="left", validate="one_to_one")
    table["method"] = _as_object(table["method"])
    return table


def dataset_diagnostics(
    questions: pd.DataFrame, responses: pd.DataFrame, pool: list[str],
    generator_experts: Mapping[str, str] | None = None, label: str = "generated",
) -> pd.DataFrame:
    """[OURS] Per dataset (source, benchmark): SC rate and the two views of spread.

    Parameters
    ----------
    questions, responses, pool, generator_experts, label
        As in :func:`query_diagnostics`.

    Returns
    -------
    pandas.DataFrame
        One row per ``(source, benchmark)``, sorted: ``n``; ``sc_rate`` (mean sc; NaN for real
        data) and ``sc_method``; ``mean_spread`` (mean per-query spread); ``accuracy_std``
        (population std across the pool of per-model accuracy on the dataset) and
        ``mean_accuracy`` (mean over the pool of that accuracy).
    """
    per_query = query_diagnostics(questions, responses, pool, generator_experts, label)
    correct = correctness(questions, responses, pool, label).to_numpy()
    rows = []
    for (source, benchmark), group in per_query.groupby(["source", "benchmark"], sort=True):
        accuracy = correct[group.index.to_numpy()].mean(axis=0)
        methods = group["method"].dropna().unique()
        rows.append({
            "source": source, "benchmark": benchmark, "n": len(group),
            "sc_rate": group["sc"].mean(), "sc_method": methods[0] if len(methods) else None,
            "mean_spread": group["spread"].mean(),
            "accuracy_std": accuracy.std(), "mean_accuracy": accuracy.mean(),
        })
    table = pd.DataFrame(rows)
    for column in ("source", "benchmark", "sc_method"):
        table[column] = _as_object(table[column])
    return table


def filter_queries(per_query: pd.DataFrame, how: str) -> pd.Series:
    """[OURS] The filters of the paper's §3.3: which queries to keep.

    Parameters
    ----------
    per_query : pandas.DataFrame
        Per-query diagnostics: ``sc`` for ``"sc"``, ``n_right`` and ``n_models`` for
        ``"spread"``, all three for ``"both"`` (:func:`query_diagnostics` has them).
    how : {"sc", "spread", "both"}
        ``"sc"`` keeps ``sc == 1`` (NaN is not kept); ``"spread"`` keeps ``0 < n_right < M``,
        dropping queries the whole pool gets right or wrong; ``"both"`` keeps what both keep.

    Returns
    -------
    pandas.Series
        ``(n,)`` bool mask, indexed like ``per_query``.
    """
    if how not in FILTERS:
        raise ValueError(f"unknown filter {how!r}; choose one of {FILTERS}")
    if how == "both":
        return filter_queries(per_query, "sc") & filter_queries(per_query, "spread")
    needs = ["sc"] if how == "sc" else ["n_right", "n_models"]
    absent = [c for c in needs if c not in per_query.columns]
    if absent:
        raise ValueError(f"filter {how!r} needs columns {absent}")
    if how == "sc":
        return per_query["sc"].eq(1).astype(bool)
    return (per_query["n_right"] > 0) & (per_query["n_right"] < per_query["n_models"])


def filter_summary(per_query: pd.DataFrame) -> pd.DataFrame:
    """Share of queries each filter keeps, per source and benchmark.

    Parameters
    ----------
    per_query : pandas.DataFrame
        :func:`query_diagnostics` output (``source, benchmark, sc, n_right, n_models``).

    Returns
    -------
    pandas.DataFrame
        One row per ``(source, benchmark)``, sorted: ``n`` and the kept fractions ``kept_sc``,
        ``kept_spread`` and ``kept_both``.
    """
    kept = pd.DataFrame({f"kept_{how}": filter_queries(per_query, how) for how in FILTERS})
    kept[["source", "benchmark"]] = per_query[["source", "benchmark"]]
    grouped = kept.groupby(["source", "benchmark"], sort=True)
    summary = grouped.mean()
    summary.insert(0, "n", grouped.size())
    return summary.reset_index()


def ranking_agreement(acc_generated: pd.Series, acc_real: pd.Series) -> tuple[float, float]:
    """Kendall τ-b between the pool's ranking on generated data and on real train data.

    Parameters
    ----------
    acc_generated, acc_real : pandas.Series
        Per-model accuracy (index: the same model names, any order), e.g. the column means of
        :func:`correctness` on the two datasets.

    Returns
    -------
    tau : float
        Kendall τ-b (ties handled), in [-1, 1]; NaN when one side is constant.
    p_value : float
        Two-sided p-value of ``scipy.stats.kendalltau``.
    """
    if set(acc_generated.index) != set(acc_real.index) or len(acc_real) != len(acc_generated):
        raise ValueError(f"the two accuracies name different models: {sorted(acc_generated.index)}"
                         f" vs {sorted(acc_real.index)}")
    if len(acc_real) < 2:
        raise ValueError("ranking agreement needs at least two models")
    generated = acc_generated.to_numpy(float)
    real = acc_real.loc[acc_generated.index].to_numpy(float)
    result = kendalltau(generated, real, variant="b")
    return float(result.statistic), float(result.pvalue)
