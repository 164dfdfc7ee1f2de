"""AICL post-processing: from a video's combined CAS and video scores to detections (pure numpy).

The chain of the official ``inference_thumos.py`` / ``utils/misc_utils.py``, number for number:
class selection at >= 0.25 with an argmax fallback, linear up-sampling (x24), nine thresholds on
one combined sequence, runs of any length (single points kept) with the index-0 guard, OIC scores
on the raw sequence with lambda 0.2 and gamma 0.2, and per-class NMS whose official "soft" mode is
one decay-and-append pass. Vectorised over thresholds, classes and runs, with the project's exact
window means (:mod:`eval.proposals`), so scores and times equal the official loops to the bit.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from eval.proposals import Detection, find_runs, nms, oic_scores, upsample

NMS_MODES = ("aicl_soft", "hard", "soft_standard")
"""aicl_soft: the official decay-and-append pass; hard: suppressed proposals dropped;
soft_standard: Gaussian soft-NMS (decayed proposals stay in the queue)."""

_PAIR_CHUNK = 1 << 20  # IoU matrix elements computed at once when matching suppressed proposals


@dataclass(frozen=True)
class AICLInferenceParams:
    """Post-processing settings (defaults in ``methods/aicl/settings.py``).

    oic_lambda is the outer margin ratio (the official ``--gamma`` lands here through a positional
    argument mix-up); oic_gamma weighs the class's video score (the official default argument).
    cpu_alias_quirk reproduces the unmodified code run on a CPU tensor, where the binarised class
    vector overwrites the video scores: every selected class then scores gamma * 1 and the argmax
    fallback always picks class 0. The default (False) is the GPU behaviour of the published runs.
    """

    cls_threshold: float
    upgrade_scale: int
    act_thresholds: tuple[float, ...]
    oic_lambda: float
    oic_gamma: float
    nms_thresh: float
    nms_alpha: float
    nms_mode: str
    nms_plus_one: bool
    cpu_alias_quirk: bool
    frames_per_sec: int
    segment_frames_num: int

    def __post_init__(self) -> None:
        if self.nms_mode not in NMS_MODES:
            raise ValueError(f"nms_mode must be one of {NMS_MODES}, got {self.nms_mode!r}")
        if self.nms_mode != "hard" and not self.nms_alpha > 0:
            raise ValueError(f"nms_alpha must be > 0, got {self.nms_alpha}")

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "AICLInferenceParams":
        """Build from an AICL config dict (``methods.aicl.settings.AICL_THUMOS`` or a variant of
        it)."""
        return cls(cls_threshold=float(cfg["cls_threshold"]),
                   upgrade_scale=int(cfg["test_upgrade_scale"]),
                   act_thresholds=tuple(float(t) for t in cfg["act_thresholds"]),
                   oic_lambda=float(cfg["oic_lambda"]), oic_gamma=float(cfg["oic_gamma"]),
                   nms_thresh=float(cfg["nms_thresh"]), nms_alpha=float(cfg["nms_alpha"]),
                   nms_mode=str(cfg["nms_mode"]), nms_plus_one=bool(cfg["nms_plus_one"]),
                   cpu_alias_quirk=bool(cfg["cpu_alias_quirk"]),
                   frames_per_sec=int(cfg["frames_per_sec"]),
                   segment_frames_num=int(cfg["segment_frames_num"]))


def aicl_class_prediction(video_scores: np.ndarray, threshold: float,
                          cpu_alias_quirk: bool = False
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The official class selection. video_scores (C,) softmax over classes.

    Returns (binary (C,): scores < threshold set to 0, then those >= threshold set to 1, or the
    argmax alone when none is; the official test accuracy compares it with the label; classes:
    indices where binary > threshold; class_scores (C,): the scores that the OIC gamma term reads,
    the video scores, or with ``cpu_alias_quirk`` the binary vector, whose all-zero argmax is 0).
    """
    scores = np.asarray(video_scores)
    binary = scores.copy()
    binary[binary < threshold] = 0
    binary[binary >= threshold] = 1
    if np.all(binary == 0):
        binary[np.argmax(binary if cpu_alias_quirk else scores)] = 1
    classes = np.flatnonzero(binary > threshold)
    return binary, classes, (binary if cpu_alias_quirk else scores)


