"""From a video's CAS and attention to scored, non-overlapping action proposals (pure numpy).

The chain reproduces the original ACM-Net / FTCL test loop number for number: linear up-sampling
with an extrapolated end, class selection, multi-threshold runs, outer-inner-contrast (OIC) scores,
per-class pooling over thresholds and hard NMS with the original "+1" on seconds. Every step is
vectorised over classes, thresholds and runs; the window means are computed exactly as ``np.mean``
of the gathered window (same summation order), so scores are bit-identical to the original.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

Detection = tuple[int, float, float, float]
"""One detection: (class index, score, start seconds, end seconds)."""


@dataclass(frozen=True)
class ProposalParams:
    """Post-processing hyper-parameters (see ``config/thumos.py`` and ``config/activitynet.py``).

    ``oic_mix`` is the weight of the CAS in the scoring sequence; the attention gets the decimal
    complement (1.0 -> 0.0 for THUMOS, 0.7 -> 0.3 for ActivityNet, the literals of the original).
    """

    cls_threshold: float
    upgrade_scale: int
    cas_thresholds: tuple[float, ...]
    att_thresholds: tuple[float, ...]
    oic_lambda: float
    oic_gamma_cas: float
    oic_gamma_att: float
    oic_mix: float
    nms_thresh: float
    nms_plus_one: bool = True
    clip_to_duration: bool = False
    frames_per_sec: int = 25
    segment_frames_num: int = 16

    @classmethod
    def from_args(cls, args: Any) -> "ProposalParams":
        """Build from a ``config.parse_args`` namespace (or any object with the same attributes)."""
        return cls(
            cls_threshold=float(args.cls_threshold),
            upgrade_scale=int(args.test_upgrade_scale),
            cas_thresholds=tuple(float(t) for t in args.cas_thresholds),
            att_thresholds=tuple(float(t) for t in args.att_thresholds),
            oic_lambda=float(args.oic_lambda),
            oic_gamma_cas=float(args.oic_gamma_cas),
            oic_gamma_att=float(args.oic_gamma_att),
            oic_mix=float(args.oic_mix),
            nms_thresh=float(args.nms_thresh),
            nms_plus_one=bool(args.nms_plus_one),
            clip_to_duration=bool(args.clip_to_duration),
            frames_per_sec=int(args.frames_per_sec),
            segment_frames_num=int(args.segment_frames_num),
        )


def upsample(x: np.ndarray, scale: int) -> np.ndarray:
    """Linear up-sampling (T, K) -> (len(arange(0, T, 1/scale)), K) = (T*scale, K), float64.

    Same arithmetic as the original ``interp1d(kind='linear', fill_value='extrapolate')`` on the
    grid ``np.arange(0, T, 1/scale)``: the last ``scale - 1`` points lie beyond the last snippet
    and are extrapolated from the last two snippets. A single snippet (which the original cannot
    interpolate) is repeated.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"upsample expects a (T, K) array, got shape {x.shape}")
    length = x.shape[0]
    grid = np.arange(0, length, 1 / scale)
    if length == 1:
        return np.repeat(x.astype(np.float64), len(grid), axis=0)
    hi = np.ceil(grid).astype(np.int64).clip(1, length - 1)  # = searchsorted(arange(T), grid)
    lo = hi - 1
    x_lo = np.take(x, lo, axis=0)  # np.take: several times faster than x[lo] on (T, K) rows
    slope = (np.take(x, hi, axis=0) - x_lo) / (hi - lo)[:, None]
    return slope * (grid - lo)[:, None] + x_lo


def select_classes(video_scores: np.ndarray, threshold: float) -> np.ndarray:
    """Indices of the classes scoring strictly above ``threshold``; the argmax when none does."""
    video_scores = np.asarray(video_scores)
    chosen = np.flatnonzero(video_scores > threshold)
    return chosen if chosen.size else np.array([int(np.argmax(video_scores))])


