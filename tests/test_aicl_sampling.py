"""dataset.aicl_sampling against the literal port of the official AICL sampling functions."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from dataset.aicl_sampling import random_perturb, uniform_sampling
from tests.reference.original_aicl_sampling import (original_random_perturb,
                                                    original_uniform_sampling)

# (T, S): every branch and edge (T=1, T<S, T=S, T=S+1, 2S-1, 2S, S=1, the real S=750).
EDGE_CASES = [(1, 1), (1, 2), (1, 750), (2, 1), (9, 1), (2, 2), (3, 8), (3, 7), (5, 5), (6, 5),
              (9, 5), (10, 5), (11, 5), (3, 2), (100, 2), (122, 14), (23, 750), (749, 750),
              (750, 750), (751, 750), (1499, 750), (1500, 750), (4000, 750), (7, 3)]


def _random_cases(n: int) -> list[tuple[int, int]]:
    gen = np.random.default_rng(4321)
    return [(int(t), int(s)) for t, s in gen.integers(1, 300, size=(n, 2))]


@pytest.mark.parametrize("length,num", EDGE_CASES + _random_cases(120))
def test_random_perturb_equals_original(length: int, num: int) -> None:
    for seed in range(3):
        ref_rng, rng = np.random.default_rng(seed), np.random.default_rng(seed)
        expected = original_random_perturb(length, num, ref_rng)
        got = random_perturb(length, num, rng)
        assert got.dtype == np.int64 and got.shape == (num,)
        np.testing.assert_array_equal(got, expected)
        assert ref_rng.random() == rng.random()  # both consumed the stream identically
        assert got.min() >= 0 and got.max() <= length - 1
        assert np.all(np.diff(got) >= 0)


@pytest.mark.parametrize("length,num", EDGE_CASES + _random_cases(120))
def test_uniform_sampling_equals_original(length: int, num: int) -> None:
    got = uniform_sampling(length, num)
    assert got.dtype == np.int64 and got.shape == (num,)
    np.testing.assert_array_equal(got, original_uniform_sampling(length, num))


def test_spec_examples() -> None:
    np.testing.assert_array_equal(uniform_sampling(3, 8), [0, 0, 0, 1, 1, 1, 2, 2])
    assert uniform_sampling(23, 750).shape == (750,)  # short test videos are stretched to S
    outcomes = {tuple(random_perturb(3, 8, np.random.default_rng(s)).tolist())
                for s in range(200)}
    expected = {(0, 0, x, 1, 1, y, 2, 2) for x, y in itertools.product((0, 1), (1, 2))}
    assert outcomes == expected


class CountingRng:
    """A Generator stand-in that counts the values drawn."""

    def __init__(self) -> None:
        self.rng, self.draws = np.random.default_rng(0), 0

    def integers(self, low, high):
        self.draws += np.size(high)
        return self.rng.integers(low, high)


@pytest.mark.parametrize("length,num,draws", [(1000, 750, 750), (300, 750, 299), (750, 750, 0),
                                              (1, 750, 0), (751, 750, 750)])
def test_number_of_draws(length: int, num: int, draws: int) -> None:
    rng = CountingRng()
    random_perturb(length, num, rng)
    assert rng.draws == draws


def test_inclusive_bins_and_last_bin() -> None:
    picks = np.stack([random_perturb(20, 10, np.random.default_rng(s)) for s in range(400)])
    assert set(picks[:, 0].tolist()) == {0, 1, 2}        # bin 0: floor(0) .. floor(2) inclusive
    assert set(picks[:, -1].tolist()) == {18, 19}        # last bin: 18 .. T-1
    assert picks[:, 0].max() == 2 and picks[:, 1].min() == 2  # neighbouring picks can coincide


def test_bad_sizes_raise() -> None:
    with pytest.raises(ValueError, match="0 snippets"):
        random_perturb(0, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match=">= 1"):
        uniform_sampling(5, 0)
