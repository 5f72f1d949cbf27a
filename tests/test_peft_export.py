"""A GGUF LoRA adapter back to a peft folder: the exact inverse of the GGUF writer, written once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

gguf = pytest.importorskip("gguf", reason="needs the LLM test extra (`make test` installs it)")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

from rgd_utils.config import get_paths  # noqa: E402
from rgd_utils.llm.hf_export import STAMP  # noqa: E402
from rgd_utils.specialists import SPECIALISTS  # noqa: E402
from rgd_utils.specialists.gguf_lora import gguf_tensor_name, write_gguf_lora  # noqa: E402
from rgd_utils.specialists.peft_export import peft_folder, peft_tensor_key, write_peft  # noqa: E402
from rgd_utils.specialists.store import (  # noqa: E402
    ADAPTER,
    AdapterMissingError,
    sha256_of,
    specialist_dir,
    write_record,
)

DATA = get_paths().data
COMMITTED = [name for name in SPECIALISTS if (specialist_dir(name, DATA) / ADAPTER).exists()]


def _empty_base(path: Path) -> Path:
    writer = gguf.GGUFWriter(str(path), "gemma3")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _load(folder: Path) -> tuple[dict[str, np.ndarray], dict]:
    return (safetensors_numpy.load_file(str(folder / "adapter_model.safetensors")),
            json.loads((folder / "adapter_config.json").read_text()))


@pytest.mark.parametrize("key", [
    "base_model.model.model.layers.3.mlp.up_proj.lora_A.weight",
    "base_model.model.model.layers.12.self_attn.v_proj.lora_B.weight",
    "base_model.model.model.layers.0.self_attn.o_proj.lora_A.weight",
    "base_model.model.model.layers.7.mlp.down_proj.lora_B.weight",
    "base_model.model.model.layers.1.mlp.gate_proj.lora_A.weight",
])
def test_names_are_the_inverse_of_the_writers(key: str) -> None:
    assert peft_tensor_key(gguf_tensor_name(key)) == key


@pytest.mark.parametrize("name", ["blk.3.attn_q.weight.lora_a", "blk.3.ffn_up.weight", "output.weight.lora_a"])
def test_unsupported_tensors_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="cannot convert"):
        peft_tensor_key(name)


def test_round_trip_through_the_projects_gguf_writer(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    shapes = {"mlp.gate_proj": (6, 10), "self_attn.v_proj": (6, 4), "self_attn.o_proj": (4, 6)}
    tensors = {}
    for block in (0, 1):
        for projection, (n_in, n_out) in shapes.items():
            stem = f"base_model.model.model.layers.{block}.{projection}"
            tensors[f"{stem}.lora_A.weight"] = rng.normal(size=(3, n_in)).astype(np.float32)
            tensors[f"{stem}.lora_B.weight"] = rng.normal(size=(n_out, 3)).astype(np.float32)
    peft = tmp_path / "peft"
    peft.mkdir()
    (peft / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "lora_alpha": 6.0, "r": 3}))
    safetensors_numpy.save_file(tensors, str(peft / "adapter_model.safetensors"))
    adapter = write_gguf_lora(peft, _empty_base(tmp_path / "base.gguf"), tmp_path / "a.gguf")

    out = write_peft(adapter, tmp_path / "back", "digest")
    back, config = _load(out)
    assert sorted(back) == sorted(tensors)
    for key, value in tensors.items():
        assert back[key].dtype == np.float32 and np.array_equal(back[key], value), key
    assert (config["peft_type"], config["r"], config["lora_alpha"]) == ("LORA", 3, 6.0)
    assert config["target_modules"] == ["gate_proj", "o_proj", "v_proj"]
    assert json.loads((out / STAMP).read_text())["gguf_sha256"] == "digest"
    # and forward again: the same GGUF bytes
    again = write_gguf_lora(out, tmp_path / "base.gguf", tmp_path / "b.gguf")
    assert again.read_bytes() == adapter.read_bytes()


def test_a_finished_export_is_kept_and_an_interrupted_one_redone(tmp_path: Path) -> None:
    peft = tmp_path / "peft"
    peft.mkdir()
    (peft / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "lora_alpha": 2.0}))
    safetensors_numpy.save_file({
        "base_model.model.model.layers.0.mlp.up_proj.lora_A.weight": np.ones((1, 2), np.float32),
        "base_model.model.model.layers.0.mlp.up_proj.lora_B.weight": np.ones((3, 1), np.float32),
    }, str(peft / "adapter_model.safetensors"))
    adapter = write_gguf_lora(peft, _empty_base(tmp_path / "base.gguf"), tmp_path / "a.gguf")
    out = write_peft(adapter, tmp_path / "out", "d1")
    (out / "adapter_config.json").write_text("kept")
    assert write_peft(adapter, out, "d1").joinpath("adapter_config.json").read_text() == "kept"
    (out / STAMP).unlink()  # as if the export stopped before its stamp
    assert _load(write_peft(adapter, out, "d1"))[1]["r"] == 1
    assert _load(write_peft(adapter, out, "d2"))[1]["r"] == 1  # another digest: rewritten
    assert json.loads((out / STAMP).read_text())["gguf_sha256"] == "d2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gguf", "base.gguf", "out", "peft"]


def test_the_specialists_recipe_is_checked(tmp_path: Path) -> None:
    name = "gemma3-270m+science"
    peft = tmp_path / "peft"
    peft.mkdir()
    (peft / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "lora_alpha": 4.0}))
    safetensors_numpy.save_file({
        f"base_model.model.model.layers.0.{projection}.lora_{factor}.weight": np.ones(shape, np.float32)
        for projection in ("self_attn.v_proj", "mlp.down_proj") for factor, shape in (("A", (2, 3)), ("B", (3, 2)))
    }, str(peft / "adapter_model.safetensors"))
    folder = specialist_dir(name, tmp_path / "data")
    folder.mkdir(parents=True)
    write_gguf_lora(peft, _empty_base(tmp_path / "base.gguf"), folder / ADAPTER)
    recipe = {"rank": 2, "alpha": 4.0, "targets": ["v_proj", "down_proj"]}
    write_record(folder, {"sha256": sha256_of(folder / ADAPTER), "recipe": recipe}, [])
    out = peft_folder(name, tmp_path / "data", cache_dir=tmp_path / "cache")
    assert _load(out)[1]["target_modules"] == ["down_proj", "v_proj"]
    shutil.rmtree(out)
    write_record(folder, {"sha256": sha256_of(folder / ADAPTER), "recipe": {**recipe, "rank": 8}}, [])
    with pytest.raises(ValueError, match="its record says"):
        peft_folder(name, tmp_path / "data", cache_dir=tmp_path / "cache")
    assert not out.exists()


@pytest.mark.skipif(not COMMITTED, reason="no specialist adapter is committed yet")
@pytest.mark.parametrize("name", COMMITTED[:1])
def test_a_committed_adapter_exports_for_gemma3_270m(name: str, tmp_path: Path) -> None:
    out = peft_folder(name, DATA, cache_dir=tmp_path)
    record = json.loads((specialist_dir(name, DATA) / "record.json").read_text())
    assert out == tmp_path / f"{name}-{record['sha256'][:16]}"
    tensors, config = _load(out)
    assert (config["r"], config["lora_alpha"]) == (8, 16.0)
    assert config["target_modules"] == ["down_proj", "gate_proj", "o_proj", "up_proj", "v_proj"]
    # Gemma-3-270M: 18 blocks, hidden 640, MLP 2048, 4 query heads and 1 KV head of 256
    io = {"self_attn.v_proj": (640, 256), "self_attn.o_proj": (1024, 640), "mlp.gate_proj": (640, 2048),
          "mlp.up_proj": (640, 2048), "mlp.down_proj": (2048, 640)}
    expected = {}
    for block in range(18):
        for projection, (n_in, n_out) in io.items():
            stem = f"base_model.model.model.layers.{block}.{projection}"
            expected[f"{stem}.lora_A.weight"] = (8, n_in)
            expected[f"{stem}.lora_B.weight"] = (n_out, 8)
    assert {key: value.shape for key, value in tensors.items()} == expected
    reader = gguf.GGUFReader(specialist_dir(name, DATA) / ADAPTER)
    for tensor in reader.tensors[:10]:
        assert np.array_equal(tensors[peft_tensor_key(tensor.name)], tensor.data)
    assert any(np.abs(v).max() > 0 for k, v in tensors.items() if ".lora_B." in k)  # trained
    assert peft_folder(name, DATA, cache_dir=tmp_path) == out


def test_a_changed_committed_adapter_is_refused(tmp_path: Path) -> None:
    if not COMMITTED:
        pytest.skip("no specialist adapter is committed yet")
    name = COMMITTED[0]
    copy = specialist_dir(name, tmp_path / "data")
    shutil.copytree(specialist_dir(name, DATA), copy)
    with open(copy / ADAPTER, "r+b") as handle:
        handle.seek(-4, 2)
        handle.write(b"\x00\x00\x80\x3f")
    with pytest.raises(AdapterMissingError, match="its record says"):
        peft_folder(name, tmp_path / "data", cache_dir=tmp_path / "peft")
    assert not (tmp_path / "peft").exists()
