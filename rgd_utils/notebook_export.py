"""Executed notebooks as self-contained HTML pages for the report (:mod:`rgd_utils.report`).

Each executed notebook is exported with nbconvert's ``lab`` template, images embedded and no
script loaded from a CDN, to ``notebooks/<run folder>/<notebook>.html`` inside the report folder.
"""

from __future__ import annotations

from html import escape
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter

from .atomic import atomic_path

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


class ReportError(RuntimeError):
    """A notebook that cannot be read or exported (the message names the file)."""


@dataclass(frozen=True)
class NotebookExport:
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
    write_atomically(destination, body)


def plan_exports(notebooks: Sequence[Path]) -> list[NotebookExport]:
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
        (NotebookExport(n, str(n.parent), f"notebooks/{slugs[str(n.parent)]}/{n.stem}.html") for n in notebooks),
        key=lambda e: (e.group, e.notebook.name),
    )


def notebooks_section(executed: Sequence[Path], exports: Sequence[NotebookExport]) -> list[str]:
    lines = ['<section id="notebooks">', "<h2>Executed notebooks</h2>"]
    if not exports:
        where = ", ".join(str(p) for p in executed) or "no run folder"
        lines.append(f'<p class="note">No executed notebook in {escape(where)}: run <code>make all</code> '
                     "(or <code>make all PRESET=sim</code>) first.</p>")
    group = None
    for export in exports:
        if export.group != group:
            if group is not None:
                lines.append("</ul>")
            group = export.group
            lines += [f"<h3>{escape(group)}</h3>", "<ul>"]
        lines.append(f'<li><a href="{escape(export.href)}">{escape(export.notebook.stem)}</a> '
                     f"<small>({escape(export.notebook.name)})</small></li>")
    if group is not None:
        lines.append("</ul>")
    return lines + ["</section>"]


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    with atomic_path(path) as scratch, scratch.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
