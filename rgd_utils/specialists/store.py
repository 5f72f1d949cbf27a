"""Where a specialist's committed adapter lives, and its record.

``data/specialists/<name>/`` holds

* ``adapter.gguf``: the LoRA adapter in llama.cpp's GGUF form (float32);
* ``record.json``: the spec and recipe it was trained with, the versions of the libraries that
  trained it, the training summary (steps, losses, time), the screening counts and the
  adapter's sha256;
* ``train_qids.txt``: the ids of its training questions, one per line.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ADAPTER = "adapter.gguf"
RECORD = "record.json"
TRAIN_QIDS = "train_qids.txt"


class AdapterMissingError(FileNotFoundError):
    """A specialist's adapter is not committed, or does not match its record."""


def specialist_dir(name: str, data_dir: Path) -> Path:
    """``<data_dir>/specialists/<name>``."""
    return Path(data_dir) / "specialists" / name


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_record(name: str, data_dir: Path) -> dict:
    """The record of a committed specialist; a clear error when there is none."""
    path = specialist_dir(name, data_dir) / RECORD
    if not path.exists():
        raise AdapterMissingError(
            f"specialist {name!r} has no committed adapter ({path} is missing): run "
            "`make specialists` to train it")
    return json.loads(path.read_text())


def verified_adapter(name: str, data_dir: Path) -> tuple[Path, str]:
    """The adapter file of a committed specialist and its sha256, checked against its record.

    Raises
    ------
    AdapterMissingError
        When the adapter or its record is missing, or the file's sha256 differs from the record.
    """
    record = read_record(name, data_dir)
    path = specialist_dir(name, data_dir) / ADAPTER
    if not path.exists():
        raise AdapterMissingError(f"{path} is missing; run `make specialists` to train it")
    digest = sha256_of(path)
    if digest != record["sha256"]:
        raise AdapterMissingError(
            f"{path} has sha256 {digest[:12]}..., its record says {record['sha256'][:12]}...: "
            "restore it with `git checkout` or retrain it with `make specialists`")
    return path, digest


def read_train_qids(name: str, data_dir: Path) -> list[str]:
    """The ids of a committed specialist's training questions."""
    path = specialist_dir(name, data_dir) / TRAIN_QIDS
    if not path.exists():
        raise AdapterMissingError(f"{path} is missing; run `make specialists` to train it")
    return path.read_text().split()


def write_record(folder: Path, record: dict, train_qids: list[str]) -> None:
    """Write a specialist's record and training ids into ``folder`` (beside its adapter)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    (folder / TRAIN_QIDS).write_text("".join(f"{q}\n" for q in train_qids))
