"""The cache refuses ambiguity: two values for one key stop a run, naming the shard and lines,
until `repair --keep` says which is right; `stats` counts entries per engine and exits non-zero
on a conflict; a run checks every shard before any notebook starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from rgd_utils.llm.cache import CacheConflictError, LLMCache, cache_key, main
from rgd_utils.stages.__main__ import check_cache

KEY = cache_key({"prompt": "2 + 2 ="})


def _shard(root: Path) -> Path:
    """A shard whose first line (a well-formed conflicting copy, placed before the original)
    says 5 where the original says 4."""
    LLMCache(root.with_name(root.name + "-forged"), mode="readwrite").put("m", "score", KEY, [5.0], engine="llama.cpp")
    forged = (root.with_name(root.name + "-forged") / "m" / "score.jsonl").read_text()
    cache = LLMCache(root, mode="readwrite")
    cache.put("m", "score", cache_key({"prompt": "other"}), [0.5], engine="llama.cpp")
    cache.put("m", "score", KEY, [4.0], engine="llama.cpp")
    shard = root / "m" / "score.jsonl"
    shard.write_text(forged + shard.read_text())
    return shard


def test_two_values_for_one_key_are_an_error_naming_the_shard_and_lines(tmp_path) -> None:
    shard = _shard(tmp_path)
    with pytest.raises(CacheConflictError, match=rf"{shard}: different values for one key "
                                                 rf"\(key {KEY[:12]} on lines 1, 3\)"):
        LLMCache(tmp_path, mode="replay").get("m", "score", KEY)


def test_stats_reports_a_conflict_apart_from_duplicates_and_fails(tmp_path, capsys) -> None:
    shard = _shard(tmp_path)
    with shard.open("a") as handle:
        handle.write(shard.read_text().splitlines()[1] + "\n")  # an exact duplicate: harmless
    assert main(["stats", "--root", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    row = next(line for line in captured.out.splitlines() if line.startswith("m "))
    assert row.split()[:7] == ["m", "score", "llama.cpp", "2", "0", "1", "1"]  # entries corrupt dupes conflicts
    assert f"key {KEY[:12]} on lines 1, 3" in captured.err
    shard.write_text("\n".join(shard.read_text().splitlines()[1:]) + "\n")  # the forged line removed
    assert main(["stats", "--root", str(tmp_path)]) == 0


def test_repair_resolves_a_conflict_only_by_an_explicit_choice(tmp_path, capsys) -> None:
    shard = _shard(tmp_path)
    before = shard.read_bytes()
    assert main(["repair", "--root", str(tmp_path)]) == 1
    assert "repair --keep" in capsys.readouterr().err and shard.read_bytes() == before
    assert main(["repair", "--root", str(tmp_path), "--keep", f"{shard}:2"]) == 1  # not one of its lines
    assert main(["repair", "--root", str(tmp_path), "--keep", f"{shard}:3"]) == 0
    assert "dropped 1 m/score conflicting" in capsys.readouterr().out
    cache = LLMCache(tmp_path, mode="replay")
    assert cache.get("m", "score", KEY) == [4.0]
    assert [r["engine"] for r in cache.stats()] == ["llama.cpp"]  # the kept lines keep their engine


def test_a_run_checks_the_cache_before_any_notebook(tmp_path, monkeypatch, capsys) -> None:
    cache = LLMCache(tmp_path, mode="readwrite")
    cache.put("m", "generate", KEY, {"text": "4"})
    shard = tmp_path / "m" / "generate.jsonl"
    with shard.open("a") as handle:
        handle.write('{"key": "torn')
    monkeypatch.setenv("RGD_LLM_CACHE", "replay")
    with pytest.raises(ValueError, match=rf"{shard}: 1 corrupt line\(s\) \(line 2\)"):
        check_cache(tmp_path)
    monkeypatch.setenv("RGD_LLM_CACHE", "readwrite")  # computing recomputes it: only reported
    check_cache(tmp_path)
    assert "warning:" in capsys.readouterr().err
    _shard(tmp_path / "other")
    with pytest.raises(ValueError, match="different values for one key"):
        check_cache(tmp_path / "other")
