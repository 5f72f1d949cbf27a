"""The README's and docs' numbers are written from the results tables (rgd_utils.readme_numbers),
the README leads with the claims table, every relative link resolves, and the project names no
file outside itself."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from rgd_utils.readme_numbers import Tables, claims_block, main, pages, render, table_block, update, value

ROOT = Path(__file__).resolve().parents[1]
#: Pages another branch writes; the link to them is allowed to dangle until it is merged.
PENDING_PAGES: set[str] = set()
#: Files outside the repository that it must never name (built so that this file does not name them).
OUTSIDE = [name + ".md" for name in ("PAPER", "DESIGN", "OFFLINE_RESOURCES")] + ["../" + "shared"]
#: The files this test's owner keeps free of outside names and issue numbers.
OWNED = ["README.md", "Makefile", "pyproject.toml", "environment.yml", ".ci/run"]


def _claims(folder: Path) -> None:
    rows = []
    for claim, family, k, est, low, high, p_adj, verdict in [
        ("1. a", "confirmatory", 1, 0.11234, 0.0859, 0.1401, 0.005, "holds"),
        ("1. a", "confirmatory", 3, 0.0358, 0.0149, 0.0556, 0.005, "holds"),
        ("4. b", "confirmatory", 1, 0.5, None, None, 0.5787, "inconclusive at our n"),
        ("6. c", "exploratory", 1, -0.0856, -0.1201, -0.0511, 0.0001, "does not hold"),
    ]:
        for benchmark in ("mmlu", "average"):
            rows.append(dict(claim=claim, benchmark=benchmark, k=k, estimate=est, low=low, high=high,
                             interval="paired bootstrap", seeds=5, p_adjusted=p_adj, mde=0.039,
                             family=family, verdict=verdict))
    pd.DataFrame(rows).to_csv(folder / "claims_toy.csv", index=False)


def test_the_claims_block_quotes_the_average_rows_at_both_k(tmp_path) -> None:
    _claims(tmp_path)
    lines = claims_block(Tables(tmp_path, tmp_path), "toy").splitlines()
    assert lines[2] == ("| 1. a | confirmatory | +0.112 [+0.086, +0.140] | 0.005 | 0.039 | **holds** "
                        "| +0.036 [+0.015, +0.056] | holds |")
    assert lines[3] == "| 4. b | confirmatory | +0.500 | 0.579 | 0.039 | **inconclusive at our n** | – | – |"
    assert lines[4].startswith("| 6. c | exploratory | -0.086 [-0.120, -0.051] | < 0.001 |")
    assert len(lines) == 7 and "seeds per router: 5" in lines[6]  # the per-benchmark rows are left out


def test_blocks_and_values_are_rewritten_and_the_rest_kept(tmp_path) -> None:
    pd.DataFrame({"router": ["a", "a", "b"], "source": ["real", "gen", "real"],
                  "average": ["0.5", "0.41234", "0.3"]}).to_csv(tmp_path / "main.csv", index=False)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "t.csv").write_text("# a comment line\nx,y\n1,2\n")
    tables = Tables(tmp_path, tmp_path)
    text = ("before\n<!-- generated: table main pivot=source:average -->\nstale\n<!-- end generated -->\n"
            "a scores <!-- value: main router=a source=gen average -->0.9<!-- /value --> after\n"
            "<!-- generated: table sub/t columns=y -->\n<!-- end generated -->\n")
    assert render(text, tables) == (
        "before\n<!-- generated: table main pivot=source:average -->\n"
        "| router | real | gen |\n|---|---|---|\n| a | 0.5 | 0.412 |\n| b | 0.3 | – |\n<!-- end generated -->\n"
        "a scores <!-- value: main router=a source=gen average -->0.412<!-- /value --> after\n"
        "<!-- generated: table sub/t columns=y -->\n| y |\n|---|\n| 2 |\n<!-- end generated -->\n")
    assert table_block(tables, "main", "router^=b") == "| router | source | average |\n|---|---|---|\n| b | real | 0.3 |\n"


@pytest.mark.parametrize("call, message", [
    (lambda t: value(t, "main", "router=a", "average"), "2 rows match, need exactly 1"),
    (lambda t: value(t, "main", "model=a", "average"), "main.csv has no column 'model'"),
    (lambda t: table_block(t, "nothing"), "nothing.csv does not exist"),
    (lambda t: claims_block(t, "x"), "claims_x.csv lacks the columns benchmark, k, estimate, low"),
    (lambda t: table_block(t, "main", "router=z"), "no row of main.csv matches router=z"),
    (lambda t: render("<!-- generated: chart main -->\n<!-- end generated -->", t), "unknown generated block 'chart'"),
])
def test_a_bad_block_says_what_is_wrong(tmp_path, call, message) -> None:
    pd.DataFrame({"router": ["a", "a"], "average": ["0.5", "0.4"]}).to_csv(tmp_path / "main.csv", index=False)
    pd.DataFrame({"claim": ["1. a"], "verdict": ["holds"]}).to_csv(tmp_path / "claims_x.csv", index=False)
    with pytest.raises(ValueError, match=re.escape(message)):
        call(Tables(tmp_path, tmp_path))


def test_check_reports_a_page_that_differs_and_writing_fixes_it(tmp_path, capsys) -> None:
    _claims(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("<!-- generated: claims toy -->\nold\n<!-- end generated -->\n")
    (tmp_path / "docs" / "a.md").write_text("no numbers\n")
    args = ["--root", str(tmp_path), "--tables", str(tmp_path)]
    assert main(args + ["--check"]) == 1
    assert "numbers differ from results/tables in: README.md" in capsys.readouterr().out
    assert main(args) == 0 and main(args + ["--check"]) == 0
    assert "| 1. a |" in (tmp_path / "README.md").read_text()


def test_a_project_without_a_readme_or_docs_has_nothing_to_rewrite(tmp_path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("no numbers\n")
    assert pages(tmp_path) == [tmp_path / "docs" / "a.md"]
    assert main(["--root", str(tmp_path), "--tables", str(tmp_path), "--check"]) == 0
    (tmp_path / "docs" / "a.md").unlink()
    (tmp_path / "docs").rmdir()
    assert pages(tmp_path) == [] and main(["--root", str(tmp_path), "--check"]) == 0


def test_the_pages_carry_the_numbers_of_the_committed_tables() -> None:
    changed = update(ROOT, Tables(ROOT / "results" / "tables", ROOT), check=True)
    assert not changed, f"run `python -m rgd_utils.readme_numbers`: {[str(p.relative_to(ROOT)) for p in changed]}"


def test_the_readme_is_short_and_leads_with_the_claims_table() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(text) <= 12000
    lines = text.splitlines()
    start = lines.index("<!-- generated: claims cpu -->")
    assert start < 78 and lines[start + 1].startswith("| claim |") and lines[start + 3].startswith("| 1.")
    assert "k = 1" in text and "figures/07_generator_strength.png" in text
    assert "docs/when_consensus_routing_pays.md" in text


def test_every_relative_link_of_the_readme_and_docs_resolves() -> None:
    broken = []
    for page in pages(ROOT):
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            resolved = (page.parent / target).resolve()
            if not resolved.exists() and str(resolved.relative_to(ROOT)) not in PENDING_PAGES:
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken
    # A pending page that exists now must leave the list, so that its links are checked again.
    assert not [name for name in PENDING_PAGES if (ROOT / name).exists()]


def _offenders(files: list[str]) -> list[str]:
    found = []
    for name in files:
        path = ROOT / name
        if path.is_file() and not path.is_symlink():
            text = path.read_text(errors="ignore")
            found += [f"{name}: {word}" for word in OUTSIDE if word in text]
    return found


def test_the_pages_and_build_files_name_nothing_outside_the_repository() -> None:
    owned = OWNED + [str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")]
    assert not _offenders(owned)
    issue = re.compile(r"\bissues? #?\d+|#\d{2,}\b", re.I)
    assert not [name for name in owned if issue.search((ROOT / name).read_text())]


def test_no_file_of_the_repository_names_files_outside_it() -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    offenders = _offenders(files)
    assert not offenders, "\n".join(offenders)


def test_make_all_rewrites_the_numbers_after_the_notebooks_only_into_the_committed_results() -> None:
    def dry(*args: str) -> list[str]:
        out = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "-n", "all", *args],
                             capture_output=True, text=True, check=True).stdout
        return [line for line in out.splitlines() if "rgd_utils." in line]
    lines = dry()
    assert "rgd_utils.stages" in lines[-2] and lines[-1].endswith("-m rgd_utils.readme_numbers")
    assert not any("readme_numbers" in line for line in dry("RESULTS_DIR=runs/smoke/results"))
