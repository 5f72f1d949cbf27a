"""One entry point to the study's data for notebooks 03-07, whatever the preset.

* ``cpu`` and ``paper``: the question and response datasets written by notebooks 00-02
  (``data/questions/``, ``data/responses/``) and query embeddings from the LLM cache (replaying
  needs no encoder).
* ``sim``: a simulated world drawn in memory by :mod:`rgd_utils.simulate`, with the same tables;
  everything made from it says that it is simulated.

>>> study = load_study("sim", sim_scale=0.02)            # doctest: +SKIP
>>> train = study.routing_data(study.train_questions("real"))
>>> test = study.routing_data(study.test_questions())
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .benchmarks import read_questions
from .config import GeneratorSpec, Preset, get_paths, get_preset
from .pool import study_questions
from .responses import Expert, read_responses
from .routers import RoutingData

if TYPE_CHECKING:
    from .sim_config import SimConfig


@dataclass(frozen=True, eq=False)
class Study:
    """The tables of one preset's study and the embeddings of its queries.

    Attributes
    ----------
    preset : Preset
        What the study uses.
    questions : pandas.DataFrame
        Real train and test samples and the generated items of the study benchmarks.
    responses : pandas.DataFrame
        Every expert's answer to every one of ``questions``.
    embed : callable
        ``embed(qids) -> (n, d)`` float array, rows in the order of ``qids``.
    simulated : bool
        True for the ``sim`` preset.
    description : str
        One line for the top of a notebook.
    generator_experts : mapping of str to str
        Generator name -> the pool expert of the same model that answers with the pool prompt
        (its self-consistency is measured from it); generators that are not pool models are
        absent (their self-consistency falls back to the pool majority).
    """

    preset: Preset
    questions: pd.DataFrame
    responses: pd.DataFrame
    embed: Callable[[list[str]], np.ndarray]
    simulated: bool
    description: str
    generator_experts: Mapping[str, str] = field(default_factory=dict)

    @property
    def experts(self) -> list[str]:
        """The pool, in column order."""
        return list(self.preset.experts)

    @property
    def sources(self) -> list[str]:
        """``"real"`` and the generators, strong to weak: the train conditions of the study."""
        return ["real", *(g.name for g in self.preset.generators)]

    def train_questions(self, source: str, benchmark: str | None = None) -> pd.DataFrame:
        """Train queries of one source (``"real"`` or a generator), optionally one benchmark."""
        chosen = self.questions[(self.questions["source"] == source) & (self.questions["split"] == "train")]
        return chosen if benchmark is None else chosen[chosen["benchmark"] == benchmark]

    def test_questions(self, benchmark: str | None = None) -> pd.DataFrame:
        """Real test queries, optionally of one benchmark (what every router is scored on)."""
        chosen = self.questions[(self.questions["source"] == "real") & (self.questions["split"] == "test")]
        return chosen if benchmark is None else chosen[chosen["benchmark"] == benchmark]

    def routing_data(self, questions: pd.DataFrame, labels: bool = True) -> RoutingData:
        """Routing data of some of the study's queries (see :meth:`RoutingData.from_tables`)."""
        return RoutingData.from_tables(questions, self.responses, self.embed, self.experts, labels=labels)


def _generator_experts(preset: Preset) -> dict[str, str]:
    """Each generator's own pool expert: the generator model in ``letter`` mode (the pool
    prompt's question and lettered options), else its first expert."""
    experts = [Expert.parse(name) for name in preset.experts]
    mapping = {}
    for spec in preset.generators:
        own = [e for e in experts if e.model == spec.model]
        if own:
            mapping[spec.name] = next((e for e in own if e.mode == "letter"), own[0]).name
    return mapping


