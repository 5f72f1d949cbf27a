"""The ``sim`` world: a SIMULATED pool at the paper's scale, with planted truth.

No LLM is called and no real question is used. The world writes the study's tables
(questions, responses, embeddings) so that every analysis of the study runs on it unchanged,
and beside them the truth those tables were drawn from, so that an analysis can be checked
against what it should find. Everything it writes says it is simulated: benchmark names start
with ``sim_``, model and generator names with ``sim-``, question texts with ``[simulated``.

Generative model [OURS] (the paper's §1 gives the scale; the mechanics are ours):

* **Queries.** Each subject has 2-4 latent clusters ("skill niches"). A subject has a random
  unit direction; its clusters' centres lie ``subject_spread`` away from it; a query is its
  cluster's centre plus isotropic noise of norm about ``cluster_noise``, unit-normalised.
* **Skills.** Model ``m`` has a logit ability (its pool's mean plus noise) and a per-cluster
  skill ``θ[c, m]`` around it. Within each pool and benchmark, every cluster gets a planted best
  model (a balanced random assignment, so different models lead different clusters) whose skill
  is raised to at least ``niche_margin`` above the pool's runner-up on that cluster.
* **Answers.** Item ``q`` has a difficulty ``b_q`` (shared by every model, which correlates their
  correctness), a true letter among A-D and an attractive distractor. Model ``m`` is right with
  probability ``sigmoid(θ[c(q), m] - b_q)``; a wrong answer is the attractive distractor with
  probability ``distractor_pull``, else a uniformly drawn wrong letter (so wrong answers cluster,
  and the pool majority is informative but not always right). Two independent models that are
  both wrong then pick the same letter with probability ``1/3 + 2/3 · distractor_pull²``: their
  chance-corrected wrong-answer agreement is ``distractor_pull²``.
* **Blocs.** The first ``bloc_size`` models of each pool share a base (as fine-tunes of one
  model do): their per-cluster skill deviations share a common part (weight ``bloc_correlation``
  of the variance), their abilities sit ``bloc_gap`` below the others', and on a share
  ``bloc_correlation`` of the questions the whole bloc answers from one shared draw (one uniform
  number decides each member's correctness against its own skill, one wrong letter is shared), so
  that the bloc errs together and picks the same wrong answers: a correlated majority when the
  bloc is most of the pool.
* **Generators.** A generator's items follow the same clusters, with difficulty spread
  ``difficulty_spread`` around the benchmark's (wider: more items that the whole pool gets right
  or wrong, so less spread). Its label is wrong with probability ``label_noise`` (then drawn like
  a model's wrong answer), so its self-consistency against the truth is ``1 - label_noise``.
* **Confidence.** A log-probability-like negative number, ``-exp(log(base) + model scale +
  noise)``, with ``base`` = ``confidence_right`` or ``confidence_wrong``: higher when the model is
  right, with noise and a per-model scale (which is why the study z-scores it per model). Within a
  model, a right answer is more confident than a wrong one with probability
  ``Φ(log(confidence_wrong / confidence_right) / (confidence_noise · √2))``
  (:attr:`SimConfig.confidence_auroc`; :func:`with_confidence_auroc` sets it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .benchmarks.schema import QUESTION_COLUMNS
from .generation.validate import generated_qid
from .responses import RESPONSE_COLUMNS
from .sim_config import N_OPTIONS, OPTION_LETTERS, SimBenchmark, SimConfig


@dataclass(frozen=True, eq=False)
class SimWorld:
    """A simulated world: the study's tables and the truth they were drawn from.

    Attributes
    ----------
    config : SimConfig
        The knobs it was drawn with.
    random_state : int
        Its seed.
    questions : pandas.DataFrame
        ``(n, 8)`` question table: real train/test items (``source="real"``), then each
        generator's items (``source`` = generator name, ``split="train"``); 4 placeholder options;
        ``answer`` is the gold letter (real) or the generated label (generated).
    responses : pandas.DataFrame
        ``(n * n_models, 7)`` responses table of every model of every pool;
        ``raw`` is None; ``correct`` is against the item's own ``answer``.
    embeddings : numpy.ndarray
        ``(n, dim)`` float32 unit vectors, row ``i`` for ``questions.qid[i]`` (see :meth:`vectors`
        and :meth:`embedding_dict` for lookups by qid).
    truth : pandas.DataFrame
        ``(n, ...)``, aligned with ``questions``: ``qid, source, benchmark, subject, cluster``,
        ``difficulty`` (logit), ``true_answer``, ``label`` (= ``answer``; differs from
        ``true_answer`` on noisy generated labels), and ``best_<pool>`` (the planted best model
        of the query's cluster in each pool).
    skills : pandas.DataFrame
        ``(n_clusters, n_models)`` planted logit skill ``θ``, indexed by cluster name.
    """

    config: SimConfig
    random_state: int
    questions: pd.DataFrame
    responses: pd.DataFrame
    embeddings: np.ndarray
    truth: pd.DataFrame
    skills: pd.DataFrame
    _rows: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rows", {q: i for i, q in enumerate(self.questions["qid"])})

    @property
    def description(self) -> str:
        """One line saying what this is."""
        return (f"SIMULATED world (rgd_utils.simulate, scale {self.config.scale}, seed "
                f"{self.random_state}): {len(self.questions)} questions, "
                f"{len(self.config.models)} simulated models; no LLM was called")

    def vectors(self, qids: list[str] | np.ndarray) -> np.ndarray:
        """``(len(qids), dim)`` float32 embeddings of some queries, in the given order."""
        return self.embeddings[[self._rows[q] for q in qids]]

    def embedding_dict(self) -> dict[str, np.ndarray]:
        """The embedding contract: ``qid -> float32 vector``."""
        return dict(zip(self.questions["qid"], self.embeddings))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class _Clusters:
    """The latent clusters: names, centres, their benchmark and subject, per-subject weights."""

    names: list[str]
    centres: np.ndarray          # (C, dim)
    benchmark: np.ndarray        # (C,) index into config.benchmarks
    of_subject: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]  # -> (cluster ids, weights)


def _draw_clusters(config: SimConfig, rng: np.random.Generator) -> _Clusters:
    names, centres, benchmark, of_subject = [], [], [], {}
    low, high = config.clusters_per_subject
    for b, bench in enumerate(config.benchmarks):
        for s, subject in enumerate(bench.subjects):
            k = int(rng.integers(low, high + 1))
            direction = _unit(rng.normal(size=config.dim))
            offsets = config.subject_spread * _unit(rng.normal(size=(k, config.dim)))
            ids = np.arange(len(names), len(names) + k)
            of_subject[b, s] = (ids, rng.dirichlet(np.full(k, 3.0)))
            names += [f"{bench.name}/{subject}/{j}" for j in range(k)]
            centres.append(_unit(direction + offsets))
            benchmark += [b] * k
    return _Clusters(names, np.concatenate(centres), np.array(benchmark), of_subject)


def _draw_skills(config: SimConfig, clusters: _Clusters, rng: np.random.Generator
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``θ`` of shape (C, n_models), and each pool's planted best model (a column index) per
    cluster."""
    n_clusters = len(clusters.names)
    columns, best, start = [], {}, 0
    rho = config.bloc_correlation
    for pool in config.pools:
        ability = pool.ability + config.ability_sd * rng.normal(size=pool.n_models)
        deviation = rng.normal(size=(n_clusters, pool.n_models))
        if config.bloc_size > 1:
            bloc = slice(0, config.bloc_size)
            shared = rng.normal(size=(n_clusters, 1))
            deviation[:, bloc] = np.sqrt(rho) * shared + np.sqrt(1 - rho) * deviation[:, bloc]
            ability[bloc] -= config.bloc_gap
        theta = ability + config.niche_sd * deviation
        leader = np.empty(n_clusters, dtype=int)
        for b in range(len(config.benchmarks)):
            mine = np.flatnonzero(clusters.benchmark == b)
            leader[mine] = rng.permutation(np.resize(np.arange(pool.n_models), len(mine)))
        rows = np.arange(n_clusters)
        others = theta.copy()
        others[rows, leader] = -np.inf
        theta[rows, leader] = np.maximum(theta[rows, leader], others.max(axis=1) + config.niche_margin)
        columns.append(theta)
        best[pool.name] = start + leader
        start += pool.n_models
    return np.concatenate(columns, axis=1), best


def _wrong_offset(distractor: np.ndarray, pull: float, rng: np.random.Generator) -> np.ndarray:
    """Offsets 1..3 from the true letter: the attractive distractor with probability ``pull``."""
    uniform = rng.integers(1, N_OPTIONS, size=distractor.shape)
    return np.where(rng.random(distractor.shape) < pull, distractor, uniform)


def _draw_block(config: SimConfig, clusters: _Clusters, b: int, counts: np.ndarray,
                difficulty_sd: float, label_noise: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The latent facts of one block of items: ``counts[s]`` items of each subject ``s``."""
    subject = np.repeat(np.arange(len(counts)), counts)
    cluster = np.concatenate([rng.choice(ids, size=n, p=weights) for s, n in enumerate(counts)
                              for ids, weights in [clusters.of_subject[b, s]]]).astype(int)
    n = len(subject)
    true = rng.integers(0, N_OPTIONS, size=n)
    distractor = rng.integers(1, N_OPTIONS, size=n)
    noisy = rng.random(n) < label_noise
    label = (true + np.where(noisy, _wrong_offset(distractor, config.distractor_pull, rng), 0)) % N_OPTIONS
    difficulty = config.benchmarks[b].difficulty + difficulty_sd * rng.normal(size=n)
    return {"subject": subject, "cluster": cluster, "true": true, "distractor": distractor,
            "label": label, "difficulty": difficulty}


def _real_counts(config: SimConfig, bench: SimBenchmark, rng: np.random.Generator) -> np.ndarray:
    """Uneven subject sizes, at least 2 each (one train and one test question)."""
    n = round(bench.n_real * config.scale)
    shares = rng.dirichlet(np.full(len(bench.subjects), 4.0))
    return np.maximum(2, rng.multinomial(n, shares))


def _round_robin(n: int, n_subjects: int) -> np.ndarray:
    """Per-subject counts of ``n`` items drawn round-robin over the subjects (the paper's §2.3)."""
    return n // n_subjects + (np.arange(n_subjects) < n % n_subjects)


def _train_split(counts: np.ndarray, fraction: float) -> np.ndarray:
    """``"train"`` for the first ``int(fraction * n)`` items of each subject, else ``"test"``."""
    position = np.concatenate([np.arange(n) for n in counts])
    cut = np.repeat((fraction * counts).astype(int), counts)
    return np.where(position < cut, "train", "test").astype(object)


def _block_table(config: SimConfig, b: int, block: dict[str, np.ndarray], source: str,
                 split: np.ndarray) -> pd.DataFrame:
    bench = config.benchmarks[b]
    n = len(block["subject"])
    if source == "real":
        qids = [f"{bench.name}/{i}" for i in range(n)]
        tag = "[simulated]"
    else:
        qids = [generated_qid(source, bench.name, i) for i in range(n)]
        tag = f"[simulated, generated by {source}]"
    subjects = np.asarray(bench.subjects, dtype=object)[block["subject"]]
    return pd.DataFrame({
        "qid": qids, "benchmark": bench.name, "subject": subjects,
        "question": [f"{tag} {bench.name} / {s}: question {i}" for i, s in enumerate(subjects)],
        "options": [[f"[simulated] option {letter}" for letter in OPTION_LETTERS] for _ in range(n)],
        "answer": OPTION_LETTERS[block["label"]], "split": split, "source": source,
    }, columns=list(QUESTION_COLUMNS), dtype=object)


def simulate_world(config: SimConfig = SimConfig(), random_state: int = 0) -> SimWorld:
    """Draw a simulated world (see the module docstring for the generative model).

    Parameters
    ----------
    config : SimConfig
        The knobs; ``SimConfig(scale=0.01)`` is a small world for tests.
    random_state : int, default 0
        Seed; the same config and seed give identical tables.

    Returns
    -------
    SimWorld
        Questions, responses of every simulated model, embeddings, the planted truth and skills.
    """
    rng = np.random.default_rng(random_state)
    clusters = _draw_clusters(config, rng)
    theta, best = _draw_skills(config, clusters, rng)
    tables, blocks = [], []
    for b, bench in enumerate(config.benchmarks):
        counts = _real_counts(config, bench, rng)
        blocks.append(_draw_block(config, clusters, b, counts, config.real_difficulty_spread, 0.0, rng))
        split = _train_split(counts, config.train_fraction)
        tables.append(_block_table(config, b, blocks[-1], "real", split))
    for generator in config.generators:
        for b, bench in enumerate(config.benchmarks):
            counts = _round_robin(round(config.n_generated * config.scale), len(bench.subjects))
            blocks.append(_draw_block(config, clusters, b, counts, generator.difficulty_spread,
                                      generator.label_noise, rng))
            tables.append(_block_table(config, b, blocks[-1], generator.name,
                                       np.full(counts.sum(), "train", dtype=object)))
    questions = pd.concat(tables, ignore_index=True)
    facts = {key: np.concatenate([block[key] for block in blocks]) for key in blocks[0]}
    noise = config.cluster_noise / np.sqrt(config.dim) * rng.normal(size=(len(questions), config.dim))
    embeddings = _unit(clusters.centres[facts["cluster"]] + noise).astype(np.float32)
    responses = _draw_responses(config, questions, facts, theta, rng)
    models = np.asarray(config.models, dtype=object)
    truth = pd.DataFrame({
        **{key: questions[key] for key in ("qid", "source", "benchmark", "subject")},
        "cluster": np.asarray(clusters.names, dtype=object)[facts["cluster"]],
        "true_answer": OPTION_LETTERS[facts["true"]],
        "label": questions["answer"],
        **{f"best_{pool}": models[leader[facts["cluster"]]] for pool, leader in best.items()},
    }, dtype=object)
    truth.insert(5, "difficulty", facts["difficulty"])
    skills = pd.DataFrame(theta, index=pd.Index(clusters.names, dtype=object, name="cluster"),
                          columns=pd.Index(models, dtype=object, name="model"))
    return SimWorld(config, random_state, questions, responses, embeddings, truth, skills)


def _draw_responses(config: SimConfig, questions: pd.DataFrame, facts: dict[str, np.ndarray],
                    theta: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Every model's answer to every question, model by model (responses schema)."""
    n, m = len(questions), theta.shape[1]
    uniform = rng.random((n, m))
    offset = _wrong_offset(np.repeat(facts["distractor"][:, None], m, axis=1), config.distractor_pull, rng)
    for bloc in config.bloc_columns:  # shared draws: the bloc errs together, alike
        coupled = rng.random(n) < config.bloc_correlation
        uniform[np.ix_(coupled, bloc)] = rng.random(coupled.sum())[:, None]
        offset[np.ix_(coupled, bloc)] = offset[coupled, bloc[0]][:, None]
    right = uniform < _sigmoid(theta[facts["cluster"]] - facts["difficulty"][:, None])
    choice = (facts["true"][:, None] + np.where(right, 0, offset)) % N_OPTIONS
    scale = config.confidence_noise * rng.normal(size=m)
    base = np.log(np.where(right, config.confidence_right, config.confidence_wrong))
    confidence = -np.exp(base + scale + config.confidence_noise * rng.normal(size=(n, m)))
    correct = choice == facts["label"][:, None]
    table = pd.DataFrame({
        "qid": np.tile(questions["qid"].to_numpy(dtype=object), m),
        "source": np.tile(questions["source"].to_numpy(dtype=object), m),
        "model": np.repeat(np.asarray(config.models, dtype=object), n),
        "choice": OPTION_LETTERS[choice.T.ravel()],
        "raw": np.full(n * m, None, dtype=object),
        "correct": correct.T.ravel().astype(object),
    }, dtype=object)
    table.insert(4, "confidence", confidence.T.ravel())
    return table[list(RESPONSE_COLUMNS)]
