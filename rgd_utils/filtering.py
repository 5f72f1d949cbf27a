"""Generator diagnostics per dataset, the filtered train sets, and what filtering gains
(notebooks 03 and 04).

[OURS] The paper's §3 names self-consistency and performance spread and says that filtering the
generated data on them helps, but its formulas and thresholds were not retrievable. The per-query
quantities and the filters are those of :mod:`rgd_utils.diagnostics`; this module adds

* the per-dataset rates with their uncertainty (:func:`self_consistency_rates`, Wilson
  intervals; :func:`spread_summary`, bootstrap intervals);
* the paper's "does generated data rank the pool like real data does" question
  (:func:`ranking_agreement_table`, Kendall τ-b per generator and benchmark);
* the filtered train sets (:func:`keep_mask`, :func:`filtered_questions`) and the routers trained
  on them, scored on the real test split with paired bootstrap differences against the
  unfiltered set (:func:`evaluate_filters`).
"""

from __future__ import annotations

import warnings
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone

from .calibration import wilson_interval
from .diagnostics import (
    FILTERS, correctness, dataset_diagnostics, filter_queries, query_diagnostics,
    ranking_agreement, self_consistency,
)
from .evaluation import (
    bootstrap_difference,
    bootstrap_interval,
    evaluate_router,
    fitted_router_correct,
)
from .routers.base import Router, RoutingData

#: Every train condition of the filtering study: unfiltered, then the filters of the paper's §3.3.
FILTER_CHOICES: tuple[str, ...] = ("none", *FILTERS)


