"""The study's results as one tidy table and its tables (the claims: :mod:`rgd_utils.claims`).

Notebooks 04-06 write their router results to ``results/<notebook>_<preset>.parquet``
(:func:`write_results`) and notebooks 03-04 their generator diagnostics to
``results/diagnostics/<notebook>_<preset>.parquet`` (:func:`write_diagnostics`). Notebook 07
collects them (:func:`collect_results`), writes ``results/results.parquet`` and ``.csv``, and
derives every table below from that one table. Notebooks 04-06 also write the per-query routed
correctness of every seed (``results/per_query/``) and the results rows of seeds > 0
(``results/seeds/``), which the claims read (:func:`write_named` kinds ``"per_query"`` and
``"seeds"``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .aggregate import interval_table, macro_average
from .config import get_paths, get_preset
from .result_schema import RESULT_COLUMNS
from .router_sets import ablation_name, with_router_columns

#: Columns of the tidy table: the preset, then the results schema.
TIDY_COLUMNS: tuple[str, ...] = ("preset", *RESULT_COLUMNS)
#: What identifies a result (two notebooks measuring the same one must agree).
KEY_COLUMNS: tuple[str, ...] = ("preset", "benchmark", "pool", "train_source", "filter", "router",
                                "k", "seed")
#: Columns of :func:`cost_points`.
COST_COLUMNS: tuple[str, ...] = ("router", "family", "train_source", "k", "cost", "accuracy",
                                 "low", "high", "aiq", "aiq_low", "aiq_high")
#: CASCAL with Dawid-Skene correctness (notebook 06's ablation grid).
DAWID_SKENE_CASCAL = ablation_name("correctness=dawid-skene")

#: The paper's §6.0 seed summary table (accuracy, %): a claim, of unclear provenance.
PAPER_SEED_TABLE = pd.DataFrame(
    [("high (GPT-4 class)", 92, 88, 90, 91),
     ("medium (GPT-3.5 class)", 84, 80, 84, 86),
     ("low (LLaMA-2-7B class)", 71, 63, 68, 67)],
    columns=["generator", "generator quality", "best query-answer router",
             "best query-only router", "CASCAL"],
)
#: The paper's §6.1 claim A1 (abstract): CASCAL vs the best query-answer router, weak generator.
PAPER_ABSTRACT_GAIN = 4.6


def results_folder(results_dir: str | Path) -> Path:
    """The results folder ``results_dir``, taken from the repository root when relative (so a
    notebook writes to the same folder whatever its working directory)."""
    return get_paths(results_dir=results_dir).results


def _read_named(folder: Path) -> pd.DataFrame:
    """Every ``<stem>_<preset>.parquet`` of ``folder`` with a ``preset`` column, in name order."""
    tables = []
    for path in sorted(folder.glob("[0-9][0-9]_*_*.parquet")):
        preset = path.stem.rsplit("_", 1)[1]
        tables.append(pd.read_parquet(path).assign(preset=preset))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def sort_results(results: pd.DataFrame) -> pd.DataFrame:
    """Results rows in a fixed order (so that the same inputs give the same bytes)."""
    return (results.reindex(columns=list(RESULT_COLUMNS))
            .sort_values(["benchmark", "pool", "train_source", "filter", "router", "k", "seed"],
                         kind="stable")
            .reset_index(drop=True))


def write_results(results: pd.DataFrame, results_dir: str | Path, stem: str, preset: str) -> Path:
    """Write a notebook's results table to ``<results_dir>/<stem>_<preset>.parquet``.

    Parameters
    ----------
    results : pandas.DataFrame
        :data:`RESULT_COLUMNS` rows (other columns are dropped, missing cost columns NaN).
    results_dir : str or pathlib.Path
        Relative paths are taken from the repository root; created if missing.
    stem : str
        The notebook's file stem, e.g. ``"05_router_baselines"``.
    preset : str
        The preset name.

    Returns
    -------
    pathlib.Path
        The file written (rows sorted by :func:`sort_results`).
    """
    folder = results_folder(results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}_{preset}.parquet"
    sort_results(results).to_parquet(path, index=False)
    return path


def collect_results(results_dir: str | Path) -> pd.DataFrame:
    """All router results of the notebooks, as one tidy table.

    Parameters
    ----------
    results_dir : str or pathlib.Path
        Holds ``NN_<notebook>_<preset>.parquet`` files.

    Returns
    -------
    pandas.DataFrame
        :data:`TIDY_COLUMNS`, one row per :data:`KEY_COLUMNS` (a result measured by two
        notebooks, e.g. CASCAL in 05 and 06, appears once), sorted by the key.

    Raises
    ------
    FileNotFoundError
        When ``results_dir`` holds no results file (run notebooks 04-06 first).
    ValueError
        When two notebooks report different numbers for the same result.
    """
    table = _read_named(results_folder(results_dir))
    if table.empty:
        raise FileNotFoundError(f"no NN_<notebook>_<preset>.parquet results in {results_dir}; "
                                f"run notebooks 04-06 first (make all)")
    table = table.reindex(columns=list(TIDY_COLUMNS))  # files written before costs: NaN costs
    key = list(KEY_COLUMNS)
    # A notebook that does not measure costs (04's filter grid) leaves them NaN: the same result
    # from another notebook fills them in. Any measured value that differs is a clash.
    values = [c for c in TIDY_COLUMNS if c not in KEY_COLUMNS]
    distinct_values = table.groupby(key, dropna=False)[values].nunique()
    clashing = distinct_values[(distinct_values > 1).any(axis=1)].index
    if len(clashing):
        clashes = table.set_index(key).loc[clashing].reset_index().drop_duplicates()
        raise ValueError("notebooks disagree on the same result (same data, router and seed "
                         "should give the same numbers):\n"
                         + clashes.sort_values(key).to_string(index=False))
    merged = table.groupby(key, dropna=False, sort=False)[values].first().reset_index()
    return merged[list(TIDY_COLUMNS)].sort_values(key, kind="stable").reset_index(drop=True)


def write_tidy_results(results: pd.DataFrame, results_dir: str | Path) -> list[Path]:
    """Write the tidy table to ``results.parquet`` and ``results.csv`` in ``results_dir``."""
    folder = results_folder(results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    parquet, csv = folder / "results.parquet", folder / "results.csv"
    results.to_parquet(parquet, index=False)
    results.to_csv(csv, index=False, float_format="%.6f", lineterminator="\n")
    return [parquet, csv]


def write_diagnostics(table: pd.DataFrame, results_dir: str | Path, stem: str,
                      preset: str) -> Path:
    """Write a notebook's generator diagnostics to ``<results_dir>/diagnostics/<stem>_<preset>.parquet``.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per (benchmark, source) with the notebook's measures.
    results_dir : str or pathlib.Path
        The results folder.
    stem : str
        The notebook's file stem, e.g. ``"03_self_consistency"``.
    preset : str
        The preset name.

    Returns
    -------
    pathlib.Path
    """
    return _write_named(table, results_folder(results_dir) / "diagnostics", stem, preset)


def _write_named(table: pd.DataFrame, folder: Path, stem: str, preset: str) -> Path:
    """Write ``table`` to ``<folder>/<stem>_<preset>.parquet`` (folder created)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}_{preset}.parquet"
    table.reset_index(drop=True).to_parquet(path, index=False)
    return path


