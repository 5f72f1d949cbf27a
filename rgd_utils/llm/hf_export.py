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
#: Raised whenever an export writes something else, so that folders of an older one are redone.
EXPORT_FORMAT = 2


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
    # transformers' GGUF reader drops the file's add-BOS flag, and Gemma without its <bos> answers
    # near chance: the tokenizer adds BOS exactly when llama.cpp does.
    tokenizer.add_bos_token = _gguf_flag(gguf, "tokenizer.ggml.add_bos_token")
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                 torch_dtype=torch.bfloat16)
    # The weights are plain bf16 now: drop the GGUF quantiser, or save_pretrained refuses.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    write_stamp(partial, sha256, "bfloat16")
    if is_exported(out, sha256):  # another process finished first
        shutil.rmtree(partial)
        return out
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return out


def _gguf_flag(gguf: Path, key: str) -> bool:
    """A boolean of a GGUF file's metadata (False when absent)."""
    from gguf import GGUFReader

    field = GGUFReader(gguf).fields.get(key)
    return bool(field.parts[field.data[0]][0]) if field is not None else False


def write_stamp(folder: Path, sha256: str, dtype: str) -> None:
    """Mark ``folder`` a finished export (of the current format) of the GGUF with this digest."""
    (folder / STAMP).write_text(json.dumps({"gguf_sha256": sha256, "dtype": dtype, "format": EXPORT_FORMAT}))


def is_exported(out: Path, sha256: str) -> bool:
    """Whether ``out`` is a finished export, of the current format, of the GGUF with this digest."""
    try:
        stamp = json.loads((out / STAMP).read_text())
        return stamp["gguf_sha256"] == sha256 and stamp.get("format") == EXPORT_FORMAT
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
