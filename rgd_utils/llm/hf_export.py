"""A packaged GGUF as a Hugging Face model folder, the form vLLM loads.

vLLM serves Hugging Face folders (config, tokenizer, safetensors), not these GGUF files. The
weights are dequantised once by ``transformers`` (its GGUF reader) to bfloat16, the dtype vLLM
runs on this CPU's AMX units, and saved; the same tensors llama.cpp serves, in another
arithmetic. The folder's name carries the GGUF's sha256, and a stamp file written last marks it
complete, so an interrupted export is redone and a finished one is never repeated.

This module runs inside the vLLM environment (``make vllm``: torch, transformers, gguf), as
``python -m rgd_utils.llm.hf_export GGUF OUT``; the study's environment never imports torch.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

#: Written last into a finished folder: the GGUF's sha256 and the export's settings.
STAMP = "rgd-export.json"


def export_gguf(gguf: Path, out: Path, sha256: str) -> Path:
    """Write the model of ``gguf`` as a bfloat16 Hugging Face folder at ``out`` (once).

    Parameters
    ----------
    gguf : pathlib.Path
        The model file.
    out : pathlib.Path
        The folder to write (replaced if it exists without a matching stamp).
    sha256 : str
        The GGUF's digest, recorded in the stamp.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    if is_exported(out, sha256):
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    partial = out.with_name(f"{out.name}.partial-{os.getpid()}")  # two exports never share one
    shutil.rmtree(partial, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                 torch_dtype=torch.bfloat16)
    # The weights are plain bf16 now: drop the GGUF quantiser, or save_pretrained refuses.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / STAMP).write_text(json.dumps({"gguf_sha256": sha256, "dtype": "bfloat16"}))
    if is_exported(out, sha256):  # another process finished first
        shutil.rmtree(partial)
        return out
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return out


def is_exported(out: Path, sha256: str) -> bool:
    """Whether ``out`` is a finished export of the GGUF with this digest."""
    try:
        return json.loads((out / STAMP).read_text())["gguf_sha256"] == sha256
    except (OSError, ValueError, KeyError):
        return False


def main(argv: list[str] | None = None) -> int:
    """Command line: ``GGUF OUT SHA256``."""
    parser = argparse.ArgumentParser(prog="python -m rgd_utils.llm.hf_export")
    parser.add_argument("gguf", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("sha256")
    args = parser.parse_args(argv)
    print(export_gguf(args.gguf, args.out, args.sha256))
    return 0


if __name__ == "__main__":
    sys.exit(main())
