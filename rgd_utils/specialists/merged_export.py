"""A specialist as one Hugging Face folder: its LoRA adapter merged into its base model's weights.

vLLM can serve an adapter beside its base (``--lora-modules``), but on a CPU that path answers
several times slower than the base model; merged, a specialist runs at its base model's speed and
picks the same answers as beside it up to the arithmetic (``perf/specialist_serving.py``,
docs/specialists_on_vllm.md).

Each target projection becomes ``W + (lora_alpha / r) * B @ A``, computed in float32 from the
bfloat16 base export and the float32 peft adapter (:mod:`.peft_export`), then stored in bfloat16,
the dtype vLLM runs: one rounding, as when vLLM loads a float32 checkpoint. Every other file of
the base export is copied. The folder is named after the adapter's sha256 and stamped last, so
an interrupted merge is redone and a finished one never repeated.

The merge needs torch; it runs inside the vLLM environment (``make vllm``), as
``python -m rgd_utils.specialists.merged_export BASE PEFT OUT SHA256``, like the base export.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from rgd_utils.llm import packaged
from rgd_utils.llm.hf_export import STAMP, is_exported, write_stamp

#: The peft adapter's tensor names: ``<PREFIX><base weight name without .weight>.lora_A.weight``.
PEFT_PREFIX = "base_model.model."


def merge_lora(base: Path, adapter: Path, out: Path, sha256: str) -> Path:
    """Write ``base`` (a Hugging Face folder, bfloat16 safetensors) with the peft adapter
    ``adapter`` merged in, at ``out`` (stamped with the adapter's ``sha256``)."""
    import torch
    from safetensors.torch import load_file, save_file

    config = json.loads((adapter / "adapter_config.json").read_text())
    if config.get("use_rslora") or config.get("use_dora") or config.get("fan_in_fan_out"):
        raise ValueError(f"{adapter}: only plain LoRA adapters are merged here, got {config}")
    scale = float(config["lora_alpha"]) / int(config["r"])
    lora = load_file(str(adapter / "adapter_model.safetensors"))
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(base, partial, ignore=shutil.ignore_patterns("*.safetensors", STAMP))
    merged = set()
    for shard in sorted(base.glob("*.safetensors")):
        tensors = load_file(str(shard))
        for name, weight in tensors.items():
            stem = PEFT_PREFIX + name.removesuffix(".weight")
            if f"{stem}.lora_A.weight" not in lora:
                continue
            delta = lora[f"{stem}.lora_B.weight"].float() @ lora[f"{stem}.lora_A.weight"].float()
            tensors[name] = (weight.float() + scale * delta).to(weight.dtype)
            merged.add(f"{stem}.lora_A.weight")
        save_file(tensors, str(partial / shard.name), metadata={"format": "pt"})
    left = {k for k in lora if k.endswith("lora_A.weight")} - merged
    if left:
        raise ValueError(f"{adapter}: {len(left)} adapter tensors match no base weight, e.g. {sorted(left)[0]}")
    write_stamp(partial, sha256, "bfloat16")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return out


def default_merged_dir() -> Path:
    """Where merged specialists live, ``~/.cache/rgd/merged``."""
    return packaged.default_cache_dir().parent / "merged"


def merged_folder(name: str, data_dir: Path, cache_dir: Path | None = None,
                  python: Path | None = None) -> Path:
    """Specialist ``name`` as a merged Hugging Face folder for vLLM, built once (about 20 s):
    its base model's export and its peft adapter first, then the merge in ``python`` (default:
    the vLLM environment's)."""
    from rgd_utils.llm.backend import BackendError
    from rgd_utils.llm.vllm_server import prepare_packaged, repo_root, vllm_python

    from . import get_specialist
    from .peft_export import peft_folder
    from .store import verified_adapter

    _, digest = verified_adapter(name, data_dir)
    out = Path(cache_dir or default_merged_dir()) / f"{name}-{digest[:16]}"
    if is_exported(out, digest):
        return out
    python = python or vllm_python()
    base = prepare_packaged(get_specialist(name).base, python)
    adapter = peft_folder(name, data_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([str(python), "-m", "rgd_utils.specialists.merged_export", str(base), str(adapter),
                           str(out), digest], env={**os.environ, "PYTHONPATH": str(repo_root())},
                          capture_output=True, text=True)
    if done.returncode != 0 or not is_exported(out, digest):
        raise BackendError(f"merging the adapter of {name} for vLLM failed:\n{done.stderr[-2000:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``BASE PEFT OUT SHA256``."""
    parser = argparse.ArgumentParser(prog="python -m rgd_utils.specialists.merged_export")
    parser.add_argument("base", type=Path)
    parser.add_argument("adapter", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("sha256")
    args = parser.parse_args(argv)
    print(merge_lora(args.base, args.adapter, args.out, args.sha256))
    return 0


if __name__ == "__main__":
    sys.exit(main())
