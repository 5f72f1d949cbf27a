"""A specialist's adapter merged into its base weights (needs torch: the specialists extra or the
vLLM environment, hence slow; CI installs both before `make test-slow`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="needs torch (make specialists-env)")
from safetensors.torch import load_file, save_file  # noqa: E402

from rgd_utils.llm.hf_export import STAMP, is_exported, write_stamp  # noqa: E402
from rgd_utils.specialists.merged_export import merge_lora  # noqa: E402

pytestmark = pytest.mark.slow
PROJECTION = "model.layers.0.mlp.down_proj.weight"


def _folders(tmp_path: Path) -> tuple[Path, Path, dict]:
    """A bfloat16 base export with two weights and a rank-2 adapter on one of them."""
    generator = torch.Generator().manual_seed(0)
    base, adapter = tmp_path / "base", tmp_path / "adapter"
    base.mkdir()
    adapter.mkdir()
    weights = {PROJECTION: torch.randn(4, 6, generator=generator).to(torch.bfloat16),
               "model.embed_tokens.weight": torch.randn(10, 6, generator=generator).to(torch.bfloat16)}
    save_file(weights, str(base / "model.safetensors"))
    (base / "config.json").write_text('{"model_type": "gemma3_text"}')
    (base / "tokenizer.json").write_text("{}")
    write_stamp(base, "base-digest", "bfloat16")
    lora = {"base_model.model.model.layers.0.mlp.down_proj.lora_A.weight": torch.randn(2, 6, generator=generator),
            "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight": torch.randn(4, 2, generator=generator)}
    save_file(lora, str(adapter / "adapter_model.safetensors"))
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 2, "lora_alpha": 8.0, "use_rslora": False}))
    return base, adapter, {**weights, **lora}


def test_the_merged_projection_is_w_plus_scaled_b_a_rounded_once(tmp_path: Path) -> None:
    base, adapter, tensors = _folders(tmp_path)
    out = merge_lora(base, adapter, tmp_path / "merged", "adapter-digest")
    merged = load_file(str(out / "model.safetensors"))
    a = tensors["base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"]
    b = tensors["base_model.model.model.layers.0.mlp.down_proj.lora_B.weight"]
    expected = (tensors[PROJECTION].float() + 4.0 * (b @ a)).to(torch.bfloat16)  # alpha / r = 4
    assert merged[PROJECTION].dtype == torch.bfloat16
    assert torch.equal(merged[PROJECTION], expected)
    assert not torch.equal(merged[PROJECTION], tensors[PROJECTION])
    assert torch.equal(merged["model.embed_tokens.weight"], tensors["model.embed_tokens.weight"])
    assert (out / "config.json").read_text() == '{"model_type": "gemma3_text"}' and (out / "tokenizer.json").exists()
    assert is_exported(out, "adapter-digest") and not is_exported(out, "base-digest")
    assert not (tmp_path / "merged.partial").exists()


def test_an_adapter_tensor_without_its_base_weight_is_an_error(tmp_path: Path) -> None:
    base, adapter, tensors = _folders(tmp_path)
    lora = {k.replace("layers.0", "layers.9"): v for k, v in tensors.items() if "lora" in k}
    save_file(lora, str(adapter / "adapter_model.safetensors"))
    with pytest.raises(ValueError, match="match no base weight"):
        merge_lora(base, adapter, tmp_path / "merged", "adapter-digest")
    assert not (tmp_path / "merged" / STAMP).exists()


def test_the_merge_gives_peft_s_merged_weights(tmp_path: Path) -> None:
    """A tiny Gemma-3 with a random rank-2 adapter: the folder's weights are peft's
    ``merge_and_unload`` of the float32 model, cast to bfloat16."""
    peft = pytest.importorskip("peft")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.Gemma3TextConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                           num_attention_heads=2, num_key_value_heads=1, head_dim=8)
    model = transformers.AutoModelForCausalLM.from_config(config).to(torch.bfloat16)
    model.save_pretrained(tmp_path / "base")
    write_stamp(tmp_path / "base", "base-digest", "bfloat16")
    lora = peft.get_peft_model(model.float(), peft.LoraConfig(r=2, lora_alpha=4, target_modules=["v_proj", "down_proj"]))
    for name, parameter in lora.named_parameters():
        if "lora_B" in name:
            parameter.data.normal_()  # peft starts B at zero: a merge would change nothing
    lora.save_pretrained(tmp_path / "adapter")
    expected = {k: v.to(torch.bfloat16) for k, v in lora.merge_and_unload().state_dict().items()}
    out = merge_lora(tmp_path / "base", tmp_path / "adapter", tmp_path / "merged", "adapter-digest")
    merged = load_file(str(out / "model.safetensors"))
    assert set(merged) <= set(expected)
    for name, weight in merged.items():
        assert torch.equal(weight, expected[name]), name
    assert not torch.equal(merged["model.layers.0.self_attn.v_proj.weight"],
                           load_file(str(tmp_path / "base" / "model.safetensors"))["model.layers.0.self_attn.v_proj.weight"])
