"""Query embeddings for the routers (the paper's §1.5): one unit vector per question stem.

* :func:`embed_questions` / :func:`embed_texts` (:mod:`.cached`): every vector goes through the
  project's committed cache, so replaying the study needs no encoder, torch or tokenizer.
* Encoders, all with ``name``, ``identity`` and ``encode(texts) -> (n, d)``:
  :class:`MiniLMEncoder` (the default study's all-MiniLM-L6-v2, pure numpy),
  :class:`VLLMMiniLMEncoder` (the same model served by vLLM, for a preset on that engine),
  :class:`OpenAIEmbeddingsEncoder` (the paper preset's Qwen3-Embedding-8B on an endpoint) and
  :class:`TfidfSvdEncoder` (tests). :func:`encoder_for` picks one by name.
"""

from __future__ import annotations

from ..llm.registry import PAPER_MODELS
from .cached import Encoder, cached_vectors, embed_questions, embed_texts, question_text
from .endpoint import OpenAIEmbeddingsEncoder
from .minilm import MODEL_NAME as MINILM, MiniLMEncoder
from .tfidf import TfidfSvdEncoder
from .vllm_minilm import VLLMMiniLMEncoder

#: The paper's embedder (served by an OpenAI-compatible endpoint).
PAPER_EMBEDDER = "Qwen3-Embedding-8B"

__all__ = ["Encoder", "MiniLMEncoder", "OpenAIEmbeddingsEncoder", "TfidfSvdEncoder", "VLLMMiniLMEncoder",
           "cached_vectors", "embed_questions", "embed_texts", "encoder_for", "question_text", "MINILM",
           "PAPER_EMBEDDER"]


def encoder_for(name: str, engine: str | None = None) -> Encoder:
    """The encoder registered under ``name``; nothing is loaded or contacted yet.

    Parameters
    ----------
    name : {"all-minilm-l6-v2", "Qwen3-Embedding-8B"}
        MiniLM (default study), or the paper's embedder on the endpoint given by
        ``RGD_ENDPOINT_QWEN3_EMBEDDING_8B``, else ``RGD_OPENAI_BASE_URL`` (read at the first
        request).
    engine : {"llama.cpp", "vllm"}, optional
        The preset's engine: on ``"vllm"`` MiniLM is served by vLLM too, otherwise it runs in
        numpy (llama.cpp does not run it). The paper's embedder is always served.

    Returns
    -------
    Encoder
    """
    if name == MINILM:
        return VLLMMiniLMEncoder() if engine == "vllm" else MiniLMEncoder()
    if name == PAPER_EMBEDDER:
        return OpenAIEmbeddingsEncoder(None, PAPER_MODELS[name].model_id, name=name)
    raise KeyError(f"unknown encoder {name!r}; known: {MINILM!r}, {PAPER_EMBEDDER!r}")
