"""A peft LoRA adapter becomes a GGUF LoRA file: names, shapes, values and metadata exact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

gguf = pytest.importorskip("gguf", reason="needs the LLM test extra (`make test` installs it)")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

from rgd_utils.specialists.gguf_lora import (  # noqa: E402
    base_architecture,
    gguf_tensor_name,
    write_gguf_lora,
)


def _base(path: Path, architecture: str = "llama") -> Path:
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _peft(folder: Path, tensors: dict[str, np.ndarray], alpha: float = 16.0) -> Path:
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "lora_alpha": alpha, "r": 2}))
    safetensors_numpy.save_file(tensors, str(folder / "adapter_model.safetensors"))
    return folder


@pytest.mark.parametrize(("key", "name"), [
    ("base_model.model.model.layers.3.mlp.up_proj.lora_A.weight", "blk.3.ffn_up.weight.lora_a"),
    ("base_model.model.model.layers.12.self_attn.v_proj.lora_B.weight", "blk.12.attn_v.weight.lora_b"),
    ("base_model.model.model.layers.0.self_attn.o_proj.lora_A.weight", "blk.0.attn_output.weight.lora_a"),
    ("base_model.model.model.layers.7.mlp.down_proj.lora_B.weight", "blk.7.ffn_down.weight.lora_b"),
])
def test_tensor_names(key: str, name: str) -> None:
    assert gguf_tensor_name(key) == name


@pytest.mark.parametrize("key", [
    "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight",  # permuted in llama.cpp
    "base_model.model.lm_head.lora_A.weight",
    "base_model.model.model.layers.3.mlp.up_proj.weight",
])
def test_unsupported_tensors_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="cannot convert"):
        gguf_tensor_name(key)


def test_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tensors = {
        "base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight": rng.normal(size=(2, 6)).astype(np.float32),
        "base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight": rng.normal(size=(10, 2)).astype(np.float32),
        "base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight": rng.normal(size=(2, 6)).astype(np.float32),
        "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight": rng.normal(size=(4, 2)).astype(np.float32),
    }
    base = _base(tmp_path / "base.gguf", "gemma3")
    out = write_gguf_lora(_peft(tmp_path / "peft", tensors, alpha=8.0), base, tmp_path / "a.gguf")
    reader = gguf.GGUFReader(out)
    assert base_architecture(out) == "gemma3"
    field = reader.fields["adapter.lora.alpha"]
    assert float(field.parts[field.data[0]][0]) == 8.0
    kind = reader.fields["adapter.type"]
    assert bytes(kind.parts[kind.data[0]]).decode() == "lora"
    read = {t.name: np.asarray(t.data) for t in reader.tensors}
    assert sorted(read) == ["blk.0.ffn_gate.weight.lora_a", "blk.0.ffn_gate.weight.lora_b",
                            "blk.1.attn_v.weight.lora_a", "blk.1.attn_v.weight.lora_b"]
    for key, value in tensors.items():
        assert np.array_equal(read[gguf_tensor_name(key)].reshape(value.shape), value)
    again = write_gguf_lora(tmp_path / "peft", base, tmp_path / "b.gguf")
    assert again.read_bytes() == out.read_bytes()  # the same adapter, the same bytes


def test_a_factor_without_its_partner_is_refused(tmp_path: Path) -> None:
    tensors = {"base_model.model.model.layers.0.mlp.up_proj.lora_A.weight": np.ones((2, 3), np.float32)}
    with pytest.raises(ValueError, match="partner"):
        write_gguf_lora(_peft(tmp_path / "peft", tensors), _base(tmp_path / "b.gguf"), tmp_path / "o.gguf")


def test_not_lora_is_refused(tmp_path: Path) -> None:
    folder = _peft(tmp_path / "peft", {})
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "IA3"}))
    with pytest.raises(ValueError, match="not LoRA"):
        write_gguf_lora(folder, _base(tmp_path / "b.gguf"), tmp_path / "o.gguf")
