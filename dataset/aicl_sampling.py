"""Snippet sampling of the official AICL dataset (``dataset/thumos_features.py``), vectorised, with
an explicit RNG. Unlike ACM-Net / FTCL (:mod:`dataset.sampling`) both always return S indices:
training perturbs one pick per bin, testing stretches or thins uniformly (short videos repeat).

``features[indices]`` gives the (S, D) array. With a ``numpy.random.Generator`` in place of the
global RNG, an equal seed gives equal indices to a literal port of the official loop
(``tests/reference/original_aicl_sampling.py``).
"""
from __future__ import annotations

import numpy as np


def _bin_starts(length: int, num: int) -> np.ndarray:
    """floor((k * length) / num) for k = 0..num-1, in the official float arithmetic; (num,)."""
    return np.floor(np.arange(num) * length / num).astype(np.int64)


def random_perturb(length: int, num: int, rng: np.random.Generator) -> np.ndarray:
    """Training sampling (``random_perturb``): ``num`` non-decreasing indices into ``length`` rows.

    length == num: the identity. Otherwise, with b_k = floor(k * length / num): bin k < num-1 draws
    uniformly from b_k to b_{k+1} *inclusive* when they differ, else takes b_k; the last bin draws
    from b_{num-1} to length-1 when b_{num-1} < length-1, else takes b_{num-1}. Bins are drawn in
    order, one draw each where there is a choice (length > num: every bin; length < num:
    length-1 draws). Returns (num,) int64.
    """
    _check(length, num)
    if length == num:
        return np.arange(num, dtype=np.int64)
    starts = _bin_starts(length, num)
    stops = np.append(starts[1:], length - 1)       # inclusive upper end of each bin's choice
    picks = starts.copy()
    draw = stops > starts
    picks[draw] += rng.integers(0, stops[draw] - starts[draw] + 1)
    return picks


def uniform_sampling(length: int, num: int) -> np.ndarray:
    """Test sampling (``uniform_sampling``): floor(k * length / num) for k = 0..num-1, the identity
    when length == num. Always (num,) int64: a video shorter than ``num`` has its rows repeated."""
    _check(length, num)
    if length == num:
        return np.arange(num, dtype=np.int64)
    return _bin_starts(length, num)


def _check(length: int, num: int) -> None:
    if length < 1:
        raise ValueError(f"cannot sample from a video of {length} snippets")
    if num < 1:
        raise ValueError(f"the number of sampled snippets must be >= 1, got {num}")
