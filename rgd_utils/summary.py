"""The closing cell of every notebook: what this run shows, in sentences built from its results.

The notebook computes each sentence from the tables it has just made (never typed numbers), and
shows them with :func:`run_summary` as Markdown, so that the executed notebook and its HTML
export end on the answer rather than on a write-to-disk cell.
"""

from __future__ import annotations

from collections.abc import Iterable

from IPython.display import Markdown

#: The heading of the closing cell; the tests look for it in every executed notebook.
HEADING = "## What this run shows"


def run_summary(sentences: Iterable[str | None]) -> Markdown:
    """``HEADING`` and one bullet per sentence; ``None`` or empty sentences are left out.

    Parameters
    ----------
    sentences : iterable of str or None
        Sentences computed from this run's results (``None`` for one that does not apply).

    Returns
    -------
    IPython.display.Markdown
        Show it with ``display``; with no sentence at all it says that nothing was measured.
    """
    kept = [" ".join(s.split()) for s in sentences if s and s.strip()]
    body = "\n".join(f"- {s}" for s in kept) or "- Nothing was measured in this run."
    return Markdown(f"{HEADING}\n\n{body}\n")


def share(part: float, whole: float) -> str:
    """``part / whole`` as a rounded percentage, ``"n/a"`` when ``whole`` is 0."""
    return f"{part / whole:.0%}" if whole else "n/a"