def aicl_proposals(seq: np.ndarray, classes: np.ndarray, class_scores: np.ndarray,
                   params: AICLInferenceParams
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All proposals of one video in the official pooling order (threshold, class, run).

    seq (P, N): the up-sampled combined CAS of the P selected ``classes``; it is both cut at each
    threshold (a point is a candidate when its value is >= the threshold and > 0) and, raw, the
    OIC scoring sequence. A class whose only candidate is point 0 is skipped at that threshold
    (the official ``any()`` guard); runs of any length are kept. Score = inner mean - outer mean
    + oic_gamma * class score (float64). Returns class (M,), score (M,), first (M,), last (M,).
    """
    thr = np.asarray(params.act_thresholds, dtype=np.float64)[:, None, None]
    num, width = seq.shape
    masks = ((seq[None] >= thr) & (seq[None] > 0)).reshape(-1, width)       # (Θ*P, N)
    only_zero = masks[:, 0] & (masks.sum(axis=1) == 1)
    row, first, last = find_runs(masks)
    keep = ~only_zero[row]
    row, first, last = row[keep], first[keep], last[keep]
    contrast = oic_scores(seq, row % num, first, last, params.oic_lambda)
    cls = classes[row % num]
    gamma = params.oic_gamma * np.asarray(class_scores, dtype=np.float64)[cls]
    return cls, contrast + gamma, first, last


def _ious(segments: np.ndarray, a: np.ndarray, b: np.ndarray, one: float) -> np.ndarray:
    """IoU of segments a[:, None] with b[None, :], with the official arithmetic (+``one``)."""
    x1, x2 = segments[:, 0], segments[:, 1]
    inter = np.maximum(0.0, np.minimum(x2[a][:, None], x2[b][None])
                       - np.maximum(x1[a][:, None], x1[b][None]) + one)
    return inter / ((x2[a] - x1[a] + one)[:, None] + (x2[b] - x1[b] + one)[None] - inter)


def decay_and_append_nms(segments: np.ndarray, scores: np.ndarray, thresh: float, alpha: float,
                         plus_one: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The official "soft" NMS: greedy hard NMS, then every suppressed proposal appended once with
    its score times exp(-IoU^2 / alpha), IoU with the proposal that suppressed it.

    segments (N, 2) seconds, scores (N,). Returns (index (N,) int64, score (N,) float64): the kept
    proposals in selection order (``scores.argsort()[::-1]``, ties included), then the suppressed
    ones grouped by their suppressor in selection order, each group in score order. Decayed
    proposals never suppress anything and are not re-ranked; nothing is dropped.
    """
    segments = np.asarray(segments, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    kept = nms(segments, scores, thresh, plus_one)
    rank = np.empty(len(scores), dtype=np.int64)
    rank[scores.argsort()[::-1]] = np.arange(len(scores))
    rest = np.setdiff1d(np.arange(len(scores)), kept)
    by = np.empty(len(rest), dtype=np.int64)
    iou = np.empty(len(rest))
    step = max(1, _PAIR_CHUNK // max(len(kept), 1))
    for lo in range(0, len(rest), step):
        part = rest[lo:lo + step]
        table = _ious(segments, kept, part, 1.0 if plus_one else 0.0)
        hit = ~(table < thresh) & (rank[kept][:, None] < rank[part][None])
        by[lo:lo + step] = hit.argmax(axis=0)  # the first kept proposal that removed it
        iou[lo:lo + step] = table[by[lo:lo + step], np.arange(len(part))]
    order = np.lexsort((rank[rest], by))
    rest, iou = rest[order], iou[order]
    decayed = scores[rest] * np.exp(-np.square(iou) / alpha)
    return np.concatenate([kept, rest]), np.concatenate([scores[kept], decayed])


def gaussian_soft_nms(segments: np.ndarray, scores: np.ndarray, alpha: float,
                      plus_one: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian soft-NMS (Bodla et al., 2017): pick the best remaining proposal, multiply every
    other remaining score by exp(-IoU^2 / alpha), re-rank, repeat; nothing is dropped.

    segments (N, 2), scores (N,). Returns (index (N,) int64, score (N,) float64) in pick order.
    """
    segments = np.asarray(segments, dtype=np.float64)
    current = np.asarray(scores, dtype=np.float64).copy()
    one = 1.0 if plus_one else 0.0
    remaining = np.arange(len(current))
    picked = []
    while remaining.size:
        remaining = remaining[current[remaining].argsort()[::-1]]
        head, remaining = remaining[0], remaining[1:]
        picked.append(head)
        if remaining.size:
            iou = _ious(segments, np.array([head]), remaining, one)[0]
            current[remaining] *= np.exp(-np.square(iou) / alpha)
    index = np.asarray(picked, dtype=np.int64)
    return index, current[index]


def class_nms(segments: np.ndarray, scores: np.ndarray, params: AICLInferenceParams
              ) -> tuple[np.ndarray, np.ndarray]:
    """One class's proposals through ``params.nms_mode``: (index (M,), score (M,))."""
    if params.nms_mode == "aicl_soft":
        return decay_and_append_nms(segments, scores, params.nms_thresh, params.nms_alpha,
                                    params.nms_plus_one)
    if params.nms_mode == "soft_standard":
        return gaussian_soft_nms(segments, scores, params.nms_alpha, params.nms_plus_one)
    kept = nms(segments, scores, params.nms_thresh, params.nms_plus_one)
    return kept, np.asarray(scores, dtype=np.float64)[kept]


def aicl_localize(video_scores: np.ndarray, combined_cas: np.ndarray, num_snippets: int,
                  params: AICLInferenceParams) -> list[Detection]:
    """Detections of one video, in the official output order.

    video_scores (C,): softmax of the video logits (``AICLOutput.video_scores[b]``);
    combined_cas (T_in, C): ``AICLOutput.combined_cas[b]`` (T_in = 750); num_snippets: the video's
    snippet count T before sampling. A run first..last covers [first * t_factor,
    (last + 1) * t_factor] seconds, t_factor = 16 T / (24 * T_in * 25), not clipped to the video's
    duration. Classes in the order of their first proposal; within a class the ``class_nms``
    order. Each detection is (class index, score, start s, end s).
    """
    combined_cas = np.asarray(combined_cas)
    t_in = combined_cas.shape[0]
    _, classes, class_scores = aicl_class_prediction(video_scores, params.cls_threshold,
                                                     params.cpu_alias_quirk)
    if not classes.size:
        return []
    seq = upsample(combined_cas[:, classes], params.upgrade_scale).T          # (P, N)
    cls, score, first, last = aicl_proposals(seq, classes, class_scores, params)
    t_factor = (params.segment_frames_num * int(num_snippets)) / (
        params.upgrade_scale * t_in * params.frames_per_sec)
    segments = np.stack([first * t_factor, (last + 1) * t_factor], axis=1)

    _, first_seen = np.unique(cls, return_index=True)
    detections: list[Detection] = []
    for c in cls[np.sort(first_seen)]:
        idx = np.flatnonzero(cls == c)
        order, kept_scores = class_nms(segments[idx], score[idx], params)
        picked = segments[idx[order]]
        detections.extend(zip([int(c)] * len(order), kept_scores.tolist(),
                              picked[:, 0].tolist(), picked[:, 1].tolist()))
    return detections