def read_diagnostics(results_dir: str | Path) -> pd.DataFrame:
    """Every diagnostics table of ``results_dir/diagnostics`` (with ``preset``), or empty."""
    return _read_named(results_folder(results_dir) / "diagnostics")


def write_named(table: pd.DataFrame, results_dir: str | Path, kind: str, stem: str,
                preset: str) -> Path:
    """Write a notebook's table of one kind to ``<results_dir>/<kind>/<stem>_<preset>.parquet``.

    Kinds: ``"curves"`` (:attr:`RouterRuns.curves <rgd_utils.experiments.RouterRuns>`, the
    accuracy–cost curves of notebooks 05 and 06), ``"label_free"``
    (:func:`rgd_utils.consensus_quality.estimator_quality`, notebook 06), ``"per_query"``
    (:attr:`RouterRuns.per_query <rgd_utils.experiments.RouterRuns>` and
    :func:`rgd_utils.experiments.filter_runs` of every seed, notebooks 04-06) and ``"seeds"``
    (results rows of seeds > 0); notebook 07 reads them with :func:`read_named`.
    """
    return _write_named(table, results_folder(results_dir) / kind, stem, preset)


def read_named(results_dir: str | Path, kind: str) -> pd.DataFrame:
    """Every table of ``<results_dir>/<kind>`` (with ``preset``; a row written by two notebooks
    appears once), or empty."""
    return _read_named(results_folder(results_dir) / kind).drop_duplicates(ignore_index=True)


def source_order(preset: str) -> list[str]:
    """Train sources from the most to the least informative: ``"real"``, then the preset's
    generators strong to weak."""
    return ["real", *(g.name for g in get_preset(preset).generators)]


