"""Temporal detection mAP with the official THUMOS'14 protocol (``TH14evalDet``, evalkit of
2015-09-30), vectorised with numpy.

What differs from the ActivityNet-style evaluator of ``eval.detection``:

- matching is driven by the ground truth: per class and video, each instance in file order takes
  the still free detection it overlaps most (ties: the higher-ranked one), whatever its score, and
  keeps it only if the overlap is strictly greater than the threshold;
- a detection left unassigned that shares any positive stretch with an ``Ambiguous`` segment of
  its video is dropped (neither true nor false positive);
- AP is non-interpolated: the mean precision at the true positives over the number of instances;
- ties in score keep the order video name, then row of the submission (stable sorts);
- every line of the ground-truth files counts, whatever videos the submission covers.

Ground truth comes from the official ``<Class>_<subset>.txt`` files and ``Ambiguous_<subset>.txt``
(``load_official_ground_truth``) or from a gt.json (``ground_truth_from_gt_json``: no Ambiguous
segments exist there, and the result says so). Detections come from the project's results JSON
or from the official submission text format, ``video start end class_id score`` per line
(``read_submission`` / ``write_submission``).
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from eval.inputs import (GtSource, evaluated_ground_truth, read_database, read_predictions,
                         resolve_subset)
from eval.report import DEFAULT_TIOU, DetectionResult, range_averages
from utils.io import atomic_write

# The official class list (detclasslist.txt of the evalkit): UCF101 index of each evaluated class,
# in list order. Submissions name classes by these ids.
OFFICIAL_CLASS_IDS: dict[str, int] = {
    "BaseballPitch": 7, "BasketballDunk": 9, "Billiards": 12, "CleanAndJerk": 21,
    "CliffDiving": 22, "CricketBowling": 23, "CricketShot": 24, "Diving": 26,
    "FrisbeeCatch": 31, "GolfSwing": 33, "HammerThrow": 36, "HighJump": 40,
    "JavelinThrow": 45, "LongJump": 51, "PoleVault": 68, "Shotput": 79, "SoccerPenalty": 85,
    "TennisSwing": 92, "ThrowDiscus": 93, "VolleyballSpiking": 97,
}
OFFICIAL_CLASS_NAMES: list[str] = list(OFFICIAL_CLASS_IDS)
AMBIGUOUS = "Ambiguous"
PROTOCOL = "thumos14"


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class OfficialGroundTruth:
    """Ground truth of the official protocol.

    videos (V,): the distinct video names, sorted. Instances in reading order (classes in list
    order, lines in file order): video (G,) and label (G,) int64 indices into ``videos`` and
    ``class_names``, segment (G, 2) float64 seconds. Ambiguous segments: ambiguous_video (A,),
    ambiguous_segment (A, 2). ``has_ambiguous`` is False when the source has no Ambiguous
    segments at all (a gt.json), and ``description`` says where the ground truth came from.
    """

    class_names: tuple[str, ...]
    videos: tuple[str, ...]
    video: np.ndarray
    label: np.ndarray
    segment: np.ndarray
    ambiguous_video: np.ndarray
    ambiguous_segment: np.ndarray
    has_ambiguous: bool
    subset: str
    source: str
    description: str


@dataclass(frozen=True, eq=False)
class Submission:
    """Detections in file order: video (N,) names (".mp4" removed), label (N,) int64 indices into
    the class names, segment (N, 2) float64 seconds as written, score (N,) float64; ``skipped``
    counts the rows whose class id is not in the class list."""

    video: list[str]
    label: np.ndarray
    segment: np.ndarray
    score: np.ndarray
    source: str
    skipped: int = 0


@dataclass
class OfficialDetectionResult(DetectionResult):
    """A ``DetectionResult`` of the official protocol; ``dropped`` (K,) counts the detections
    dropped for touching an Ambiguous segment at each threshold."""

    protocol: str = PROTOCOL
    has_ambiguous: bool = True
    dropped: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``DetectionResult.to_json`` plus the protocol, the Ambiguous flag and drop counts."""
        out = super().to_json()
        out.update(protocol=self.protocol, has_ambiguous=self.has_ambiguous,
                   num_dropped_ambiguous=list(self.dropped))
        return out


