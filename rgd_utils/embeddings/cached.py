"""Embeddings through the project's content-addressed cache (:class:`~rgd_utils.llm.cache.LLMCache`).

Every text is looked up first, under the shard ``<encoder.name>/embed.jsonl`` and the key
``cache_key({"encoder": encoder.identity, "op": "embed", "text": text})``, so a changed model
file, implementation version, sequence length or text is a miss, never a stale hit. Only the
misses reach the encoder, in batches, each batch stored before the next is computed. A vector
is stored as ``{"dtype": "<f4", "shape": [d], "b64": ...}`` (base64 of its little-endian float32
bytes). In the cache's ``replay`` mode a miss raises
:class:`~rgd_utils.llm.cache.CacheMissError` before the encoder computes anything: encoders
load their weights on the first :meth:`Encoder.encode`, so a replay needs no model, no torch
and no tokenizer.
"""

from __future__ import annotations

import base64
from typing import Protocol, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..llm.cache import LLMCache, cache_key

#: Cache operation name of an embedding.
OP = "embed"
#: Appended to a question stem before embedding (the paper's §1.5: stem only, plus "\n\n").
QUESTION_SUFFIX = "\n\n"


class Encoder(Protocol):
    """What :func:`embed_texts` needs from an encoder.

    Attributes
    ----------
    name : str
        Short name (the cache shard folder).
    identity : dict
        JSON-able description of everything that changes the vectors, known without loading
        the model.
    """

    name: str

    @property
    def identity(self) -> dict: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts: an (n, d) float array in input order."""
        ...


def text_key(encoder: Encoder, text: str) -> str:
    """The cache key of one text's embedding by ``encoder``."""
    return cache_key({"encoder": encoder.identity, "op": OP, "text": text})


def pack_vector(vector: np.ndarray) -> dict:
    """A vector as a compact JSON value: ``{"dtype": "<f4", "shape": [d], "b64": str}``."""
    array = np.ascontiguousarray(vector, dtype="<f4")
    return {"dtype": "<f4", "shape": list(array.shape),
            "b64": base64.b64encode(array.tobytes()).decode("ascii")}


def unpack_vector(value: dict) -> np.ndarray:
    """The float32 vector of a :func:`pack_vector` value."""
    raw = base64.b64decode(value["b64"])
    return np.frombuffer(raw, dtype=value["dtype"]).reshape(value["shape"]).astype(np.float32)


def embed_texts(
    texts: Sequence[str],
    encoder: Encoder,
    cache: LLMCache,
    batch_size: int = 256,
    progress: str | None = None,
) -> np.ndarray:
    """Embed texts, from the cache where possible.

    Parameters
    ----------
    texts : sequence of str
        The exact texts (a repeated text is computed once).
    encoder : Encoder
        Its ``name`` names the shard, its ``identity`` is in every key; ``encode`` is called
        only for misses.
    cache : LLMCache
        In ``replay`` mode a miss raises; in ``off`` mode everything is computed.
    batch_size : int, default 256
        Misses per ``encode`` call; each batch is stored before the next one runs, so a killed
        run loses at most one batch.
    progress : str, optional
        Label of a progress bar over the misses; None shows none.

    Returns
    -------
    numpy.ndarray of shape (n, d), float32
        In input order; shape (0, 0) for no texts.

    Raises
    ------
    CacheMissError
        In replay mode, for the first text that is not cached (nothing is computed).
    ValueError
        If the encoder returns the wrong number of rows or non-finite values.
    """
    texts = list(texts)
    keys = [text_key(encoder, t) for t in texts]
    found: dict[str, np.ndarray] = {}
    for key in dict.fromkeys(keys):
        value = cache.get(encoder.name, OP, key)
        if value is not None:
            found[key] = unpack_vector(value)
    missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in found))
    bar = tqdm(total=len(missing), desc=progress, disable=progress is None or not missing)
    for start in range(0, len(missing), batch_size):
        batch = missing[start:start + batch_size]
        vectors = np.asarray(encoder.encode(batch), dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(batch) or not np.isfinite(vectors).all():
            raise ValueError(f"{encoder.name} returned an array of shape {vectors.shape} "
                             f"(or non-finite values) for {len(batch)} texts")
        for text, vector in zip(batch, vectors):
            key = text_key(encoder, text)
            cache.put(encoder.name, OP, key, pack_vector(vector), engine=getattr(encoder, "engine", None))
            found[key] = vector
        bar.update(len(batch))
    bar.close()
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)


def cached_vectors(questions: pd.DataFrame, encoder: Encoder, cache: LLMCache) -> int:
    """How many of the questions have their vector in the cache (nothing is computed or loaded)."""
    return sum(cache.holds(encoder.name, OP, text_key(encoder, question_text(stem)))
               for stem in questions["question"])


def question_text(stem: str) -> str:
    """The text embedded for a question: its stem plus ``"\\n\\n"`` (no options, no instruction)."""
    return stem + QUESTION_SUFFIX


def embed_questions(
    questions: pd.DataFrame,
    encoder: Encoder,
    cache: LLMCache,
    batch_size: int = 256,
    progress: str | None = None,
) -> dict[str, np.ndarray]:
    """Embed the stems of a question table (the paper's §1.5), from the cache where possible.

    Parameters
    ----------
    questions : pandas.DataFrame
        The question table; reads its ``qid`` (unique) and ``question`` (the stem) columns.
    encoder, cache, batch_size, progress
        As in :func:`embed_texts`.

    Returns
    -------
    dict of str to numpy.ndarray of shape (d,)
        ``qid -> float32 vector``, in table order (what
        :meth:`~rgd_utils.routers.base.RoutingData.from_tables` takes).

    Raises
    ------
    ValueError
        If a qid repeats.
    """
    qids = questions["qid"].astype(str).tolist()
    if len(set(qids)) != len(qids):
        raise ValueError("question ids must be unique to key the embeddings")
    vectors = embed_texts([question_text(s) for s in questions["question"]], encoder, cache,
                          batch_size=batch_size, progress=progress)
    return dict(zip(qids, vectors))
