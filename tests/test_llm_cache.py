"""The LLM cache: keys, replay, corrupt and torn lines, kill -9, two writers, stats, repair."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rgd_utils.llm.backend import ContinuationScore, Generation, GenerationParams
from rgd_utils.llm.cache import CacheMissError, LLMCache, cache_key, main
from rgd_utils.llm.cached import CachedLLM

ROOT = Path(__file__).resolve().parents[1]


class CountingBackend:
    """A fake model: echoes the prompt; counts the calls it really makes."""

    identity = {"fake": 1}

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, prompts, params):
        self.calls += len(prompts)
        return [Generation(text=f"{p}|{params.seed}|{params.temperature}", n_tokens=3,
                           finish_reason="stop", token_logprobs=(-0.5, -1.0, -1.5)) for p in prompts]

    def score(self, prompt, continuations):
        self.calls += 1
        return [ContinuationScore(logprob=-float(len(c)), n_tokens=len(c)) for c in continuations]


def _model(tmp_path: Path, backend: CountingBackend, mode: str = "readwrite") -> CachedLLM:
    return CachedLLM("fake-model", {"fake": 1}, lambda: backend, LLMCache(tmp_path, mode=mode))


def test_hits_are_free_and_a_changed_parameter_is_a_miss(tmp_path) -> None:
    backend = CountingBackend()
    llm = _model(tmp_path, backend)
    params = GenerationParams(max_tokens=8, temperature=0.8, seed=1)
    first = llm.generate(["a", "b"], params)
    assert backend.calls == 2 and first[0].text == "a|1|0.8"
    again = _model(tmp_path, backend).generate(["b", "a"], params)  # a fresh process would do this
    assert backend.calls == 2 and [g.text for g in again] == ["b|1|0.8", "a|1|0.8"]
    assert again[1].avg_logprob == pytest.approx(-1.0)
    _model(tmp_path, backend).generate(["a"], GenerationParams(max_tokens=8, temperature=0.8, seed=2))
    _model(tmp_path, backend).generate(["a"], GenerationParams(max_tokens=9, temperature=0.8, seed=1))
    _model(tmp_path, backend).generate([[{"role": "user", "content": "a"}]], params)
    assert backend.calls == 5
    scores = llm.score("q", [" yes", " no"])
    assert [s.logprob for s in scores] == [-4.0, -3.0] and backend.calls == 6
    llm.score("q", [" yes", " no"])
    llm.score("q", [" no", " yes"])
    assert backend.calls == 7


def test_identity_is_part_of_the_key() -> None:
    request = {"op": "score", "prompt": "q", "continuations": ["A"]}
    assert cache_key({**request, "model": {"gguf": "aaa"}}) != cache_key({**request, "model": {"gguf": "bbb"}})
    assert cache_key({"b": 1, "a": 2}) == cache_key({"a": 2, "b": 1})


def test_replay_mode_fails_loudly_and_never_builds_the_model(tmp_path) -> None:
    backend = CountingBackend()
    _model(tmp_path, backend).generate(["cached"], GenerationParams())

    def forbidden():
        raise AssertionError("replay mode must not load a model")

    replay = CachedLLM("fake-model", {"fake": 1}, forbidden, LLMCache(tmp_path, mode="replay"))
    assert replay.generate(["cached"], GenerationParams())[0].text == "cached|0|0.0"
    with pytest.raises(CacheMissError, match="replay mode: no cached generate call .* 'fake-model'"):
        replay.generate(["not cached"], GenerationParams())


def test_mode_comes_from_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RGD_LLM_CACHE", "replay")
    assert LLMCache(tmp_path).mode == "replay"
    monkeypatch.setenv("RGD_LLM_CACHE", "sometimes")
    with pytest.raises(ValueError, match="cache mode"):
        LLMCache(tmp_path)


def test_corrupt_and_torn_lines_are_counted_recomputed_and_repaired(tmp_path, capsys) -> None:
    backend = CountingBackend()
    llm = _model(tmp_path, backend)
    llm.generate(["a", "b", "c"], GenerationParams())
    shard = tmp_path / "fake-model" / "generate.jsonl"
    lines = shard.read_text().splitlines()
    record = json.loads(lines[1])
    record["value"]["text"] = "tampered"  # the check digest no longer matches
    shard.write_text("\n".join([lines[0], json.dumps(record), "{not json", lines[2]]) + "\n"
                     + lines[2][: len(lines[2]) // 2])  # plus a torn last line, no newline
    stats = LLMCache(tmp_path).stats()
    assert stats[0]["entries"] == 2 and stats[0]["corrupt"] == 3
    again = _model(tmp_path, backend).generate(["a", "b", "c"], GenerationParams())
    assert [g.text for g in again] == ["a|0|0.0", "b|0|0.0", "c|0|0.0"]
    assert backend.calls == 4  # only "b" was recomputed
    assert main(["repair", "--root", str(tmp_path)]) == 0
    assert "dropped 3 fake-model/generate corrupt" in capsys.readouterr().out
    after = LLMCache(tmp_path).stats()[0]
    assert after["entries"] == 3 and after["corrupt"] == 0
    main(["stats", "--root", str(tmp_path)])
    out = capsys.readouterr().out
    assert "fake-model" in out and "generate" in out and " 3 " in out


WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from rgd_utils.llm.cache import LLMCache, cache_key
    cache = LLMCache({folder!r}, mode="readwrite")
    tag, n, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    for i in range(n):
        cache.put("m", "generate", cache_key({{"tag": tag, "i": i}}), {{"text": "x" * 2000, "i": i}})
        print(i, flush=True)
        time.sleep(pause)
""")


def _writer(tmp_path: Path, tag: str, n: int, pause: float) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(ROOT), folder=str(tmp_path / "cache")))
    return subprocess.Popen([sys.executable, str(script), tag, str(n), str(pause)],
                            stdout=subprocess.PIPE, text=True)


def test_two_writers_on_one_shard_lose_nothing(tmp_path) -> None:
    writers = [_writer(tmp_path, tag, 150, 0.0) for tag in ("first", "second")]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    stats = LLMCache(tmp_path / "cache").stats()
    assert stats == [{"model": "m", "op": "generate", "engine": "not recorded", "entries": 300,
                      "corrupt": 0, "duplicates": 0, "conflicts": 0, "bytes": stats[0]["bytes"]}]


def test_kill_minus_9_loses_at_most_the_call_in_flight(tmp_path) -> None:
    writer = _writer(tmp_path, "killed", 10_000, 0.002)
    done = 0
    while done < 50:
        done = int(writer.stdout.readline()) + 1
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    cache = LLMCache(tmp_path / "cache")
    stats = cache.stats()[0]
    assert stats["entries"] >= done and stats["corrupt"] <= 1
    # Resuming appends after the torn line, never onto it.
    cache.put("m", "generate", cache_key({"tag": "resumed"}), {"text": "ok"})
    assert LLMCache(tmp_path / "cache").stats()[0]["entries"] == stats["entries"] + 1
