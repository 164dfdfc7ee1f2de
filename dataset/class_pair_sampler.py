"""The class-pair training batch of the W-TALC / CO2-Net code (``SampleDataset.load_data``,
spec ``co2-stcl-behaviour.md`` sec. 2.1), as pure functions with an explicit RNG.

A batch of B videos (B = 10 on THUMOS'14) is drawn in this order:
1. ``num_similar`` (3) classes, uniformly **with replacement** (a class can come twice);
2. for each drawn class in order, ``similar_size`` (2) distinct training videos of that class;
3. if B < num_similar * similar_size, B is raised to it (the original stores the raised value
   on the dataset, so it stays raised);
4. B - 6 more positions in the training list, uniformly with replacement (a random pick may
   repeat a pair member).
The batch is [c1a, c1b, c2a, c2b, c3a, c3b, r1, r2, r3, r4]: positions 0-5 hold the pairs the
co-activity loss reads. Then every video, in batch order, is resampled to S rows with
``random_perturb`` (the same function as AICL's, :func:`dataset.aicl_sampling.random_perturb`).

Random streams (sec. 2.5). The original draws everything from numpy's legacy global RandomState,
seeded once (``np.random.seed(3552)``), a stream shared by every batch. Here the RNG is an
argument:
- a ``numpy.random.Generator`` (the project's way): the same calls in the same order
  (``choice(C, n)``, ``choice(n_c, 2, replace=False)``, ``choice(N, B - 6)``, then one
  ``integers`` per perturbation draw); the distribution is the original's, the numbers are not
  (a Generator's ``choice(replace=False)`` is not a legacy permutation prefix, and its bit
  stream differs);
- a ``numpy.random.RandomState``: the legacy calls (``choice``, and ``randint(lo, hi + 1)`` for
  each perturbation draw, which consumes the stream like the original's
  ``np.random.choice(range(lo, hi + 1))``), so ``RandomState(seed)`` passed to consecutive
  calls reproduces the original's batches after ``np.random.seed(seed)`` index for index.
Counts of draws per batch: 1 ``choice`` of the classes, num_similar pair ``choice``s, 1 ``choice``
of the rest, then per video S perturbation draws if T > S, T - 1 if T < S, none if T = S.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from dataset.aicl_sampling import random_perturb

Rng = Union[np.random.Generator, np.random.RandomState]


@dataclass(frozen=True)
class ClassPairBatch:
    """One class-pair batch, in batch order.

    classes: (num_similar,) the drawn class ids (repeats possible).
    videos: (B,) dataset indices (positions in the annotation arrays): the pairs first, then the
        random videos.
    random_positions: (B - num_similar * similar_size,) positions in the training list of the
        random videos (the original's returned ``rand_sampleid``, named ``pairs_id`` and unused).
    batch_size: the effective B (raised to num_similar * similar_size when smaller).
    """

    classes: np.ndarray
    videos: np.ndarray
    random_positions: np.ndarray
    batch_size: int


def classwise_videos(labels: np.ndarray, train: Sequence[int]) -> list[list[int]]:
    """``classwiseidx``: for each class c, the training videos (dataset indices, in ``train``
    order) whose multi-hot label row ``labels[i]`` (N, C) has class c."""
    labels = np.asarray(labels)
    return [[int(i) for i in train if labels[i][c]] for c in range(labels.shape[1])]


def class_pair_batch(classwise: Sequence[Sequence[int]], train: Sequence[int], batch_size: int,
                     rng: Rng, num_similar: int = 3, similar_size: int = 2) -> ClassPairBatch:
    """Draw one batch's videos (steps 1-4 of the module docstring).

    classwise: per class, its training videos (:func:`classwise_videos`); every class that can
    be drawn needs >= similar_size videos (``choice(replace=False)`` raises otherwise, as the
    original). train: the training list (dataset indices). num_similar = 0 skips the pairs.
    """
    if not len(train):
        raise ValueError("the class-pair sampler needs a non-empty training list")
    pairs: list[int] = []
    classes = np.zeros(0, dtype=np.int64)
    if num_similar != 0:
        classes = np.asarray(rng.choice(len(classwise), size=num_similar))
        for c in classes:
            members = classwise[int(c)]
            if len(members) < similar_size:
                raise ValueError(f"class {int(c)} has {len(members)} training videos; a pair "
                                 f"needs {similar_size}")
            picks = rng.choice(len(members), size=similar_size, replace=False)
            pairs.extend(int(members[int(k)]) for k in picks)
    size = max(batch_size, similar_size * num_similar)
    rest = np.asarray(rng.choice(len(train), size=size - similar_size * num_similar))
    videos = pairs + [int(train[int(r)]) for r in rest]
    return ClassPairBatch(classes=classes.astype(np.int64),
                          videos=np.asarray(videos, dtype=np.int64),
                          random_positions=rest.astype(np.int64), batch_size=size)


def perturb(length: int, num: int, rng: Rng) -> np.ndarray:
    """``random_perturb`` with either RNG: a Generator uses
    :func:`dataset.aicl_sampling.random_perturb`; a legacy RandomState draws every bin with a
    choice, in bin order, as ``randint(lo, hi + 1)`` (the original's stream: one array call
    consumes it exactly as the original's call per bin, and is ~40x faster at S = 500).
    Returns (num,) int64."""
    if isinstance(rng, np.random.Generator):
        return random_perturb(length, num, rng)
    if length < 1 or num < 1:
        raise ValueError(f"cannot sample {num} rows from a video of {length} snippets")
    if length == num:
        return np.arange(num, dtype=np.int64)
    starts = np.floor(np.arange(num) * length / num).astype(np.int64)
    stops = np.append(starts[1:], length - 1)
    picks = starts.copy()
    draw = np.flatnonzero(stops > starts)
    if draw.size:
        picks[draw] = rng.randint(starts[draw], stops[draw] + 1)
    return picks


def batch_rows(lengths: Sequence[int], num_segments: int, rng: Rng) -> list[np.ndarray]:
    """The rows of each batch video, in batch order: ``perturb(T_i, S)`` for each length T_i;
    ``features[i][rows]`` is the (S, D) array the model sees."""
    return [perturb(int(length), num_segments, rng) for length in lengths]
