"""The map's figures: the phase diagrams (who wins where) and the sweeps along each grid."""

from __future__ import annotations


import numpy as np
import pandas as pd

from ..router_sets import router_family
from .cells import BLOC_SIZE, COMMAND, CONTENDERS, PAPER_LIKE, map_routers


def _palette() -> dict[str, object]:
    import seaborn as sns

    return dict(zip(CONTENDERS, sns.color_palette("colorblind", len(CONTENDERS))))


def phase_figure(table: pd.DataFrame, real: pd.DataFrame):
    """Two phase diagrams: who wins where (filled: decided; hollow: the lead's interval
    reaches 0), with the real pools as stars."""
    import matplotlib.pyplot as plt

    colours = _palette()
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    panels = (("niche x blocs", "measured_niche_strength", "measured_error_correlation",
               "niche strength (SD of model x subject logit accuracy)",
               "error correlation (wrong answers alike, chance-corrected)"),
              ("generator", "measured_key_accuracy", "measured_spread",
               "generator's key accuracy (self-consistency)",
               "generated items' mean performance spread"))
    pools = real.drop_duplicates("preset")
    for ax, (name, x, y, xlabel, ylabel) in zip(axes, panels):
        cells = table[table["grid"] == name].drop_duplicates("cell")
        if x == "measured_key_accuracy":
            cells = cells.assign(measured_key_accuracy=cells["set_key_accuracy"])
        for winner, group in cells.groupby("winner"):
            decided = group["decided"].astype(bool)
            ax.scatter(group.loc[decided, x], group.loc[decided, y], s=150, color=colours[winner],
                       label=winner, edgecolor="black")
            ax.scatter(group.loc[~decided, x], group.loc[~decided, y], s=150, facecolor="white",
                       edgecolor=colours[winner], linewidth=2.5, label=f"{winner} (undecided)")
        for _, cell in cells.iterrows():
            cascal = table[(table["grid"] == name) & (table["cell"] == cell["cell"])
                           & (table["router"] == "CASCAL")]["vs_best_single"].iloc[0]
            ax.annotate(f"{100 * cascal:+.0f}", (cell[x], cell[y]), fontsize=7, ha="center",
                        va="center")
        for _, pool in pools.iterrows():
            px, py = pool[x], pool[y]
            ax.scatter([px], [py], marker="*", s=350, color="black", zorder=5)
            ax.annotate(f"{pool['pool']} (real)", (px, py), xytext=(6, 6),
                        textcoords="offset points", fontsize=9)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=f"SIMULATED map: {name}")
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels and len(h.get_offsets()):
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), frameon=False)
    fig.suptitle("SIMULATED: the winner among CASCAL, best query-answer router, consensus-kNN, "
                 "DS-kNN, bloc-vote, best single model and pool vote\n(numbers: CASCAL minus best "
                 f"single, points; hollow: undecided at 95%; stars: real pools)   [{COMMAND}]",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 0.93))
    return fig


#: The 1-D slices of the sweep figure: (grid, fixed set knobs, x column, label, real knob).
SLICES = (
    ("niche x blocs", {"set_bloc_correlation": 0.0}, "measured_niche_strength",
     "niche strength (no bloc)", "niche_strength"),
    ("niche x blocs", {"set_niche": PAPER_LIKE.niche}, "measured_error_correlation",
     f"error correlation (bloc of {BLOC_SIZE}, niche {PAPER_LIKE.niche})", "error_correlation"),
    ("generator", {"set_spread": PAPER_LIKE.spread}, "set_key_accuracy",
     f"generator's key accuracy (spread {PAPER_LIKE.spread})", "key_accuracy"),
    ("generator", {"set_key_accuracy": PAPER_LIKE.key_accuracy}, "measured_spread",
     f"items' performance spread (key accuracy {PAPER_LIKE.key_accuracy})", "spread"),
    ("calibration", {}, "measured_confidence_auroc", "confidence AUROC", "confidence_auroc"),
)


#: Line styles of the references in the sweep figure.
REFERENCE_LINES: dict[str, dict[str, object]] = {
    "best-single": {"color": "black", "linestyle": "--", "linewidth": 2},
    "pool-vote": {"color": "grey", "linestyle": ":", "linewidth": 2},
}


def sweep_figure(table: pd.DataFrame, real: pd.DataFrame):
    """Each router's accuracy along one knob at a time (paper-like elsewhere), coloured by
    family, with the best single model (dashed) and the pool vote (dotted) as lines and the
    real pools' measured values as vertical lines."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    routers = list(map_routers())
    family_colours = {"query-answer": sns.color_palette("Blues", 5)[2:],
                      "query-only": sns.color_palette("Oranges", 6)[1:]}
    styles, counts = {}, {"query-answer": 0, "query-only": 0}
    for name in routers:
        family = router_family(name)
        styles[name] = family_colours[family][counts[family]]
        counts[family] += 1
    fig, axes = plt.subplots(1, len(SLICES), figsize=(4.2 * len(SLICES), 4.4), sharey=True)
    pools = real.drop_duplicates("preset")
    for ax, (name, fixed, x, label, knob) in zip(axes, SLICES):
        rows = table[table["grid"] == name]
        for column, value in fixed.items():
            rows = rows[np.isclose(rows[column], value)]
        for router in [*routers, "best-single", "pool-vote"]:
            line = rows[rows["router"] == router].sort_values(x)
            kwargs = REFERENCE_LINES.get(router, {
                "color": styles.get(router), "marker": "o",
                "linewidth": 2.5 if router in ("CASCAL", "bloc-vote") else 1.5})
            ax.plot(line[x], line["accuracy"], label=f"{router} ({router_family(router)})",
                    **kwargs)
            if router not in REFERENCE_LINES:
                ax.fill_between(line[x], line["low"], line["high"], color=kwargs["color"],
                                alpha=0.1)
        for _, pool in pools.iterrows():
            value = pool[f"measured_{knob}"]
            ax.axvline(value, color="black", linewidth=0.8)
            ax.annotate(pool["pool"], (value, 0.02), xycoords=("data", "axes fraction"),
                        rotation=90, fontsize=8, ha="right", va="bottom")
        ax.set(xlabel=label, title="SIMULATED")
    axes[0].set_ylabel("top-1 accuracy on the real test split")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, frameon=False, fontsize=9)
    fig.suptitle("SIMULATED: router accuracy along each knob (paper-like elsewhere; routers "
                 "trained on generated items); vertical lines: the real pools' measured values "
                 f"[{COMMAND}]", fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 0.94))
    return fig


# --- the command ---------------------------------------------------------------------------------
