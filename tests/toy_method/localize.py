"""The toy's test-time reading: for each class scoring at least ``cls_threshold``, the runs of
snippets whose CAS is at least half its maximum, scored by their mean CAS, after hard NMS."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from eval.proposals import Detection, find_runs, nms
from methods.record import Localizer
from tests.toy_method.model import ToyOutput


def correct(out: ToyOutput, labels: torch.Tensor, threshold: float, params: Any
            ) -> torch.Tensor:
    """(B,) bool: the classes scoring >= ``threshold`` are exactly the labelled ones."""
    return ((out.video_scores >= threshold) == (labels > 0)).all(dim=1)


def localize(out: ToyOutput, batch: dict[str, Any], params: SimpleNamespace
             ) -> tuple[list[Detection], dict[str, np.ndarray]]:
    scores = out.video_scores[0].cpu().numpy()
    cas = out.cas[0].cpu().numpy()                        # (T_in, C)
    seconds = float(batch["duration"][0]) / len(cas)      # time one row covers
    detections: list[Detection] = []
    for c in np.flatnonzero(scores >= params.cls_threshold):
        column = cas[:, c]
        _, first, last = find_runs((column >= column.max() / 2)[None])
        segments = np.stack([first * seconds, (last + 1) * seconds], axis=1)
        run_scores = np.array([column[a:b + 1].mean() for a, b in zip(first, last)])
        for i in nms(segments, run_scores, params.nms_thresh, plus_one=False):
            detections.append((int(c), float(run_scores[i]), *map(float, segments[i])))
    att = np.repeat(cas.max(axis=1, keepdims=True), 3, axis=1)
    return detections, {"att": att, "cas": cas, "video_scores": scores}


TOY_LOCALIZER = Localizer(params=lambda settings: settings, localize=localize, correct=correct)
