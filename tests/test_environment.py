"""The environment: exact pins, and the same pins for pip and conda users."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)", requirement.strip())
        assert match, f"{requirement!r} is not pinned exactly (name==version)"
        pins[match.group(1).lower()] = match.group(2)
    return pins


def _pyproject_pins(extras: tuple[str, ...] = ("dev", "lab", "llm", "specialists")) -> dict[str, str]:
    project = _pyproject()["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return _pins(requirements)


def test_every_direct_dependency_is_pinned_exactly() -> None:
    pins = _pyproject_pins()
    assert {"pandas", "papermill", "scikit-learn", "huggingface-hub", "pytest"} <= set(pins)
    _pins(_pyproject()["tool"]["rgd"]["no-deps-requirements"])


def test_environment_yml_states_the_same_pins() -> None:
    """The conda recipe covers the study and its tools; the LLM extra is built by `make llm`
    (llama-cpp-python needs CPU-safe build flags that conda's pip section cannot set)."""
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    pip_lines = re.findall(r"^\s+- ([A-Za-z0-9_.\-]+==\S+)\s*$", text, flags=re.M)
    assert _pins(pip_lines) == _pyproject_pins(extras=("dev", "lab"))
    assert "make llm" in text


def test_environment_yml_names_the_no_deps_install() -> None:
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    for requirement in _pyproject()["tool"]["rgd"]["no-deps-requirements"]:
        assert f"pip install --no-deps {requirement}" in text


def test_torch_if_used_is_pinned_to_the_cpu_build_version() -> None:
    pins = _pyproject_pins()
    assert pins.get("torch", "2.13.0") == "2.13.0"
