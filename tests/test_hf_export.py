"""The Hugging Face export's stamp and the GGUF flags it carries over (no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

gguf = pytest.importorskip("gguf", reason="needs the LLM test extra (`make test` installs it)")

from rgd_utils.llm.hf_export import STAMP, _gguf_flag, is_exported, write_stamp  # noqa: E402


def test_the_add_bos_flag_is_read_from_the_gguf(tmp_path: Path) -> None:
    for flag in (True, False):
        writer = gguf.GGUFWriter(str(tmp_path / f"{flag}.gguf"), "gemma3")
        writer.add_add_bos_token(flag)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        assert _gguf_flag(tmp_path / f"{flag}.gguf", "tokenizer.ggml.add_bos_token") is flag
    assert _gguf_flag(tmp_path / "True.gguf", "tokenizer.ggml.add_eos_token") is False


def test_only_a_stamp_of_this_format_and_digest_counts(tmp_path: Path) -> None:
    assert not is_exported(tmp_path, "abc")
    write_stamp(tmp_path, "abc", "bfloat16")
    assert is_exported(tmp_path, "abc") and not is_exported(tmp_path, "abd")
    (tmp_path / STAMP).write_text(json.dumps({"gguf_sha256": "abc", "dtype": "bfloat16"}))
    assert not is_exported(tmp_path, "abc")  # an export of the format before: redone
