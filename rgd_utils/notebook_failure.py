"""Name the notebook and the cell that failed, from papermill's output notebook.

``make`` runs each notebook with the papermill CLI; when a cell raises, papermill stops, keeps
the partial output notebook and exits non-zero. The Makefile then calls::

    python -m rgd_utils.notebook_failure notebooks/00_data.ipynb runs/cpu/00_data.ipynb

which prints one line naming the notebook, the cell (its position and its first line) and the
error, so that a reader sees at once where to look.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def describe_failure(source: Path, executed: Path) -> str:
    """Return a one-line description of the first failed cell of an executed notebook.

    Parameters
    ----------
    source : pathlib.Path
        The notebook that was run (named in the message).
    executed : pathlib.Path
        Papermill's output notebook.

    Returns
    -------
    str
        ``"<source>: cell <n> (<first line>) failed: <error>"``, or a line saying that no failed
        cell was found (papermill could not start the kernel, for example).
    """
    if not executed.exists():
        return f"{source}: failed before any cell ran (no output notebook at {executed})"
    notebook = nbformat.read(executed, as_version=4)
    # Count cells as the source notebook has them: without papermill's injected parameters.
    code_cells = [
        c for c in notebook.cells
        if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])
    ]
    for number, cell in enumerate(code_cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first_line = next((line for line in cell.source.splitlines() if line.strip()), "")
                return (
                    f"{source}: code cell {number} of {len(code_cells)} "
                    f"(`{first_line.strip()[:80]}`) failed: {output.get('ename')}: "
                    f"{output.get('evalue')}"
                )
    return f"{source}: failed, but no cell has an error output (see the papermill log above)"


def main(argv: list[str]) -> int:
    """Print the description; always return 1, because it is only called after a failure."""
    if len(argv) != 2:
        print("usage: python -m rgd_utils.notebook_failure SOURCE EXECUTED", file=sys.stderr)
        return 2
    print(f"\n*** {describe_failure(Path(argv[0]), Path(argv[1]))}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