ResultsInput = str | os.PathLike | Mapping[str, Any] | Submission


# ---------------------------------------------------------------------------------------------
# Class lists
# ---------------------------------------------------------------------------------------------

def read_class_list(path: str | os.PathLike) -> dict[str, int]:
    """A ``detclasslist.txt`` (``id name`` per line) -> {name: id} in file order."""
    out: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or not _is_int(parts[0]):
                raise ValueError(f"{path}:{lineno}: expected 'class_id ClassName', got "
                                 f"{line.strip()!r}")
            if parts[1] in out or int(parts[0]) in out.values():
                raise ValueError(f"{path}:{lineno}: class {parts[1]} or id {parts[0]} repeated")
            out[parts[1]] = int(parts[0])
    if not out:
        raise ValueError(f"{path}: empty class list")
    return out


def _class_ids(class_names: Sequence[str], class_ids: Mapping[str, int] | None) -> list[int]:
    ids = OFFICIAL_CLASS_IDS if class_ids is None else class_ids
    missing = [name for name in class_names if name not in ids]
    if missing:
        raise ValueError(f"classes {missing[:5]} have no official class id; pass class_ids "
                         "(e.g. read_class_list('detclasslist.txt'))")
    return [int(ids[name]) for name in class_names]


def _is_int(token: str) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Ground truth
# ---------------------------------------------------------------------------------------------

