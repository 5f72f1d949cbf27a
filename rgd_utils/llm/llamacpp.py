"""Local GGUF models through llama-cpp-python.

Two traps on CPUs like ours are handled here:

* the default native build of llama.cpp compiles AMX/AVX-512 kernels that crash on CPUs
  without them; the Makefile builds the wheel with portable AVX2 flags (``make llm``);
* with ``logits_all=False``, ``Llama.scores`` is never filled and reads as zeros, so every
  "prediction" would be the first option. Scores here are read from the context's own
  logits buffer (``llama_get_logits``), and a row of zeros is refused.

One context serves both operations. Scoring asks llama.cpp for logits only where they are
needed (the prompt's last token, the continuation's tokens).

Prompts are evaluated in fixed chunks counted from the first token (:data:`CHUNKS`), so a
prompt that shares whole chunks with the previous one reuses their KV cache, and yet every
prompt is computed exactly as it would be from scratch: how llama.cpp batches tokens changes
the logits in their last bits, and a recomputed call must give what the first computation
gave, sampled text included. Generation uses small chunks (its long system prompt and worked
example repeat from call to call); scoring uses large ones (its prompts share little, and one
large batch is the fastest way through a prompt).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .backend import (
    BackendError,
    ContinuationScore,
    Generation,
    GenerationParams,
    Prompt,
    PromptTooLongError,
)

#: The llama-cpp-python release the study pins; part of each local model's identity.
LLAMA_CPP_VERSION = "0.3.36"
#: Prompt evaluation chunk per operation; chunk boundaries are fixed (see above). Part of
#: each local model's identity, since they change the computed bits.
CHUNKS = {"score": 512, "generate": 64}


def default_threads() -> int:
    """Threads for llama.cpp: ``RGD_THREADS`` if set, else every core."""
    return int(os.environ.get("RGD_THREADS", os.cpu_count() or 1))


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as error:
        raise BackendError(
            "llama-cpp-python is not installed. Computing new LLM calls needs the LLM extra: run "
            "`make llm` (it builds llama-cpp-python with CPU-safe flags). Replaying the committed "
            "cache does not need it."
        ) from error
    if llama_cpp.__version__ != LLAMA_CPP_VERSION:
        raise BackendError(
            f"llama-cpp-python {llama_cpp.__version__} is installed but the study pins "
            f"{LLAMA_CPP_VERSION} (its outputs are part of every cache key); run `make llm`."
        )
    return llama_cpp


def _eval_aligned(llm: Any, tokens: list[int], chunk: int) -> None:
    """Evaluate ``tokens`` in chunks of ``chunk`` tokens counted from the first token, reusing
    the chunks that the context already holds (identical tokens, identical chunk boundaries)."""
    if not tokens:
        llm.reset()
        return
    common = 0
    for a, b in zip(llm.input_ids[: llm.n_tokens], tokens):
        if a != b:
            break
        common += 1
    reuse = min(common, len(tokens) - 1) // chunk * chunk  # whole chunks, never the last token
    llm.n_tokens = reuse
    for start in range(reuse, len(tokens), chunk):
        llm.eval(tokens[start:start + chunk])


class LlamaCppBackend:
    """A GGUF model run by llama.cpp on the CPU.

    Parameters
    ----------
    model_path : pathlib.Path
        The GGUF file.
    identity : dict
        What fixes this model's outputs (see :class:`~rgd_utils.llm.backend.Backend`).
    chat_template : bool
        Render chat-message prompts with the model's own template (from the GGUF metadata).
        A base model without one gets the messages' contents joined by blank lines.
    n_ctx : int
        Context size (prompt plus continuation or generated tokens).
    n_threads : int, optional
        Default :func:`default_threads`.
    lora_path : pathlib.Path, optional
        A LoRA adapter in GGUF form, applied to the model at full scale (a specialist).
    """

    def __init__(
        self,
        model_path: Path,
        identity: dict,
        chat_template: bool = True,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        lora_path: Path | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.lora_path = Path(lora_path) if lora_path else None
        self.identity = identity
        self.chat_template = chat_template
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self._llm: Any = None
        self._formatter: Any = None

    @property
    def llm(self) -> Any:
        """The llama.cpp context, loaded on first use."""
        if self._llm is None:
            llama_cpp = _import_llama_cpp()
            if not self.model_path.exists():
                raise BackendError(f"model file {self.model_path} does not exist")
            if self.lora_path and not self.lora_path.exists():
                raise BackendError(f"LoRA adapter {self.lora_path} does not exist")
            self._llm = llama_cpp.Llama(
                str(self.model_path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                n_threads_batch=self.n_threads, n_batch=max(CHUNKS.values()), logits_all=False,
                verbose=False, seed=0, lora_path=str(self.lora_path) if self.lora_path else None,
            )
        return self._llm

    # -- prompts -----------------------------------------------------------------------------
    def render(self, prompt: Prompt) -> str:
        """Return the prompt text: plain text as it is, messages through the chat template."""
        if isinstance(prompt, str):
            return prompt
        llm = self.llm
        template = llm.metadata.get("tokenizer.chat_template")
        if not self.chat_template or not template:
            return "\n\n".join(m["content"] for m in prompt)
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=llm._model.token_get_text(llm.token_eos()),
                bos_token=llm._model.token_get_text(llm.token_bos()),
            )
        return self._formatter(messages=[dict(m) for m in prompt]).prompt

    def _tokens(self, llm: Any, text: str) -> list[int]:
        bos = llm._model.token_get_text(llm.token_bos())
        add_bos = not (bos and text.startswith(bos))
        return llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    # -- score -------------------------------------------------------------------------------
    def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[ContinuationScore]:
        """Sum of log-probabilities of each continuation's tokens after the prompt.

        The prompt is evaluated once; each continuation is then evaluated from the end of the prompt in one batch. Single-token
        continuations (option letters) need no further evaluation at all.
        """
        llm = self.llm
        context = self._tokens(llm, self.render(prompt))
        pieces = [llm.tokenize(c.encode("utf-8"), add_bos=False, special=False) for c in continuations]
        if any(not p for p in pieces):
            raise BackendError("an empty continuation cannot be scored")
        longest = max((len(p) for p in pieces), default=0)
        if len(context) + longest > self.n_ctx:
            raise PromptTooLongError(
                f"prompt ({len(context)} tokens) plus continuation ({longest}) exceeds the "
                f"context of {self.n_ctx} tokens"
            )
        first = self._eval_prompt(llm, context)
        results = []
        for piece in pieces:
            total = float(first[piece[0]])
            if len(piece) > 1:
                rows = self._eval_continuation(llm, len(context), piece[:-1])
                total += float(sum(rows[j - 1][piece[j]] for j in range(1, len(piece))))
            results.append(ContinuationScore(logprob=total, n_tokens=len(piece)))
        return results

    def _eval_prompt(self, llm: Any, tokens: list[int]) -> np.ndarray:
        """Evaluate a prompt in fixed chunks; return the last token's log-softmax."""
        _eval_aligned(llm, tokens, CHUNKS["score"])
        return self._log_probs(llm, 1)[0]

    def _eval_continuation(self, llm: Any, n_past: int, tokens: list[int]) -> np.ndarray:
        """Evaluate tokens after the first ``n_past`` (kept as they are), in scoring chunks,
        with logits for every token; one log-softmax row per token."""
        llm._ctx.kv_cache_seq_rm(-1, n_past, -1)
        rows = []
        size = CHUNKS["score"]
        for start in range(0, len(tokens), size):
            chunk = tokens[start:start + size]
            llm._batch.set_batch(batch=chunk, n_past=n_past + start, logits_all=True)
            llm._ctx.decode(llm._batch)
            rows.append(self._log_probs(llm, len(chunk)))
        llm._ctx.kv_cache_seq_rm(-1, n_past, -1)
        llm.n_tokens = n_past  # the next continuation starts again from the prompt
        return np.concatenate(rows)

    @staticmethod
    def _log_probs(llm: Any, rows: int) -> np.ndarray:
        """Log-softmax of the last decode's ``rows`` logits rows (the logits_all trap refused)."""
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(rows, llm.n_vocab()))
        logits = np.asarray(logits, dtype=np.float64)
        if not np.all(np.any(logits, axis=1)):
            raise BackendError("llama.cpp returned all-zero logits; refusing to score")
        shifted = logits - logits.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    # -- generate ----------------------------------------------------------------------------
    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Generation]:
        """Generate one completion per prompt (sequentially: llama.cpp here runs one at a time)."""
        return [self._generate_one(self.render(p), params) for p in prompts]

    def _generate_one(self, text: str, params: GenerationParams) -> Generation:
        llm = self.llm
        tokens = self._tokens(llm, text)
        if len(tokens) + params.max_tokens > self.n_ctx:
            raise PromptTooLongError(
                f"prompt ({len(tokens)} tokens) plus max_tokens ({params.max_tokens}) exceeds the "
                f"context of {self.n_ctx} tokens"
            )
        # The prompt but its last token in fixed chunks, then the last token alone and the
        # sampling loop: the same computation whatever the previous call left in the cache.
        _eval_aligned(llm, tokens[:-1], CHUNKS["generate"])
        llm.set_seed(params.seed)
        llama_cpp = _import_llama_cpp()
        vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
        out, logprobs, finish = [], [], "length"
        stops = list(params.stop)
        # min_p=0 and top_k=0 (off): plain temperature + nucleus sampling, as vLLM's defaults.
        for token in llm.generate(tokens[-1:], temp=params.temperature, top_p=params.top_p,
                                  min_p=0.0, top_k=0, reset=False):
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                finish = "stop"
                break
            if params.logprobs:
                logprobs.append(float(self._log_probs(llm, 1)[0][token]))
            out.append(token)
            text_so_far = llm.detokenize(out).decode("utf-8", errors="replace")
            if any(s in text_so_far for s in stops):
                finish = "stop"
                break
            if len(out) >= params.max_tokens:
                break
        text_out = llm.detokenize(out).decode("utf-8", errors="replace")
        for stop in stops:
            if stop in text_out:
                text_out = text_out[: text_out.index(stop)]
        return Generation(text=text_out, n_tokens=len(out), finish_reason=finish,
                          token_logprobs=tuple(logprobs) if params.logprobs else None)
