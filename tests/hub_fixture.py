"""A Hugging Face cache (and BBEH folder) holding the paper's four benchmarks, small, offline.

:func:`write_hub_cache` lays out, under one folder, what a first online run of the ``paper``
preset leaves behind:

* ``hf/hub/datasets--<org>--<name>/`` in the Hub's real cache layout: ``refs/main`` holds a
  commit hash, ``snapshots/<commit>/<path>`` are relative symlinks to ``blobs/<sha256>``;
  the files are the upstream ones in their real schemas (MMLU-Pro's ``data/test-*.parquet``
  and ``data/validation-*.parquet``, SuperGPQA's ``SuperGPQA-all.jsonl``, MedMCQA's
  ``data/{train,validation,test}-*.parquet``);
* ``bbeh/<task>/task.json`` for the 9 BBEH tasks the loader uses, as in the GitHub repository.

Every subject of every benchmark has three questions (MMLU-Pro 42, SuperGPQA 39, BBEH 36
rows), so the seeded 60/40 split puts each subject on both sides. MedMCQA's loader keeps the
paper's first 30,000 rows and refuses fewer, so its 42 rows repeat up to 30,000 (new ids).
The questions are simple arithmetic with a correct key, written for this fixture.

Use it with ``HF_HOME=<folder>/hf HF_HUB_OFFLINE=1 RGD_BBEH_CACHE=<folder>/bbeh`` (the mapping
:func:`write_hub_cache` returns), or from a shell: ``python tests/hub_fixture.py FOLDER``
writes the folder and prints those variables.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pandas as pd

#: A fixed, made-up commit per dataset (refs/main points to it).
COMMITS = {
    "TIGER-Lab/MMLU-Pro": "3373e0b32277875b8db2aa555a333b78a08477ea",
    "m-a-p/SuperGPQA": "8b1c2d5e1f0a4c7d9e2b3a6f5d4c3b2a1f0e9d8c",
    "openlifescienceai/medmcqa": "91c6572c454088bf71b679ad90aa8dffcd0d5868",
}
MMLU_PRO_CATEGORIES = (
    "biology", "business", "chemistry", "computer science", "economics", "engineering", "health",
    "history", "law", "math", "other", "philosophy", "physics", "psychology",
)
SUPERGPQA_DISCIPLINES = (
    "Agronomy", "Economics", "Education", "Engineering", "History", "Law", "Literature and Arts",
    "Management", "Medicine", "Military Science", "Philosophy", "Science", "Sociology",
)
MEDMCQA_SUBJECTS = (
    "Anaesthesia", "Anatomy", "Biochemistry", "Dental", "ENT", "Forensic Medicine",
    "Gynaecology & Obstetrics", "Medicine", "Microbiology", "Ophthalmology", "Orthopaedics",
    "Pathology", "Pediatrics", "Pharmacology", "Physiology", "Psychiatry", "Radiology", "Skin",
    "Social & Preventive Medicine", "Surgery", "Unknown",
)
MEDMCQA_ROWS = 30_000
PER_SUBJECT = 3
LETTERS = "ABCDEFGHIJ"


def _sum_question(topic: str, i: int, n_options: int) -> tuple[str, list[str], int]:
    """A question about ``topic`` whose key is a sum; the correct option moves with ``i``."""
    a, b = 7 + 3 * i, 12 + 5 * i
    correct = i % n_options
    options = [str(a + b + k - correct) for k in range(n_options)]
    return f"In a {topic} exercise, a quantity of {a} grows by {b}. What is the new quantity?", options, correct


def mmlu_pro_rows() -> list[dict]:
    rows = []
    for c, category in enumerate(MMLU_PRO_CATEGORIES):
        for j in range(PER_SUBJECT):
            i = PER_SUBJECT * c + j
            question, options, correct = _sum_question(category, i, 10)
            rows.append({"question_id": 70 + i, "question": question, "options": options,
                         "answer": LETTERS[correct], "answer_index": correct,
                         "cot_content": "", "category": category, "src": f"fixture-{category}"})
    return rows


def supergpqa_rows() -> list[dict]:
    rows = []
    for d, discipline in enumerate(SUPERGPQA_DISCIPLINES):
        for j in range(PER_SUBJECT):
            i = PER_SUBJECT * d + j
            question, options, correct = _sum_question(discipline, i, 4 + i % 7)
            rows.append({"uuid": hashlib.md5(question.encode()).hexdigest(), "question": question,
                         "options": options, "answer": options[correct],
                         "answer_letter": LETTERS[correct], "discipline": discipline,
                         "field": discipline, "subfield": discipline,
                         "difficulty": ("easy", "middle", "hard")[j], "is_calculation": True})
    return rows


def medmcqa_rows(n_rows: int = MEDMCQA_ROWS) -> list[dict]:
    base = []
    for s, subject in enumerate(MEDMCQA_SUBJECTS):
        for j in range(2):
            question, options, correct = _sum_question(subject, 2 * s + j, 4)
            base.append((subject, question, options, correct))
    rows = []
    for k in range(n_rows):
        subject, question, options, correct = base[k % len(base)]
        rows.append({"id": f"fixture-{k:05d}", "question": question, "opa": options[0],
                     "opb": options[1], "opc": options[2], "opd": options[3], "cop": correct,
                     "choice_type": "single", "exp": "", "subject_name": subject,
                     "topic_name": None})
    return rows


def _lettered(question: str, options: list[str]) -> str:
    return question + "\n" + "\n".join(f"({LETTERS[k]}) {o}" for k, o in enumerate(options))


def bbeh_tasks() -> dict[str, dict]:
    """The 9 tasks in the upstream ``task.json`` form (``{"examples": [{input, target}]}``)."""
    tasks: dict[str, dict] = {}
    for t, task in enumerate(("bbeh_boardgame_qa", "bbeh_boolean_expressions",
                              "bbeh_causal_understanding", "bbeh_disambiguation_qa",
                              "bbeh_geometric_shapes", "bbeh_hyperbaton",
                              "bbeh_movie_recommendation", "bbeh_shuffled_objects", "bbeh_nycc")):
        examples = []
        for j in range(PER_SUBJECT + 1):
            i = t * 10 + j
            if task == "bbeh_boardgame_qa":
                examples.append({"input": f"The cat has {i} coins; a player with more than 5 coins "
                                          "wins. Does the cat win? Answer 'proved', 'disproved' or "
                                          "'unknown'.", "target": "proved" if i > 5 else "disproved"})
            elif task == "bbeh_causal_understanding":
                examples.append({"input": f"Story {i}: Alice pressed the switch and the light went "
                                          "on. Did Alice cause the light to go on? Reply Yes, No or "
                                          "Ambiguous.", "target": ("Yes", "No", "Ambiguous")[j % 3]})
            else:
                question, options, correct = _sum_question(task, i, 4)
                target = LETTERS[correct] if task == "bbeh_hyperbaton" else f"({LETTERS[correct]})"
                examples.append({"input": _lettered(question, options), "target": target})
        tasks[task] = {"examples": examples}
    return tasks


def _blob(repo_folder: Path, commit: str, relative: str, payload: bytes) -> None:
    """Store ``payload`` as the Hub does: a blob named by its sha256, linked from the snapshot."""
    digest = hashlib.sha256(payload).hexdigest()
    blob = repo_folder / "blobs" / digest
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(payload)
    link = repo_folder / "snapshots" / commit / relative
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))


def _parquet(rows: list[dict]) -> bytes:
    import io

    buffer = io.BytesIO()
    pd.DataFrame(rows).to_parquet(buffer, index=False)
    return buffer.getvalue()


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")


def write_hub_cache(folder: str | Path) -> dict[str, str]:
    """Write the fixture under ``folder`` and return the environment that points at it.

    Returns
    -------
    dict of str to str
        ``HF_HOME``, ``HF_HUB_OFFLINE`` (``"1"``) and ``RGD_BBEH_CACHE``.
    """
    folder = Path(folder)
    hub = folder / "hf" / "hub"
    files = {
        "TIGER-Lab/MMLU-Pro": {
            "data/test-00000-of-00001.parquet": _parquet(mmlu_pro_rows()),
            "data/validation-00000-of-00001.parquet": _parquet(mmlu_pro_rows()[:5]),
        },
        "m-a-p/SuperGPQA": {"SuperGPQA-all.jsonl": _jsonl(supergpqa_rows())},
        "openlifescienceai/medmcqa": {
            "data/train-00000-of-00001.parquet": _parquet(medmcqa_rows()),
            "data/validation-00000-of-00001.parquet": _parquet(medmcqa_rows(21)),
            "data/test-00000-of-00001.parquet": _parquet(medmcqa_rows(21)),
        },
    }
    for repo, contents in files.items():
        commit = COMMITS[repo]
        repo_folder = hub / ("datasets--" + repo.replace("/", "--"))
        (repo_folder / "refs").mkdir(parents=True, exist_ok=True)
        (repo_folder / "refs" / "main").write_text(commit)
        for relative, payload in contents.items():
            _blob(repo_folder, commit, relative, payload)
    for task, content in bbeh_tasks().items():
        path = folder / "bbeh" / task / "task.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2), encoding="utf-8")
    return {"HF_HOME": str(folder / "hf"), "HF_HUB_OFFLINE": "1",
            "RGD_BBEH_CACHE": str(folder / "bbeh")}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/hub_fixture.py FOLDER  (writes the fixture, prints its variables)")
    for name, value in write_hub_cache(sys.argv[1]).items():
        print(f"export {name}={value}")
