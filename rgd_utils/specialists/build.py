"""Train, convert and record the specialists; or check that retraining gives the same bits.

    python -m rgd_utils.specialists.build                     # train every missing specialist
    python -m rgd_utils.specialists.build --names gemma3-270m+medical --force
    python -m rgd_utils.specialists.build --check             # retrain in a temporary folder
                                                              # and compare sha256 with the record

``make specialists`` runs the first (after installing the specialists extra). Training questions
are screened against the study of the ``cpu`` preset, with that preset's train/test split: its
real train and test samples and every generated item kept so far (from the committed cache).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import pandas as pd

from rgd_utils.config import Preset, get_paths, get_preset
from rgd_utils.llm import packaged
from rgd_utils.pool import study_questions

from . import SPECIALISTS, SpecialistSpec
from .data import candidate_questions, choose_training, screen_candidates, screening_counts
from .gguf_lora import write_gguf_lora
from .store import ADAPTER, sha256_of, specialist_dir, write_record

#: The libraries whose versions are recorded with each adapter.
TRAINING_LIBRARIES = ("torch", "transformers", "peft", "gguf", "safetensors")


def study_of(preset: Preset, questions: pd.DataFrame, cache_root: Path) -> pd.DataFrame:
    """Every question of the preset's study: real samples and the generated items kept so far."""
    from rgd_utils.llm_runs import cached_generation

    generated = cached_generation(preset, questions, cache_root)[1]
    return study_questions(pd.concat([questions, generated], ignore_index=True), preset,
                           preset.n_train, preset.n_test)


def study_questions_of(preset: Preset, cache_root: Path, questions_dir: Path) -> pd.DataFrame:
    """The study the specialists stay apart from: :func:`study_of` on the real questions with the
    preset's own train/test split (the committed split column may be another preset's)."""
    from rgd_utils.llm_runs import real_questions

    return study_of(preset, real_questions(preset, questions_dir), cache_root)


def training_set(spec: SpecialistSpec, study: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The specialist's training questions and its screening counts."""
    screened = screen_candidates(candidate_questions(spec.sources), study)
    return choose_training(screened, spec.n_train, spec.recipe.seed), screening_counts(screened)


def build(spec: SpecialistSpec, study: pd.DataFrame, out_dir: Path) -> dict:
    """Train one specialist into ``out_dir`` (adapter, record, ids); returns its record."""
    from .train import train_adapter

    chosen, counts = training_set(spec, study)
    base = packaged.assemble(spec.base)
    with tempfile.TemporaryDirectory() as peft_dir:
        summary = train_adapter(base, chosen, spec.recipe, Path(peft_dir),
                                log=lambda line: print(f"{spec.name}: {line}", flush=True))
        out_dir.mkdir(parents=True, exist_ok=True)
        write_gguf_lora(Path(peft_dir), base, out_dir / ADAPTER)
    record = {
        "name": spec.name, "base": spec.base, "base_sha256": packaged.get_model(spec.base).sha256,
        "domain": spec.domain, "target": spec.target, "sources": list(spec.sources),
        "recipe": spec.recipe.as_dict(), "training": summary,
        "screening": counts.reset_index().to_dict("records"),
        "versions": {name: metadata.version(name) for name in TRAINING_LIBRARIES},
        "sha256": sha256_of(out_dir / ADAPTER),
    }
    write_record(out_dir, record, list(chosen["qid"]))
    return record


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m rgd_utils.specialists.build")
    parser.add_argument("--names", nargs="*", default=None, help="default: every specialist")
    parser.add_argument("--force", action="store_true", help="retrain even if committed")
    parser.add_argument("--check", action="store_true",
                        help="retrain in a temporary folder; compare sha256 with the record")
    args = parser.parse_args(argv)
    paths = get_paths()
    study = study_questions_of(get_preset("cpu"), paths.data / "cache", paths.questions)
    failed = []
    for name in args.names or list(SPECIALISTS):
        spec = SPECIALISTS[name]
        folder = specialist_dir(name, paths.data)
        if args.check:
            from .store import read_record

            expected = read_record(name, paths.data)["sha256"]
            with tempfile.TemporaryDirectory() as scratch:
                got = build(spec, study, Path(scratch))["sha256"]
            same = got == expected
            print(f"{name}: retrained sha256 {got[:16]}... {'==' if same else '!='} record "
                  f"{expected[:16]}...", flush=True)
            failed += [] if same else [name]
            continue
        if (folder / ADAPTER).exists() and not args.force:
            print(f"{name}: committed ({folder}); --force retrains it")
            continue
        record = build(spec, study, folder)
        print(f"{name}: {record['training']['examples']} questions, loss "
              f"{record['training']['first_loss']:.3f} -> {record['training']['last_loss']:.3f}, "
              f"{record['training']['seconds']:.0f} s, sha256 {record['sha256'][:16]}...")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
