"""What each specialist is: a packaged base model, a domain, its training sources and recipe."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Recipe:
    """How a LoRA adapter is trained (every value is part of the adapter's recorded recipe).

    Attributes
    ----------
    rank, alpha : int, float
        LoRA rank and scale numerator (the update is ``alpha / rank * B @ A``).
    targets : tuple of str
        The projections adapted. The query and key projections are left out: llama.cpp stores
        them permuted for its rotary embedding in some architectures, and leaving them out keeps
        the adapter's conversion to GGUF a renaming, exact for every architecture.
    learning_rate : float
        AdamW learning rate (no weight decay), constant after ``warmup_steps`` linear steps.
    warmup_steps : int
        Linear warm-up steps.
    epochs : int
        Passes over the training questions, each in a seeded order.
    batch_size : int
        Questions per optimiser step.
    max_tokens : int
        Longest training sequence (prompt and answer); longer questions are left out and counted.
    seed : int
        Seed of the adapter's initialisation and of the order of the questions.
    threads : int
        Torch threads. Floating-point sums depend on how work is split between threads, so the
        bit-for-bit retraining promise holds for the same thread count on the same CPU type.
    """

    rank: int = 8
    alpha: float = 16.0
    targets: tuple[str, ...] = ("v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    learning_rate: float = 5e-4
    warmup_steps: int = 10
    epochs: int = 1
    batch_size: int = 8
    max_tokens: int = 256
    seed: int = 0
    threads: int = 2

    def as_dict(self) -> dict:
        """The recipe as plain JSON values."""
        values = asdict(self)
        values["targets"] = list(self.targets)
        return values


@dataclass(frozen=True)
class SpecialistSpec:
    """One specialist: a base model plus a LoRA adapter trained on one domain.

    Attributes
    ----------
    name : str
        Its registered model name, ``"<base>+<domain>"``.
    base : str
        A packaged model (:mod:`rgd_utils.llm.packaged`).
    domain : str
        What it specialises in.
    target : str
        The study benchmark of its domain.
    sources : tuple of str
        Benchmarks its training questions come from (study questions excluded, see
        :mod:`rgd_utils.specialists.data`).
    n_train : int
        Training questions (fewer if fewer are usable).
    recipe : Recipe
        How the adapter is trained.
    """

    name: str
    base: str
    domain: str
    target: str
    sources: tuple[str, ...]
    n_train: int
    recipe: Recipe = field(default_factory=Recipe)