def grouped_runs(indices: np.ndarray) -> list[np.ndarray]:
    """Split sorted integer ``indices`` into runs of consecutive values (original ``grouping``)."""
    indices = np.asarray(indices)
    return np.split(indices, np.flatnonzero(np.diff(indices) != 1) + 1)


def find_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True in each row of ``mask`` (R, N), in row-major order.

    Returns (row, first, last) int64 arrays of shape (M,), ``last`` inclusive.
    """
    rows, width = mask.shape
    padded = np.zeros((rows, width + 2), dtype=bool)
    padded[:, 1:-1] = mask
    edges = np.flatnonzero(padded[:, 1:] != padded[:, :-1])
    starts, stops = edges[0::2], edges[1::2]
    return starts // (width + 1), starts % (width + 1), stops % (width + 1) - 1


def _window_means(seq: np.ndarray, windows: np.ndarray, chunk: int = 1 << 15) -> np.ndarray:
    """Mean of each window, bit-identical to ``np.mean`` of the gathered values; empty windows
    give 0.0. seq (R, N); windows (M, 5) int64 columns (row, start_a, len_a, start_b, len_b), a
    window being the concatenation of two index ranges of one row. Returns (M,) float64.

    The windows are gathered, each behind a -0.0, into buffers of about ``chunk`` elements (small
    enough to stay in cache and in the allocator's heap). ``np.add.reduceat`` adds a segment as its
    first element plus numpy's pairwise sum of the rest: here -0.0 plus the pairwise sum that
    ``np.mean`` takes of the window, the same value to the bit.
    """
    row, start_a, len_a, start_b, len_b = windows.T
    total = len_a + len_b
    means = np.zeros(len(windows), dtype=np.float64)
    if not len(windows):
        return means
    flat = np.concatenate([seq.reshape(-1), [-0.0]])
    zero = np.full(len(windows), flat.size - 1)
    base = np.stack([zero, row * seq.shape[1] + start_a, row * seq.shape[1] + start_b], 1).ravel()
    size = np.stack([np.ones_like(len_a), len_a, len_b], 1).ravel()
    end = np.cumsum(size)
    start = end - size
    shift = base - start
    window_end = end[2::3]
    cuts = np.searchsorted(window_end, np.arange(chunk, window_end[-1], chunk))
    bounds = np.unique(np.concatenate([[0], cuts, [len(windows)]]))
    sums = np.empty(len(windows))
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        first, stop = 3 * lo, 3 * hi
        index = np.repeat(shift[first:stop], size[first:stop])
        index += np.arange(start[first], end[stop - 1])
        sums[lo:hi] = np.add.reduceat(flat[index], start[first:stop:3] - start[first])
    np.divide(sums, total, out=means, where=total > 0)
    return means


def oic_scores(seq: np.ndarray, row: np.ndarray, first: np.ndarray, last: np.ndarray,
               lam: float) -> np.ndarray:
    """Outer-inner contrast (inner mean minus outer mean) of runs, with the original's arithmetic.

    seq (R, N) scoring sequences; run m covers ``seq[row[m], first[m]:last[m]+1]``. The outer
    region is ``max(0, int(first - lam*len)) .. first-1`` followed by
    ``last+1 .. min(N-1, int(last + lam*len))`` (int() truncates toward zero); its mean is 0 when
    empty. Returns (M,) float64.
    """
    n = seq.shape[1]
    length = last - first + 1
    outer_s = np.maximum(0, (first - lam * length).astype(np.int64))
    outer_e = np.minimum(n - 1, (last + lam * length).astype(np.int64))
    zeros = np.zeros_like(first)
    inner = np.stack([row, first, length, zeros, zeros], axis=1)
    outer = np.stack([row, outer_s, first - outer_s, last + 1,
                      np.maximum(0, outer_e - last)], axis=1)
    means = _window_means(seq, np.concatenate([inner, outer]))
    return means[:len(row)] - means[len(row):]


def nms(segments: np.ndarray, scores: np.ndarray, thresh: float,
        plus_one: bool = True) -> np.ndarray:
    """Greedy hard NMS; returns kept indices (int64) in selection order (score descending).

    segments (N, 2) seconds with end > start (end >= start with ``plus_one``), scores (N,).
    Order = ``scores.argsort()[::-1]`` as the original (its tie order included). A candidate is
    dropped when its IoU with a kept one is not below ``thresh``; ``plus_one`` measures lengths and
    overlaps with the original's "+1" (pixel convention). Only pairs that can overlap are
    compared (found by sorting on starts), with the original's IoU arithmetic, so the result is
    the original's at a fraction of its cost.
    """
    one = 1.0 if plus_one else 0.0
    segments = np.asarray(segments, dtype=np.float64)
    order = np.asarray(scores).argsort()[::-1]
    if order.size == 0 or thresh <= 0.0:  # every IoU (>= 0) reaches the threshold
        return order[:1].astype(np.int64)
    x1, x2 = segments[:, 0], segments[:, 1]
    areas = x2 - x1 + one
    if not (np.all(np.isfinite(segments)) and np.all(areas > 0)):
        raise ValueError("nms needs finite segments of positive length")
    by_start = np.argsort(x1, kind="stable")
    starts = x1[by_start]
    # partners of the k-th segment by start: later starts up to its end (+1); the margin only
    # admits extra pairs, whose exact IoU below decides
    reach = x2[by_start] + one
    stop = np.searchsorted(starts, reach + 1e-9 * np.maximum(1.0, np.abs(reach)), side="right")
    count = stop - np.arange(len(starts)) - 1
    first = np.repeat(np.arange(len(starts)), count)
    second = first + 1 + np.arange(len(first)) - np.repeat(np.cumsum(count) - count, count)
    a, b = by_start[first], by_start[second]
    inter = np.maximum(0.0, np.minimum(x2[a], x2[b]) - np.maximum(x1[a], x1[b]) + one)
    over = ~(inter / (areas[a] + areas[b] - inter) < thresh)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    a, b = a[over], b[over]
    earlier = rank[a] < rank[b]
    src, dst = np.where(earlier, a, b), np.where(earlier, b, a)
    dst = dst[np.argsort(src, kind="stable")].tolist()
    ptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=len(order)))]).tolist()
    removed = [False] * len(order)
    keep = []
    for i in order.tolist():
        if not removed[i]:
            keep.append(i)
            for j in dst[ptr[i]:ptr[i + 1]]:
                removed[j] = True
    return np.asarray(keep, dtype=np.int64)


def _complement(weight: float) -> float:
    """1 - weight rounded to 12 decimals: 0.7 -> 0.3 (the original's literal), 1.0 -> 0.0."""
    return round(1.0 - weight, 12)


def _branch(signal: np.ndarray, other: np.ndarray, thresholds: Sequence[float],
            w_thr: float, w_other: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks and scoring sequences of one proposal branch.

    signal (P or 1, L) is cut at each threshold (values below it zeroed, as the original) and the
    run masks are ``cut >= thr``; other (P or 1, L) is the second signal; one of them has P rows.
    Scoring sequence = w_thr * cut + w_other * other (for THUMOS 1.0*cut + 0.0*other).
    Returns masks (Θ*P, L), sequences (S, L) and the sequence row of each mask row (Θ*P,); when
    w_thr == 0 the sequence does not depend on the threshold and S = P.
    """
    thr = np.asarray(thresholds, dtype=np.float64)[:, None, None]
    num, width = max(len(signal), len(other)), signal.shape[1]
    masks = np.broadcast_to(signal[None] >= thr, (len(thresholds), num, width)).reshape(-1, width)
    if w_thr == 0.0:
        seq = np.broadcast_to(w_thr * signal + w_other * other, (num, width))
        return masks, seq, np.tile(np.arange(num), len(thresholds))
    cut = np.where(signal[None] < thr, 0.0, signal[None])
    seq = (w_thr * cut + w_other * other[None]).reshape(-1, width)
    return masks, seq, np.arange(masks.shape[0])


def _proposals(cas_up: np.ndarray, att_up: np.ndarray, classes: np.ndarray,
               video_scores: np.ndarray, params: ProposalParams
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All proposals of both branches in the original's pooling order (branch, threshold, class,
    run). cas_up (P, L), att_up (1, L). Returns class (M,), score (M,), first (M,), last (M,)."""
    w_cas = params.oic_mix
    w_att = _complement(w_cas)
    runs, seqs, gammas, offset = [], [], [], 0
    for signal, other, thresholds, w_thr, w_other, gamma in (
            (cas_up, att_up, params.cas_thresholds, w_cas, w_att, params.oic_gamma_cas),
            (att_up, cas_up, params.att_thresholds, w_att, w_cas, params.oic_gamma_att)):
        if not thresholds:
            continue
        masks, seq, seq_row = _branch(signal, other, thresholds, w_thr, w_other)
        row, first, last = find_runs(masks)
        long = last > first
        row, first, last = row[long], first[long], last[long]
        runs.append((classes[row % len(classes)], seq_row[row] + offset, first, last))
        seqs.append(seq)
        gammas.append(np.full(len(row), gamma))
        offset += len(seq)
    if not runs:
        empty = np.zeros(0, np.int64)
        return empty, np.zeros(0), empty, empty
    cls, seq_row, first, last = (np.concatenate(part) for part in zip(*runs))
    contrast = oic_scores(np.concatenate(seqs), seq_row, first, last, params.oic_lambda)
    return cls, contrast + np.concatenate(gammas) * video_scores[cls], first, last


def localize_video(video_scores: np.ndarray, inst_cas: np.ndarray, att: np.ndarray,
                   num_snippets: int, duration: float, params: ProposalParams) -> list[Detection]:
    """Detections of one video after per-class NMS, in the original's output order.

    video_scores (C,) foreground video scores; inst_cas (T_in, C) foreground instance CAS;
    att (T_in,) instance attention; num_snippets = T, the video's snippet count before sampling;
    duration in seconds (used only with ``params.clip_to_duration``). Times use
    t_factor = (segment_frames_num * T) / (frames_per_sec * upgrade_scale * T_in) seconds per
    up-sampled step: a run first..last covers [first*t_factor, (last+1)*t_factor].
    Classes appear in the order of their first proposal; within a class, by NMS selection order.
    """
    video_scores = np.asarray(video_scores, dtype=np.float64)
    inst_cas, att = np.asarray(inst_cas), np.asarray(att)
    t_in = inst_cas.shape[0]
    classes = select_classes(video_scores, params.cls_threshold)
    cas_up = upsample(inst_cas[:, classes], params.upgrade_scale).T
    att_up = upsample(att.reshape(-1, 1), params.upgrade_scale).T
    cls, score, first, last = _proposals(cas_up, att_up, classes, video_scores, params)

    t_factor = (params.segment_frames_num * int(num_snippets)) / (
        params.frames_per_sec * params.upgrade_scale * t_in)
    segments = np.stack([first * t_factor, (last + 1) * t_factor], axis=1)
    if params.clip_to_duration:
        segments = np.clip(segments, 0.0, float(duration))
        inside = segments[:, 1] > segments[:, 0]
        cls, score, segments = cls[inside], score[inside], segments[inside]

    _, first_seen = np.unique(cls, return_index=True)
    detections: list[Detection] = []
    for c in cls[np.sort(first_seen)]:
        idx = np.flatnonzero(cls == c)
        kept = idx[nms(segments[idx], score[idx], params.nms_thresh, params.nms_plus_one)]
        detections.extend(zip([int(c)] * len(kept), score[kept].tolist(),
                              segments[kept, 0].tolist(), segments[kept, 1].tolist()))
    return detections
