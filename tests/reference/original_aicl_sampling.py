"""Literal port of the official AICL ``random_perturb`` / ``uniform_sampling``
(``dataset/thumos_features.py``), written from the behaviour spec, returning indices.

The only change: the global ``np.random.choice`` becomes the same call on an explicit
``numpy.random.Generator`` (so that equal seeds give equal indices to ``dataset.aicl_sampling``).
The per-bin loop, the in-place overwrite of the float boundaries and the float evaluation order
are kept. Used only by the tests.
"""
from __future__ import annotations

import numpy as np


def original_random_perturb(length: int, num_segments: int,
                            rng: np.random.Generator) -> np.ndarray:
    if num_segments == length:
        return np.arange(num_segments).astype(int)
    samples = np.arange(num_segments) * length / num_segments
    for i in range(num_segments):
        if i < num_segments - 1:
            if int(samples[i]) != int(samples[i + 1]):
                samples[i] = rng.choice(range(int(samples[i]), int(samples[i + 1]) + 1))
            else:
                samples[i] = int(samples[i])
        else:
            if int(samples[i]) < length - 1:
                samples[i] = rng.choice(range(int(samples[i]), length))
            else:
                samples[i] = int(samples[i])
    return samples.astype(int)


def original_uniform_sampling(length: int, num_segments: int) -> np.ndarray:
    if num_segments == length:
        return np.arange(num_segments).astype(int)
    samples = np.arange(num_segments) * length / num_segments
    samples = np.floor(samples)
    return samples.astype(int)
