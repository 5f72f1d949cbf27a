"""The specialists' training questions: in their domain, disjoint from every study question.

A specialist is trained only on real questions that the study never evaluates on and never trains
a router with. Two guards, both checked again by the tests on the committed training ids:

1. **by question id**: a candidate is any real question of the specialist's source benchmarks
   that is not among the study's questions (its real train and test samples, at the study's
   sizes, and every generated item); the study benchmarks' other rows and whole other benchmarks
   (ARC-Challenge, OpenBookQA, SocialIQA) are what is left;
2. **by text**: a candidate whose stem-and-options text is a near-duplicate (cosine similarity of
   TF-IDF character 4-grams at or above 0.9, :mod:`rgd_utils.text_similarity`) of any study
   question is dropped and counted, since benchmarks repeat questions under different ids and
   generators can copy ones they memorised.

From the candidates left, ``n_train`` are chosen by a seeded hash of their ids (so the choice
depends on nothing else) and written, with their ids, beside the adapter.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from rgd_utils.benchmarks import split_key
from rgd_utils.text_similarity import TextSimilarity, best_matches, item_text

#: Similarity at or above which a candidate counts as a copy of a study question.
NEAR_DUPLICATE = 0.9


def _texts(table: pd.DataFrame) -> list[str]:
    return [item_text(q, o) for q, o in zip(table["question"], table["options"])]


def screen_candidates(
    candidates: pd.DataFrame, study: pd.DataFrame, near_duplicate: float = NEAR_DUPLICATE
) -> pd.DataFrame:
    """Every candidate with its closest study question and whether it is usable for training.

    Parameters
    ----------
    candidates : pandas.DataFrame
        Real questions of the specialist's source benchmarks (question schema).
    study : pandas.DataFrame
        Every question of the study (question schema): what training must stay apart from.
    near_duplicate : float, default 0.9
        Similarity at or above which a candidate copies a study question.

    Returns
    -------
    pandas.DataFrame
        ``candidates`` plus ``max_study_similarity`` (float; NaN when the study is empty),
        ``nearest_study_qid`` and ``reason``: None for a usable candidate, else
        ``"a study question"`` (same id) or ``"near-duplicate of a study question"``.
    """
    table = candidates.reset_index(drop=True).copy()
    reason = np.where(table["qid"].isin(set(study["qid"])), "a study question", None)
    best = np.full(len(table), np.nan)
    nearest = np.full(len(table), None, dtype=object)
    if len(table) and len(study):
        similarity = TextSimilarity(_texts(table))
        best, where = best_matches(similarity.fitted, similarity.vectors(_texts(study)))
        nearest = study["qid"].to_numpy(dtype=object)[where]
        reason = np.where((reason == None) & (best >= near_duplicate),  # noqa: E711
                          "near-duplicate of a study question", reason)
    table["max_study_similarity"] = best
    table["nearest_study_qid"] = nearest
    table["reason"] = reason
    return table


def choose_training(screened: pd.DataFrame, n_train: int, seed: int) -> pd.DataFrame:
    """``n_train`` usable candidates (all of them if fewer), chosen by a seeded hash of the id.

    Returns the chosen rows sorted by qid (question schema plus the screening columns).
    """
    usable = screened[screened["reason"].isna()]
    keys = pd.Series([split_key(q, seed) for q in usable["qid"]], index=usable.index, dtype=object)
    chosen = usable.loc[keys.sort_values(kind="stable").index[:n_train]]
    return chosen.sort_values("qid").reset_index(drop=True)


def screening_counts(screened: pd.DataFrame) -> pd.DataFrame:
    """Candidates per benchmark: total, usable, and dropped by reason."""
    reasons = screened["reason"].fillna("usable")
    table = pd.crosstab(screened["benchmark"], reasons)
    table.insert(0, "candidates", table.sum(axis=1))
    return table


def candidate_questions(benchmarks: Sequence[str]) -> pd.DataFrame:
    """Every valid real question of some benchmarks, as their loaders give them (the candidate
    pool before screening). Loaded rather than read from the study's data, so that a source the
    study does not use (SocialIQA for the commonsense specialist) is a source all the same."""
    from rgd_utils.benchmarks import load_benchmarks

    return load_benchmarks(list(benchmarks)).valid.reset_index(drop=True)
