"""Snippet sampling of the original ACM-Net / FTCL datasets, vectorised, with an explicit RNG.

Both functions return the snippet indices to keep, as int64 arrays; ``features[indices]`` gives the
sampled (S, D) (or, for ``uniform_sample`` on short videos, (T_in, D)) array. They reproduce the
original index sets exactly, including the float arithmetic of the bin boundaries; with a
``numpy.random.Generator`` in place of the global RNG, an equal seed gives equal indices to a literal
port of the original loops (``tests/reference/original_sampling.py``).
"""
from __future__ import annotations

import numpy as np


def random_sample(length: int, num: int, rng: np.random.Generator) -> np.ndarray:
    """Training sampling: ``num`` sorted snippet indices of a video of ``length`` snippets.

    - length < num: ``num`` indices drawn uniformly with replacement, sorted.
    - length > num: the bins [k*length/num, (k+1)*length/num); for bins 0..num-2 one integer is drawn
      uniformly from floor(lower) to floor(upper) *inclusive* (neighbouring picks can coincide); the
      last index is drawn uniformly from the second-to-last pick to length-1. Non-decreasing.
      ``num == 1`` (the original crashes there) draws the single index from 0..length-1.
    - length == num: the identity.

    Returns: (num,) int64. The draws consume ``rng`` exactly as the original's per-bin calls would.
    """
    _check(length, num)
    if length < num:
        return np.sort(rng.integers(0, length, size=num))
    if length == num:
        return np.arange(length, dtype=np.int64)
    # Bin boundaries as the original computes them: (k * length) / num in float64, floored.
    bounds = np.floor(np.arange(num) * length / num).astype(np.int64)
    picks = np.empty(num, dtype=np.int64)
    picks[:-1] = bounds[:-1] + rng.integers(0, bounds[1:] - bounds[:-1] + 1)
    previous = picks[-2] if num > 1 else 0
    picks[-1] = previous + rng.integers(0, length - previous)
    return picks


def uniform_sample(length: int, num: int) -> np.ndarray:
    """Test sampling: deterministic snippet indices of a video of ``length`` snippets.

    - 1 < length <= num: every snippet, 0..length-1 (no padding: the result has length ``length``).
    - length == 1: two copies of snippet 0.
    - otherwise: floor(k * (length / num)) for k = 0..num-1 (the original's float evaluation order).

    Returns: (min(length, num),) int64, or (2,) when length == 1.
    """
    _check(length, num)
    if 1 < length <= num:
        return np.arange(length, dtype=np.int64)
    if length == 1:
        num = 2
    return np.floor(np.arange(num) * (length / num)).astype(np.int64)


def _check(length: int, num: int) -> None:
    if length < 1:
        raise ValueError(f"cannot sample from a video of {length} snippets")
    if num < 1:
        raise ValueError(f"the number of sampled snippets must be >= 1, got {num}")
