"""Specialists in the model registry: identity, adapter checks, replay (small files the test makes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rgd_utils.llm import packaged
from rgd_utils.llm.cache import CacheMissError, LLMCache
from rgd_utils.llm.registry import load_model, model_names, n_params, packaged_identity, specialist_identity
from rgd_utils.specialists import SPECIALISTS
from rgd_utils.specialists.store import (
    ADAPTER,
    AdapterMissingError,
    read_train_qids,
    sha256_of,
    specialist_dir,
    verified_adapter,
    write_record,
)

NAME = "gemma3-270m+medical"


def _commit(data: Path, content: bytes = b"adapter bytes") -> str:
    folder = specialist_dir(NAME, data)
    folder.mkdir(parents=True)
    (folder / ADAPTER).write_bytes(content)
    digest = sha256_of(folder / ADAPTER)
    write_record(folder, {"name": NAME, "sha256": digest}, ["medqa/1", "medmcqa/7"])
    return digest


def test_every_specialist_is_registered_with_its_base_size() -> None:
    names = model_names()
    for name, spec in SPECIALISTS.items():
        assert name in names and spec.base in packaged.MODELS
        assert n_params(name) == packaged.get_model(spec.base).n_params


def test_identity_is_the_base_plus_the_adapter_digest(tmp_path: Path) -> None:
    digest = _commit(tmp_path)
    identity = specialist_identity(NAME, tmp_path)
    assert identity == {**packaged_identity("gemma3-270m"), "lora": digest}
    # on vLLM the adapter is merged into the base weights: other arithmetic, other entries
    assert specialist_identity(NAME, tmp_path, "vllm") == {
        **packaged_identity("gemma3-270m", "vllm"), "lora": digest, "lora_merged": "bfloat16"}
    assert verified_adapter(NAME, tmp_path) == (specialist_dir(NAME, tmp_path) / ADAPTER, digest)
    assert read_train_qids(NAME, tmp_path) == ["medqa/1", "medmcqa/7"]


def test_a_changed_adapter_is_refused(tmp_path: Path) -> None:
    _commit(tmp_path)
    (specialist_dir(NAME, tmp_path) / ADAPTER).write_bytes(b"something else")
    with pytest.raises(AdapterMissingError, match="its record says"):
        verified_adapter(NAME, tmp_path)


def test_a_missing_specialist_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(AdapterMissingError, match="make specialists"):
        specialist_identity(NAME, tmp_path)
    with pytest.raises(AdapterMissingError, match="make specialists"):
        load_model(NAME, LLMCache(tmp_path / "cache", mode="replay"), data_dir=tmp_path)


def test_replay_of_a_specialist_misses_loudly_without_loading(tmp_path: Path) -> None:
    _commit(tmp_path)
    llm = load_model(NAME, LLMCache(tmp_path / "cache", mode="replay"), data_dir=tmp_path)
    assert llm.identity["lora"] == json.loads(
        (specialist_dir(NAME, tmp_path) / "record.json").read_text())["sha256"]
    with pytest.raises(CacheMissError):
        llm.score("Question: q?\nAnswer:", [" a", " b"])
    # the base model's entries are not the specialist's
    base = load_model("gemma3-270m", LLMCache(tmp_path / "cache", mode="replay"))
    assert base.identity != llm.identity
