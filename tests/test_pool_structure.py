"""Agreement beyond chance, the skills it implies, and blocs of models that err alike."""

from __future__ import annotations

import numpy as np
import pytest

from rgd_utils.pool_structure import agreement_beyond_chance, find_blocs, rank_one_skills

LETTERS = np.array(list("ABCD"), dtype=object)


def one_coin(n: int, accuracy, copies: dict[int, int] | None = None, seed: int = 0) -> np.ndarray:
    """Answers of independent one-coin models (uniform wrong letters); ``copies[j] = i`` makes
    model ``j`` give model ``i``'s answer."""
    rng = np.random.default_rng(seed)
    accuracy = np.asarray(accuracy)
    truth = rng.integers(4, size=n)
    right = rng.random((n, len(accuracy))) < accuracy
    wrong = (truth[:, None] + rng.integers(1, 4, size=(n, len(accuracy)))) % 4
    codes = np.where(right, truth[:, None], wrong)
    for j, i in (copies or {}).items():
        codes[:, j] = codes[:, i]
    return LETTERS[codes]


def test_agreement_beyond_chance_by_hand() -> None:
    choices = np.array([["A", "A", None], ["B", "C", "B"], ["C", "C", "C"], ["D", "D", "A"]],
                       dtype=object)
    agreement = agreement_beyond_chance(choices, 4)
    assert agreement[0, 1] == pytest.approx((0.75 - 0.25) / 0.75)
    assert agreement[0, 2] == pytest.approx((2 / 3 - 0.25) / 0.75)  # 3 common answered queries
    assert np.isnan(agreement[0, 0]) and agreement[1, 0] == agreement[0, 1]


def test_independent_models_agree_as_the_product_of_their_skills() -> None:
    accuracy = np.array([0.9, 0.7, 0.55, 0.4])
    agreement = agreement_beyond_chance(one_coin(20000, accuracy), 4)
    skills = rank_one_skills(agreement)
    np.testing.assert_allclose(skills, (4 * accuracy - 1) / 3, atol=0.03)
    assert find_blocs(agreement).tolist() == [0, 1, 2, 3]


def test_a_copying_pair_is_found_as_a_bloc() -> None:
    choices = one_coin(5000, [0.8, 0.6, 0.6, 0.5, 0.5, 0.45], copies={4: 3})
    blocs = find_blocs(agreement_beyond_chance(choices, 4))
    assert blocs.tolist() == [0, 1, 2, 3, 3, 4]


def test_a_large_pool_merges_greedily_to_the_same_blocs() -> None:
    accuracy = [0.8, 0.7, 0.65, 0.6, 0.6, 0.55, 0.5, 0.5, 0.45]  # 9 models: past MAX_EXHAUSTIVE
    choices = one_coin(5000, accuracy, copies={2: 1, 8: 7})
    blocs = find_blocs(agreement_beyond_chance(choices, 4))
    assert blocs.tolist() == [0, 1, 1, 2, 3, 4, 5, 6, 6]
