"""Embeddings from an OpenAI-compatible ``/embeddings`` endpoint (the paper preset's
Qwen3-Embedding-8B on ``vllm serve``, or any server or API that speaks the format).

Each batch is one ``POST {base_url}/embeddings`` with the standard body
``{"model": ..., "input": [...]}``; the reply's ``data[i].embedding`` rows are put back in
``index`` order and L2-normalised (the paper's §1.5: every distance is cosine on unit vectors).
The transport is :class:`~rgd_utils.llm.openai_http.OpenAIBackend`'s (standard-library HTTP,
separate connect and read timeouts, bounded retries with exponential backoff on connection
errors, timeouts, 429 and 5xx, the API key read from ``RGD_OPENAI_API_KEY`` or
``OPENAI_API_KEY`` at each request and never stored or logged), so both clients fail and
retry alike.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..llm.backend import BackendError
from ..llm.openai_http import OpenAIBackend
from ..llm.endpoints import endpoints_for


class OpenAIEmbeddingsEncoder:
    """An embedding model served by an OpenAI-compatible endpoint.

    Parameters
    ----------
    base_url : str or None
        The API root, e.g. ``http://127.0.0.1:8000/v1``. None: resolved at the first request
        with :func:`rgd_utils.llm.endpoints.endpoints_for` of ``name`` (the endpoints file,
        ``RGD_ENDPOINT_<NAME>``, else ``RGD_OPENAI_BASE_URL``), so a replay of cached vectors
        needs no endpoint.
    model : str
        The id the server serves the model under (``vllm serve <id>``).
    name : str, optional
        Short name (the cache shard); default ``model``.
    batch_size : int, default 64
        Texts per request (the requests of one call are in flight together).
    connect_timeout : float, default 10
        Seconds to open the connection.
    read_timeout : float, default 300
        Seconds to wait for each read of the reply.
    max_retries : int, default 4
        Retries after the first attempt (connection errors, timeouts, HTTP 429 and 5xx).
    backoff : float, default 1
        First retry delay in seconds, doubled at each retry (with jitter).
    """

    def __init__(
        self,
        base_url: str | None,
        model: str,
        name: str | None = None,
        batch_size: int = 64,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        max_retries: int = 4,
        backoff: float = 1.0,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.name = name or model
        self.batch_size = batch_size
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._http: OpenAIBackend | None = None

    def __repr__(self) -> str:
        return f"OpenAIEmbeddingsEncoder(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def identity(self) -> dict:
        """What fixes the vectors: the served model id and the normalisation (not the URL)."""
        return {"endpoint_model": self.model, "backend": "openai-compatible-embeddings",
                "normalize": True}

    def _transport(self) -> OpenAIBackend:
        if self._http is None:
            self._http = OpenAIBackend(
                self.base_url or endpoints_for(self.name), self.model,
                connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                max_retries=self.max_retries, backoff=self.backoff)
        return self._http

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts, ``batch_size`` per request.

        Parameters
        ----------
        texts : sequence of str

        Returns
        -------
        numpy.ndarray of shape (n, d), float32
            Unit-norm rows, in input order.

        Raises
        ------
        BackendError
            When the server cannot be reached after the retries, refuses the request, or
            returns a malformed reply (wrong count, missing indices, ragged or non-finite rows).
        """
        texts = list(texts)
        batches = [texts[start:start + self.batch_size] for start in range(0, len(texts), self.batch_size)]
        http = self._transport()
        replies = http.post_all("/embeddings", [{"input": b, "encoding_format": "float"} for b in batches])
        rows = [row for batch, reply in zip(batches, replies) for row in self._rows(http, batch, reply)]
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        x = np.asarray(rows, dtype=np.float64)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        if not np.isfinite(x).all() or (norms == 0).any():
            raise BackendError(f"{self.model}: the server returned non-finite or zero vectors")
        return (x / norms).astype(np.float32)

    @staticmethod
    def _rows(http: OpenAIBackend, batch: list[str], reply: dict) -> list[list[float]]:
        url = f"{http.base_url}/embeddings"
        data = reply.get("data")
        if not isinstance(data, list) or len(data) != len(batch):
            raise BackendError(f"{url} returned {len(data) if isinstance(data, list) else 'no'} "
                               f"embeddings for {len(batch)} texts")
        by_index = {item.get("index", i): item.get("embedding") for i, item in enumerate(data)
                    if isinstance(item, dict)}
        rows = [by_index.get(i) for i in range(len(batch))]
        if any(not isinstance(row, list) or not row or len(row) != len(rows[0]) for row in rows):
            raise BackendError(f"{url} returned missing, empty or ragged embeddings")
        return rows
