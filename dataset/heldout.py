"""A held-out part of the training split, for choosing the epoch without looking at the test set.

THUMOS'14's training videos (its validation set) and ActivityNet's training videos carry temporal
annotations in gt.json, so the held-out videos are evaluated by the same detection evaluator as
the test split.
"""
from __future__ import annotations

from numbers import Real
from typing import Sequence

import numpy as np

from dataset.annotations import VideoInfo


def heldout_split(video_ids: Sequence[str], labels: np.ndarray, fraction: float,
                  seed: int) -> tuple[list[str], list[str]]:
    """Split ``video_ids`` into (train_ids, heldout_ids), both in the input order.

    labels: (N, C) multi-hot, row i for ``video_ids[i]`` (non-zero = the video has the class).

    Rule. Each class k with n_k videos gets a target of round(fraction * n_k) held-out videos, at
    most n_k - 1 (videos without any label form one more group, treated like a class). A video
    counts for every class it carries. Classes are filled rarest first (ties: lower index); within
    a class, candidates come in a fixed random order drawn from ``seed``, and a video is held out
    only if none of its classes has reached its target. So no class ever loses more than its
    target, every class keeps at least one training video (at least n_k - target_k), and a class
    reaches its target unless its videos' other classes are full.

    The result depends only on the (id, labels) pairs and ``seed``, not on the input order or on
    any global RNG: keep ``seed`` apart from the run seed so that every run of a sweep holds out
    the same videos.

    Raises ValueError for a fraction outside (0, 1), mismatched shapes, duplicate ids, or a
    fraction too small to hold out any video.
    """
    if isinstance(fraction, bool) or not isinstance(fraction, Real) or not 0 < fraction < 1:
        raise ValueError(f"held-out fraction {fraction!r}: must be a number in (0, 1)")
    ids = [str(v) for v in video_ids]
    hot = np.asarray(labels) != 0
    if hot.ndim != 2 or hot.shape[0] != len(ids):
        raise ValueError(f"held-out split: labels of shape {np.shape(labels)} do not match "
                         f"{len(ids)} video ids (expected (N, C) multi-hot)")
    if len(set(ids)) != len(ids):
        repeated = sorted({v for v in ids if ids.count(v) > 1})
        raise ValueError(f"held-out split: duplicate video ids {repeated[:5]}")
    groups = np.concatenate([hot, ~hot.any(axis=1, keepdims=True)], axis=1)  # (N, C+1)

    n = len(ids)
    rng = np.random.default_rng(seed)
    priority = np.empty(n, dtype=np.int64)
    priority[sorted(range(n), key=ids.__getitem__)] = rng.permutation(n)

    counts = groups.sum(axis=0)
    target = np.clip(np.minimum(np.floor(fraction * counts + 0.5), counts - 1), 0, None)
    held_per_group = np.zeros_like(counts)
    held = np.zeros(n, dtype=bool)
    for k in np.lexsort((np.arange(len(counts)), counts)):
        members = np.flatnonzero(groups[:, k])
        for v in members[np.argsort(priority[members], kind="stable")]:
            if held_per_group[k] >= target[k]:
                break
            mine = groups[v]
            if not held[v] and np.all(held_per_group[mine] < target[mine]):
                held[v] = True
                held_per_group[mine] += 1
    if not held.any():
        raise ValueError(f"held-out fraction {fraction}: holds out no video of the {n} (every "
                         "class has too few videos for it)")
    return ([v for v, h in zip(ids, held) if not h], [v for v, h in zip(ids, held) if h])


FRACTION_TOLERANCE = 0.05
"""How far (absolute) the realised held-out fraction may sit from ``--heldout_fraction`` before
the run warns: the per-class rounding moves it on small lists (at 0.2, a class of 3 videos
gives up round(0.6) = 1 of them, 33 %)."""


def fraction_lines(requested: float, held: int, total: int,
                   tolerance: float = FRACTION_TOLERANCE) -> list[str]:
    """What the run log says about a held-out split: the realised fraction (held / total), and a
    one-line warning when it differs from ``requested`` by more than ``tolerance``."""
    realised = held / total if total else 0.0
    lines = [f"--heldout_fraction {requested:g}: held out {held} of {total} training videos "
             f"({100 * realised:.1f} %)"]
    if abs(realised - requested) > tolerance:
        lines.append(f"warning: --heldout_fraction {requested:g}: the per-class rounding holds out "
                     f"{100 * realised:.1f} % of the videos, {100 * abs(realised - requested):.1f} "
                     f"points off the request (small classes; dataset/heldout.py)")
    return lines

def split_videos(videos: Sequence[VideoInfo], fraction: float,
                 seed: int) -> tuple[list[VideoInfo], list[VideoInfo]]:
    """``heldout_split`` on ``VideoInfo`` objects: (train_videos, heldout_videos), input order."""
    labels = (np.stack([v.labels for v in videos]) if videos
              else np.zeros((0, 0), dtype=np.float32))
    _, heldout_ids = heldout_split([v.video_id for v in videos], labels, fraction, seed)
    chosen = set(heldout_ids)
    return ([v for v in videos if v.video_id not in chosen],
            [v for v in videos if v.video_id in chosen])
