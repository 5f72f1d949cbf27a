"""One figure style for every notebook, and one way to save a figure (PNG and PDF)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt  # the notebook's inline backend, or Agg without a display
import seaborn as sns

from .config import preset_suffix  # noqa: F401  (re-exported: the notebooks name figures with it)

#: Metadata fixed so that the same figure gives the same bytes on every run.
_PDF_METADATA = {"CreationDate": None, "Creator": "rgd", "Producer": "rgd"}
_PNG_METADATA = {"Software": "rgd"}


def use_style() -> None:
    """Apply the study's plotting style (seaborn whitegrid, colour-blind palette, 150 dpi)."""
    sns.set_theme(style="whitegrid", palette="colorblind", context="notebook")
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight",
                         "svg.hashsalt": "rgd", "pdf.fonttype": 42})


def save_figure(fig: plt.Figure, name: str, folder: Path) -> list[Path]:
    """Save a figure as ``folder/name.png`` and ``folder/name.pdf``, byte-stable across runs.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    name : str
        File stem, e.g. ``"00_questions"``: by convention it starts with the number of the one
        notebook that writes it.
    folder : pathlib.Path
        Created if missing.

    Returns
    -------
    list of pathlib.Path
        The two files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    png, pdf = folder / f"{name}.png", folder / f"{name}.pdf"
    fig.savefig(png, metadata=_PNG_METADATA)
    fig.savefig(pdf, metadata=_PDF_METADATA)
    return [png, pdf]
