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


def test_generators_get_short_labels_and_the_caption_names_their_models() -> None:
    from rgd_utils.plots import generators_caption, source_labels, titled

    assert source_labels("cpu") == {"real": "real", "qwen2.5-coder-1.5b": "strong",
                                    "qwen2.5-coder-0.5b": "medium", "qwen2.5-coder-0.5b-t1.0": "weak"}
    assert generators_caption("cpu") == (
        "Generators: strong = qwen2.5-coder-1.5b at temperature 0.8; medium = qwen2.5-coder-0.5b at "
        "temperature 0.8; weak = qwen2.5-coder-0.5b at temperature 1.")
    assert titled("Accuracy", "sim") == "SIMULATED: Accuracy" and titled("Accuracy", "cpu") == "Accuracy"


def test_use_style_lets_pandas_show_whole_tables() -> None:
    import pandas as pd

    from rgd_utils.plots import MAX_DISPLAY_ROWS, use_style

    with pd.option_context("display.max_rows", 60, "display.min_rows", 10):
        use_style()
        text = repr(pd.DataFrame({"accuracy": range(100)}))
        assert "..." not in text and len(text.splitlines()) == 101 and MAX_DISPLAY_ROWS >= 100
