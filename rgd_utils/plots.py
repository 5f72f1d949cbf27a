"""One figure style for every notebook, one way to save a figure (PNG and PDF, with its caption),
and the short labels and titles the figures share."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt  # the notebook's inline backend, or Agg without a display
import pandas as pd
import seaborn as sns

from .config import get_preset, preset_suffix  # noqa: F401  (preset_suffix re-exported: notebooks name figures with it)

#: Presets whose data are simulated: their figures' titles say SIMULATED.
SIMULATED_PRESETS = ("sim",)

#: Metadata fixed so that the same figure gives the same bytes on every run.
_PDF_METADATA = {"CreationDate": None, "Creator": "rgd", "Producer": "rgd"}
_PNG_METADATA = {"Software": "rgd"}


#: Rows pandas shows before it cuts a table with "...": the notebooks' tables are compact views
#: (longer ones are pivoted, and every full table is also written to CSV).
MAX_DISPLAY_ROWS = 250


def use_style() -> None:
    """Apply the study's plotting style (seaborn whitegrid, colour-blind palette, 150 dpi), and
    let pandas show every row of a notebook's table (up to :data:`MAX_DISPLAY_ROWS`)."""
    sns.set_theme(style="whitegrid", palette="colorblind", context="notebook")
    pd.set_option("display.max_rows", MAX_DISPLAY_ROWS)
    pd.set_option("display.min_rows", MAX_DISPLAY_ROWS)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight",
                         "svg.hashsalt": "rgd", "pdf.fonttype": 42})


def save_figure(fig: plt.Figure, name: str, folder: Path, *, caption: str) -> list[Path]:
    """Save a figure as ``folder/name.png`` and ``folder/name.pdf``, byte-stable across runs.

    The caption travels in the files (PNG ``Description``, PDF ``Subject``), so that the report
    shows each figure with what it shows, wherever the figure is copied.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    name : str
        File stem, e.g. ``"00_questions"``: by convention it starts with the number of the one
        notebook that writes it.
    folder : pathlib.Path
        Created if missing.
    caption : str
        One line saying what the figure shows (and naming the models behind short labels).

    Returns
    -------
    list of pathlib.Path
        The two files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    png, pdf = folder / f"{name}.png", folder / f"{name}.pdf"
    if not caption.strip():
        raise ValueError(f"figure {name!r}: give a caption saying what it shows")
    caption = " ".join(caption.split())
    fig.savefig(png, metadata={**_PNG_METADATA, "Description": caption})
    fig.savefig(pdf, metadata={**_PDF_METADATA, "Subject": caption})
    return [png, pdf]


def source_labels(preset: str) -> dict[str, str]:
    """Short axis labels of a preset's train sources: ``real``, then ``strong``, ``medium``,
    ``weak`` (the generators' strength); :func:`generators_caption` names the models."""
    return {"real": "real", **{g.name: g.strength for g in get_preset(preset).generators}}


def generators_caption(preset: str) -> str:
    """The models behind the short labels, for a figure's caption."""
    named = [f"{g.strength} = {g.model} at temperature {g.temperature:g}" for g in get_preset(preset).generators]
    return "Generators: " + "; ".join(named) + "." if named else ""


def titled(text: str, preset: str) -> str:
    """A figure title, prefixed with SIMULATED for the simulated world's preset."""
    return f"SIMULATED: {text}" if preset in SIMULATED_PRESETS else text
