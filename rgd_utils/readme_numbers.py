"""The result numbers of README.md and docs/*.md, written from ``results/tables`` so that no page
carries a number typed by hand.

A page marks what is generated; everything between the markers is rewritten, the rest is kept::

    <!-- generated: claims cpu -->
    (a Markdown table, rewritten)
    <!-- end generated -->

    the best expert scores <!-- value: main_cpu_k1 router=best-single train_source=real average -->0.545<!-- /value -->

Blocks (``generated: KIND ARGS``):

- ``claims PRESET``: the claims of ``claims_PRESET.csv`` on the benchmarks' average, the headline k
  (``HEADLINE_K``) beside k = 3, with the Holm-adjusted p, the minimum detectable effect and the verdicts.
- ``table NAME [COLUMN=VALUE ...] [columns=A,B,...]``: the rows of ``NAME.csv`` whose COLUMN equals
  VALUE (``|`` separates alternatives), with the named columns (default: all). NAME is in
  ``results/tables``, or a path from the repository's root when it has a ``/``.
  ``pivot=COLUMN:VALUES`` makes one column per value of COLUMN, holding VALUES.

Words are split as a shell would (``"own domain=True"`` for a column name with spaces). Inline
values (``value: NAME [COLUMN=VALUE ...] COLUMN``) read one cell of ``NAME.csv``; the filters
must leave exactly one row. Numbers with more than three decimals are shown with three.

``python -m rgd_utils.readme_numbers`` rewrites the pages (``make all`` runs it after the notebooks);
``--check`` rewrites nothing and exits 1 naming the pages whose numbers differ from the tables.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pandas as pd

from rgd_utils.config import find_root

#: The k the headline quotes: one model answers each query, the paper's main setting (top-1).
HEADLINE_K = 1
#: The k shown beside it: the top-3 vote.
OTHER_K = 3
#: What the claims block reads from ``claims_<preset>.csv``.
CLAIMS_COLUMNS = ["claim", "benchmark", "k", "estimate", "low", "high", "interval", "seeds", "p_adjusted",
                  "mde", "family", "verdict"]

BLOCK = re.compile(r"(<!-- generated: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)
VALUE = re.compile(r"(<!-- value: (?P<spec>[^>]*?) -->)(?P<body>.*?)(<!-- /value -->)")
NUMBER = re.compile(r"[+-]?\d+\.\d{4,}")


@dataclass(frozen=True)
class Tables:
    """Where a page's tables are: ``NAME`` is ``folder/NAME.csv``; a name with a ``/`` is a path from
    the repository's root (``perf/results/cascal_scale``)."""

    folder: Path
    root: Path

    def read(self, name: str) -> pd.DataFrame:
        """The table as text, its ``#`` comment lines skipped; a clear error when it is missing."""
        path = (self.root if "/" in name else self.folder) / f"{name}.csv"
        if not path.exists():
            raise ValueError(f"{path} does not exist: run the notebook or command that writes it "
                             f"(`make all`, or the command named in the page), or fix the block's table name")
        lines = [line for line in path.read_text().splitlines(keepends=True) if not line.startswith("#")]
        return pd.read_csv(StringIO("".join(lines)), dtype=str, keep_default_na=False)


def _short(cell: str) -> str:
    """A table's cell as a page shows it: numbers with more than three decimals rounded to three."""
    return NUMBER.sub(lambda m: f"{float(m.group()):.3f}", cell)


def _filters(frame: pd.DataFrame, words: list[str], name: str) -> pd.DataFrame:
    """The rows of ``frame`` that match every ``COLUMN=VALUE`` word (``|``: alternatives;
    ``COLUMN^=VALUE``: the cell starts with VALUE, for cells with spaces such as claim names)."""
    for word in words:
        column, _, values = word.partition("=")
        prefix = column.endswith("^")
        column = column.removesuffix("^")
        if column not in frame.columns:
            raise ValueError(f"{name}.csv has no column {column!r} (it has {', '.join(frame.columns)})")
        wanted = tuple(values.split("|"))
        frame = frame[frame[column].str.startswith(wanted) if prefix else frame[column].isin(wanted)]
    return frame


