"""Figure names per preset."""

from __future__ import annotations

from rgd_utils.config import get_paths
from rgd_utils.plots import preset_suffix


def test_every_preset_but_the_default_study_names_its_figures_and_reports() -> None:
    assert preset_suffix("cpu") == ""
    assert f"01_generation{preset_suffix('cpu-specialists')}" == "01_generation_cpu-specialists"
    assert preset_suffix("sim") == "_sim"
    # the same rule names each pool's response folder
    assert get_paths().responses("cpu").name == "responses"
    assert get_paths().responses("cpu-specialists").name == "responses_cpu-specialists"
