"""Pruning the cache to the entries that runs read (RGD_CACHE_READS)."""

from __future__ import annotations

import json

import pytest

from rgd_utils.llm.cache import LLMCache, cache_key
from rgd_utils.llm.cache_prune import main, prune, read_log


def _filled(root) -> dict[str, str]:
    cache = LLMCache(root, mode="readwrite")
    keys = {name: cache_key({"q": name}) for name in ("old", "new", "other")}
    cache.put("m", "score", keys["old"], [1.0], engine="llama.cpp")
    cache.put("m", "score", keys["new"], [2.0], engine="vllm")
    cache.put("gone", "generate", keys["other"], "text")
    return keys


def test_reads_are_logged_once_per_entry_and_misses_not(tmp_path, monkeypatch) -> None:
    keys = _filled(tmp_path / "cache")
    monkeypatch.setenv("RGD_CACHE_READS", str(tmp_path / "reads.log"))
    replay = LLMCache(tmp_path / "cache", mode="replay")
    assert replay.get("m", "score", keys["new"]) == [2.0]
    assert replay.get("m", "score", keys["new"]) == [2.0]
    assert LLMCache(tmp_path / "cache", mode="readwrite").get("m", "score", cache_key({"q": "miss"})) is None
    assert (tmp_path / "reads.log").read_text() == f"m/score.jsonl\t{keys['new']}\n"
    assert read_log([tmp_path / "reads.log"]) == {"m/score.jsonl": {keys["new"]}}


def test_prune_keeps_what_was_read_with_its_engine_and_deletes_unread_shards(tmp_path, capsys) -> None:
    keys = _filled(tmp_path / "cache")
    log = tmp_path / "reads.log"
    log.write_text(f"m/score.jsonl\t{keys['new']}\n")
    assert main([str(log), "--root", str(tmp_path / "cache"), "--dry-run"]) == 0
    assert "would drop" in capsys.readouterr().out
    assert (tmp_path / "cache" / "gone" / "generate.jsonl").exists()  # a dry run changes nothing
    counts = prune(LLMCache(tmp_path / "cache", mode="readwrite"), read_log([log]))
    assert counts == {"m/score.jsonl": (1, 1), "gone/generate.jsonl": (0, 1)}
    [line] = (tmp_path / "cache" / "m" / "score.jsonl").read_text().splitlines()
    assert json.loads(line)["engine"] == "vllm"
    assert not (tmp_path / "cache" / "gone").exists()
    replay = LLMCache(tmp_path / "cache", mode="replay")
    assert replay.get("m", "score", keys["new"]) == [2.0]
    assert [row["engine"] for row in replay.stats()] == ["vllm"]


def test_an_empty_log_prunes_nothing(tmp_path, capsys) -> None:
    _filled(tmp_path / "cache")
    (tmp_path / "reads.log").write_text("")
    assert main([str(tmp_path / "reads.log"), "--root", str(tmp_path / "cache")]) == 1
    assert "nothing is pruned" in capsys.readouterr().err
    with pytest.raises(ValueError):
        prune(LLMCache(tmp_path / "cache"), {})
    assert sum(row["entries"] for row in LLMCache(tmp_path / "cache").stats()) == 3