def load_study(
    preset: str,
    data_dir: str | Path = "data",
    cache_dir: str | Path = "data/cache",
    n_train: int | None = None,
    n_test: int | None = None,
    sim_scale: float = 0.1,
    random_state: int = 0,
    generators: Sequence[str] | None = None,
) -> Study:
    """Load the study of a preset (the datasets of notebooks 00-02, or the simulated world).

    Parameters
    ----------
    preset : str
        ``"cpu"``, ``"paper"`` or ``"sim"``.
    data_dir, cache_dir : str or pathlib.Path
        Where notebooks 00-02 wrote the datasets, and the LLM cache holding the embeddings
        (relative paths are taken from the repository root). Unused for ``sim``.
    n_train, n_test : int, optional
        Real questions per benchmark and split; None: as the preset says. Unused for ``sim``.
    sim_scale : float, default 0.1
        Size of the simulated world (1.0 is the paper's scale: about 130,000 queries).
    random_state : int, default 0
        Seed of the simulated world.
    generators : sequence of str, optional
        The preset's generators whose data the study uses (:meth:`Preset.with_generators`);
        None: all of them, ``[]``: the real train data only.

    Returns
    -------
    Study

    Raises
    ------
    FileNotFoundError
        When the datasets of notebooks 00-02 are missing (run them first).
    """
    spec = get_preset(preset)
    if spec.name == "sim":
        from .sim_config import SimConfig

        study = simulated_study(SimConfig(scale=sim_scale), random_state)
        if generators is None:
            return study
        spec = study.preset.with_generators(generators)
        kept = study.questions["source"].isin({"real", *(g.name for g in spec.generators)})
        questions = study.questions[kept].reset_index(drop=True)
        responses = study.responses[study.responses["qid"].isin(set(questions["qid"]))]
        return replace(study, preset=spec, questions=questions,
                       responses=responses.reset_index(drop=True))
    spec = spec.with_generators(generators)
    from .embeddings import embed_questions, encoder_for
    from .llm.cache import LLMCache

    paths = get_paths(data_dir)
    questions = study_questions(read_questions(paths.questions), spec,
                                spec.n_train if n_train is None else n_train,
                                spec.n_test if n_test is None else n_test)
    responses = read_responses(paths.responses(spec.name))
    responses = responses[responses["qid"].isin(set(questions["qid"]))].reset_index(drop=True)
    cache = LLMCache(paths.root / cache_dir)
    vectors = embed_questions(questions, encoder_for(spec.embedder, spec.engine), cache)
    description = (f"preset {spec.name!r}: {spec.description}; {len(questions):,} questions, "
                   f"{len(spec.experts)} experts")
    return Study(spec, questions, responses, lambda qids: np.stack([vectors[q] for q in qids]),
                 False, description, _generator_experts(spec))


def simulated_study(config: SimConfig, random_state: int = 0) -> Study:
    """The study of a simulated world drawn with ``config`` (the ``sim`` preset's pool and
    benchmarks; its generators are ``config.generators``).

    Parameters
    ----------
    config : rgd_utils.sim_config.SimConfig
        The world's knobs (e.g. a grid of generators for a generator-quality sweep).
    random_state : int, default 0
        Seed of the world.

    Returns
    -------
    Study
        ``simulated`` is True; the preset is ``sim`` with ``config``'s generators, strong to weak
        as listed (the preset's own specification for a generator it names).
    """
    from .simulate import simulate_world

    sim = get_preset("sim")
    known = {g.name: g for g in sim.generators}
    spec = replace(sim, generators=tuple(
        known.get(g.name, GeneratorSpec(g.name, g.name, g.strength, 0.0, config.n_generated))
        for g in config.generators))
    world = simulate_world(config, random_state=random_state)
    questions = world.questions[world.questions["benchmark"].isin(set(spec.study_benchmarks))]
    questions = questions.reset_index(drop=True)
    responses = world.responses[world.responses["model"].isin(spec.experts)
                                & world.responses["qid"].isin(set(questions["qid"]))]
    return Study(spec, questions, responses.reset_index(drop=True), world.vectors, True,
                 world.description, {})
