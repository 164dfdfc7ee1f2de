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
    slope = (x[hi] - x[lo]) / (hi - lo)[:, None]
    return slope * (grid - lo)[:, None] + x[lo]


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


class _Windows:
    """Windows over the rows of ``seq`` (R, N), each the concatenation of two index ranges.

    windows (M, 5) int64 columns (row, start_a, len_a, start_b, len_b).
    """

    _PAD = 256  # reads past a window's end (masked out later) stay inside the buffer

    def __init__(self, seq: np.ndarray, windows: np.ndarray) -> None:
        self.flat = np.concatenate([seq.reshape(-1), np.zeros(self._PAD)])
        row, start_a, self.len_a, start_b, _ = windows.T
        self.base_a = row * seq.shape[1] + start_a
        self.base_b = row * seq.shape[1] + start_b - self.len_a

    def take(self, sel: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Element ``pos`` of windows ``sel``; pos (W,) or (W, k) -> same shape."""
        len_a, base_a, base_b = self.len_a[sel], self.base_a[sel], self.base_b[sel]
        if pos.ndim == 2:
            len_a, base_a, base_b = len_a[:, None], base_a[:, None], base_b[:, None]
        return self.flat[np.where(pos < len_a, base_a, base_b) + pos]


def _leaf_sums(win: _Windows, sel: np.ndarray, start: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Sums of elements start..start+n-1 (n <= 128) of windows ``sel``, in numpy's order for such
    lengths: n < 8 sequentially; otherwise eight strided accumulators combined as
    ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the n % 8 tail. Returns (len(sel),) float64."""
    out = np.full(len(sel), -0.0)
    tail_from = np.where(n < 8, 0, n - n % 8)
    blocked = np.flatnonzero(n >= 8)
    if blocked.size:
        blocked = blocked[np.argsort(-tail_from[blocked], kind="stable")]
        s, st, m = sel[blocked], start[blocked][:, None], tail_from[blocked]
        lanes = np.arange(8)[None, :]
        acc = win.take(s, st + lanes)
        for b in range(8, int(m[0]), 8):
            k = np.searchsorted(-m, -b, side="left")  # windows with m > b lead the order
            acc[:k] += win.take(s[:k], st[:k] + b + lanes)
        out[blocked] = ((acc[:, 0] + acc[:, 1]) + (acc[:, 2] + acc[:, 3])) + \
            ((acc[:, 4] + acc[:, 5]) + (acc[:, 6] + acc[:, 7]))
    idx = np.flatnonzero(n > tail_from)
    tail = n[idx] - tail_from[idx]
    idx = idx[np.argsort(-tail, kind="stable")]
    s, pos, tail, res = sel[idx], start[idx] + tail_from[idx], -np.sort(-tail), out[idx]
    for i in range(int(tail[0]) if tail.size else 0):
        k = np.searchsorted(-tail, -i, side="left")
        res[:k] += win.take(s[:k], pos[:k] + i)
    out[idx] = res
    return out


def _pairwise_sums(win: _Windows, sel: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Sums of the first n elements of windows ``sel``, added in numpy's pairwise order.

    numpy sums a float64 array of length n <= 128 as :func:`_leaf_sums` does, and a longer one as
    the sum of both halves, split at n//2 rounded down to a multiple of 8. Reproducing it makes
    every mean bit-identical to the original's ``np.mean`` of the gathered window. The recursion
    is unrolled into levels; the leaves of all levels are summed in one batch, then every level
    adds its halves, deepest first. Returns (len(sel),) float64.
    """
    levels = []
    cur_sel, cur_start, cur_n = sel, np.zeros_like(sel), n
    while True:
        big = np.flatnonzero(cur_n > 128)
        levels.append((cur_sel, cur_start, cur_n, big))
        if not big.size:
            break
        half = cur_n[big] // 2
        half -= half % 8
        cur_sel = np.concatenate([cur_sel[big], cur_sel[big]])
        cur_start = np.concatenate([cur_start[big], cur_start[big] + half])
        cur_n = np.concatenate([half, cur_n[big] - half])
    leaves = [np.flatnonzero(level[2] <= 128) for level in levels]
    sums = _leaf_sums(win, *(np.concatenate([level[k][leaf] for level, leaf in zip(levels, leaves)])
                             for k in range(3)))
    bounds = np.cumsum([0] + [len(leaf) for leaf in leaves])
    below = None
    for depth in range(len(levels) - 1, -1, -1):
        _, _, cur_n, big = levels[depth]
        value = np.empty(len(cur_n))
        value[leaves[depth]] = sums[bounds[depth]:bounds[depth + 1]]
        if big.size:
            value[big] = below[:big.size] + below[big.size:]
        below = value
    return below


def _window_means(seq: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Mean of each window (see ``_Windows``), bit-identical to ``np.mean`` of the gathered
    values; empty windows give 0.0. seq (R, N), windows (M, 5) -> (M,) float64."""
    total = windows[:, 2] + windows[:, 4]
    means = np.zeros(len(windows), dtype=np.float64)
    sel = np.flatnonzero(total > 0)
    sums = _pairwise_sums(_Windows(seq, windows), sel, total[sel])
    means[sel] = sums / total[sel]
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

    segments (N, 2) seconds, scores (N,). Order = ``scores.argsort()[::-1]`` as the original (its
    tie order included). A candidate is dropped when its IoU with a kept one is not below
    ``thresh``; ``plus_one`` measures lengths and overlaps with the original's "+1" (pixel
    convention).
    """
    one = 1.0 if plus_one else 0.0
    x1, x2 = segments[:, 0], segments[:, 1]
    areas = x2 - x1 + one
    order = np.asarray(scores).argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        inter = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + one)
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[iou < thresh]
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
        for k in idx[nms(segments[idx], score[idx], params.nms_thresh, params.nms_plus_one)]:
            detections.append((int(c), float(score[k]), float(segments[k, 0]),
                               float(segments[k, 1])))
    return detections
