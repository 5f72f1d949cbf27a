"""A peft LoRA adapter as a GGUF LoRA file, the form llama.cpp loads beside its base model.

The conversion is a renaming, exact to the bit (float32 in, float32 out), because the adapted
projections are the ones whose layout llama.cpp keeps as Hugging Face's (value, output and MLP
projections; see :class:`rgd_utils.specialists.specs.Recipe`). llama.cpp scales the update by
``alpha / rank`` as peft does. The file's metadata are those llama.cpp's own
``convert_lora_to_gguf.py`` writes: ``general.type = adapter``, ``adapter.type = lora``,
``adapter.lora.alpha`` and the base model's architecture.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

#: Hugging Face projection name -> llama.cpp tensor name (per block).
PROJECTIONS = {
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_KEY = re.compile(r"(?:^|\.)layers\.(\d+)\.(\w+\.\w+)\.lora_([AB])\.weight$")


def gguf_tensor_name(peft_key: str) -> str:
    """The llama.cpp name of one peft LoRA tensor, e.g.
    ``base_model.model.model.layers.3.mlp.up_proj.lora_A.weight`` -> ``blk.3.ffn_up.weight.lora_a``.

    Raises
    ------
    ValueError
        For a tensor that is not a LoRA factor of a supported projection.
    """
    match = _KEY.search(peft_key)
    if not match or match.group(2) not in PROJECTIONS:
        raise ValueError(f"cannot convert adapter tensor {peft_key!r}: only LoRA factors of "
                         f"{sorted(PROJECTIONS)} are supported")
    block, projection, factor = match.groups()
    return f"blk.{block}.{PROJECTIONS[projection]}.weight.lora_{factor.lower()}"


def base_architecture(base_gguf: Path) -> str:
    """``general.architecture`` of a GGUF file (``"llama"``, ``"gemma3"``, ``"qwen2"``...)."""
    import gguf

    field = gguf.GGUFReader(base_gguf).fields["general.architecture"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def write_gguf_lora(peft_dir: Path, base_gguf: Path, out: Path) -> Path:
    """Convert the peft adapter in ``peft_dir`` for the base model ``base_gguf``; returns ``out``.

    Raises
    ------
    ValueError
        For an adapter that is not LoRA, or a factor without its partner.
    """
    import gguf
    from safetensors.numpy import load_file

    config = json.loads((peft_dir / "adapter_config.json").read_text())
    if config.get("peft_type") != "LORA":
        raise ValueError(f"{peft_dir} holds a {config.get('peft_type')} adapter, not LoRA")
    tensors = load_file(str(peft_dir / "adapter_model.safetensors"))
    named = {gguf_tensor_name(key): value for key, value in tensors.items()}
    halves = {name.rsplit(".lora_", 1)[0] for name in named}
    missing = [h for h in halves if f"{h}.lora_a" not in named or f"{h}.lora_b" not in named]
    if missing:
        raise ValueError(f"LoRA factors without their partner: {sorted(missing)[:3]}")
    writer = gguf.GGUFWriter(str(out), base_architecture(base_gguf))
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config["lora_alpha"]))
    for name in sorted(named, key=_block_order):
        writer.add_tensor(name, np.ascontiguousarray(named[name], dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def _block_order(name: str) -> tuple[int, str]:
    return int(name.split(".")[1]), name
