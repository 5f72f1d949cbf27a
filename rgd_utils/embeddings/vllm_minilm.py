"""all-MiniLM-L6-v2 on vLLM: the default study's embedder on the engine of its LLM calls.

vLLM serves the packaged model folder as a pooling model (``--runner pooling``) on its
OpenAI-compatible ``/embeddings`` route, and the client is :class:`OpenAIEmbeddingsEncoder`'s. A
server is started here at the first request and stopped when the process exits, unless the
endpoints file or ``RGD_ENDPOINT_ALL_MINILM_L6_V2`` names one. Each text is cut at the 256 tokens
that MiniLM reads in sentence-transformers (its ``max_seq_length``), as the numpy encoder does, so
both give the same vectors up to vLLM's bfloat16 rounding.
"""

from __future__ import annotations

from ..llm.openai_http import OpenAIBackend
from ..llm.vllm_server import VLLM_DTYPE, VLLM_VERSION, VLLMServer, endpoints_or_local_server
from .endpoint import OpenAIEmbeddingsEncoder
from .minilm import MODEL_NAME, PACKAGED_MAX_SEQ_LENGTH, MiniLMEncoder, packaged_model_dir


class VLLMMiniLMEncoder(OpenAIEmbeddingsEncoder):
    """The packaged all-MiniLM-L6-v2 served by vLLM (see the module docstring).

    Parameters
    ----------
    batch_size : int, default 64
        Texts per request.
    """

    engine = "vllm"

    def __init__(self, batch_size: int = 64) -> None:
        super().__init__(None, MODEL_NAME, name=MODEL_NAME, batch_size=batch_size)
        self.server: VLLMServer | None = None

    def __repr__(self) -> str:
        return f"VLLMMiniLMEncoder(batch_size={self.batch_size})"

    @property
    def identity(self) -> dict:
        """The model's (weights, length, pooling) with vLLM's version and number format."""
        return {**MiniLMEncoder().identity, "implementation": "vllm", "vllm": VLLM_VERSION,
                "dtype": VLLM_DTYPE}

    def _transport(self) -> OpenAIBackend:
        if self._http is None:
            endpoints, self.server = endpoints_or_local_server(self.name, lambda: VLLMServer(
                packaged_model_dir(), [self.name], kv_cache_gib=1,
                max_model_len=PACKAGED_MAX_SEQ_LENGTH, extra_args=["--runner", "pooling"]))
            self._http = OpenAIBackend(
                endpoints, self.model, extra_body={"truncate_prompt_tokens": PACKAGED_MAX_SEQ_LENGTH},
                connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                max_retries=self.max_retries, backoff=self.backoff, server=self.server)
        return self._http