def with_averages(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` plus their :func:`~rgd_utils.aggregate.macro_average` rows
    (``benchmark="average"``) per preset."""
    parts = [results]
    for _, part in results.groupby("preset", sort=True):
        average = macro_average(part.drop(columns="preset"))
        parts.append(average.assign(preset=part["preset"].iloc[0])[list(TIDY_COLUMNS)])
    return pd.concat(parts, ignore_index=True)


# ----- tables -----

def main_table(results: pd.DataFrame, preset: str, k: int = 1) -> pd.DataFrame:
    """The main table of one preset: rows router × train source, columns benchmarks and the
    average, cells ``"accuracy [low, high]"`` (unfiltered train data; the paper's §6.2).

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`collect_results`.
    preset : str
    k : int, default 1
        Routed models per query (3: the top-3 vote).

    Returns
    -------
    pandas.DataFrame
        Routers grouped by family (reference, query-answer, query-only), sources real first;
        empty when the preset has no unfiltered result at ``k``.
    """
    rows = results[(results["preset"] == preset) & (results["filter"] == "none")
                   & (results["k"] == k)]
    if rows.empty:
        return pd.DataFrame()
    rows = with_averages(rows)
    order = {s: i for i, s in enumerate(source_order(preset))}
    families = {"reference": 0, "query-answer": 1, "query-only": 2}
    rows = with_router_columns(rows).assign(_f=lambda t: t["family"].map(families),
                                            _s=rows["train_source"].map(order))
    rows = rows.sort_values(["_f", "router", "_s"], kind="stable")
    table = interval_table(rows, ["family", "router", "train_source"], "benchmark")
    benchmarks = [b for b in dict.fromkeys(rows["benchmark"]) if b != "average"]
    return table.reindex(columns=sorted(benchmarks) + ["average"])


def filtering_table(results: pd.DataFrame, preset: str) -> pd.DataFrame:
    """Average accuracy per router × generator × k (rows) and train-data filter (columns)."""
    rows = results[(results["preset"] == preset) & (results["train_source"] != "real")]
    filtered = rows[rows["filter"] != "none"]
    if filtered.empty:
        return pd.DataFrame()
    keys = filtered[["router", "train_source", "k"]].drop_duplicates()
    rows = rows.merge(keys, on=["router", "train_source", "k"])
    average = with_averages(rows)
    average = average[average["benchmark"] == "average"]
    order = {s: i for i, s in enumerate(source_order(preset))}
    average = average.assign(_s=average["train_source"].map(order)).sort_values(
        ["router", "k", "_s"], kind="stable")
    table = interval_table(average, ["router", "k", "train_source"], "filter")
    filters = [f for f in ("none", "sc", "spread", "both") if f in table.columns]
    return table.reindex(columns=filters + [c for c in table.columns if c not in filters])


def ablation_table(results: pd.DataFrame, preset: str) -> pd.DataFrame:
    """Average accuracy of CASCAL and its ablations (the paper's §5.8): rows variant
    (CASCAL first), columns train source × k; empty when no ablation was run."""
    rows = with_router_columns(results[(results["preset"] == preset)
                                       & (results["filter"] == "none")])
    rows = rows[rows["base_router"] == "CASCAL"]
    ablated = rows[rows["variant"] != ""]
    if ablated.empty:
        return pd.DataFrame()
    rows = rows[rows["train_source"].isin(set(ablated["train_source"]))][list(TIDY_COLUMNS)]
    average = with_averages(rows)
    average = average[average["benchmark"] == "average"]
    order = {s: i for i, s in enumerate(source_order(preset))}
    average = average.assign(_v=average["router"] != "CASCAL",
                             _s=average["train_source"].map(order))
    average = average.sort_values(["_v", "router", "_s", "k"], kind="stable")
    return interval_table(average, "router", ["train_source", "k"])


def cost_points(results: pd.DataFrame, preset: str,
                sources: Sequence[str] | None = None) -> pd.DataFrame:
    """Accuracy, cost and accuracy–cost area (AIQ) of each policy, on the average over
    benchmarks (unfiltered train data; ablation variants left out).

    ``cost`` is the mean cost per query relative to the costliest pool model (parameters ×
    prompt tokens, :func:`rgd_utils.cost.study_costs`): a top-1 router pays for the model it
    picks, the top-3 vote for its three, the whole pool's vote for every model (the oracle is
    not a policy and is left out). ``aiq`` is the area of the top-1 accuracy–cost curve between
    the cheapest and the costliest single model (NaN for the votes).

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`collect_results`.
    preset : str
    sources : sequence of str, optional
        Train sources of the routers shown; default: real and the weakest generator.

    Returns
    -------
    pandas.DataFrame
        :data:`COST_COLUMNS`.
    """
    rows = results[(results["preset"] == preset) & (results["filter"] == "none")]
    if rows.empty:
        return pd.DataFrame(columns=list(COST_COLUMNS))
    order = [s for s in source_order(preset) if s in set(rows["train_source"])]
    sources = list(sources) if sources is not None else list(dict.fromkeys([order[0],
                                                                            order[-1]]))
    average = with_averages(rows)
    average = average[(average["benchmark"] == "average") & (average["router"] != "oracle")
                      & average["train_source"].isin(sources)
                      & average["cost"].notna()]
    table = with_router_columns(average)
    table = table[table["variant"] == ""]
    return table[list(COST_COLUMNS)].reset_index(drop=True)


def cost_table(results: pd.DataFrame, preset: str) -> pd.DataFrame:
    """Each top-1 policy's accuracy–cost area (AIQ) and its cost at trade-off 0, per train
    source, on the average over benchmarks: cells ``"aiq [low, high]"`` and ``cost``.

    Rows: routers (references first) and each model alone; columns: (train source, measure).
    """
    points = cost_points(results, preset, sources=[s for s in source_order(preset)
                                                   if s in set(results["train_source"])])
    points = points[(points["k"] == 1) & points["aiq"].notna()]
    if points.empty:
        return pd.DataFrame()
    points = points.assign(
        AIQ=[f"{a:.3f} [{lo:.3f}, {hi:.3f}]" for a, lo, hi in
             zip(points["aiq"], points["aiq_low"], points["aiq_high"])],
        cost_=[f"{c:.3f}" for c in points["cost"]],
        _ref=points["family"] != "reference")
    points = points.sort_values(["_ref", "router"], kind="stable")
    table = points.pivot_table(index="router", columns="train_source", values=["AIQ", "cost_"],
                               aggfunc="first", sort=False)
    table = table.rename(columns={"cost_": "cost"}).swaplevel(axis=1)
    order = [s for s in source_order(preset) if s in table.columns.get_level_values(0)]
    return table.reindex(columns=[(s, m) for s in order for m in ("AIQ", "cost")]).fillna("")


def markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown rendering of ``table`` (index as leading columns)."""
    flat = table.reset_index()
    flat.columns = [" / ".join(str(part) for part in c if str(part)) if isinstance(c, tuple)
                    else str(c) for c in flat.columns]
    cell = lambda v: str(v).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(cell, flat.columns)) + " |",
             "|" + "---|" * len(flat.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in flat.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write_table(table: pd.DataFrame, folder: str | Path, stem: str) -> list[Path]:
    """Write ``table`` as ``<stem>.csv``, ``<stem>.md`` and ``<stem>.tex`` in ``folder``.

    Returns
    -------
    list of pathlib.Path
        The three files.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.{ext}" for ext in ("csv", "md", "tex")]
    table.to_csv(paths[0], lineterminator="\n")
    paths[1].write_text(markdown(table))
    paths[2].write_text(table.to_latex(escape=True))
    return paths


# ----- verdicts and concordance -----

def verdict(low: float, high: float, n_ok: bool = True) -> str:
    """Holds when the interval is above 0, does not hold when below, else inconclusive."""
    if not n_ok or not np.isfinite([low, high]).all():
        return "not measured"
    if low > 0:
        return "holds"
    if high < 0:
        return "does not hold"
    return "inconclusive at our n"


def concordance_null(groups: Sequence[tuple[np.ndarray, np.ndarray]]
                     ) -> tuple[float, np.ndarray]:
    """Kendall-style concordance of ``x`` and ``y`` pooled over groups, and its exact
    permutation distribution (``y`` permuted within each group).

    Parameters
    ----------
    groups : sequence of (x, y) arrays
        Paired values per group (e.g. generators of one benchmark).

    Returns
    -------
    tau : float
        ``(concordant - discordant) / pairs`` over the within-group pairs (ties count 0).
    permuted : array
        The concordance of every joint permutation (the observed order included).
    """
    def tau(ys: Sequence[np.ndarray]) -> float:
        total, pairs = 0.0, 0
        for (x, _), y in zip(groups, ys):
            for i, j in itertools.combinations(range(len(x)), 2):
                total += np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
                pairs += 1
        return total / pairs if pairs else np.nan

    observed = tau([y for _, y in groups])
    permuted = [tau([np.asarray(y)[list(p)] for (_, y), p in zip(groups, combo)])
                for combo in itertools.product(*(itertools.permutations(range(len(x)))
                                                 for x, _ in groups))]
    return observed, np.array(permuted)


def within_concordance(groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """:func:`concordance_null`'s concordance with its exact one-sided permutation p-value:
    the share of permutations with a concordance at least as large."""
    observed, permuted = concordance_null(groups)
    return observed, float(np.mean(permuted >= observed - 1e-12))
