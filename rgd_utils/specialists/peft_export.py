"""A committed GGUF LoRA adapter as a peft folder, the form vLLM serves adapters in.

The exact inverse of :mod:`.gguf_lora`: each ``blk.N.<projection>.weight.lora_a|b`` tensor gets
back its peft name, with its float32 values and its layout (peft and GGUF keep the factors in
the same row-major ``(rank, in)`` and ``(out, rank)`` shapes, so nothing is transposed). The
configuration is read from the file itself (``lora_alpha`` from its metadata, the rank from the
factors' shapes, the target projections from the tensor names) and checked against the
specialist's recorded recipe. A folder is written once, named by the adapter's sha256, with a
stamp written last, so an interrupted export is redone and a finished one never repeated.
Needs numpy, safetensors and gguf only (the llm extra).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from rgd_utils.llm import packaged
from rgd_utils.llm.hf_export import is_exported, write_stamp

from .gguf_lora import PROJECTIONS
from .store import read_record, verified_adapter

#: Where peft keys of a causal language model's blocks start (what ``save_pretrained`` writes).
PEFT_PREFIX = "base_model.model.model.layers"
_GGUF_NAME = re.compile(r"^blk\.(\d+)\.(\w+)\.weight\.lora_([ab])$")
_HF_PROJECTION = {gguf_name: hf_name for hf_name, gguf_name in PROJECTIONS.items()}


def peft_tensor_key(gguf_name: str) -> str:
    """The peft name of one GGUF LoRA tensor (the inverse of
    :func:`rgd_utils.specialists.gguf_lora.gguf_tensor_name`), e.g. ``blk.3.ffn_up.weight.lora_a``
    -> ``base_model.model.model.layers.3.mlp.up_proj.lora_A.weight``; a ValueError for a tensor
    that is not a LoRA factor of a supported projection."""
    match = _GGUF_NAME.match(gguf_name)
    if not match or match.group(2) not in _HF_PROJECTION:
        raise ValueError(f"cannot convert adapter tensor {gguf_name!r}: only LoRA factors of "
                         f"{sorted(_HF_PROJECTION)} are supported")
    block, projection, factor = match.groups()
    return f"{PEFT_PREFIX}.{block}.{_HF_PROJECTION[projection]}.lora_{factor.upper()}.weight"


def read_gguf_lora(adapter: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The peft tensors and ``adapter_config.json`` of a GGUF LoRA file.

    Raises
    ------
    ValueError
        For a file that is not a LoRA adapter, or whose factors disagree on the rank.
    """
    import gguf

    reader = gguf.GGUFReader(adapter)
    kind = reader.fields.get(gguf.Keys.Adapter.TYPE)
    if kind is None or bytes(kind.parts[kind.data[0]]).decode("utf-8") != "lora":
        raise ValueError(f"{adapter} is not a GGUF LoRA adapter (no `adapter.type = lora`)")
    alpha_field = reader.fields[gguf.Keys.Adapter.LORA_ALPHA]
    alpha = float(alpha_field.parts[alpha_field.data[0]][0])
    # GGUF lists dimensions fastest first; the reader's arrays are already in numpy's order.
    tensors = {peft_tensor_key(t.name): np.array(t.data, dtype=np.float32) for t in reader.tensors}
    ranks = {value.shape[0] for key, value in tensors.items() if ".lora_A." in key}
    ranks |= {value.shape[1] for key, value in tensors.items() if ".lora_B." in key}
    if len(ranks) != 1:
        raise ValueError(f"{adapter}: LoRA factors of several ranks {sorted(ranks)}")
    targets = sorted({key.split(".")[-3] for key in tensors})
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": ranks.pop(), "lora_alpha": alpha,
              "target_modules": targets, "lora_dropout": 0.0, "bias": "none",
              "fan_in_fan_out": False, "use_rslora": False, "use_dora": False,
              "base_model_name_or_path": None}
    return tensors, config


def write_peft(adapter: Path, out: Path, sha256: str) -> Path:
    """Write the GGUF LoRA file ``adapter`` as a peft folder at ``out``, stamped with the file's
    ``sha256``; returns ``out``. A folder stamped with this digest is kept, any other replaced."""
    if is_exported(out, sha256):
        return out
    from safetensors.numpy import save_file

    tensors, config = read_gguf_lora(adapter)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{out.name}.partial-", dir=out.parent))
    save_file(tensors, str(partial / "adapter_model.safetensors"))
    (partial / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    write_stamp(partial, sha256, "float32")
    shutil.rmtree(out, ignore_errors=True)
    try:
        partial.rename(out)
    except OSError:  # another process finished the same export first
        shutil.rmtree(partial, ignore_errors=True)
        if not is_exported(out, sha256):
            raise
    return out


def default_peft_dir() -> Path:
    """Where exported adapters live, ``~/.cache/rgd/peft``."""
    return packaged.default_cache_dir().parent / "peft"


def peft_folder(name: str, data_dir: Path, cache_dir: Path | None = None) -> Path:
    """The committed adapter of specialist ``name`` as a peft folder, exported once.

    Parameters
    ----------
    name : str
        A committed specialist.
    data_dir : pathlib.Path
        Where the adapters are committed (``<data_dir>/specialists``).
    cache_dir : pathlib.Path, optional
        Where the folder ``<name>-<first 16 hex digits of the sha256>`` is written; default
        :func:`default_peft_dir`.

    Raises
    ------
    rgd_utils.specialists.store.AdapterMissingError
        When the adapter is missing or differs from its record.
    ValueError
        When the file's rank, alpha or target projections differ from the recorded recipe.
    """
    adapter, digest = verified_adapter(name, data_dir)
    out = Path(cache_dir or default_peft_dir()) / f"{name}-{digest[:16]}"
    if is_exported(out, digest):
        return out
    recipe = read_record(name, data_dir)["recipe"]
    _, config = read_gguf_lora(adapter)
    found = (config["r"], config["lora_alpha"], config["target_modules"])
    recorded = (recipe["rank"], float(recipe["alpha"]), sorted(recipe["targets"]))
    if found != recorded:
        raise ValueError(f"{adapter} holds rank, alpha and targets {found}, its record says {recorded}: "
                         "restore it with `git checkout` or retrain it with `make specialists`")
    return write_peft(adapter, out, digest)
