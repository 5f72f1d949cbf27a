"""A specialist is never scored on the questions it was trained on: the guard finds them by id and
by near-duplicate text, and ``llm_runs answer`` refuses before any model is loaded."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from rgd_utils import llm_runs
from rgd_utils.config import get_paths
from rgd_utils.specialists.data import candidate_questions
from rgd_utils.specialists.guard import TrainedOnError, check_not_trained_on, trained_on
from rgd_utils.specialists.store import ADAPTER, read_train_qids, specialist_dir

PATHS = get_paths()
MEDICAL = "gemma3-270m+medical"
pytestmark = pytest.mark.skipif(not (specialist_dir(MEDICAL, PATHS.data) / ADAPTER).exists(),
                                reason="the medical specialist is not committed")


@pytest.fixture(scope="module")
def medmcqa():
    candidates = candidate_questions(["medmcqa"])
    trained = candidates["qid"].isin(set(read_train_qids(MEDICAL, PATHS.data)))
    return candidates[trained].head(3), candidates[~trained].head(3)


def test_training_questions_are_found_by_id_and_by_near_duplicate_text(medmcqa) -> None:
    seen, unseen = medmcqa
    copies = seen.head(2).assign(qid=["copy/1", "copy/2"], question=seen["question"].head(2) + " ")
    asked = pd.concat([copies, unseen], ignore_index=True)
    found = trained_on(MEDICAL, asked, PATHS.data)
    assert sorted(found["qid"]) == sorted(seen["qid"].head(2))
    assert set(found["nearest_study_qid"]) == {"copy/1", "copy/2"}
    assert set(found["reason"]) == {"near-duplicate of a study question"}
    assert trained_on(MEDICAL, unseen, PATHS.data).empty
    by_id = trained_on(MEDICAL, seen, PATHS.data)
    assert sorted(by_id["qid"]) == sorted(seen["qid"]) and set(by_id["reason"]) == {"a study question"}


def test_only_a_specialist_trained_on_the_questions_is_refused(medmcqa) -> None:
    seen, unseen = medmcqa
    check_not_trained_on(["gemma3-270m", "qwen2.5-coder-1.5b"], seen, PATHS.data)  # not specialists
    check_not_trained_on([MEDICAL], unseen, PATHS.data)
    with pytest.raises(TrainedOnError, match=re.escape(f"{MEDICAL} was trained on 3 of the questions")):
        check_not_trained_on(["gemma3-270m", MEDICAL], seen, PATHS.data)


def test_the_answer_command_refuses_before_loading_a_model(tmp_path, capsys) -> None:
    # every MedMCQA question of the data folder, the specialist's training questions among them;
    # the adapters are found beside the cache, as load_model finds them
    (tmp_path / "specialists").symlink_to(PATHS.data / "specialists")
    status = llm_runs.main(["answer", "--preset", "cpu-specialists", "--benchmarks", "medmcqa",
                            "--per-benchmark", "5000", "--experts", "gemma3-270m:cloze",
                            f"{MEDICAL}:cloze", "--cache", str(tmp_path / "cache")])
    assert status == 2
    error = capsys.readouterr().err
    assert f"{MEDICAL} was trained on 2000 of the questions" in error
    assert "--names gemma3-270m+medical --force" in error
    assert not any((tmp_path / "cache").rglob("*.jsonl"))  # nothing computed, not even the base's