def self_consistency_rates(
    questions: pd.DataFrame, responses: pd.DataFrame, pool: Sequence[str],
    generator_experts: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """[OURS] Self-consistency rate of each generated dataset, by every available method.

    Every (generator, benchmark) gets the pool-majority fallback; a generator that is also a
    pool expert (``generator_experts``) also gets its own answers ("generator"), so that the two
    can be compared.

    Parameters
    ----------
    questions : pandas.DataFrame
        Question table; only generated rows (``source != "real"``) are scored.
    responses : pandas.DataFrame
        Responses of the pool and of the generators' experts to those queries.
    pool : sequence of str
        The ``m`` pool experts (the fallback's majority).
    generator_experts : mapping of str to str, optional
        Generator name (``source``) -> its expert name (e.g. ``Study.generator_experts``).

    Returns
    -------
    pandas.DataFrame
        One row per ``(source, benchmark, method)``, sorted: ``n`` (generated queries),
        ``consistent`` (those with ``sc = 1``), ``sc_rate`` and its 95% Wilson interval
        ``low, high``. ``method`` is ``"generator"`` or ``"pool-majority"``.
    """
    experts = dict(generator_experts or {})
    generated = questions[questions["source"] != "real"]
    parts = []
    for source in sorted(set(generated["source"])):
        own = generated[generated["source"] == source]
        parts.append(self_consistency(own, responses, None, list(pool)))
        if source in experts:
            parts.append(self_consistency(own, responses, experts[source], list(pool)))
    columns = ["source", "benchmark", "method", "n", "consistent", "sc_rate", "low", "high"]
    if not parts:
        return pd.DataFrame(columns=columns)
    rows = []
    per_query = pd.concat(parts, ignore_index=True)
    for (source, benchmark, method), group in per_query.groupby(["source", "benchmark", "method"],
                                                                sort=True):
        n, hits = len(group), int(group["sc"].sum())
        rows.append((source, benchmark, method, n, hits, hits / n, *wilson_interval(hits, n)))
    return pd.DataFrame(rows, columns=columns)


def ranking_agreement_table(
    questions: pd.DataFrame, responses: pd.DataFrame, pool: Sequence[str],
) -> pd.DataFrame:
    """Kendall τ-b between the pool's ranking on each generated dataset and on real train data.

    Per benchmark, each model's accuracy on the real **train** queries (against gold) is compared
    with its accuracy on each generator's queries of that benchmark (against the generated label):
    τ = 1 when generated data order the pool exactly as real data do.

    Parameters
    ----------
    questions : pandas.DataFrame
        Question table with the real train split and generated items (test rows are ignored).
    responses : pandas.DataFrame
        The pool's responses to them.
    pool : sequence of str
        The ``m`` experts (at least two).

    Returns
    -------
    pandas.DataFrame
        One row per ``(benchmark, source)`` with both a real train set and generated items,
        sorted: ``n`` (generated queries), ``n_real`` (real train queries), ``tau`` (NaN when
        either side gives every model the same accuracy) and ``p_value``.
    """
    train = questions[questions["split"] == "train"]
    rows = []
    for benchmark, items in train.groupby("benchmark", sort=True):
        real = items[items["source"] == "real"]
        if real.empty:
            continue
        acc_real = correctness(real, responses, list(pool)).mean(axis=0)
        for source, generated in items[items["source"] != "real"].groupby("source", sort=True):
            acc_generated = correctness(generated, responses, list(pool)).mean(axis=0)
            with warnings.catch_warnings():  # a constant side gives NaN, which the table shows
                warnings.simplefilter("ignore", RuntimeWarning)
                tau, p_value = ranking_agreement(acc_generated, acc_real)
            rows.append((benchmark, source, len(generated), len(real), tau, p_value))
    return pd.DataFrame(rows, columns=["benchmark", "source", "n", "n_real", "tau", "p_value"])


def spread_summary(
    questions: pd.DataFrame, responses: pd.DataFrame, pool: Sequence[str],
    label: str = "generated", n_boot: int = 2000, random_state: int = 0,
) -> pd.DataFrame:
    """[OURS] Performance spread of each dataset, with the uncertainty of its mean.

    Parameters
    ----------
    questions : pandas.DataFrame
        Question table (any sources; real items are measured against gold).
    responses : pandas.DataFrame
        The pool's responses to them.
    pool : sequence of str
        The ``m`` experts.
    label : {"generated", "consensus"}, default "generated"
        What correctness is measured against (:func:`rgd_utils.diagnostics.correctness`).
    n_boot, random_state
        Bootstrap of the mean per-query spread (:func:`rgd_utils.evaluation.bootstrap_interval`).

    Returns
    -------
    pandas.DataFrame
        One row per ``(source, benchmark)``, sorted: the :func:`~rgd_utils.diagnostics.
        dataset_diagnostics` spread columns ``n, mean_spread, accuracy_std, mean_accuracy``, the
        95% interval ``spread_low, spread_high`` of ``mean_spread``, and the shares of queries the
        whole pool gets right (``all_right``) or wrong (``all_wrong``), which the spread filter
        drops.
    """
    summary = dataset_diagnostics(questions, responses, list(pool), None, label)
    per_query = query_diagnostics(questions, responses, list(pool), None, label)
    extra = []
    for (source, benchmark), group in per_query.groupby(["source", "benchmark"], sort=True):
        low, high = bootstrap_interval(group["spread"].to_numpy(), n_boot, random_state=random_state)
        extra.append({"source": source, "benchmark": benchmark, "spread_low": low, "spread_high": high,
                      "all_right": float((group["n_right"] == group["n_models"]).mean()),
                      "all_wrong": float((group["n_right"] == 0).mean())})
    columns = ["source", "benchmark", "n", "mean_spread", "spread_low", "spread_high",
               "accuracy_std", "mean_accuracy", "all_right", "all_wrong"]
    return summary.merge(pd.DataFrame(extra), on=["source", "benchmark"], validate="one_to_one")[columns]


def keep_mask(per_query: pd.DataFrame, how: str) -> pd.Series:
    """Which queries a train condition keeps: all of them (``"none"``) or a paper §3.3 filter.

    Parameters
    ----------
    per_query : pandas.DataFrame
        :func:`rgd_utils.diagnostics.query_diagnostics` rows (``sc, n_right, n_models``).
    how : {"none", "sc", "spread", "both"}
        The train condition.

    Returns
    -------
    pandas.Series
        ``(n,)`` bool, indexed like ``per_query``.
    """
    if how == "none":
        return pd.Series(True, index=per_query.index)
    if how not in FILTER_CHOICES:
        raise ValueError(f"unknown filter {how!r}; choose one of {FILTER_CHOICES}")
    return filter_queries(per_query, how)


def filtered_questions(questions: pd.DataFrame, per_query: pd.DataFrame, how: str) -> pd.DataFrame:
    """The train questions a filter keeps, in their original order.

    Parameters
    ----------
    questions : pandas.DataFrame
        Question rows (e.g. one generator's train items of one benchmark).
    per_query : pandas.DataFrame
        Per-query diagnostics covering every qid of ``questions``.
    how : {"none", "sc", "spread", "both"}
        The train condition (:func:`keep_mask`).

    Returns
    -------
    pandas.DataFrame
        The kept rows of ``questions``.
    """
    diagnosed = per_query.set_index("qid")
    if not diagnosed.index.is_unique:
        raise ValueError("per_query has repeated qids")
    missing = set(questions["qid"]) - set(diagnosed.index)
    if missing:
        raise ValueError(f"{len(missing)} questions have no diagnostics, e.g. {sorted(missing)[0]!r}")
    kept = keep_mask(diagnosed.loc[questions["qid"]], how)
    return questions[kept.to_numpy()]


def evaluate_filters(
    train_questions: pd.DataFrame,
    per_query: pd.DataFrame,
    routing_data: Callable[[pd.DataFrame], RoutingData],
    test: RoutingData,
    reference_train: RoutingData,
    routers: Mapping[str, Router],
    filters: Sequence[str] = FILTER_CHOICES,
    ks: tuple[int, ...] = (1, 3),
    n_boot: int = 2000,
    random_state: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """[OURS] Train routers on each filtered version of a generated set; score them on real test.

    Each router (a fresh copy per condition) is fitted and scored by
    :func:`rgd_utils.evaluation.evaluate_router`; its per-query routed correctness then gives the
    paired bootstrap difference "filtered − unfiltered" on the same test queries.

    Parameters
    ----------
    train_questions : pandas.DataFrame
        The unfiltered train questions (one generator, one benchmark).
    per_query : pandas.DataFrame
        :func:`rgd_utils.diagnostics.query_diagnostics` rows covering them.
    routing_data : callable
        ``questions -> RoutingData`` (labelled), e.g. ``Study.routing_data``.
    test : RoutingData
        The real test split of the benchmark (labelled).
    reference_train : RoutingData
        The real train split: the best single model is chosen on it.
    routers : mapping of str to Router
        Result name (the ``router`` column, e.g. ``"kNN"``) -> unfitted router (copied before
        each fit).
    filters : sequence of str, default ``FILTER_CHOICES``
        Train conditions; ``"none"`` must be among them for the differences.
    ks : tuple of int, default (1, 3)
        Routed models per query.
    n_boot, random_state
        Bootstrap of the paired differences.

    Returns
    -------
    accuracy : pandas.DataFrame
        One row per ``(filter, router, k)`` in the order given: ``n_train`` (kept queries),
        ``kept`` (their share), ``accuracy, n, low, high`` (95% bootstrap interval) and
        ``gain_best_single``. A condition that keeps no query has ``n_train = 0`` and NaN scores.
    gains : pandas.DataFrame
        One row per ``(filter, router, k)`` with ``filter != "none"`` and both sides trained:
        ``difference`` (filtered − unfiltered accuracy), ``low, high`` (paired 95% interval).
    """
    if "none" not in filters:
        raise ValueError("the unfiltered condition 'none' is the baseline of the differences")
    rows, correct = [], {}
    for how in filters:
        kept = filtered_questions(train_questions, per_query, how)
        share = len(kept) / len(train_questions) if len(train_questions) else float("nan")
        train = routing_data(kept) if len(kept) else None
        for name, prototype in routers.items():
            if train is None:
                rows += [{"filter": how, "router": name, "k": k, "n_train": 0, "kept": share}
                         for k in ks]
                continue
            router = clone(prototype)
            table = evaluate_router(router, train, test, ks, reference_train=reference_train)
            for record in table.to_dict("records"):
                k = int(record["k"])
                correct[how, name, k] = fitted_router_correct(router, train, test, k)
                rows.append({"filter": how, "router": name, "k": k, "n_train": len(kept),
                             "kept": share, **{c: record[c] for c in
                                               ("accuracy", "n", "low", "high", "gain_best_single")}})
    accuracy = pd.DataFrame(rows).reindex(columns=["filter", "router", "k", "n_train", "kept", "accuracy",
                                                   "n", "low", "high", "gain_best_single"])
    gains = []
    for (how, name, k), filtered in correct.items():
        if how != "none" and ("none", name, k) in correct:
            difference, low, high = bootstrap_difference(filtered, correct["none", name, k],
                                                         n_boot, random_state=random_state)
            gains.append({"filter": how, "router": name, "k": k, "difference": difference,
                          "low": low, "high": high})
    gains = pd.DataFrame(gains, columns=["filter", "router", "k", "difference", "low", "high"])
    return accuracy, gains.astype({"k": int, "difference": float, "low": float, "high": float})