def read_segment_file(path: str | os.PathLike, what: str = "ground-truth file"
                      ) -> tuple[list[str], np.ndarray]:
    """One official annotation file (``video start end`` per line, seconds; fields split on any
    whitespace) -> the video names (n,) and segments (n, 2) float64, in file order. Blank lines
    are ignored; a missing file raises FileNotFoundError "<path>: <what> not found", a malformed
    line ValueError "<path>:<line>: <problem>"."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found")
    videos, segments = [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3:
                raise ValueError(f"{path}:{lineno}: expected 'video start end', got "
                                 f"{line.strip()!r}")
            try:
                start, end = float(parts[1]), float(parts[2])
            except ValueError:
                raise ValueError(f"{path}:{lineno}: start/end {parts[1]!r} {parts[2]!r} are not "
                                 "numbers") from None
            if not (math.isfinite(start) and math.isfinite(end)):
                raise ValueError(f"{path}:{lineno}: segment [{start}, {end}] is not finite")
            videos.append(parts[0])
            segments.append((start, end))
    return videos, np.asarray(segments, dtype=np.float64).reshape(-1, 2)


def load_official_ground_truth(annotations_dir: str | os.PathLike,
                               class_names: Sequence[str] | None = None,
                               subset: str = "test") -> OfficialGroundTruth:
    """The official files ``<annotations_dir>/<Class>_<subset>.txt`` for each class of
    ``class_names`` (default: the official list) and ``Ambiguous_<subset>.txt``. A missing file
    is an error, as in the toolkit."""
    folder = Path(annotations_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: annotation folder not found")
    names = tuple(OFFICIAL_CLASS_NAMES if class_names is None else class_names)
    per_class = [read_segment_file(folder / f"{name}_{subset}.txt") for name in names]
    amb_videos, amb_segments = read_segment_file(folder / f"{AMBIGUOUS}_{subset}.txt")
    videos = tuple(sorted({v for vs, _ in per_class for v in vs} | set(amb_videos)))
    index = {v: i for i, v in enumerate(videos)}
    gt_videos = [v for vs, _ in per_class for v in vs]
    return OfficialGroundTruth(
        class_names=names, videos=videos,
        video=np.fromiter((index[v] for v in gt_videos), np.int64, len(gt_videos)),
        label=np.repeat(np.arange(len(names), dtype=np.int64), [len(vs) for vs, _ in per_class]),
        segment=np.concatenate([s for _, s in per_class]).reshape(-1, 2),
        ambiguous_video=np.fromiter((index[v] for v in amb_videos), np.int64, len(amb_videos)),
        ambiguous_segment=amb_segments, has_ambiguous=True, subset=subset, source=str(folder),
        description=f"official files (+{len(amb_videos)} Ambiguous segments)")


def ground_truth_from_gt_json(gt_path_or_db: GtSource, class_names: Sequence[str] | None = None,
                              subset: str = "test",
                              split_videos: Iterable[str] | None = None) -> OfficialGroundTruth:
    """Ground truth from a gt.json (path or loaded dict): every video of ``subset`` ("auto": see
    ``eval.inputs.resolve_subset``), or only ``split_videos``. A gt.json has no Ambiguous
    segments, so ``has_ambiguous`` is False: detections touching them count as false positives,
    and videos with Ambiguous segments only (THUMOS'14 test video 1292) are absent."""
    db, source = read_database(gt_path_or_db)
    subset = resolve_subset(db, subset)
    names = tuple(OFFICIAL_CLASS_NAMES if class_names is None else class_names)
    gt = evaluated_ground_truth(db, source, subset, names, split_videos)
    label_of = {name: i for i, name in enumerate(names)}
    to_label = np.array([label_of[name] for name in gt.class_names], dtype=np.int64)
    order = sorted(range(len(gt.videos)), key=gt.videos.__getitem__)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    convention = "subset" if split_videos is None else "split"
    return OfficialGroundTruth(
        class_names=names, videos=tuple(gt.videos[i] for i in order), video=rank[gt.video],
        label=to_label[gt.label] if len(gt.label) else gt.label, segment=gt.segment,
        ambiguous_video=np.zeros(0, dtype=np.int64), ambiguous_segment=np.zeros((0, 2)),
        has_ambiguous=False, subset=subset, source=source,
        description=f"{convention} of the gt.json (no Ambiguous segments)")


# ---------------------------------------------------------------------------------------------
# Submission text format
# ---------------------------------------------------------------------------------------------

def read_submission(path: str | os.PathLike, class_names: Sequence[str] | None = None,
                    class_ids: Mapping[str, int] | None = None,
                    strict: bool = False) -> Submission:
    """An official submission file: ``video start end class_id score`` per line (spaces or tabs).

    ".mp4" is removed from video names; start > end is allowed (the toolkit orders each
    interval). Rows whose class id is not in the list (``class_ids``, default the official ids
    of ``class_names``) are skipped with one counted warning, as the toolkit does, or raise with
    ``strict``. A malformed line raises ValueError "<path>:<line>: <problem>".
    """
    names = OFFICIAL_CLASS_NAMES if class_names is None else list(class_names)
    label_of = {cid: c for c, cid in enumerate(_class_ids(names, class_ids))}
    videos, labels, rows = [], [], []
    skipped: list[int] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 5:
                raise ValueError(f"{path}:{lineno}: expected 5 fields 'video start end class_id "
                                 f"score', got {len(parts)}: {line.strip()!r}")
            try:
                values = (float(parts[1]), float(parts[2]), float(parts[4]))
            except ValueError:
                raise ValueError(f"{path}:{lineno}: start, end and score must be numbers, got "
                                 f"{parts[1]!r} {parts[2]!r} {parts[4]!r}") from None
            if not all(map(math.isfinite, values)):
                raise ValueError(f"{path}:{lineno}: non-finite value in {line.strip()!r}")
            if not _is_int(parts[3]):
                raise ValueError(f"{path}:{lineno}: class id {parts[3]!r} is not an integer")
            label = label_of.get(int(parts[3]), -1)
            if label < 0:
                if strict:
                    raise ValueError(f"{path}:{lineno}: unknown class id {parts[3]}")
                skipped.append(lineno)
                continue
            videos.append(parts[0].replace(".mp4", ""))
            labels.append(label)
            rows.append(values)
    if skipped:
        warnings.warn(f"{path}: {len(skipped)} rows with a class id outside the class list are "
                      f"skipped (lines {skipped[:5]}{' ...' if len(skipped) > 5 else ''})",
                      stacklevel=2)
    values = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    return Submission(video=videos, label=np.asarray(labels, dtype=np.int64),
                      segment=values[:, :2].copy(), score=values[:, 2].copy(), source=str(path),
                      skipped=len(skipped))


def _number(x: float, decimals: int | None) -> str:
    return repr(float(x)) if decimals is None else f"{x:.{decimals}f}"


def write_submission(results: str | os.PathLike | Mapping[str, Any], path: str | os.PathLike,
                     class_names: Sequence[str] | None = None,
                     class_ids: Mapping[str, int] | None = None,
                     time_decimals: int | None = None,
                     score_decimals: int | None = None) -> int:
    """Write a results dict (or JSON path) in the official submission text format, one line per
    detection in results order, atomically. Numbers are written exactly (shortest round-trip
    form) unless ``time_decimals`` / ``score_decimals`` round them. Returns the line count."""
    names = OFFICIAL_CLASS_NAMES if class_names is None else list(class_names)
    ids = dict(zip(names, _class_ids(names, class_ids)))
    source, videos, labels, scores, segments = read_predictions(results, names)
    bad = next((v for v in dict.fromkeys(videos) if not v or len(v.split()) != 1), None)
    if bad is not None:
        raise ValueError(f"{source}: video id {bad!r} cannot be written in the text format "
                         "(empty or contains whitespace)")
    lines = [f"{v} {_number(s, time_decimals)} {_number(e, time_decimals)} {ids[name]} "
             f"{_number(score, score_decimals)}\n"
             for v, name, score, (s, e) in zip(videos, labels, scores.tolist(),
                                               segments.tolist())]
    write_text_atomic(path, "".join(lines))
    return len(lines)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically, with the permissions the umask gives."""
    atomic_write(path, text.encode("utf-8"))


def is_json_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds JSON (its first non-blank character is "{"), not a submission text
    file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read(4096).lstrip().startswith("{")


def _submission(results: ResultsInput, class_names: Sequence[str],
                class_ids: Mapping[str, int] | None) -> Submission:
    """Any accepted results input -> Submission (a text file is recognised by its content)."""
    if isinstance(results, Submission):
        return results
    if not isinstance(results, Mapping) and not is_json_file(results):
        return read_submission(results, class_names, class_ids)
    source, videos, labels, scores, segments = read_predictions(results, class_names)
    label_of = {name: c for c, name in enumerate(class_names)}
    return Submission(video=[v.replace(".mp4", "") for v in videos],
                      label=np.fromiter((label_of[n] for n in labels), np.int64, len(labels)),
                      segment=segments, score=scores, source=source)


# ---------------------------------------------------------------------------------------------
# Matching and AP (pure functions of arrays)
# ---------------------------------------------------------------------------------------------

def official_thresholds(tiou_thresholds: Sequence[float]) -> np.ndarray:
    """Thresholds as their decimal literals (12 significant digits): np.arange's
    0.30000000000000004 becomes 0.3, the value the toolkit compares against with ">"."""
    tiou = np.array([float(f"{float(t):.12g}") for t in tiou_thresholds], dtype=np.float64)
    if tiou.size == 0 or not (np.isfinite(tiou).all() and (tiou >= 0).all() and
                              (tiou < 1).all()):
        raise ValueError(f"tIoU thresholds {tiou.tolist()}: need at least one, each in [0, 1)")
    return tiou


def interval_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The toolkit's overlap of ordered intervals a (..., 2) and b (..., 2), broadcast: the
    intersection over the hull when the intersection is positive, else 0."""
    inter = np.minimum(a[..., 1], b[..., 1]) - np.maximum(a[..., 0], b[..., 0])
    hull = np.maximum(a[..., 1], b[..., 1]) - np.minimum(a[..., 0], b[..., 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(inter > 0, inter / hull, 0.0)


def _group_pairs(left_key: np.ndarray, right_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with left_key[i] == right_key[j]; ``right_key`` sorted. Pairs come grouped by
    i ascending, j ascending within each i."""
    first = np.searchsorted(right_key, left_key, side="left")
    count = np.searchsorted(right_key, left_key, side="right") - first
    i = np.repeat(np.arange(len(left_key)), count)
    starts = np.cumsum(count) - count
    j = first[i] + np.arange(len(i)) - starts[i]
    return i, j


def assign_official(gt_key: np.ndarray, gt_seg: np.ndarray, det_key: np.ndarray,
                    det_seg: np.ndarray, tiou: np.ndarray) -> np.ndarray:
    """GT-driven one-to-one assignment of the toolkit at every threshold -> assigned (K, P) bool.

    gt_key (G,) / det_key (P,): group (class, video) of each instance / detection; gt_seg (G, 2)
    and det_seg (P, 2) ordered intervals. Instances are taken in their given order within a
    group; detections must be sorted by group, then position (score descending, then row). Each
    instance takes the free detection of its group with the largest overlap (the first on ties)
    if that overlap is > the threshold. Step r handles the r-th instance of every group at once,
    for all thresholds; only pairs that overlap more than the smallest threshold can match.
    """
    assigned = np.zeros((len(tiou), len(det_key)), dtype=bool)
    gt_order = np.argsort(gt_key, kind="stable")
    g_sorted = gt_key[gt_order]
    rank_in_group = np.arange(len(g_sorted)) - np.searchsorted(g_sorted, g_sorted, side="left")
    gi, dj = _group_pairs(gt_key, det_key)
    if gi.size == 0:
        return assigned
    overlap = interval_overlap(gt_seg[gi], det_seg[dj])
    keep = overlap > tiou.min()
    gi, dj, overlap = gi[keep], dj[keep], overlap[keep]
    if gi.size == 0:             # pairs share a (class, video) but none overlaps enough
        return assigned
    rank = np.empty(len(gt_key), dtype=np.int64)
    rank[gt_order] = rank_in_group
    # Ragged candidate lists of the instances that have any, ordered by their rank.
    gts, starts, counts = np.unique(gi, return_index=True, return_counts=True)
    by_rank = np.argsort(rank[gts], kind="stable")
    gts, starts, counts = gts[by_rank], starts[by_rank], counts[by_rank]
    step_bounds = np.flatnonzero(np.diff(rank[gts])) + 1
    thr = tiou[:, None]
    for step in np.split(np.arange(len(gts)), step_bounds):
        n = counts[step][:, None]
        k = np.arange(int(n.max()))[None, :]
        pos = starts[step][:, None] + np.minimum(k, n - 1)
        ids = dj[pos]                                                     # (S, W)
        ov = np.where(k < n, overlap[pos], -np.inf)                       # (S, W)
        free_ov = np.where(assigned[:, ids], -np.inf, ov[None])           # (K, S, W)
        best = free_ov.argmax(axis=2)                                     # (K, S)
        hit = np.take_along_axis(free_ov, best[..., None], axis=2)[..., 0] > thr
        k_hit, s_hit = np.nonzero(hit)
        assigned[k_hit, ids[s_hit, best[k_hit, s_hit]]] = True
    return assigned


def touches_ambiguous(det_video: np.ndarray, det_seg: np.ndarray, amb_video: np.ndarray,
                      amb_seg: np.ndarray) -> np.ndarray:
    """(P,) bool: the detection shares a positive stretch with an Ambiguous segment of its
    video."""
    order = np.argsort(amb_video, kind="stable")
    di, aj = _group_pairs(det_video, amb_video[order])
    touch = interval_overlap(det_seg[di], amb_seg[order][aj]) > 0
    return np.bincount(di[touch], minlength=len(det_video)) > 0


def official_ap(label: np.ndarray, score: np.ndarray, tie_order: np.ndarray,
                assigned: np.ndarray, dropped: np.ndarray, npos: np.ndarray) -> np.ndarray:
    """Non-interpolated AP (K, C): per class, kept detections ranked by score descending, ties by
    ``tie_order`` (video rank, then row); AP = sum of the precisions at the true positives /
    npos (0 where npos is 0).

    label (P,), score (P,), tie_order (P,) int; assigned (K, P) and dropped (K, P) bool; npos (C,).
    """
    num_k, num_c = assigned.shape[0], len(npos)
    rank = np.lexsort((tie_order, -score, label))
    lab = label[rank]
    tp = assigned[:, rank]
    kept = tp | ~dropped[:, rank]
    cum_tp = np.cumsum(tp, axis=1, dtype=np.float64)
    cum_kept = np.cumsum(kept, axis=1, dtype=np.float64)
    # Restart the running counts at each class: subtract the totals before the class's first row.
    first = np.searchsorted(lab, np.arange(num_c))
    before = np.concatenate([np.zeros((num_k, 1)), cum_tp], axis=1)[:, first[lab]]
    before_kept = np.concatenate([np.zeros((num_k, 1)), cum_kept], axis=1)[:, first[lab]]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp, (cum_tp - before) / (cum_kept - before_kept), 0.0)
    sums = np.bincount((np.arange(num_k)[:, None] * num_c + lab[None, :]).ravel(),
                       weights=precision.ravel(), minlength=num_k * num_c)
    return sums.reshape(num_k, num_c) / np.maximum(npos, 1)[None, :]


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------

def evaluate_official(results: ResultsInput, ground_truth: OfficialGroundTruth,
                      tiou_thresholds: Sequence[float] = DEFAULT_TIOU,
                      class_ids: Mapping[str, int] | None = None,
                      skip_empty_classes: bool = False) -> OfficialDetectionResult:
    """mAP of ``results`` under the official THUMOS'14 protocol.

    results: a results dict, a results JSON path, an official submission text path (recognised
    by content) or a ``Submission``. One evaluation per threshold (rounded to its decimal
    literal, see ``official_thresholds``); mAP is the plain mean over ``ground_truth``'s
    classes. A class without ground truth is an error, or with ``skip_empty_classes`` is left
    out of the classes and the mean (one warning). Detections on videos without any ground truth
    are false positives (one counted warning).
    """
    tiou = official_thresholds(tiou_thresholds)
    gt = ground_truth
    names = list(gt.class_names)
    sub = _submission(results, names, class_ids)
    npos = np.bincount(gt.label, minlength=len(names))
    classes = np.arange(len(names))
    if (npos == 0).any():
        empty = [names[c] for c in np.flatnonzero(npos == 0)]
        if not skip_empty_classes:
            raise ValueError(f"{gt.source}: classes {empty[:5]} have no ground-truth instance in "
                             f"subset {gt.subset!r}")
        warnings.warn(f"{gt.source}: {len(empty)} classes without ground truth are not "
                      f"evaluated, e.g. {empty[:3]}", stacklevel=2)
        classes = np.flatnonzero(npos > 0)

    # Videos: the union of the ground-truth and submission names, in sorted order.
    gt_index = {v: i for i, v in enumerate(gt.videos)}
    outside_names = sorted(set(sub.video) - gt_index.keys())
    videos = sorted(gt.videos + tuple(outside_names))
    rank_of = {v: i for i, v in enumerate(videos)}
    remap = np.fromiter((rank_of[v] for v in gt.videos), np.int64, len(gt.videos))
    det_video = np.fromiter((rank_of[v] for v in sub.video), np.int64, len(sub.video))
    num_outside = int(np.isin(det_video, [rank_of[v] for v in outside_names]).sum())
    if num_outside:
        warnings.warn(f"{sub.source}: {num_outside} predictions for {len(outside_names)} videos "
                      f"without ground truth count as false positives, e.g. {outside_names[:3]}",
                      stacklevel=2)
    in_class = np.isin(sub.label, classes)
    det_video, det_label = det_video[in_class], sub.label[in_class]
    det_seg = np.sort(sub.segment[in_class], axis=1)
    det_score = sub.score[in_class]
    row = np.arange(len(det_label))
    num_videos = len(videos)

    # Detections by (class, video, score descending, row): the toolkit's positions.
    pos = np.lexsort((row, -det_score, det_video, det_label))
    det_video, det_label, det_seg, det_score, row = (
        det_video[pos], det_label[pos], det_seg[pos], det_score[pos], row[pos])
    gt_video = remap[gt.video]
    assigned = assign_official(gt.label * num_videos + gt_video, np.sort(gt.segment, axis=1),
                               det_label * num_videos + det_video, det_seg, tiou)
    amb = touches_ambiguous(det_video, det_seg, remap[gt.ambiguous_video],
                            np.sort(gt.ambiguous_segment, axis=1))
    dropped = ~assigned & amb[None, :]
    tie_order = det_video * len(det_video) + row
    ap = official_ap(det_label, det_score, tie_order, assigned, dropped, npos.astype(np.float64))
    ap = ap[:, classes]
    mAP = ap.mean(axis=1)
    return OfficialDetectionResult(
        tiou=tiou, mAP=mAP, ap=ap, class_names=[names[c] for c in classes],
        averages=range_averages(tiou, mAP), subset=gt.subset, num_videos=len(gt.videos),
        num_gt=len(gt.label), num_predictions=len(det_label), num_outside=num_outside,
        gt_videos=gt.description, has_ambiguous=gt.has_ambiguous,
        dropped=dropped.sum(axis=1).tolist())
