"""What the cache holds of a preset's LLM calls, and the commands that compute the rest.

Everything here replays: nothing is computed and no model is loaded. :func:`study_progress`
counts, per part of the study (generation calls, real train and test answers, answers to the
generated items kept so far, query vectors), the cached and the needed calls;
:func:`todo_commands` turns what is missing into ``llm_runs`` command lines.
"""

from __future__ import annotations

import itertools
import shlex
from pathlib import Path
from typing import Iterable

import pandas as pd

from .config import Preset
from .embeddings import cached_vectors, encoder_for
from .generation import schedule, validate_generated
from .generation.run import generation_request, record, train_subjects
from .llm.cache import LLMCache
from .llm.registry import load_model
from .pool import select_questions, study_questions
from .responses import Expert, answer_request


def cached_generation(preset: Preset, questions: pd.DataFrame, cache_root: Path
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The preset's generation calls that the cache holds so far (replay mode: nothing is computed).

    Returns
    -------
    calls : pandas.DataFrame
        One row per generator: ``cached`` and ``needed`` calls.
    kept : pandas.DataFrame
        The items kept by screening the cached calls (question schema).
    """
    cache = LLMCache(cache_root, mode="replay")
    subjects = train_subjects(questions, list(preset.study_benchmarks))
    rows, kept = [], []
    for spec in preset.generators:
        llm = load_model(spec.model, cache, engine=preset.engine)
        calls = schedule(subjects, spec.attempts, preset.seed)
        done = []
        for call in calls:
            outcome = llm.lookup(generation_request(spec, call))
            if outcome is not None:
                done.append(record(spec, call, outcome))
        rows.append({"who": spec.name, "cached": len(done), "needed": len(calls)})
        if done:
            kept.append(validate_generated(done, questions).kept)
    return pd.DataFrame(rows), (pd.concat(kept, ignore_index=True) if kept else questions.iloc[:0])


def embedding_questions(preset: Preset, questions: pd.DataFrame, generated: pd.DataFrame) -> pd.DataFrame:
    """The questions the routers embed: the real train and test samples and the ``generated``
    items (those kept so far: :func:`cached_generation`)."""
    return study_questions(pd.concat([questions, generated], ignore_index=True), preset,
                           preset.n_train, preset.n_test)


def study_progress(preset: Preset, questions: pd.DataFrame, cache_root: Path) -> pd.DataFrame:
    """What share of the preset's LLM calls the cache holds (replay mode: nothing is computed).

    Returns one row per part of the study: ``part`` (generation calls, real train, real test,
    generated answers, or embeddings), ``who`` (generator, expert or embedder), ``cached`` and
    ``needed``. Generated answers and embeddings count the items kept from the generation calls
    cached so far.
    """
    calls, generated = cached_generation(preset, questions, cache_root)
    rows = calls.assign(part="generation calls").to_dict("records")
    cache = LLMCache(cache_root, mode="replay")
    models = {m: load_model(m, cache, engine=preset.engine)
              for m in dict.fromkeys(Expert.parse(e).model for e in preset.experts)}
    benchmarks = list(preset.study_benchmarks)
    parts = [(f"real {split}", select_questions(questions, benchmarks, split, n, preset.seed))
             for split, n in (("train", preset.n_train), ("test", preset.n_test))]
    parts.append(("generated answers", generated))
    for part, table in parts:
        for expert in map(Expert.parse, preset.experts):
            llm = models[expert.model]
            cached = sum(llm.lookup(answer_request(expert, question, list(options), llm.chat)) is not None
                         for question, options in zip(table["question"], table["options"]))
            rows.append({"part": part, "who": expert.name, "cached": cached, "needed": len(table)})
    embedded = embedding_questions(preset, questions, generated)
    rows.append({"part": "embeddings", "who": preset.embedder, "needed": len(embedded),
                 "cached": cached_vectors(embedded, encoder_for(preset.embedder, preset.engine), cache)})
    return pd.DataFrame(rows, columns=["part", "who", "cached", "needed"])


def todo_commands(preset: Preset, progress: pd.DataFrame, python: str = ".venv/bin/python") -> list[str]:
    """The ``llm_runs`` commands that compute what :func:`study_progress` finds missing, one
    per line, in a good order to run them one after another: the real train and test answers
    (one command per model, so a served model starts once), each generator's calls (strong to
    weak), then, while items are still being generated or answered, every generator's kept
    items answered (one command per model) and the query embeddings. Each command resumes from
    the cache, so a list made before a run finished stays right.

    Parameters
    ----------
    preset : Preset
        The study.
    progress : pandas.DataFrame
        :func:`study_progress` of the preset.
    python : str, default ".venv/bin/python"
        The interpreter the commands start.

    Returns
    -------
    list of str
        Empty when the cache holds every call of the study.
    """
    run = f"{python} -m rgd_utils.llm_runs"
    missing = progress[progress["cached"] < progress["needed"]]
    real = missing.loc[missing["part"].str.startswith("real"), "who"]
    commands = [f"{run} answer --preset {preset.name} --real --experts {' '.join(experts)}"
                for experts in _by_model(dict.fromkeys(real))]
    generating = list(missing.loc[missing["part"] == "generation calls", "who"])
    commands += [f"{run} generate --preset {preset.name} --generator {g}" for g in generating]
    answering = list(missing.loc[missing["part"] == "generated answers", "who"])
    if generating or answering:
        # items still to be generated need every expert's answers
        experts = preset.experts if generating else answering
        commands += [f"{run} answer --preset {preset.name} --generated --experts {' '.join(group)}"
                     for group in _by_model(experts)]
    if generating or answering or (missing["part"] == "embeddings").any():
        commands.append(f"{run} embed --preset {preset.name}")
    return commands


def command_units(command: str) -> list[str]:
    """The units of work of a :func:`todo_commands` line, for :class:`CommandClaims`: one per
    expert of an ``answer`` command (``answer generated qwen2.5-coder-1.5b:cloze``), the
    generator of a ``generate`` command, ``embed`` for ``embed``; any other line is its own unit.
    The preset is left out: presets that share questions or items share their LLM calls (the
    specialists' pool and the default one share two experts and every generator)."""
    words = shlex.split(command)
    if "rgd_utils.llm_runs" not in words:
        return [command]
    verb, *options = words[words.index("rgd_utils.llm_runs") + 1:]

    def values(flag: str) -> list[str]:
        if flag not in options:
            return []
        following = options[options.index(flag) + 1:]
        return list(itertools.takewhile(lambda word: not word.startswith("--"), following))

    if verb == "answer" and values("--experts"):
        part = "real" if "--real" in options else "generated"
        return [f"answer {part} {expert}" for expert in values("--experts")]
    if verb == "generate" and values("--generator"):
        return [f"generate {values('--generator')[0]}"]
    if verb == "embed":
        return ["embed"]
    return [command]


def _by_model(experts: Iterable[str]) -> list[list[str]]:
    """Expert names grouped by model, in first-seen order (one server start per model)."""
    groups: dict[str, list[str]] = {}
    for name in experts:
        groups.setdefault(Expert.parse(name).model, []).append(name)
    return list(groups.values())
