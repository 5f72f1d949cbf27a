"""How much each specialist gained: its accuracy per benchmark against its base and a reference.

Both differences are paired (the same test questions) and get a bootstrap interval over
questions, so that "the medical adapter helps on MedMCQA" is a claim with an interval.
"""

from __future__ import annotations

import pandas as pd

from ..evaluation import bootstrap_difference
from . import SPECIALISTS

COMPARISON_COLUMNS = [
    "specialist", "domain", "benchmark", "own domain", "n", "accuracy",
    "vs base", "vs base low", "vs base high", "vs reference", "vs reference low",
    "vs reference high",
]


def specialist_comparison(
    responses: pd.DataFrame, questions: pd.DataFrame, reference: str, random_state: int = 0,
) -> pd.DataFrame:
    """Each specialist expert's accuracy per benchmark, minus its base's and ``reference``'s.

    Parameters
    ----------
    responses : pandas.DataFrame
        ``qid, model, correct`` where ``model`` is an expert name ``"<model>:<mode>"``; the
        specialists' experts, their bases' in the same mode, and ``reference``. A null
        ``correct`` (unparsed answer) counts as wrong.
    questions : pandas.DataFrame
        The questions to score on (``qid, benchmark``), e.g. the real test split.
    reference : str
        The expert every specialist is also compared with (e.g. the strongest generalist).
    random_state : int, default 0
        Seed of the paired bootstraps.

    Returns
    -------
    pandas.DataFrame
        One row per specialist expert × benchmark (:data:`COMPARISON_COLUMNS`): its accuracy,
        and each difference with its 95% interval; ``own domain`` marks the benchmark it was
        trained for.

    Raises
    ------
    ValueError
        If a specialist's base or ``reference`` has no answers to compare with.
    """
    hits = (responses.merge(questions[["qid", "benchmark"]], on="qid")
            .assign(hit=lambda t: t["correct"].fillna(False).astype(bool))
            .pivot_table(index=["benchmark", "qid"], columns="model", values="hit", aggfunc="first"))
    experts = [e for e in hits.columns if e.rpartition(":")[0] in SPECIALISTS]
    rows = []
    for expert in sorted(experts):
        model, _, mode = expert.rpartition(":")
        spec = SPECIALISTS[model]
        base = f"{spec.base}:{mode}"
        for needed in (base, reference):
            if needed not in hits.columns:
                raise ValueError(f"{expert} is compared with {needed}, which has no answers here; "
                                 f"compute them with `python -m rgd_utils.llm_runs answer --experts {needed}`")
        for benchmark, table in hits.groupby(level="benchmark", sort=True):
            table = table[[expert, base, reference]].dropna()
            own = table[expert].to_numpy(dtype=float)
            vs_base = bootstrap_difference(own, table[base].to_numpy(dtype=float),
                                           random_state=random_state)
            vs_reference = bootstrap_difference(own, table[reference].to_numpy(dtype=float),
                                                random_state=random_state)
            rows.append([expert, spec.domain, benchmark, benchmark == spec.target, len(table),
                         own.mean(), *vs_base, *vs_reference])
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
