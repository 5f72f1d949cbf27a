"""The paper's four benchmarks, formatted from small files in each upstream schema (offline).

The Hub loaders run their real file-finding code on a folder laid out like the upstream
repository (``snapshot_download`` is replaced by a function returning that folder); the
offline tests use the real ``snapshot_download`` in Hub offline mode, and a failing urllib.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from urllib.error import URLError

import huggingface_hub.constants
import pandas as pd
import pytest
from huggingface_hub.errors import LocalEntryNotFoundError

from rgd_utils import benchmarks as bm
from rgd_utils.benchmarks import formats, hub

# ----------------------------------------------------------------------------------------
# Upstream-shaped data
# ----------------------------------------------------------------------------------------

MMLU_PRO_ROWS = [
    {
        "question_id": 70, "question": "Which is a prime number?",
        "options": ["4", "6", "7", "8", "9", "10", "12", "14", "15", "16"],
        "answer": "C", "answer_index": 2, "cot_content": "A: Let's think step by step.",
        "category": "math", "src": "ori_mmlu-elementary_mathematics",
    },
    {  # padded with "N/A" (TIGER-AI-Lab/MMLU-Pro issue #24)
        "question_id": 71, "question": "Which organ pumps blood?",
        "options": ["Lung", "Heart", "Liver", "N/A", "N/A"],
        "answer": "B", "answer_index": 1, "cot_content": "",
        "category": "health", "src": "stemez-Biology",
    },
    {  # gold points at a padding entry: no usable answer once padding is removed
        "question_id": 72, "question": "Broken row?",
        "options": ["yes", "no", "N/A"],
        "answer": "C", "answer_index": 2, "cot_content": "",
        "category": "other", "src": "scibench-x",
    },
]

SUPERGPQA_ROWS = [
    {
        "uuid": "a1b2", "question": "Which law relates voltage and current?",
        "options": ["Ohm's law", "Hooke's law", "Boyle's law", "Snell's law"],
        "answer": "Ohm's law", "answer_letter": "A", "discipline": "Engineering",
        "field": "Electrical Engineering", "subfield": "Circuits", "difficulty": "easy",
        "is_calculation": False,
    },
    {
        "uuid": "c3d4", "question": "Who wrote Hamlet?",
        "options": ["Marlowe", "Jonson", "Shakespeare"],
        "answer": "Shakespeare", "answer_letter": "C", "discipline": "Literature and Arts",
        "field": "Literature", "subfield": "Drama", "difficulty": "middle",
        "is_calculation": False,
    },
]

MEDMCQA_ROWS = [
    {
        "id": f"id-{i}", "question": f"Question {i}?", "opa": f"a{i}", "opb": f"b{i}",
        "opc": f"c{i}", "opd": f"d{i}", "cop": i % 4, "choice_type": "single", "exp": "",
        "subject_name": subject, "topic_name": "t",
    }
    for i, subject in enumerate(["Anatomy", "Pathology", "Dental", "ENT", "Surgery"])
]

# Shortened from the real bbeh/benchmark_tasks/<task>/task.json files (google-deepmind/bbeh).
BBEH_TASKS_JSON = {
    "bbeh_boardgame_qa": {"examples": [
        {"input": "A few players are playing a boardgame. ... does the finch shout at the "
                  "mermaid? Answer 'proved' if it can be proved, 'disproved' if it can be "
                  "disproved, and 'unknown' if it can neither be proved nor disproved.",
         "target": "disproved"},
        {"input": "A few players ... does the cat hug the dog?", "target": "maybe"},
    ]},
    "bbeh_boolean_expressions": {"examples": [
        {"input": "From the following five expressions, only one evaluates to true. Which one "
                  "is it?\n\n(A) not (True)\n(B) (False) and (True)\n(C) not not (False)\n"
                  "(D) (False) or (False)\n(E) not ((False) and (True))\n",
         "target": "(E)"},
    ]},
    "bbeh_causal_understanding": {"examples": [
        {"input": "Question: Did Claire cause the computer crash?  Reply Yes or No based on the "
                  "answer the majority of people would give. If you think people would be "
                  "split roughly 50-50 between Yes and No then reply Ambiguous.",
         "target": "Ambiguous"},
    ]},
    "bbeh_disambiguation_qa": {"examples": [
        {"input": "Here is a sentence with pronoun(s) whose antecedent(s) can either be derived "
                  "from the context or is ambiguous.\nSentence: Sam and the producer went into "
                  "her office.\nWhich of the following options correctly explains the "
                  "antecedent(s) of the pronoun(s)?\n(A) The office was the producer's office."
                  "\n(B) The office was Sam's office.\n(C) Ambiguous.",
         "target": "(B)"},
    ]},
    "bbeh_geometric_shapes": {"examples": [
        {"input": "Suppose we draw this SVG path element: M 0.0,9.0 L 23.9,9.0 . Out of the "
                  "following shapes:\n1. rectangle\n2. square\nwhich one(s) can be viewed when "
                  "the lines in the SVG are visualized?\nOptions:\n(A) 1 and 2\n(B) only 2\n"
                  "(C) only 1\n(D) none of the above\nCoordinates have been rounded to 5 "
                  "decimal places so ignore slight differences.",
         "target": "(C)"},
    ]},
    "bbeh_hyperbaton": {"examples": [
        {"input": "In a variant of English, we are given that the following sentences have "
                  "correct adjective order:\n(1) prismlike obnoxious bowl (2) repulsive guitar"
                  "\n\nIn this variant of English, which of the following sentences (Options "
                  "A-J) use the correct adjective order? If none of the sentences (Options A-J) "
                  "use the correct adjective order, select option K. Select all that apply.\n"
                  "(A) obnoxious prismlike bowl\n(B) prismlike obnoxious guitar\n"
                  "(C) None of the above\n\nProvide your final answer as a concatenation of "
                  "all the correct choices. For example, if B and C have correct adjective "
                  "order, then your final answer must be \"BC\".",
         "target": "B"},
        {"input": "(same task)\n(A) x\n(B) y\n(C) None of the above", "target": "AB"},
    ]},
    "bbeh_movie_recommendation": {"examples": [
        {"input": "Which option has more similar movies in terms of whether a group of people "
                  "will like them or not?\nOptions:\n(A) The Mask, The Lion King\n"
                  "(B) Maelstrom, Lamerica\n",
         "target": "(A)"},
    ]},
    "bbeh_shuffled_objects": {"examples": [
        {"input": "Alice, Bob and Claire trade books. ... At the end of the semester, Claire has"
                  "\nOptions:\n(A) Moby Dick\n(B) The Odyssey\n(C) Ulysses",
         "target": "(C)"},
    ]},
    "bbeh_nycc": {"examples": [
        {"input": "The following is a description of a funny cartoon for the New Yorker Caption "
                  "Contest\n\n  Description: A couple is sitting at a kitchen table.\n\n  Which "
                  "of the following captions is the funniest?\n(A) And the bacon still got out!"
                  "\n(B) Ben and Jerry are in that freezer, Babe.\nI'm goin' in.\n"
                  "(C) Think of how few dishes we'll have to do.\n",
         "target": "(B)"},
    ]},
    # A free-form task: never used.
    "bbeh_dyck_languages": {"examples": [{"input": "Complete [ ( )", "target": "]"}]},
}


def write_parquet(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def fake_snapshot(folder: Path, repo_id: str, pattern: str, calls: list[dict]):
    """A snapshot_download that checks its arguments and returns an upstream-like folder."""

    def snapshot_download(repo, **kwargs):
        assert repo == repo_id
        assert kwargs["repo_type"] == "dataset"
        assert kwargs["allow_patterns"] == [pattern]
        calls.append(kwargs)
        return str(folder)

    return snapshot_download


# ----------------------------------------------------------------------------------------
# MMLU-Pro
# ----------------------------------------------------------------------------------------


def test_format_mmlu_pro_keeps_native_ids_and_removes_na_padding(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger=formats.__name__):
        table = formats.format_mmlu_pro(pd.DataFrame(MMLU_PRO_ROWS))
    assert list(table.columns) == list(bm.QUESTION_COLUMNS)
    assert table["qid"].tolist() == ["mmlu_pro/70", "mmlu_pro/71", "mmlu_pro/72"]
    assert table["subject"].tolist() == ["math", "health", "other"]
    assert table["options"][0] == ["4", "6", "7", "8", "9", "10", "12", "14", "15", "16"]
    assert table["options"][1] == ["Lung", "Heart", "Liver"]
    assert table["answer"][:2].tolist() == ["C", "B"]
    assert pd.isna(table["answer"][2])  # None; the question table stores it as missing
    assert set(table["benchmark"]) == {"mmlu_pro"} and set(table["source"]) == {"real"}
    assert table["split"].isna().all()
    assert "removed 'N/A' padding options from 2 of 3 rows (1 had" in caplog.text
    checked = bm.validate_questions(table)
    assert checked.valid["qid"].tolist() == ["mmlu_pro/70", "mmlu_pro/71"]
    assert checked.rejected["reason"].tolist() == ["missing answer"]


def test_format_mmlu_pro_can_keep_the_padding_like_the_papers_formatter() -> None:
    table = formats.format_mmlu_pro(pd.DataFrame(MMLU_PRO_ROWS), drop_na=False)
    assert table["options"][1] == ["Lung", "Heart", "Liver", "N/A", "N/A"]
    assert table["answer"].tolist() == ["C", "B", "C"]


def test_load_mmlu_pro_reads_only_the_test_parquet(tmp_path, monkeypatch) -> None:
    write_parquet(tmp_path / "data" / "test-00000-of-00001.parquet", MMLU_PRO_ROWS)
    write_parquet(tmp_path / "data" / "validation-00000-of-00001.parquet", MMLU_PRO_ROWS[:1])
    calls: list[dict] = []
    monkeypatch.setattr(hub, "snapshot_download", fake_snapshot(
        tmp_path, "TIGER-Lab/MMLU-Pro", "data/test-*.parquet", calls))
    table = hub.load_mmlu_pro(cache_dir=tmp_path / "cache", revision="abc123")
    assert calls == [{"repo_type": "dataset", "allow_patterns": ["data/test-*.parquet"],
                      "cache_dir": tmp_path / "cache", "revision": "abc123"}]
    assert table["qid"].tolist() == ["mmlu_pro/70", "mmlu_pro/71", "mmlu_pro/72"]
    assert table["options"][1] == ["Lung", "Heart", "Liver"]


def test_a_missing_upstream_file_is_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(hub, "snapshot_download", fake_snapshot(
        tmp_path, "TIGER-Lab/MMLU-Pro", "data/test-*.parquet", []))
    with pytest.raises(FileNotFoundError, match="no file matching 'data/test-\\*.parquet'"):
        hub.load_mmlu_pro()


# ----------------------------------------------------------------------------------------
# SuperGPQA
# ----------------------------------------------------------------------------------------


def test_load_supergpqa_numbers_rows_and_uses_the_answer_letter(tmp_path, monkeypatch) -> None:
    write_jsonl(tmp_path / "SuperGPQA-all.jsonl", SUPERGPQA_ROWS)
    monkeypatch.setattr(hub, "snapshot_download", fake_snapshot(
        tmp_path, "m-a-p/SuperGPQA", "SuperGPQA-all.jsonl", []))
    table = hub.load_supergpqa()
    assert table["qid"].tolist() == ["supergpqa/0", "supergpqa/1"]
    assert table["subject"].tolist() == ["Engineering", "Literature and Arts"]
    assert table["options"][1] == ["Marlowe", "Jonson", "Shakespeare"]
    assert table["answer"].tolist() == ["A", "C"]
    assert table.equals(formats.format_supergpqa(pd.DataFrame(SUPERGPQA_ROWS)))
    assert bm.validate_questions(table).rejected.empty


# ----------------------------------------------------------------------------------------
# MedMCQA
# ----------------------------------------------------------------------------------------


def test_format_medmcqa_keeps_the_first_n_rows() -> None:
    table = formats.format_medmcqa(pd.DataFrame(MEDMCQA_ROWS), n_rows=3)
    assert table["qid"].tolist() == ["medmcqa_hub/0", "medmcqa_hub/1", "medmcqa_hub/2"]
    assert table["subject"].tolist() == ["Anatomy", "Pathology", "Dental"]
    assert table["options"][2] == ["a2", "b2", "c2", "d2"]
    assert table["answer"].tolist() == ["A", "B", "C"]
    assert len(formats.format_medmcqa(pd.DataFrame(MEDMCQA_ROWS), n_rows=None)) == 5
    with pytest.raises(ValueError, match="first 30000 MedMCQA rows but there are 5"):
        formats.format_medmcqa(pd.DataFrame(MEDMCQA_ROWS))


def test_load_medmcqa_hub_reads_the_train_parquet(tmp_path, monkeypatch) -> None:
    write_parquet(tmp_path / "data" / "train-00000-of-00001.parquet", MEDMCQA_ROWS)
    write_parquet(tmp_path / "data" / "validation-00000-of-00001.parquet", MEDMCQA_ROWS[:1])
    monkeypatch.setattr(hub, "snapshot_download", fake_snapshot(
        tmp_path, "openlifescienceai/medmcqa", "data/train-*.parquet", []))
    table = hub.load_medmcqa_hub(n_rows=4)
    assert table["qid"].tolist() == [f"medmcqa_hub/{i}" for i in range(4)]
    assert table["answer"].tolist() == ["A", "B", "C", "D"]
    assert table["subject"][3] == "ENT"


# ----------------------------------------------------------------------------------------
# BBEH
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bbeh() -> pd.DataFrame:
    return formats.format_bbeh(BBEH_TASKS_JSON).set_index("qid")


def test_bbeh_uses_the_nine_tasks_with_a_global_running_id(bbeh) -> None:
    assert bbeh.index.tolist() == [f"bbeh/{i}" for i in range(11)]
    assert bbeh["subject"].tolist() == [
        "bbeh_boardgame_qa", "bbeh_boardgame_qa", "bbeh_boolean_expressions",
        "bbeh_causal_understanding", "bbeh_disambiguation_qa", "bbeh_geometric_shapes",
        "bbeh_hyperbaton", "bbeh_hyperbaton", "bbeh_movie_recommendation",
        "bbeh_shuffled_objects", "bbeh_nycc",
    ]
    assert set(bbeh["benchmark"]) == {"bbeh"} and set(bbeh["source"]) == {"real"}


def test_bbeh_fixed_option_tasks(bbeh) -> None:
    board = bbeh.loc["bbeh/0"]
    assert board["options"] == ["proved", "disproved", "unknown"] and board["answer"] == "B"
    assert board["question"].startswith("A few players are playing a boardgame.")
    causal = bbeh.loc["bbeh/3"]
    assert causal["options"] == ["Yes", "No", "Ambiguous"] and causal["answer"] == "C"


def test_bbeh_multiple_choice_options_are_parsed_from_the_input(bbeh) -> None:
    boolean = bbeh.loc["bbeh/2"]
    assert boolean["question"] == (
        "From the following five expressions, only one evaluates to true. Which one is it?")
    assert boolean["options"][4] == "not ((False) and (True))" and boolean["answer"] == "E"
    assert bbeh.loc["bbeh/4", "options"] == [
        "The office was the producer's office.", "The office was Sam's office.", "Ambiguous."]
    assert bbeh.loc["bbeh/4", "answer"] == "B"
    shapes = bbeh.loc["bbeh/5"]
    assert shapes["question"].endswith("visualized?\nOptions:")
    assert shapes["options"] == ["1 and 2", "only 2", "only 1", "none of the above"]
    assert shapes["answer"] == "C"
    hyperbaton = bbeh.loc["bbeh/6"]
    assert hyperbaton["options"] == [
        "obnoxious prismlike bowl", "prismlike obnoxious guitar", "None of the above"]
    assert hyperbaton["answer"] == "B"  # bare-letter target
    assert bbeh.loc["bbeh/8", "options"] == ["The Mask, The Lion King", "Maelstrom, Lamerica"]
    assert bbeh.loc["bbeh/9", "options"] == ["Moby Dick", "The Odyssey", "Ulysses"]
    assert bbeh.loc["bbeh/9", "answer"] == "C"
    nycc = bbeh.loc["bbeh/10"]
    assert nycc["options"][1] == "Ben and Jerry are in that freezer, Babe.\nI'm goin' in."
    assert nycc["options"][2] == "Think of how few dishes we'll have to do."
    assert nycc["question"].endswith("Which of the following captions is the funniest?")


def test_bbeh_unmappable_targets_are_kept_and_then_rejected(bbeh) -> None:
    assert pd.isna(bbeh.loc["bbeh/1", "answer"])  # "maybe" is not proved/disproved/unknown
    assert pd.isna(bbeh.loc["bbeh/7", "answer"])  # "AB" names two options
    checked = bm.validate_questions(bbeh.reset_index())
    assert checked.rejected["qid"].tolist() == ["bbeh/1", "bbeh/7"]
    assert set(checked.rejected["reason"]) == {"missing answer"}
    assert len(checked.valid) == 9


def test_parse_lettered_options_without_options_returns_the_whole_input() -> None:
    assert formats.parse_lettered_options("  no options here \n") == ("no options here", [], [])


class FakeResponse(io.BytesIO):
    """What urlopen returns: a readable context manager."""


def test_load_bbeh_downloads_once_then_reuses_the_cache(tmp_path, monkeypatch) -> None:
    urls: list[str] = []

    def urlopen(url, timeout):
        urls.append(url)
        task = url.split("/")[-2]
        return FakeResponse(json.dumps(BBEH_TASKS_JSON[task]).encode())

    monkeypatch.setattr(hub, "urlopen", urlopen)
    table = hub.load_bbeh(cache_dir=tmp_path)
    assert len(urls) == 9 and urls[0] == (
        "https://raw.githubusercontent.com/google-deepmind/bbeh/main/bbeh/benchmark_tasks/"
        "bbeh_boardgame_qa/task.json")
    assert (tmp_path / "bbeh_nycc" / "task.json").exists()
    assert not list(tmp_path.rglob("*.part"))
    pd.testing.assert_frame_equal(table, formats.format_bbeh(BBEH_TASKS_JSON))

    def no_network(url, timeout):
        raise AssertionError("the cached files should have been used")

    monkeypatch.setattr(hub, "urlopen", no_network)
    pd.testing.assert_frame_equal(hub.load_bbeh(cache_dir=tmp_path), table)


# ----------------------------------------------------------------------------------------
# No network
# ----------------------------------------------------------------------------------------

OFFLINE_NAMES = ("load_benchmark('mmlu')", "load_benchmark('medmcqa')", "arc_challenge",
                 "sciq", "openbookqa", "commonsenseqa", "medqa")


def assert_names_offline_alternatives(message: str) -> None:
    for name in OFFLINE_NAMES:
        assert name in message


def test_hub_offline_mode_without_a_cache_raises_hub_unavailable(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(bm.HubUnavailableError) as caught:
        hub.load_supergpqa(cache_dir=tmp_path)  # the real snapshot_download
    message = str(caught.value)
    assert "m-a-p/SuperGPQA" in message and "LocalEntryNotFoundError" in message
    assert isinstance(caught.value.__cause__, LocalEntryNotFoundError)
    assert_names_offline_alternatives(message)


@pytest.mark.parametrize("loader, repo", [
    (hub.load_mmlu_pro, "TIGER-Lab/MMLU-Pro"),
    (hub.load_medmcqa_hub, "openlifescienceai/medmcqa"),
])
def test_hub_connection_error_raises_hub_unavailable(loader, repo, monkeypatch) -> None:
    error = LocalEntryNotFoundError("An error happened while trying to locate the files on "
                                    "the Hub. Please check your internet connection.")

    def snapshot_download(*args, **kwargs):
        raise error

    monkeypatch.setattr(hub, "snapshot_download", snapshot_download)
    with pytest.raises(bm.HubUnavailableError, match=repo) as caught:
        loader()
    assert caught.value.__cause__ is error
    assert "check your internet connection" in str(caught.value)
    assert_names_offline_alternatives(str(caught.value))


def test_bbeh_without_network_raises_hub_unavailable(tmp_path, monkeypatch) -> None:
    error = URLError("[Errno -2] Name or service not known")

    def urlopen(url, timeout):
        raise error

    monkeypatch.setattr(hub, "urlopen", urlopen)
    with pytest.raises(bm.HubUnavailableError, match="BBEH task bbeh_boardgame_qa") as caught:
        hub.load_bbeh(cache_dir=tmp_path)
    assert caught.value.__cause__ is error
    assert_names_offline_alternatives(str(caught.value))
    assert not list(tmp_path.iterdir())
