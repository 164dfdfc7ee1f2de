"""Precision-recall curves per class, from the same matching as ``eval.detection``.

``eval.detection.evaluate_detection`` keeps only the APs; this module runs the same steps (ground
truth, prediction order, greedy matching; its helpers, not a second implementation) and returns
the cumulative precision and recall of every class at every tIoU threshold, so a plot shows the
curves whose all-point interpolated area is the evaluator's AP (tested to the bit).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from eval.detection import (DEFAULT_TIOU, GtSource, ResultsSource, _database, _ground_truth,
                            _load_json, _match_id, _sort_by_class_score, _true_positives,
                            interpolated_ap, resolve_subset)
from eval.results import results_arrays


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
    db, gt_source = _database(gt_path_or_db)
    subset = resolve_subset(db, subset)
    tiou = np.asarray(tiou_thresholds, dtype=np.float64)
    gt = _ground_truth(db, gt_source, subset, class_names, split_videos)
    pred_source = "<results dict>" if isinstance(results, Mapping) else str(results)
    obj = results if isinstance(results, Mapping) else _load_json(results)
    known = class_names if class_names is not None else {
        a.get("label") for v in db.values() if isinstance(v, Mapping)
        for a in v.get("annotations", []) if isinstance(a, Mapping)}
    videos, labels, scores, segments = results_arrays(obj, pred_source, known)

    num_classes, num_videos = len(gt.class_names), len(gt.videos)
    video_index = {v: i for i, v in enumerate(gt.videos)}
    class_index = {name: c for c, name in enumerate(gt.class_names)}
    p_video = np.fromiter((_match_id(v, video_index) for v in videos), np.int64, len(videos))
    p_label = np.fromiter((class_index.get(n, -1) for n in labels), np.int64, len(labels))
    p_video = np.where(p_video < 0, num_videos, p_video)
    keep = p_label >= 0
    p_video, p_label, scores, segments = (p_video[keep], p_label[keep], scores[keep],
                                          segments[keep])
    order, bounds = _sort_by_class_score(p_label, scores, num_classes)
    tp = _true_positives(gt.label * (num_videos + 1) + gt.video, gt.segment,
                         (p_label * (num_videos + 1) + p_video)[order], segments[order], tiou)
    npos = np.bincount(gt.label, minlength=num_classes)
    precision, recall, sorted_scores = [], [], []
    for c in range(num_classes):
        part = tp[:, bounds[c]:bounds[c + 1]]
        tp_cum = np.cumsum(part, axis=1, dtype=np.float64)
        fp_cum = np.cumsum(~part, axis=1, dtype=np.float64)
        recall.append(tp_cum / npos[c])
        precision.append(tp_cum / (tp_cum + fp_cum))
        sorted_scores.append(scores[order[bounds[c]:bounds[c + 1]]])
    return PrecisionRecall(tiou=tiou, class_names=list(gt.class_names), precision=precision,
                           recall=recall, scores=sorted_scores, num_gt=npos, subset=subset)
