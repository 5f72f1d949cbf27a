"""Specialists: small packaged models fine-tuned (LoRA) into experts of disjoint domains.

The packaged LLMs do not differ in kind (Qwen2.5-Coder-1.5B is the best of them everywhere), so
a pool of them has no skill niches to route to. A specialist is a packaged base model plus a
LoRA adapter trained on one domain's questions, none of them a study question
(:mod:`.data`). Adapters are committed in ``data/specialists/<name>/`` as GGUF LoRA files
(:mod:`.gguf_lora`) with their recipe, training ids and sha256 (:mod:`.store`), and served
through the registry and the cache like any other model: by llama.cpp beside their base model,
by vLLM merged into the base weights (:mod:`.peft_export`, :mod:`.merged_export`).
``make specialists`` retrains them (:mod:`.build`; needs the specialists extra).
"""

from __future__ import annotations

from .specs import Recipe, SpecialistSpec

#: The specialists, one per study benchmark's domain, all from the same base model, so that
#: what separates them is their training domain only.
SPECIALISTS: dict[str, SpecialistSpec] = {s.name: s for s in (
    # Training time grows with the longest sequence of each batch: MMLU's and MedMCQA's few
    # long questions are left out (128 tokens), and MedQA's long case vignettes are not used.
    SpecialistSpec("gemma3-270m+knowledge", "gemma3-270m", "knowledge", "mmlu", ("mmlu",), 2000,
                   Recipe(max_tokens=128)),
    SpecialistSpec("gemma3-270m+medical", "gemma3-270m", "medical", "medmcqa", ("medmcqa",), 2000,
                   Recipe(max_tokens=128)),
    SpecialistSpec("gemma3-270m+science", "gemma3-270m", "science", "arc_easy",
                   ("arc_easy", "arc_challenge", "openbookqa"), 2000),
    # The study uses every CommonsenseQA question (train split and test split), so the
    # commonsense specialist learns from SocialIQA's social-commonsense questions instead.
    SpecialistSpec("gemma3-270m+commonsense", "gemma3-270m", "commonsense", "commonsenseqa",
                   ("commonsenseqa", "socialiqa"), 2000),
)}


def get_specialist(name: str) -> SpecialistSpec:
    """A specialist by name, with a clear error otherwise."""
    try:
        return SPECIALISTS[name]
    except KeyError:
        raise KeyError(f"unknown specialist {name!r}; known: {', '.join(SPECIALISTS)}") from None


def domain_assignment(experts: list[str], benchmarks: list[str]) -> dict[str, str] | None:
    """Benchmark -> the specialist expert of its domain, chosen by design (no data looked at);
    None unless ``experts`` (``"<model>:<mode>"`` names) hold one specialist for every benchmark.
    """
    by_target: dict[str, list[str]] = {}
    for expert in experts:
        model = expert.rpartition(":")[0]
        if model in SPECIALISTS:
            by_target.setdefault(SPECIALISTS[model].target, []).append(expert)
    if any(len(by_target.get(b, [])) != 1 for b in benchmarks):
        return None
    return {b: by_target[b][0] for b in benchmarks}


__all__ = ["SPECIALISTS", "Recipe", "SpecialistSpec", "domain_assignment", "get_specialist"]
