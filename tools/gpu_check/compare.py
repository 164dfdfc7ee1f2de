"""Pure comparisons of two runs of the same computation (CPU reference against another device),
each with its tolerance stated, returning a :class:`~tools.gpu_check.report.Check`.

- :func:`compare_tensors`: two dicts name -> tensor/array, elementwise
  ``|a - b| <= atol + rtol * |a|`` (``torch.isclose`` semantics with ``a`` the reference), on at
  least ``min_fraction`` of each entry's elements (1.0: all; below 1 for quantities where a
  near-tie may pick another element, e.g. the gradient at a top-k boundary).
- :func:`compare_detections`: two detection lists per video, equal up to ties (see there).
- :func:`compare_maps`: mAP per tIoU within an absolute tolerance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from tools.gpu_check.report import Check

Detection = Sequence[float]
"""(class index, score, start s, end s), as the localizers return them."""


@dataclass(frozen=True)
class Tolerance:
    """Elementwise tolerance: ``|a - b| <= atol + rtol * |a|`` on at least ``min_fraction`` of
    the elements."""

    rtol: float
    atol: float
    min_fraction: float = 1.0

    def __str__(self) -> str:
        share = "" if self.min_fraction >= 1 else f" on >= {100 * self.min_fraction:g} %"
        return f"rtol {self.rtol:g}, atol {self.atol:g}{share}"


def _as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64).numpy()
    return np.asarray(value, dtype=np.float64)


def compare_tensors(name: str, reference: Mapping[str, Any], other: Mapping[str, Any],
                    tol: Tolerance) -> Check:
    """Check that ``other`` holds the same entries as ``reference``, of the same shapes, within
    ``tol``; NaN or inf anywhere fails. The detail names the worst entry (largest |a - b|) and
    every failing one."""
    missing = sorted(set(reference) ^ set(other))
    if missing:
        return Check(name, False, f"entries only on one side: {missing[:5]}")
    if not reference:
        return Check(name, False, "nothing to compare")
    failing, worst, worst_name, figures = [], 0.0, "", {}
    for key in sorted(reference):
        a, b = _as_numpy(reference[key]), _as_numpy(other[key])
        if a.shape != b.shape:
            failing.append(f"{key}: shape {a.shape} vs {b.shape}")
            continue
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            failing.append(f"{key}: NaN or inf")
            continue
        diff = np.abs(a - b)
        within = diff <= tol.atol + tol.rtol * np.abs(a)
        share = float(within.mean()) if within.size else 1.0
        largest = float(diff.max()) if diff.size else 0.0
        figures[key] = {"max_abs_diff": largest, "within": share}
        if largest >= worst:
            worst, worst_name = largest, key
        if share < tol.min_fraction:
            failing.append(f"{key}: {100 * share:.3f} % within, max |diff| {largest:.2e}")
    detail = (f"{len(reference)} entries, {tol}; largest |diff| {worst:.2e} ({worst_name})"
              + (f"; failing: {'; '.join(failing[:5])}" if failing else ""))
    return Check(name, not failing, detail, figures)


def _tiou(a: Detection, b: Detection) -> float:
    inter = max(0.0, min(a[3], b[3]) - max(a[2], b[2]))
    union = max(a[3], b[3]) - min(a[2], b[2])
    return inter / union if union > 0 else float(a[2] == b[2] and a[3] == b[3])


def _has_tie(found: Sequence[Detection], i: int, score_tol: float) -> bool:
    """Whether another detection of the same class in ``found`` scores within ``score_tol`` of
    detection ``i`` (so that an ordering or NMS choice between them may go either way)."""
    c, s = int(found[i][0]), float(found[i][1])
    return any(j != i and int(d[0]) == c and abs(float(d[1]) - s) <= score_tol
               for j, d in enumerate(found))


def match_video(a: Sequence[Detection], b: Sequence[Detection], score_tol: float,
                time_tol: float) -> dict[str, int]:
    """Counts of one video's detections: "same" (a pair of the same class, score within
    ``score_tol``, both ends within ``time_tol`` s), "near" (a leftover pair of the same class,
    score within 10 x ``score_tol`` and tIoU >= 0.5: a run boundary moved by a value sitting on a
    threshold), "tie" (a leftover with a same-class detection of its own list scoring within
    ``score_tol``), "unexplained" (the rest, from both sides)."""
    left_b = list(range(len(b)))
    counts = {"same": 0, "near": 0, "tie": 0, "unexplained": 0}
    left_a = []
    for i, d in enumerate(a):
        hit = next((j for j in left_b if int(b[j][0]) == int(d[0])
                    and abs(float(b[j][1]) - float(d[1])) <= score_tol
                    and abs(float(b[j][2]) - float(d[2])) <= time_tol
                    and abs(float(b[j][3]) - float(d[3])) <= time_tol), None)
        if hit is None:
            left_a.append(i)
        else:
            left_b.remove(hit)
            counts["same"] += 1
    still_a = []
    for i in left_a:
        d = a[i]
        hit = next((j for j in left_b if int(b[j][0]) == int(d[0])
                    and abs(float(b[j][1]) - float(d[1])) <= 10 * score_tol
                    and _tiou(d, b[j]) >= 0.5), None)
        if hit is None:
            still_a.append(i)
        else:
            left_b.remove(hit)
            counts["near"] += 1
    for found, left in ((a, still_a), (b, left_b)):
        for i in left:
            counts["tie" if _has_tie(found, i, score_tol) else "unexplained"] += 1
    return counts


def compare_detections(name: str, reference: Mapping[str, Sequence[Detection]],
                       other: Mapping[str, Sequence[Detection]], score_tol: float = 1e-4,
                       time_tol: float = 1e-6, max_tie_share: float = 0.01) -> Check:
    """The same detections up to ties: every video on both sides, no unexplained detection
    (:func:`match_video`), and "near" + "tie" at most ``max_tie_share`` of the detections."""
    videos = sorted(set(reference) | set(other))
    lacking = [v for v in videos if v not in reference or v not in other]
    if lacking:
        return Check(name, False, f"videos on one side only: {lacking[:5]}")
    totals = {"same": 0, "near": 0, "tie": 0, "unexplained": 0}
    for video in videos:
        for key, value in match_video(reference[video], other[video], score_tol,
                                      time_tol).items():
            totals[key] += value
    count = sum(len(reference[v]) for v in videos)
    loose = totals["near"] + totals["tie"]
    ok = totals["unexplained"] == 0 and loose <= max_tie_share * max(count, 1) and count > 0
    detail = (f"{count} reference detections of {len(videos)} videos: {totals['same']} same "
              f"(score within {score_tol:g}, times within {time_tol:g} s), {totals['near']} near, "
              f"{totals['tie']} ties, {totals['unexplained']} unexplained (allowed: 0 "
              f"unexplained, near + ties <= {100 * max_tie_share:g} %)")
    return Check(name, ok, detail, dict(totals, detections=count))


def compare_maps(name: str, tiou: Sequence[float], reference: Sequence[float],
                 other: Sequence[float], atol: float = 1e-3) -> Check:
    """mAP per tIoU threshold within ``atol`` (absolute, mAP in [0, 1])."""
    a, b = np.asarray(reference, dtype=np.float64), np.asarray(other, dtype=np.float64)
    if a.shape != b.shape or a.shape != (len(tiou),):
        return Check(name, False, f"mAP shapes {a.shape} vs {b.shape} for {len(tiou)} tIoU")
    diff = np.abs(a - b)
    worst = int(np.argmax(diff)) if diff.size else 0
    ok = bool(diff.size) and bool((diff <= atol).all())
    detail = (f"mAP at {len(tiou)} tIoU, atol {atol:g}: largest |diff| {diff.max():.2e} at tIoU "
              f"{float(tiou[worst]):g} (reference mean {a.mean():.4f})")
    return Check(name, ok, detail, {"max_abs_diff": float(diff.max()), "mAP": a.tolist(),
                                    "mAP_other": b.tolist()})
