"""The study's HTML report: the executed notebooks exported with nbconvert, and one index page.

``make report`` runs::

    python -m rgd_utils.report --executed runs/cpu runs/sim --figures figures \\
        --tables results/tables --out runs/report

and writes into ``runs/report/``:

* ``notebooks/<run folder>/<notebook>.html``: each executed notebook exported with nbconvert's
  ``lab`` template. Images are embedded in the page, and the page loads nothing from the
  network (no require.js; MathJax only for a notebook whose markdown has maths), so it reads
  offline. The run folder keeps ``runs/cpu/03_x.ipynb`` and ``runs/sim/03_x.ipynb`` apart.
* ``index.html``: one plain page, with no script, font or stylesheet from the network, that
  links the exports (grouped by run folder), shows every figure with a link to its PDF, and
  lists every table (CSV files rendered as HTML tables). Figures and tables are linked where
  they are, by paths relative to ``runs/report/``, so that the page works opened from disk.

The report shows whatever ran: a missing or empty folder gives a short note in its section. The
same inputs give the same bytes (sorted order, no timestamps), and every file is written to a
temporary name and then renamed.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import nbformat
import pandas as pd
from jinja2 import DictLoader
from nbconvert import HTMLExporter

from .atomic import atomic_path

#: Table files listed in the report, in the order their links are shown.
TABLE_SUFFIXES = (".csv", ".md", ".tex")
#: Rows of a CSV table rendered in the index (the link gives the whole file).
MAX_TABLE_ROWS = 200

# nbconvert's lab template, less the scripts it loads from a CDN: require.js (only widgets and
# JavaScript outputs need it; the study has neither) and MathJax unless the notebook has maths.
_OFFLINE_TEMPLATE = "rgd_offline.html.j2"
_OFFLINE_TEMPLATE_SOURCE = """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}
{%- if resources.rgd_has_math -%}{{ super() }}{%- endif -%}
{%- endblock html_head_js_mathjax -%}
"""
_MATH = re.compile(r"\$|\\\(|\\\[|\\begin\{")

_STYLE = """\
body { font-family: sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em;
       line-height: 1.4; color: #222; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #444; }
table.dataframe { border-collapse: collapse; font-size: .85em; margin: .5em 0 1.5em; }
table.dataframe th, table.dataframe td { border: 1px solid #ccc; padding: .2em .5em; }
.note { color: #666; font-style: italic; }
code { background: #f4f4f4; padding: 0 .2em; }
"""


class ReportError(RuntimeError):
    """A notebook that cannot be read or exported (the message names the file)."""


@dataclass(frozen=True)
class _Export:
    """One executed notebook and where its HTML export goes, relative to the report folder."""

    notebook: Path
    group: str
    href: str


def executed_notebooks(paths: Sequence[Path]) -> list[Path]:
    """Expand folders into the executed notebooks they hold.

    Parameters
    ----------
    paths : sequence of pathlib.Path
        Folders (their ``*.ipynb``, sorted, without papermill's ``*.partial.ipynb`` of a run that
        failed or is still going) or notebook files (kept as they are). A path that does not
        exist is skipped: the report shows whatever ran.

    Returns
    -------
    list of pathlib.Path
        The notebooks, without duplicates, in the order of ``paths`` and then by name.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.glob("*.ipynb") if not p.name.endswith(".partial.ipynb"))
        elif path.is_file():
            found.append(path)
    return list(dict.fromkeys(found))


def export_notebook(notebook: Path, destination: Path) -> None:
    """Export one executed notebook to a self-contained HTML page.

    Parameters
    ----------
    notebook : pathlib.Path
        An executed notebook (outputs are shown as they are; nothing is run).
    destination : pathlib.Path
        The HTML file; its folder is created.

    Raises
    ------
    ReportError
        If nbformat cannot read the notebook or nbconvert cannot export it; the message names
        the file.
    """
    try:
        node = nbformat.read(notebook, as_version=4)
    except Exception as error:  # nbformat raises JSON, validation and OS errors alike
        raise ReportError(f"{notebook}: cannot read this notebook: {error}") from error
    has_math = any(
        cell.cell_type == "markdown" and _MATH.search(cell.source) for cell in node.cells
    )
    exporter = HTMLExporter(
        template_name="lab",
        template_file=_OFFLINE_TEMPLATE,
        extra_loaders=[DictLoader({_OFFLINE_TEMPLATE: _OFFLINE_TEMPLATE_SOURCE})],
        embed_images=True,
    )
    resources = {
        "metadata": {"name": notebook.stem, "path": str(notebook.parent)},
        "rgd_has_math": has_math,
    }
    try:
        body, _ = exporter.from_notebook_node(node, resources=resources)
    except Exception as error:
        raise ReportError(f"{notebook}: nbconvert cannot export this notebook: {error}") from error
    destination.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(destination, body)


def build_report(executed: Sequence[Path], figures_dir: Path, tables_dir: Path, out_dir: Path) -> Path:
    """Export the executed notebooks and write the report's index page.

    Parameters
    ----------
    executed : sequence of pathlib.Path
        Run folders (e.g. ``runs/cpu``, ``runs/sim``) or executed notebooks; see
        :func:`executed_notebooks`.
    figures_dir : pathlib.Path
        Every ``*.png`` in it is shown, with a link to the ``*.pdf`` of the same name if any.
    tables_dir : pathlib.Path
        Every ``*.csv``, ``*.md`` and ``*.tex`` in it is listed; CSV files are also rendered.
    out_dir : pathlib.Path
        The report folder: ``index.html`` and ``notebooks/``. Exports of notebooks that are no
        longer given are removed.

    Returns
    -------
    pathlib.Path
        ``out_dir / "index.html"``.

    Raises
    ------
    ReportError
        If a notebook cannot be read or exported (the previous report is then left as it was).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    exports = _plan_exports(executed_notebooks(executed))

    # Export into a scratch folder and swap it in whole: no mix of old and new pages.
    scratch = Path(tempfile.mkdtemp(dir=out_dir, prefix=".notebooks.", suffix=".partial"))
    scratch.chmod(0o755)
    try:
        for export in exports:
            export_notebook(export.notebook, scratch / export.href.removeprefix("notebooks/"))
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    shutil.rmtree(out_dir / "notebooks", ignore_errors=True)
    scratch.rename(out_dir / "notebooks")

    page = _index_page(executed, exports, figures_dir, tables_dir, out_dir)
    index = out_dir / "index.html"
    _write_atomically(index, page)
    return index


# ---------------------------------------------------------------------------------------------
# The index page.

def _plan_exports(notebooks: Sequence[Path]) -> list[_Export]:
    """Name each export ``notebooks/<run folder name>/<stem>.html``, sorted by folder and name.

    Two run folders with the same name (``a/cpu`` and ``b/cpu``) are told apart by their whole
    path instead.
    """
    groups = sorted({str(n.parent) for n in notebooks})
    names = {g: Path(g).name or "notebooks" for g in groups}
    clashes = {n for n in names.values() if list(names.values()).count(n) > 1}
    slugs = {g: re.sub(r"[^A-Za-z0-9_.-]+", "_", g).strip("_.") if names[g] in clashes else names[g]
             for g in groups}
    return sorted(
        (_Export(n, str(n.parent), f"notebooks/{slugs[str(n.parent)]}/{n.stem}.html") for n in notebooks),
        key=lambda e: (e.group, e.notebook.name),
    )


def _index_page(executed: Sequence[Path], exports: Sequence[_Export], figures_dir: Path,
                tables_dir: Path, out_dir: Path) -> str:
    figures, tables = [], []
    if figures_dir.is_dir():
        figures = sorted(p for p in figures_dir.glob("*.png") if p.is_file())
    if tables_dir.is_dir():
        tables = sorted(p for p in tables_dir.glob("*") if p.suffix in TABLE_SUFFIXES and p.is_file())
    counts = (f"{len(exports)} notebook{'s' * (len(exports) != 1)}, "
              f"{len(figures)} figure{'s' * (len(figures) != 1)}, "
              f"{len({t.stem for t in tables})} table{'s' * (len({t.stem for t in tables}) != 1)}")
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>rgd report: Routing with Generated Data</title>",
        f"<style>\n{_STYLE}</style>",
        "</head>",
        "<body>",
        "<h1>rgd report: Routing with Generated Data</h1>",
        (f"<p>What the study's last runs left: {counts}. Built by <code>make report</code>; "
         "rerun it after <code>make all</code> to update.</p>"),
        ('<p><a href="#notebooks">Notebooks</a> · <a href="#figures">Figures</a> · '
         '<a href="#tables">Tables</a></p>'),
        *_notebooks_section(executed, exports),
        *_figures_section(figures, figures_dir, out_dir),
        *_tables_section(tables, tables_dir, out_dir),
        "</body>",
        "</html>",
    ]
    return "\n".join(lines) + "\n"


def _notebooks_section(executed: Sequence[Path], exports: Sequence[_Export]) -> list[str]:
    lines = ['<section id="notebooks">', "<h2>Notebooks</h2>"]
    if not exports:
        where = ", ".join(str(p) for p in executed) or "no run folder"
        lines.append(f'<p class="note">No executed notebook in {_e(where)}: run <code>make all</code> '
                     "(or <code>make all PRESET=sim</code>) first.</p>")
    group = None
    for export in exports:
        if export.group != group:
            if group is not None:
                lines.append("</ul>")
            group = export.group
            lines += [f"<h3>{_e(group)}</h3>", "<ul>"]
        lines.append(f'<li><a href="{_e(export.href)}">{_e(export.notebook.stem)}</a> '
                     f"<small>({_e(export.notebook.name)})</small></li>")
    if group is not None:
        lines.append("</ul>")
    return lines + ["</section>"]


def _figures_section(figures: Sequence[Path], figures_dir: Path, out_dir: Path) -> list[str]:
    lines = ['<section id="figures">', "<h2>Figures</h2>"]
    if not figures_dir.is_dir():
        lines.append(f'<p class="note">No figures folder ({_e(str(figures_dir))}): the notebooks '
                     "write it when they run.</p>")
    elif not figures:
        lines.append(f'<p class="note">No figure (PNG) in {_e(str(figures_dir))} yet.</p>')
    for png in figures:
        pdf = png.with_suffix(".pdf")
        caption = f"<code>{_e(png.stem)}</code> · <a href=\"{_e(_href(png, out_dir))}\">PNG</a>"
        if pdf.is_file():
            caption += f' · <a href="{_e(_href(pdf, out_dir))}">PDF</a>'
        lines += [
            f'<figure id="figure-{_e(png.stem)}">',
            f'<img src="{_e(_href(png, out_dir))}" alt="{_e(png.stem)}">',
            f"<figcaption>{caption}</figcaption>",
            "</figure>",
        ]
    return lines + ["</section>"]


def _tables_section(tables: Sequence[Path], tables_dir: Path, out_dir: Path) -> list[str]:
    lines = ['<section id="tables">', "<h2>Tables</h2>"]
    if not tables_dir.is_dir():
        lines.append(f'<p class="note">No tables folder ({_e(str(tables_dir))}): the results '
                     "notebook writes it when it runs.</p>")
    elif not tables:
        lines.append(f'<p class="note">No table (CSV, Markdown or LaTeX) in {_e(str(tables_dir))} yet.</p>')
    stems = sorted({t.stem for t in tables})
    for stem in stems:
        files = sorted((t for t in tables if t.stem == stem), key=lambda t: TABLE_SUFFIXES.index(t.suffix))
        links = " · ".join(f'<a href="{_e(_href(t, out_dir))}">{_e(t.name)}</a>' for t in files)
        lines += [f'<h3 id="table-{_e(stem)}">{_e(stem)}</h3>', f"<p>{links}</p>"]
        csv = next((t for t in files if t.suffix == ".csv"), None)
        if csv is not None:
            lines += _csv_as_html(csv)
    return lines + ["</section>"]


def _csv_as_html(csv: Path) -> list[str]:
    """The CSV as written (every cell as text, escaped), at most :data:`MAX_TABLE_ROWS` rows."""
    try:
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except (ValueError, OSError) as error:  # pandas' EmptyDataError and ParserError are ValueErrors
        return [f'<p class="note">{_e(csv.name)} cannot be read as CSV: {_e(str(error))}</p>']
    lines = [table.head(MAX_TABLE_ROWS).to_html(index=False, escape=True, border=0)]
    if len(table) > MAX_TABLE_ROWS:
        lines.append(f'<p class="note">First {MAX_TABLE_ROWS} of {len(table)} rows; '
                     "the CSV has them all.</p>")
    return lines


def _href(target: Path, out_dir: Path) -> str:
    """A relative URL from the report folder to ``target`` (works from ``file://``)."""
    relative = os.path.relpath(target.resolve(), out_dir.resolve())
    return "/".join(quote(part) for part in Path(relative).parts)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    with atomic_path(path) as scratch, scratch.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


# ---------------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the report and print the path of its index page."""
    parser = argparse.ArgumentParser(
        prog="python -m rgd_utils.report",
        description="HTML report of the executed notebooks, the figures and the tables.",
    )
    parser.add_argument("--executed", nargs="*", type=Path, default=[],
                        help="run folders (their *.ipynb, without *.partial.ipynb) or notebooks")
    parser.add_argument("--figures", type=Path, default=Path("figures"), help="folder of PNG/PDF figures")
    parser.add_argument("--tables", type=Path, default=Path("results/tables"),
                        help="folder of CSV/Markdown/LaTeX tables")
    parser.add_argument("--out", type=Path, default=Path("runs/report"), help="report folder")
    args = parser.parse_args(argv)
    try:
        index = build_report(args.executed, args.figures, args.tables, args.out)
    except ReportError as error:
        print(f"make report: {error}", file=sys.stderr)
        return 1
    print(index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
