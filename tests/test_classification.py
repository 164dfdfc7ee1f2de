"""eval.classification: video-level AP / mAP on hand-computed cases and a literal loop."""
from __future__ import annotations

import numpy as np
import pytest

from eval.classification import average_precision, video_map


def literal_ap(scores, labels):
    """Sum over distinct thresholds t (descending) of (R(t) - R(previous t)) * P(t)."""
    ap, prev_recall = 0.0, 0.0
    for t in sorted(set(scores.tolist()), reverse=True):
        chosen = scores >= t
        tp = float(np.sum(labels[chosen]))
        recall = tp / labels.sum()
        ap += (recall - prev_recall) * tp / chosen.sum()
        prev_recall = recall
    return ap


def test_hand_computed_ap():
    # ranking: pos, neg, pos -> (1/2)*1 + (1/2)*(2/3)
    assert average_precision(np.array([0.9, 0.8, 0.7]), np.array([1, 0, 1])) == \
        pytest.approx(0.5 + 1 / 3)
    # a tie between a positive and a negative counts as one threshold: precision 1/2
    assert average_precision(np.array([0.5, 0.5]), np.array([1, 0])) == pytest.approx(0.5)


@pytest.mark.parametrize("seed", range(3))
def test_matches_literal_definition_with_ties(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=(60, 4)) / 5
    labels = (rng.random((60, 4)) < 0.3).astype(float)
    for c in range(4):
        assert average_precision(scores[:, c], labels[:, c]) == \
            pytest.approx(literal_ap(scores[:, c], labels[:, c]), abs=1e-12)
    assert video_map(scores, labels) == pytest.approx(
        np.mean([literal_ap(scores[:, c], labels[:, c]) for c in range(4)]), abs=1e-12)


def test_classes_without_positives_are_left_out_and_shapes_checked():
    scores = np.array([[0.9, 0.1], [0.2, 0.3]])
    assert video_map(scores, np.array([[1, 0], [0, 0]])) == 1.0
    with pytest.raises(ValueError, match="no class"):
        video_map(scores, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        video_map(scores, np.zeros((2, 3)))
