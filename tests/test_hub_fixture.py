"""The paper's benchmarks load offline from a Hub cache in the real snapshot layout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import huggingface_hub.constants
import pytest

from rgd_utils import benchmarks as bm
from rgd_utils.benchmarks import hub
from rgd_utils.generation import DESCRIPTIONS

from hub_fixture import write_hub_cache

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("hubcache")
    return folder, write_hub_cache(folder)


def test_the_cache_has_the_hubs_layout(cache) -> None:
    folder, env = cache
    repo = Path(env["HF_HOME"]) / "hub" / "datasets--TIGER-Lab--MMLU-Pro"
    commit = (repo / "refs" / "main").read_text()
    link = repo / "snapshots" / commit / "data" / "test-00000-of-00001.parquet"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.resolve().parent == (repo / "blobs").resolve() and len(link.resolve().name) == 64
    assert json.loads((folder / "bbeh" / "bbeh_nycc" / "task.json").read_text())["examples"]


def test_every_loader_reads_it_offline_with_every_subject_described(cache, monkeypatch) -> None:
    _, env = cache
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    hub_cache = Path(env["HF_HOME"]) / "hub"
    tables = {
        "mmlu_pro": hub.load_mmlu_pro(cache_dir=hub_cache),
        "supergpqa": hub.load_supergpqa(cache_dir=hub_cache),
        "medmcqa_hub": hub.load_medmcqa_hub(cache_dir=hub_cache),
        "bbeh": hub.load_bbeh(cache_dir=env["RGD_BBEH_CACHE"]),
    }
    assert {name: len(t) for name, t in tables.items()} == {
        "mmlu_pro": 42, "supergpqa": 39, "medmcqa_hub": 30_000, "bbeh": 36}
    for name, table in tables.items():
        checked = bm.validate_questions(table)
        assert checked.rejected.empty, (name, checked.rejected)
        assert set(table["subject"]) == set(DESCRIPTIONS[name]), name
        split = bm.assign_split(checked.valid)
        assert split.groupby("subject")["split"].nunique().eq(2).all(), name
    assert tables["mmlu_pro"]["options"].map(len).eq(10).all()
    assert set(tables["supergpqa"]["options"].map(len)) == set(range(4, 11))


def test_the_environment_points_the_loaders_at_it(cache, tmp_path) -> None:
    _, env = cache
    code = ("from rgd_utils.benchmarks import load_benchmarks; "
            "r = load_benchmarks(['mmlu_pro', 'supergpqa', 'bbeh']); print(len(r.valid), len(r.rejected))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **env, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["117", "0"]
