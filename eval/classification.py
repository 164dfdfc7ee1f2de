"""Video-level classification mAP (the original's ``get_cls_ap``, which it never calls)."""
from __future__ import annotations

import numpy as np


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Non-interpolated AP of one class, scores (N,) and binary labels (N,).

    Same definition as scikit-learn's ``average_precision_score``: sum over distinct score
    thresholds (descending) of (recall step) x precision, tied scores forming one threshold.
    """
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    s, y = np.asarray(scores, dtype=np.float64)[order], np.asarray(labels)[order] > 0
    last_of_tie = np.append(np.flatnonzero(np.diff(s) != 0), len(s) - 1)
    tp = np.cumsum(y)[last_of_tie]
    precision = tp / (last_of_tie + 1)
    recall_step = np.diff(np.concatenate([[0], tp])) / y.sum()
    return float(np.sum(recall_step * precision))


def video_map(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean over classes of the video-level AP. scores (N, C) foreground video scores, labels
    (N, C) multi-hot. Classes without a positive video have no AP and are left out of the mean
    (ValueError if no class has one)."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    if scores.shape != labels.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must both be (N, C)")
    present = np.flatnonzero((labels > 0).any(axis=0))
    if present.size == 0:
        raise ValueError("no class has a positive video")
    return float(np.mean([average_precision(scores[:, c], labels[:, c]) for c in present]))
