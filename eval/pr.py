"""Precision-recall curves per class, from the same matching as ``eval.detection``.

``eval.detection.evaluate_detection`` keeps only the APs; this module runs the same steps
(``eval.detection.match_detections``: ground truth, prediction order, greedy matching) and returns
the cumulative precision and recall of every class at every tIoU threshold, so a plot shows the
curves whose all-point interpolated area is the evaluator's AP (tested to the bit).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from eval.detection import cumulative_precision_recall, interpolated_ap, match_detections
from eval.inputs import GtSource, ResultsSource
from eval.report import DEFAULT_TIOU


@dataclass
class PrecisionRecall:
    """Curves of C classes at K thresholds.

    precision[c], recall[c]: (K, P_c) after each of class c's P_c predictions, in score order
    (P_c = 0 when the class has none); num_gt (C,) instances per class; scores[c] (P_c,) sorted
    scores.
    """

    tiou: np.ndarray
    class_names: list[str]
    precision: list[np.ndarray]
    recall: list[np.ndarray]
    scores: list[np.ndarray]
    num_gt: np.ndarray
    subset: str

    def ap(self) -> np.ndarray:
        """(K, C) all-point interpolated AP (0 for a class without predictions), as
        ``evaluate_detection``."""
        out = np.zeros((len(self.tiou), len(self.class_names)))
        for c in range(len(self.class_names)):
            if self.precision[c].shape[1]:
                out[:, c] = [interpolated_ap(self.precision[c][k], self.recall[c][k])
                             for k in range(len(self.tiou))]
        return out


def precision_recall(gt_path_or_db: GtSource, results: ResultsSource, subset: str = "auto",
                     tiou_thresholds: Sequence[float] = DEFAULT_TIOU,
                     class_names: Sequence[str] | None = None,
                     split_videos: Iterable[str] | None = None) -> PrecisionRecall:
    """Precision and recall per class of ``results`` against a gt.json, with the conventions of
    ``evaluate_detection`` (same arguments; predictions for videos outside the evaluated set are
    false positives, predictions of classes absent from it are not scored, silently here)."""
    m = match_detections(gt_path_or_db, results, subset, tiou_thresholds, class_names,
                         split_videos, warn_predictions=False, stacklevel=2)
    precision, recall, sorted_scores = [], [], []
    for c in range(len(m.class_names)):
        p, r = cumulative_precision_recall(m.tp[:, m.bounds[c]:m.bounds[c + 1]], int(m.npos[c]))
        precision.append(p)
        recall.append(r)
        sorted_scores.append(m.score[m.bounds[c]:m.bounds[c + 1]])
    return PrecisionRecall(tiou=m.tiou, class_names=m.class_names, precision=precision,
                           recall=recall, scores=sorted_scores, num_gt=m.npos, subset=m.subset)