def markdown(frame: pd.DataFrame) -> str:
    """A Markdown table of text cells (``|`` in a cell escaped)."""
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(_short(str(c)).replace("|", "\\|") for c in cells) + " |"
    lines = [row(list(frame.columns)), "|" + "---|" * len(frame.columns)]
    lines += [row(list(values)) for values in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _signed(value: str) -> str:
    return f"{float(value):+.3f}" if value not in ("", "nan") else "–"


def _p(value: str) -> str:
    """A p-value as a page shows it: three decimals, ``< 0.001`` below that."""
    if value in ("", "nan"):
        return "–"
    return "< 0.001" if float(value) < 0.001 else f"{float(value):.3f}"


def _estimate(row: pd.Series) -> str:
    """``+0.112 [+0.086, +0.140]``; the estimate alone where the claim has no interval."""
    if row["low"] in ("", "nan") or row["high"] in ("", "nan"):
        return _signed(row["estimate"])
    return f"{_signed(row['estimate'])} [{_signed(row['low'])}, {_signed(row['high'])}]"


def claims_block(tables: Tables, preset: str) -> str:
    """The preset's claims on the benchmarks' average: the headline k with its interval, adjusted
    p, minimum detectable effect and verdict, and the other k's estimate and verdict beside it."""
    frame = tables.read(f"claims_{preset}")
    missing = [c for c in CLAIMS_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"claims_{preset}.csv lacks the columns {', '.join(missing)}: rerun notebook 07")
    average = frame[frame["benchmark"] == "average"]
    if average.empty:
        raise ValueError(f"claims_{preset}.csv has no row for the benchmarks' average: rerun notebook 07")
    by_k = {k: average[average["k"] == str(k)].set_index("claim") for k in (HEADLINE_K, OTHER_K)}
    head, other = by_k[HEADLINE_K], by_k[OTHER_K]
    lines = [f"| claim | family | k = {HEADLINE_K}: estimate [95% interval] | p (Holm) | MDE | verdict "
             f"| k = {OTHER_K}: estimate | verdict |", "|---|---|---|---|---|---|---|---|"]
    for claim, row in head.iterrows():
        more = other.loc[claim] if claim in other.index else None
        cells = [claim, row["family"], _estimate(row), _p(row["p_adjusted"]),
                 _short(row["mde"]) or "–", f"**{row['verdict']}**",
                 _estimate(more) if more is not None else "–", more["verdict"] if more is not None else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    seeds = ", ".join(sorted(set(head["seeds"])))
    methods = "; ".join(dict.fromkeys(m for m in head["interval"] if m))
    lines += ["", f"Benchmarks' average of `results/tables/claims_{preset}.csv`; seeds per router: "
                  f"{seeds}; intervals: {methods}."]
    return "\n".join(lines) + "\n"


def table_block(tables: Tables, name: str, *words: str) -> str:
    """Rows and columns of ``NAME.csv`` as a Markdown table; ``pivot=COLUMN:VALUES`` spreads the
    cells of VALUES over one column per value of COLUMN (in order of appearance)."""
    options = {w.partition("=")[0]: w.partition("=")[2] for w in words if w.startswith(("columns=", "pivot="))}
    frame = _filters(tables.read(name), [w for w in words if not w.startswith(("columns=", "pivot="))], name)
    if "columns" in options:
        columns = options["columns"].split(",")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name}.csv has no column {missing[0]!r} (it has {', '.join(frame.columns)})")
        frame = frame[columns]
    if frame.empty:
        raise ValueError(f"no row of {name}.csv matches {' '.join(words)}")
    if "pivot" in options:
        spread, _, values = options["pivot"].partition(":")
        keys = [c for c in frame.columns if c not in (spread, values)]
        wide = frame.pivot(index=keys, columns=spread, values=values)
        order = frame[keys].drop_duplicates().set_index(keys).index
        frame = wide.reindex(index=order, columns=frame[spread].unique()).fillna("–").reset_index()
    return markdown(frame)


def value(tables: Tables, name: str, *words: str) -> str:
    """One cell of ``NAME.csv``: the last word names the column, the others filter to one row."""
    if not words:
        raise ValueError(f"value {name}: name the column to read")
    frame = _filters(tables.read(name), list(words[:-1]), name)
    column = words[-1]
    if column not in frame.columns:
        raise ValueError(f"{name}.csv has no column {column!r} (it has {', '.join(frame.columns)})")
    if len(frame) != 1:
        raise ValueError(f"value {name} {' '.join(words)}: {len(frame)} rows match, need exactly 1")
    return _short(frame[column].iloc[0])


BLOCKS: dict[str, Callable[..., str]] = {"claims": claims_block, "table": table_block}


def _split(spec: str) -> list[str]:
    words = shlex.split(spec)
    if not words:
        raise ValueError("an empty generated marker: write `<!-- generated: KIND ARGS -->`")
    return words


def render(text: str, tables: Tables) -> str:
    """``text`` with every generated block and value rewritten from ``tables``."""
    def block(match: re.Match) -> str:
        kind, *args = _split(match["spec"])
        if kind not in BLOCKS:
            raise ValueError(f"unknown generated block {kind!r} (known: {', '.join(BLOCKS)})")
        return match.group(1) + BLOCKS[kind](tables, *args) + match.group(4)

    def cell(match: re.Match) -> str:
        return match.group(1) + value(tables, *_split(match["spec"])) + match.group(4)

    return VALUE.sub(cell, BLOCK.sub(block, text))


def pages(root: Path) -> list[Path]:
    """The pages that may carry generated numbers: the README (when there is one) and every page
    in docs/."""
    readme = root / "README.md"
    return [*([readme] if readme.is_file() else []), *sorted((root / "docs").glob("*.md"))]


def update(root: Path, tables: Tables, check: bool = False) -> list[Path]:
    """Rewrite (or, with ``check``, only compare) every page; return those that differed."""
    changed = []
    for page in pages(root):
        text = page.read_text()
        try:
            new = render(text, tables)
        except ValueError as error:
            raise ValueError(f"{page.relative_to(root)}: {error}") from None
        if new != text:
            changed.append(page)
            if not check:
                page.write_text(new)
    return changed


def main(argv: list[str] | None = None) -> int:
    """Rewrite or check the pages; exit status 1 on a page that differs (``--check``) or a bad block."""
    parser = argparse.ArgumentParser(prog="python -m rgd_utils.readme_numbers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="the repository (default: the one here)")
    parser.add_argument("--tables", type=Path, default=None, help="default: ROOT/results/tables")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page differs")
    args = parser.parse_args(argv)
    try:
        root = args.root or find_root()
        changed = update(root, Tables(args.tables or root / "results" / "tables", root), args.check)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    names = ", ".join(str(p.relative_to(root)) for p in changed)
    if args.check and changed:
        print(f"numbers differ from results/tables in: {names} (run `python -m rgd_utils.readme_numbers`)")
        return 1
    if changed:
        print(f"rewrote the generated numbers of {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
