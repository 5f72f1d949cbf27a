"""Refuse to score a specialist on the questions it was trained on.

A specialist that answers its own training questions (or near-copies of them) looks stronger in
its domain than it is, and the pool seems to have a niche it does not have. The build keeps the
training questions apart from the study it screens against (:mod:`.build`); this guard checks the
questions actually being answered, whatever the preset or the data, with the build's own
screening (:func:`.data.screen_candidates`: same id, or TF-IDF near-duplicate text).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from . import SPECIALISTS
from .data import candidate_questions, screen_candidates
from .store import read_train_qids


class TrainedOnError(ValueError):
    """A specialist was asked to answer questions it was trained on."""


def trained_on(name: str, questions: pd.DataFrame, data_dir: Path) -> pd.DataFrame:
    """The committed specialist's training questions that are among ``questions`` (by id) or
    near-duplicates of one of them; empty when the two are apart.

    Returns the rows of :func:`.data.screen_candidates` (question schema plus
    ``max_study_similarity``, ``nearest_study_qid`` and ``reason``), screened with the whole
    candidate pool of the specialist's sources, as the build screened them.
    """
    ids = set(read_train_qids(name, data_dir))
    screened = screen_candidates(candidate_questions(SPECIALISTS[name].sources), questions)
    return screened[screened["qid"].isin(ids) & screened["reason"].notna()].reset_index(drop=True)


def check_not_trained_on(models: Iterable[str], questions: pd.DataFrame, data_dir: Path) -> None:
    """Raise :class:`TrainedOnError` if a specialist among ``models`` was trained on any of
    ``questions``; other models pass."""
    for model in dict.fromkeys(m for m in models if m in SPECIALISTS):
        overlap = trained_on(model, questions, data_dir)
        if len(overlap):
            first = overlap.iloc[0]
            how = ("is one of them" if first["reason"] == "a study question" else
                   f"is a near-duplicate of {first['nearest_study_qid']} "
                   f"(similarity {first['max_study_similarity']:.2f})")
            raise TrainedOnError(
                f"{model} was trained on {len(overlap)} of the questions it is asked to answer "
                f"(its training question {first['qid']} {how}), so its answers to them would "
                "overstate its domain. Leave those questions out, or retrain the specialist "
                f"apart from them (python -m rgd_utils.specialists.build --names {model} --force "
                "screens its training questions against the cpu study)")
