"""What a run of the study executes: its notebooks, their parameters and the order between them.

The notebooks are ``notebooks/NN_<stage>.ipynb``; each one's parameters are read from its
``parameters`` cell (``papermill.inspect_notebook``), so a new notebook or parameter needs no
edit here. A notebook receives the run's settings and the ``NB_PARAMS`` overrides that it
declares, nothing else. The data stages run in order; the analyses (03-06) read only what the
data stages wrote, not one another's output, so they may run side by side; every later notebook
(07, the results) waits for all before it. The default study's results also wait for the
simulated world's run, which they report beside it.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import papermill
import yaml

from rgd_utils.config import get_preset

#: Notebooks numbered 03-06: each reads only what the data stages wrote.
ANALYSES = range(3, 7)
_NAME = re.compile(r"^(\d\d)_(.+)\.ipynb$")


@dataclass(frozen=True)
class Notebook:
    """One notebook of the study and the parameters its ``parameters`` cell declares (name ->
    the source text of its default)."""

    path: Path
    parameters: dict[str, str]

    @property
    def name(self) -> str:
        """File stem, e.g. ``03_self_consistency``."""
        return self.path.stem

    @property
    def stage(self) -> str:
        """Stage (``make`` target) name, e.g. ``self_consistency``."""
        return _NAME.match(self.path.name).group(2)

    @property
    def number(self) -> int:
        return int(_NAME.match(self.path.name).group(1))


def discover(folder: Path) -> list[Notebook]:
    """The study's notebooks in ``folder``, in order, with their declared parameters."""
    paths = sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb") if _NAME.match(p.name))
    return [Notebook(p, {name: spec["default"] for name, spec in papermill.inspect_notebook(str(p)).items()})
            for p in paths]


def _typed(value: str) -> Any:
    """A ``-p`` value typed as papermill types it: bool, None, int, float, else the string."""
    if value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[value]
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _literal(source: str) -> Any:
    """A default's value when it is a literal (``0``, ``"cpu"``, ``None``), else its source text."""
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return source


def parse_overrides(text: str) -> dict[str, Any]:
    """Parameters given in papermill's own options (``NB_PARAMS``), as one dictionary.

    Understands ``-p NAME VALUE`` (typed as papermill types it), ``-r NAME VALUE`` (raw
    string), ``-y YAML`` and ``-f FILE`` (a YAML mapping); later options override earlier ones.
    """
    words, values = shlex.split(text), {}
    while words:
        option = words.pop(0)
        try:
            if option in ("-p", "--parameters", "-r", "--parameters_raw"):
                name, value = words.pop(0), words.pop(0)
                values[name] = value if option.startswith(("-r", "--parameters_r")) else _typed(value)
            elif option in ("-y", "--parameters_yaml", "-f", "--parameters_file"):
                text = words.pop(0)
                mapping = yaml.safe_load(Path(text).read_text() if option in ("-f", "--parameters_file") else text)
                if not isinstance(mapping, dict):
                    raise ValueError(f"{option} {text!r} is not a YAML mapping of parameters")
                values.update(mapping)
            else:
                raise ValueError(f"unknown option {option!r}")
        except IndexError:
            raise ValueError(f"{option} lacks its value") from None
    return values


def generator_names(text: str | None, preset: str) -> list[str] | None:
    """The generators a run uses: ``None`` for the preset's default, ``[]`` for ``none``.

    ``text`` is ``GENERATORS`` as given to ``make``: unset (``None``) means the generators whose
    data are complete (the preset's ``complete_generators``), empty means all of the preset's.
    """
    spec = get_preset(preset)
    if text is None:
        return None if spec.complete_generators is None else list(spec.complete_generators)
    names = text.split()
    if names == ["none"]:
        return []
    for name in names:
        spec.generator(name)  # a clear error for a name the preset does not have
    return names or None


@dataclass(frozen=True)
class Job:
    """One notebook of one run: what it is given, where its executed copy goes, what precedes it."""

    notebook: Notebook
    preset: str
    out: Path
    parameters: dict[str, Any]
    after: tuple[str, ...] = field(default=())

    def effective_parameters(self) -> dict[str, Any]:
        """Every declared parameter's value in this run: given, else the notebook's default."""
        return {**{name: _literal(default) for name, default in self.notebook.parameters.items()},
                **self.parameters}

    @property
    def key(self) -> str:
        return f"{self.preset}:{self.notebook.name}"

    @property
    def executed(self) -> Path:
        return self.out / self.notebook.path.name

    @property
    def stamp(self) -> Path:
        return self.out / f"{self.notebook.name}.stamp.json"

    def describe(self) -> str:
        return f"{self.notebook.path} (preset {self.preset}, {self.out}/)"


@dataclass(frozen=True)
class Settings:
    """The ``make`` variables of one run."""

    preset: str
    out: Path
    data_dir: str = "data"
    figures_dir: str = "figures"
    results_dir: str = "results"
    generators: str | None = None
    overrides: str = ""
    pending: tuple[str, ...] = ()


def plan(notebooks: list[Notebook], settings: Settings, before: list[Job] = ()) -> list[Job]:
    """The jobs of one run, in order; ``before``: a run whose results this one's results report."""
    preset = get_preset(settings.preset)
    given = {"preset": settings.preset, "data_dir": settings.data_dir,
             "figures_dir": settings.figures_dir, "results_dir": settings.results_dir}
    generators = generator_names(settings.generators, settings.preset)
    if generators is not None:
        given["generators"] = generators
    overrides = parse_overrides(settings.overrides)
    unknown = set(overrides) - {p for nb in notebooks for p in nb.parameters}
    if unknown:
        raise ValueError(f"no notebook takes the parameter(s) {sorted(unknown)} given in NB_PARAMS")
    pending = {Path(p).stem for p in settings.pending}
    chosen = [nb for nb in notebooks if nb.name not in pending and nb.name not in preset.skipped_notebooks]
    jobs: list[Job] = []
    for notebook in chosen:
        parameters = {k: v for k, v in {**given, **overrides}.items() if k in notebook.parameters}
        if notebook.number in ANALYSES:
            earlier = [j for j in jobs if j.notebook.number not in ANALYSES][-1:]
        else:
            earlier = jobs + (list(before) if notebook.number > max(ANALYSES) else [])
        jobs.append(Job(notebook, settings.preset, settings.out, parameters,
                        tuple(j.key for j in earlier)))
    return jobs


def needed(jobs: list[Job], stages: list[str]) -> list[Job]:
    """The jobs of the given stages (of the last run that has them) and every job they wait for."""
    by_key = {j.key: j for j in jobs}
    wanted: list[str] = []
    for stage in stages:
        matches = [j for j in jobs if stage in (j.notebook.stage, j.notebook.name)]
        if not matches:
            raise ValueError(f"no stage {stage!r} in this run; stages: {sorted({j.notebook.stage for j in jobs})}")
        wanted.append(matches[-1].key)
    keep: set[str] = set()
    while wanted:
        key = wanted.pop()
        if key not in keep:
            keep.add(key)
            wanted.extend(by_key[key].after)
    return [j for j in jobs if j.key in keep]
