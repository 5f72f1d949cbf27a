"""The knobs of a SIMULATED world: its benchmarks, generators and pools, and :class:`SimConfig`
(every knob of the generative model that :mod:`rgd_utils.simulate` draws from)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import norm

from .benchmarks.schema import LETTERS

N_OPTIONS = 4
OPTION_LETTERS = np.array(list(LETTERS[:N_OPTIONS]), dtype=object)


@dataclass(frozen=True)
class SimBenchmark:
    """A simulated benchmark.

    Attributes
    ----------
    name : str
        Benchmark name (``sim_...``).
    subjects : tuple of str
        Its subjects (the paper's §1.1 counts and names).
    n_real : int
        Real questions at ``scale=1`` (the paper's §1.1 sizes), split train/test per subject.
    difficulty : float
        Mean logit difficulty of its items (higher: lower accuracy).
    """

    name: str
    subjects: tuple[str, ...]
    n_real: int
    difficulty: float


@dataclass(frozen=True)
class SimGenerator:
    """A simulated generator and its quality knobs.

    Attributes
    ----------
    name : str
        Its ``source`` label (``sim-...``).
    strength : str
        ``"strong"``, ``"medium"`` or ``"weak"``.
    label_noise : float
        Probability that a generated label is not the true answer (``1 -`` self-consistency).
    difficulty_spread : float
        Standard deviation of its items' logit difficulty.
    """

    name: str
    strength: str
    label_noise: float
    difficulty_spread: float


@dataclass(frozen=True)
class SimPool:
    """A simulated pool of models (routed separately, as in the paper's §1.3).

    Attributes
    ----------
    name : str
        ``"large"`` or ``"small"``.
    n_models : int
        Pool size.
    ability : float
        Mean logit ability of its models.
    """

    name: str
    n_models: int
    ability: float

    @property
    def models(self) -> tuple[str, ...]:
        """Expert names, ``sim-<pool>-<i>:cot`` (the ``cot`` mode of the paper's pool)."""
        return tuple(f"sim-{self.name}-{i}:cot" for i in range(1, self.n_models + 1))


SIM_BENCHMARKS: tuple[SimBenchmark, ...] = (
    SimBenchmark("sim_mmlu_pro", (
        "biology", "history", "chemistry", "psychology", "economics", "other", "math",
        "philosophy", "engineering", "health", "business", "physics", "law", "computer science",
    ), 12032, 0.0),
    SimBenchmark("sim_supergpqa", (
        "Management", "Literature and Arts", "Military Science", "Agronomy", "Science", "Economics",
        "Philosophy", "Law", "Sociology", "History", "Education", "Medicine", "Engineering",
    ), 26529, 1.0),
    SimBenchmark("sim_medmcqa", (
        "Pathology", "Ophthalmology", "Gynaecology & Obstetrics", "Anaesthesia", "Forensic Medicine",
        "Psychiatry", "Unknown", "Microbiology", "Medicine", "Radiology", "Biochemistry", "Dental",
        "Pediatrics", "Physiology", "Skin", "Pharmacology", "Social & Preventive Medicine", "ENT",
        "Surgery", "Orthopaedics", "Anatomy",
    ), 30000, -0.3),
    SimBenchmark("sim_bbeh", (
        "bbeh_boardgame_qa", "bbeh_causal_understanding", "bbeh_boolean_expressions",
        "bbeh_disambiguation_qa", "bbeh_geometric_shapes", "bbeh_hyperbaton",
        "bbeh_movie_recommendation", "bbeh_shuffled_objects", "bbeh_nycc",
    ), 1720, 2.0),
)
SIM_GENERATORS: tuple[SimGenerator, ...] = (
    SimGenerator("sim-strong", "strong", label_noise=0.05, difficulty_spread=0.8),
    SimGenerator("sim-medium", "medium", label_noise=0.15, difficulty_spread=1.6),
    SimGenerator("sim-weak", "weak", label_noise=0.30, difficulty_spread=2.5),
)
SIM_POOLS: tuple[SimPool, ...] = (SimPool("large", 6, 1.0), SimPool("small", 6, 0.0))


@dataclass(frozen=True)
class SimConfig:
    """The knobs of the simulated world (defaults: the paper's scale, and the consensus-routing
    map's paper-like point, :data:`rgd_utils.sim_map.cells.PAPER_LIKE`: strong niches, independent
    models, confidence AUROC 0.75).

    Attributes
    ----------
    scale : float
        Multiplies every size (real questions and generated queries); 0.01 runs in milliseconds.
    n_generated : int
        Generated queries per benchmark and generator at ``scale=1`` (the paper's §1.4: ~5,000),
        spread round-robin over the subjects.
    train_fraction : float
        Share of each subject's real questions in the train split.
    benchmarks, generators, pools : tuples
        See :class:`SimBenchmark`, :class:`SimGenerator`, :class:`SimPool`.
    dim : int
        Embedding dimension.
    clusters_per_subject : (int, int)
        Fewest and most latent clusters per subject.
    subject_spread : float
        Distance of a cluster centre from its subject's direction (before normalisation).
    cluster_noise : float
        Norm of a query's offset from its cluster centre (before normalisation).
    ability_sd : float
        Spread of model abilities around their pool's mean (logits).
    niche_sd : float
        Spread of a model's per-cluster skill around its ability (logits).
    niche_margin : float
        Least logit lead of a cluster's planted best model over the pool's runner-up.
    real_difficulty_spread : float
        Standard deviation of real items' logit difficulty.
    distractor_pull : float
        Probability that a wrong answer (or a wrong generated label) is the item's attractive
        distractor rather than a uniformly drawn wrong letter.
    confidence_right, confidence_wrong : float
        Typical minus-confidence (mean token negative log-probability) of right and wrong answers.
    confidence_noise : float
        Log-normal noise of the confidence; per-model scales have the same spread.
    bloc_size : int
        Models of each pool (its first ones) that share a base; 1: no bloc.
    bloc_correlation : float
        In [0, 1]: share of the questions a bloc answers from one shared draw, and share of its
        members' niche variance that is common (module docstring).
    bloc_gap : float
        Logit ability of the bloc's members below their pool's mean.
    """

    scale: float = 1.0
    n_generated: int = 5000
    train_fraction: float = 0.6
    benchmarks: tuple[SimBenchmark, ...] = SIM_BENCHMARKS
    generators: tuple[SimGenerator, ...] = SIM_GENERATORS
    pools: tuple[SimPool, ...] = SIM_POOLS
    dim: int = 32
    clusters_per_subject: tuple[int, int] = (2, 4)
    subject_spread: float = 0.7
    cluster_noise: float = 1.2
    ability_sd: float = 0.3
    niche_sd: float = 2.0
    niche_margin: float = 1.0
    real_difficulty_spread: float = 1.2
    distractor_pull: float = 0.5
    confidence_right: float = 0.15
    confidence_wrong: float = 0.22
    confidence_noise: float = 0.4
    bloc_size: int = 1
    bloc_correlation: float = 0.0
    bloc_gap: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.bloc_size <= min(pool.n_models for pool in self.pools):
            raise ValueError(f"bloc_size must be between 1 and the smallest pool's size, got "
                             f"{self.bloc_size}")
        if not 0.0 <= self.bloc_correlation <= 1.0:
            raise ValueError(f"bloc_correlation must be in [0, 1], got {self.bloc_correlation}")

    @property
    def models(self) -> tuple[str, ...]:
        """Every pool's expert names, pool by pool."""
        return tuple(m for pool in self.pools for m in pool.models)

    @property
    def bloc_columns(self) -> list[np.ndarray]:
        """Each pool's bloc as column indices into :attr:`models` (empty list: no bloc)."""
        if self.bloc_size < 2:
            return []
        starts = np.cumsum([0] + [pool.n_models for pool in self.pools[:-1]])
        return [start + np.arange(self.bloc_size) for start in starts]

    @property
    def confidence_auroc(self) -> float:
        """Within-model probability that a right answer is more confident than a wrong one."""
        gap = np.log(self.confidence_wrong / self.confidence_right)
        return float(norm.cdf(gap / (self.confidence_noise * np.sqrt(2))))


def with_confidence_auroc(config: SimConfig, auroc: float) -> SimConfig:
    """``config`` with ``confidence_wrong`` set so that :attr:`SimConfig.confidence_auroc` is
    ``auroc`` (0.5: confidence says nothing about correctness)."""
    if not 0.0 < auroc < 1.0:
        raise ValueError(f"auroc must be in (0, 1), got {auroc}")
    gap = norm.ppf(auroc) * config.confidence_noise * np.sqrt(2)
    return replace(config, confidence_wrong=float(config.confidence_right * np.exp(gap)))
