"""Literal port of the original ``random_sample`` / ``uniform_sample`` (ACM-Net and FTCL
``dataset/dataset_class.py``), written from the behaviour spec, returning indices.

The only changes: the global ``np.random`` calls become the same calls on an explicit
``numpy.random.Generator`` (so equal seeds give equal indices to ``dataset.sampling``), and the
removed ``np.int`` alias becomes ``int``. The per-bin Python loop, the in-place overwrite of the
float boundaries and the float evaluation orders are kept as the original has them.
"""
from __future__ import annotations

import numpy as np


def original_random_sample(input_len: int, sample_len: int, rng: np.random.Generator) -> np.ndarray:
    """The original training sampling; indices (sample_len,). Raises IndexError for sample_len == 1
    and input_len > 1, as the original does."""
    assert sample_len > 0
    if input_len < sample_len:
        sample_idxs = rng.choice(input_len, sample_len, replace=True)
        sample_idxs = np.sort(sample_idxs)
    elif input_len > sample_len:
        sample_idxs = np.arange(sample_len) * input_len / sample_len
        for i in range(sample_len - 1):
            sample_idxs[i] = rng.choice(range(int(sample_idxs[i]), int(sample_idxs[i + 1] + 1)))
        sample_idxs[-1] = rng.choice(np.arange(sample_idxs[-2], input_len))
    else:
        sample_idxs = np.arange(input_len)
    return sample_idxs.astype(int)


def original_uniform_sample(input_len: int, sample_len: int) -> np.ndarray:
    """The original test sampling; indices (min(input_len, sample_len),) or (2,) for one snippet."""
    assert sample_len > 0
    if sample_len >= input_len > 1:
        sample_idxs = np.arange(input_len)
    else:
        if input_len == 1:
            sample_len = 2
        sample_scale = input_len / sample_len
        sample_idxs = np.arange(sample_len) * sample_scale
        sample_idxs = np.floor(sample_idxs)
    return sample_idxs.astype(int)
