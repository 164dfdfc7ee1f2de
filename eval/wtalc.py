"""Temporal detection mAP with the W-TALC convention: the evaluator of the official CO2-Net and
STCL-Net code (``ANETdetection`` of ``eval/eval_detection.py``, run on THUMOS'14 in snippet units),
together with the Ambiguous filter that code applies to its proposals, for the results of any
method. Pure functions of arrays and files.

What differs from the other two protocols (``eval.detection``, ``eval.thumos14``):

- **units**: one snippet = 16 frames at 25 fps (0.64 s) for every video. Ground-truth times from
  the W-TALC ``segments.npy`` become ``round(t*25/16)`` with Python's half-to-even rounding
  (17 THUMOS'14 test instances become zero-length: never matched, still counted); detection
  times become ``t*25/16``, unrounded (values within 1e-9 of a whole snippet are snapped to it, so
  times written as ``k*0.64`` come back as the original's integer indices);
- **Ambiguous**: a detection is dropped before matching, whatever its class and even if it would
  have been a true positive, when its snippet range ``range(int(s), int(e))`` shares an integer
  index with ``range(round(a*25/16), round(b*25/16))`` of an Ambiguous segment [a, b] of its
  video. In the original this is post-processing (``filter_segments``, called by the proposal
  function after soft-NMS), and its evaluator never reads the Ambiguous file; the filter drops
  each detection on its own, so applying it here is idempotent: results that the post-processing
  already filtered score the same;
- **ground truth**: the videos of the subset ("test") with at least one segment, in array order
  (THUMOS'14: 212 videos, 3 358 instances, videos 270 and 1496 included, 1292 absent); classes
  are the ``classlist.npy`` positions; detections on other videos are false positives;
- thresholds are compared as their decimal literals (the original's list ``[0.1, ..., 0.9]``;
  ``np.arange``'s 0.30000000000000004 would turn the many exact 3/10 tIoUs of whole snippets into
  misses);
- matching and AP are the ActivityNet toolkit's: per class, detections by ``score.argsort()[::-1]``
  (numpy's tie order), each one taking the highest-tIoU free ground truth of its video with
  tIoU >= t (no "+1" in the tIoU), all-point interpolated AP, mean over the classes present in the
  ground truth; a class without detections has AP 0.

Ground truth comes from the W-TALC annotation arrays (``load_wtalc_ground_truth``: ``videoname``,
``subset``, ``classlist``, ``segments``, ``labels`` and ``Ambiguous_test.txt``) or from a gt.json
converted the same way (``ground_truth_from_gt_json``). ``evaluate_wtalc`` returns a
``DetectionResult`` (tables print as the other protocols'); ``original_print`` gives the lines the
original prints. The literal port of the original, the test oracle, is
``tests/reference/original_wtalc_eval.py``.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from eval.inputs import (GtSource, ResultsSource, evaluated_ground_truth, match_id, read_database,
                         read_predictions, resolve_subset)
from eval.report import DEFAULT_TIOU, DetectionResult, named_thresholds, range_averages
from eval.thumos14 import read_segment_file

PROTOCOL = "wtalc"
FPS = 25
SNIPPET_FRAMES = 16
AMBIGUOUS_FILE = "Ambiguous_test.txt"
ARRAYS = ("videoname", "subset", "classlist", "segments", "labels")
SNAP = 1e-9
# The means the original prints: main.py's best-so-far line (0.1-0.5, 0.1-0.7, all).
PRINTED_MEANS = (("0.1-0.5", 0.1, 0.5), ("0.1-0.7", 0.1, 0.7))


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WtalcLayout:
    """One dataset in the W-TALC layout: ``P/<name>-I3D-JOINTFeatures.npy`` and the arrays in
    ``P/<name>-Annotations/`` (``C:wsad_dataset.py:14-15``, the same pattern for both datasets).

    name: the original's ``--dataset-name``; train_subset / test_subset: the ``subset.npy``
    values of the training and of the test videos (``SampleDataset``: validation / test,
    ``C:wsad_dataset.py:62-69``; ``AntSampleDataset``: training / validation, ``:282-287``);
    ambiguous: whether its ``Ambiguous_test.txt`` drops detections (THUMOS'14). On ActivityNet
    1.2 the original reads THUMOS's file (a path relative to the working directory), which names
    none of its videos: nothing is dropped (spec sec. 6.4).
    """

    name: str
    train_subset: str
    test_subset: str
    ambiguous: bool

    @property
    def features_file(self) -> str:
        """``<name>-I3D-JOINTFeatures.npy``: the object array of (T, D) features."""
        return f"{self.name}-I3D-JOINTFeatures.npy"

    @property
    def annotations_folder(self) -> str:
        """``<name>-Annotations``: the folder of the annotation arrays."""
        return f"{self.name}-Annotations"


LAYOUTS = {"THUMOS": WtalcLayout("Thumos14reduced", "validation", "test", True),
           "ActivityNet": WtalcLayout("ActivityNet1.2", "training", "validation", False)}
"""The W-TALC layout of each dataset of the scripts: THUMOS'14 (``Thumos14reduced``) and, for
ActivityNet, ActivityNet 1.2 (the only ActivityNet of CO2-Net, ``C:run.sh:10``)."""
ANNOTATIONS_FOLDER = LAYOUTS["THUMOS"].annotations_folder

@dataclass(frozen=True, eq=False)
class WtalcGroundTruth:
    """Ground truth of the W-TALC protocol, in snippet units.

    class_names (C,): every class, position = class index (``classlist.npy`` order). videos (V,):
    the evaluated videos (of ``subset``, with at least one segment) in array order. Instances in
    array order: video (G,) and label (G,) int64 indices into ``videos`` and ``class_names``,
    segment (G, 2) float64 whole snippets. Ambiguous segments: ambiguous_video (A,) names,
    ambiguous_range (A, 2) int64 snippet index ranges [start, end). ``has_ambiguous`` is False
    when no Ambiguous file was read; ``description`` says where the ground truth came from.
    """

    class_names: tuple[str, ...]
    videos: tuple[str, ...]
    video: np.ndarray
    label: np.ndarray
    segment: np.ndarray
    ambiguous_video: tuple[str, ...]
    ambiguous_range: np.ndarray
    has_ambiguous: bool
    subset: str
    source: str
    description: str


@dataclass
class WtalcDetectionResult(DetectionResult):
    """A ``DetectionResult`` of the W-TALC protocol; ``num_dropped_ambiguous`` detections were
    dropped by the Ambiguous filter before matching (they are not in ``num_predictions``)."""

    protocol: str = PROTOCOL
    has_ambiguous: bool = True
    num_dropped_ambiguous: int = 0

    def to_json(self) -> dict[str, Any]:
        """``DetectionResult.to_json`` plus the protocol, the Ambiguous flag and the drop count."""
        out = super().to_json()
        out.update(protocol=self.protocol, units="snippets (16 frames at 25 fps)",
                   has_ambiguous=self.has_ambiguous,
                   num_dropped_ambiguous=self.num_dropped_ambiguous)
        return out


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------

def gt_to_snippets(seconds: np.ndarray, fps: float = FPS,
                   snippet_frames: float = SNIPPET_FRAMES) -> np.ndarray:
    """Ground-truth times (seconds) -> whole snippets as the original converts them:
    ``round(t*25/16)`` on the float64 product, half to even (Python's ``round``)."""
    return np.rint(np.asarray(seconds, dtype=np.float64) * fps / snippet_frames)


def detections_to_snippets(seconds: np.ndarray, fps: float = FPS,
                           snippet_frames: float = SNIPPET_FRAMES, snap: float = SNAP
                           ) -> np.ndarray:
    """Detection times (seconds) -> snippets, ``t*25/16`` unrounded; a value within ``snap`` of a
    whole snippet becomes that integer (``k*0.64`` s gives back index k exactly)."""
    x = np.asarray(seconds, dtype=np.float64) * fps / snippet_frames
    whole = np.rint(x)
    return np.where(np.abs(x - whole) <= snap, whole, x)


# ---------------------------------------------------------------------------------------------
# Ground truth
# ---------------------------------------------------------------------------------------------

def read_ambiguous(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """``Ambiguous_test.txt`` (``video  start end`` per line, seconds; the W-TALC copy has two
    spaces after the name and CRLF endings) -> video names (A,) and segments (A, 2) float64 in
    file order: the official annotation format (:func:`eval.thumos14.read_segment_file`)."""
    return read_segment_file(path, what="Ambiguous file")


def ambiguous_ranges(seconds: np.ndarray, fps: float = FPS,
                     snippet_frames: float = SNIPPET_FRAMES) -> np.ndarray:
    """Ambiguous segments (A, 2) seconds -> the original's snippet index ranges (A, 2) int64,
    ``range(round(a*25/16), round(b*25/16))`` (half to even)."""
    return gt_to_snippets(seconds, fps, snippet_frames).astype(np.int64).reshape(-1, 2)


def _decode(values: np.ndarray) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values.reshape(-1)]


def _load_array(folder: Path, name: str) -> np.ndarray:
    path = folder / f"{name}.npy"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: W-TALC annotation array not found")
    try:
        # segments.npy and labels.npy are object arrays of lists: these W-TALC annotation arrays
        # are the only files of the protocol loaded with pickling enabled (trusted files only).
        return np.load(path, allow_pickle=name in ("segments", "labels"))
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path}: cannot read ({err})") from None


def _build(class_names: Sequence[str], per_video: Sequence[tuple[str, Sequence, Sequence]],
           subset: str, source: str, ambiguous: str | os.PathLike | None, description: str,
           fps: float, snippet_frames: float) -> WtalcGroundTruth:
    """Ground truth from (video, segments in seconds, labels) per video, in the given order:
    videos with at least one segment are kept."""
    index = {name: c for c, name in enumerate(class_names)}
    videos, vid, lab, seg = [], [], [], []
    for name, segments, labels in per_video:
        if len(segments) == 0:
            continue
        if len(labels) != len(segments):
            raise ValueError(f"{source}: video {name!r} has {len(segments)} segments but "
                             f"{len(labels)} labels")
        for k, (pair, label) in enumerate(zip(segments, labels)):
            if label not in index:
                raise ValueError(f"{source}: video {name!r} segment {k}: label {label!r} is not "
                                 "in the class list")
            try:
                start, end = float(pair[0]), float(pair[1])
            except (TypeError, ValueError, IndexError):
                raise ValueError(f"{source}: video {name!r} segment {k}: expected [start, end] "
                                 f"in seconds, got {pair!r}") from None
            if not (np.isfinite(start) and np.isfinite(end)):
                raise ValueError(f"{source}: video {name!r} segment {k}: not finite")
            vid.append(len(videos))
            lab.append(index[label])
            seg.append((start, end))
        videos.append(name)
    if not videos:
        raise ValueError(f"{source}: no video of subset {subset!r} has a segment")
    amb_videos: list[str] = []
    amb_seconds = np.zeros((0, 2))
    if ambiguous is not None:
        amb_videos, amb_seconds = read_ambiguous(ambiguous)
    seconds = np.asarray(seg, dtype=np.float64).reshape(-1, 2)
    return WtalcGroundTruth(
        class_names=tuple(class_names), videos=tuple(videos),
        video=np.asarray(vid, dtype=np.int64), label=np.asarray(lab, dtype=np.int64),
        segment=gt_to_snippets(seconds, fps, snippet_frames),
        ambiguous_video=tuple(amb_videos),
        ambiguous_range=ambiguous_ranges(amb_seconds, fps, snippet_frames),
        has_ambiguous=ambiguous is not None, subset=subset, source=source,
        description=description + (f" (+{len(amb_videos)} Ambiguous segments)"
                                   if ambiguous is not None else " (no Ambiguous file)"))


def load_wtalc_ground_truth(annotations_dir: str | os.PathLike, subset: str = "test",
                            ambiguous: str | os.PathLike | None | bool = True,
                            fps: float = FPS, snippet_frames: float = SNIPPET_FRAMES
                            ) -> WtalcGroundTruth:
    """The W-TALC annotation arrays of ``annotations_dir`` (e.g. ``Thumos14reduced-Annotations``):
    ``videoname``, ``subset``, ``classlist``, ``segments``, ``labels`` (.npy). ``ambiguous``:
    True reads ``<annotations_dir>/Ambiguous_test.txt`` (an error when missing), a path reads that
    file, False/None applies no Ambiguous filter."""
    folder = Path(annotations_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: W-TALC annotation folder not found")
    arrays = {name: _load_array(folder, name) for name in ARRAYS}
    names, subsets = _decode(arrays["videoname"]), _decode(arrays["subset"])
    segments, labels = arrays["segments"].reshape(-1), arrays["labels"].reshape(-1)
    if not len(names) == len(subsets) == len(segments) == len(labels):
        raise ValueError(f"{folder}: videoname, subset, segments and labels differ in length "
                         f"({len(names)}, {len(subsets)}, {len(segments)}, {len(labels)})")
    if subset not in subsets:
        raise ValueError(f"{folder}: no video of subset {subset!r} (subsets: "
                         f"{sorted(set(subsets))})")
    amb = folder / AMBIGUOUS_FILE if ambiguous is True else (ambiguous or None)
    per_video = [(name, list(segs), [x.decode("utf-8") if isinstance(x, bytes) else str(x)
                                     for x in labs])
                 for name, s, segs, labs in zip(names, subsets, segments, labels) if s == subset]
    return _build(_decode(arrays["classlist"]), per_video, subset, str(folder), amb,
                  "W-TALC annotation arrays", fps, snippet_frames)


def ground_truth_from_gt_json(gt_path_or_db: GtSource, subset: str = "auto",
                              class_names: Sequence[str] | None = None,
                              ambiguous: str | os.PathLike | None = None,
                              split_videos: Iterable[str] | None = None,
                              fps: float = FPS, snippet_frames: float = SNIPPET_FRAMES
                              ) -> WtalcGroundTruth:
    """W-TALC ground truth from a gt.json (path or loaded dict) converted as the original converts
    its arrays: every video of ``subset`` (or only ``split_videos``) in file order, times to
    snippets half to even. ``class_names`` gives the class indices (default: the labels, sorted,
    as ``classlist.npy``). No Ambiguous segments unless an ``ambiguous`` file is given.

    On THUMOS'14 the instances equal the arrays' (two test videos list them in another order,
    which only matters for ties)."""
    db, source = read_database(gt_path_or_db)
    subset = resolve_subset(db, subset)
    gt = evaluated_ground_truth(db, source, subset, class_names, split_videos)
    names = list(class_names) if class_names is not None else sorted(gt.class_names)
    per_video = []
    for i, video in enumerate(gt.videos):
        mine = gt.video == i
        per_video.append((video, gt.segment[mine].tolist(),
                          [gt.class_names[c] for c in gt.label[mine]]))
    return _build(names, per_video, subset, source, ambiguous,
                  f"{'subset' if split_videos is None else 'split'} of the gt.json", fps,
                  snippet_frames)


# ---------------------------------------------------------------------------------------------
# The Ambiguous filter, matching and AP (pure functions of arrays)
# ---------------------------------------------------------------------------------------------

def touches_ambiguous(video: Sequence[str], segment: np.ndarray, amb_video: Sequence[str],
                      amb_range: np.ndarray) -> np.ndarray:
    """(P,) bool: the original's filter. Detection p (snippet units, segment (P, 2)) is dropped
    when ``range(int(start), int(end))`` shares an integer with the range of an Ambiguous segment
    of the same video name (``int`` truncates toward zero; an empty range shares nothing)."""
    drop = np.zeros(len(video), dtype=bool)
    if not len(amb_video) or not len(video):
        return drop
    by_video: dict[str, list[int]] = {}
    for a, name in enumerate(amb_video):
        by_video.setdefault(name, []).append(a)
    video_arr = np.asarray(list(video), dtype=object)
    q = np.trunc(np.asarray(segment, dtype=np.float64).reshape(-1, 2))
    for name, rows in by_video.items():
        mine = np.flatnonzero(video_arr == name)
        if not mine.size:
            continue
        g = amb_range[rows].astype(np.float64)                               # (a, 2)
        lo = np.maximum(q[mine, None, 0], g[None, :, 0])
        hi = np.minimum(q[mine, None, 1], g[None, :, 1])
        drop[mine] = (lo < hi).any(axis=1)
    return drop


def segment_iou(segment: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """tIoU of one segment (2,) against candidates (n, 2), the toolkit's arithmetic (no "+1");
    0/0 (a zero-length detection against a zero-length instance) gives NaN, as there."""
    tt1 = np.maximum(segment[0], candidates[:, 0])
    tt2 = np.minimum(segment[1], candidates[:, 1])
    inter = (tt2 - tt1).clip(0)
    union = (candidates[:, 1] - candidates[:, 0]) + (segment[1] - segment[0]) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / union


def match_class(gt_video: np.ndarray, gt_segment: np.ndarray, video: np.ndarray,
                segment: np.ndarray, score: np.ndarray, tiou: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """One class: detections ranked by ``score.argsort()[::-1]`` -> (order (P,), tp (K, P)).

    gt_video (G,) / gt_segment (G, 2): the class's instances in ground-truth order; video (P,),
    segment (P, 2), score (P,): its detections in input order. Each detection, for every
    threshold t, walks its video's instances by ``tiou.argsort()[::-1]``: the first one under t
    stops the walk (false positive), a taken one is skipped, the first free one is taken (true
    positive). A NaN tIoU never stops the walk (the toolkit's ``<`` is False on NaN).
    """
    order = np.argsort(score)[::-1]
    tp = np.zeros((len(tiou), len(order)), dtype=bool)
    locked = np.zeros((len(tiou), len(gt_video)), dtype=bool)
    by_video: dict[int, np.ndarray] = {}
    for v in np.unique(gt_video):
        by_video[int(v)] = np.flatnonzero(gt_video == v)
    thr = np.asarray(tiou, dtype=np.float64)[:, None]
    rows = np.arange(len(tiou))
    for r, p in enumerate(order):
        mine = by_video.get(int(video[p]))
        if mine is None:
            continue
        iou = segment_iou(segment[p], gt_segment[mine])
        by_iou = iou.argsort()[::-1]
        ids, ious = mine[by_iou], iou[by_iou]
        reachable = np.logical_and.accumulate(~(ious[None, :] < thr), axis=1)
        free = reachable & ~locked[:, ids]
        hit = free.any(axis=1)
        if hit.any():
            chosen = ids[free.argmax(axis=1)]
            tp[hit, r] = True
            locked[rows[hit], chosen[hit]] = True
    return order, tp


def interpolated_ap(tp: np.ndarray, npos: int) -> np.ndarray:
    """All-point interpolated AP (VOC 2011) at each threshold from tp (K, P) of one class's ranked
    detections and its ``npos`` instances -> (K,); the toolkit's float64 arithmetic."""
    tp_cum = np.cumsum(tp, axis=1).astype(np.float64)
    fp_cum = np.cumsum(~tp, axis=1).astype(np.float64)
    recall = tp_cum / npos
    precision = tp_cum / (tp_cum + fp_cum)
    out = np.zeros(len(tp))
    for k in range(len(tp)):
        mprec = np.hstack([[0], precision[k], [0]])
        mrec = np.hstack([[0], recall[k], [1]])
        mprec = np.maximum.accumulate(mprec[::-1])[::-1]
        idx = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
        out[k] = np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx])
    return out


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------

def printed_means(tiou: np.ndarray, mAP: np.ndarray) -> dict[str, float]:
    """The means the original prints (fractions): over 0.1-0.5 and 0.1-0.7 when those thresholds
    are all present, and over every threshold ("ALL")."""
    out = {}
    for name, first, last in PRINTED_MEANS:
        points = np.arange(first, last + 0.05, 0.1)
        idx = [np.flatnonzero(np.isclose(tiou, p, atol=1e-6)) for p in points]
        if all(i.size for i in idx):
            out[name] = float(np.mean(mAP[[int(i[0]) for i in idx]]))
    out["ALL"] = float(np.mean(mAP))
    return out


def original_print(result: DetectionResult) -> str:
    """The lines the original prints for this result (x100): ``map @ 0.1 = 12.345 ||...``
    (test.py, 3 decimals) and ``mAP Avg 0.1-0.5: ..., mAP Avg 0.1-0.7: ..., mAP Avg ALL: ...``
    (main.py's best-so-far line, unrounded in the original, 3 decimals here)."""
    per_t = "||".join(f"map @ {t:g} = {m * 100:.3f} "
                      for t, m in zip(named_thresholds(result.tiou), result.mAP))
    means = ", ".join(f"mAP Avg {name}: {value * 100:.3f}"
                      for name, value in printed_means(np.asarray(result.tiou),
                                                       np.asarray(result.mAP)).items())
    return per_t + "\n" + means


def evaluate_wtalc(results: ResultsSource, ground_truth: WtalcGroundTruth,
                   tiou_thresholds: Sequence[float] = DEFAULT_TIOU,
                   filter_ambiguous: bool = True, fps: float = FPS,
                   snippet_frames: float = SNIPPET_FRAMES) -> WtalcDetectionResult:
    """mAP of ``results`` (a results dict or JSON path, times in seconds) under the W-TALC
    convention (module docstring), at the thresholds' decimal literals (0.3, not np.arange's
    0.30000000000000004, as the original's list). ``filter_ambiguous``: apply the original's
    Ambiguous filter (when the ground truth has Ambiguous segments). A label outside the class
    list raises ValueError; detections of a listed class without ground truth are not scored (one
    warning: the original never evaluates that class); detections on videos without ground truth
    are false positives (one counted warning)."""
    gt = ground_truth
    # The original compares with the literals [0.1, 0.2, ..., 0.9] (test.py), not np.arange's
    # 0.30000000000000004: in whole snippets a tIoU of exactly 0.3 (3/10) is common.
    tiou = np.asarray(named_thresholds(tiou_thresholds), dtype=np.float64)
    names = list(gt.class_names)
    source, videos, labels, scores, seconds = read_predictions(results, names)
    class_index = {name: c for c, name in enumerate(names)}
    video_index = {v: i for i, v in enumerate(gt.videos)}
    lookup = {v: match_id(v, video_index) for v in dict.fromkeys(videos)}
    p_video = np.fromiter((lookup[v] for v in videos), np.int64, len(videos))
    p_label = np.fromiter((class_index[n] for n in labels), np.int64, len(labels))
    p_seg = detections_to_snippets(seconds, fps, snippet_frames).reshape(-1, 2)
    # The video name the filter compares: the ground truth's spelling when the id matches one.
    p_name = [gt.videos[lookup[v]] if lookup[v] >= 0 else v for v in videos]

    dropped = np.zeros(len(videos), dtype=bool)
    if filter_ambiguous and gt.has_ambiguous:
        dropped = touches_ambiguous(p_name, p_seg, gt.ambiguous_video, gt.ambiguous_range)
    present = np.unique(gt.label)
    unscored = ~np.isin(p_label, present)
    keep = ~dropped & ~unscored
    outside = keep & (p_video < 0)
    if outside.any():
        missing = sorted({videos[i] for i in np.flatnonzero(outside)})
        warnings.warn(f"{source}: {int(outside.sum())} predictions for {len(missing)} videos "
                      f"without ground truth in the evaluated set (subset {gt.subset!r}) count "
                      f"as false positives, e.g. {missing[:3]}", stacklevel=2)
    if (unscored & ~dropped).any():
        warnings.warn(f"{source}: {int((unscored & ~dropped).sum())} predictions of classes with "
                      "no ground truth in the evaluated set are not scored", stacklevel=2)

    ap = np.zeros((len(tiou), len(present)))
    npos = np.bincount(gt.label, minlength=len(names))
    for col, c in enumerate(present):
        mine = np.flatnonzero(keep & (p_label == c))
        if not mine.size:
            continue            # no prediction of the class: AP 0, as the original
        g = gt.label == c
        _, tp = match_class(gt.video[g], gt.segment[g], p_video[mine], p_seg[mine],
                            scores[mine], tiou)
        ap[:, col] = interpolated_ap(tp, int(npos[c]))
    mAP = ap.mean(axis=1)
    return WtalcDetectionResult(
        tiou=tiou, mAP=mAP, ap=ap, class_names=[names[c] for c in present],
        averages=range_averages(tiou, mAP), subset=gt.subset, num_videos=len(gt.videos),
        num_gt=len(gt.label), num_predictions=int(keep.sum()), num_outside=int(outside.sum()),
        gt_videos=gt.description, has_ambiguous=gt.has_ambiguous and filter_ambiguous,
        num_dropped_ambiguous=int(dropped.sum()))


def find_annotations(data_dir: str | os.PathLike | None, given: str | os.PathLike | None = None,
                     dataset: str = "THUMOS") -> Path | None:
    """The W-TALC annotation folder of ``dataset`` (a key of :data:`LAYOUTS`): ``given`` when
    set, else ``<data_dir>/<name>-Annotations`` (THUMOS: ``Thumos14reduced-Annotations``,
    ActivityNet: ``ActivityNet1.2-Annotations``) when it exists, else None."""
    if given is not None:
        return Path(given)
    folder = LAYOUTS[dataset].annotations_folder
    if data_dir is not None and (Path(data_dir) / folder).is_dir():
        return Path(data_dir) / folder
    return None


def read_classlist(folder: str | os.PathLike) -> list[str]:
    """The class names of ``<folder>/classlist.npy`` in file order (the position is the class
    index everywhere in the original); a one-line error naming the file when it is missing,
    unreadable or empty."""
    names = _decode(_load_array(Path(folder), "classlist"))
    if not names:
        raise ValueError(f"{Path(folder) / 'classlist.npy'}: no class")
    return names


def wtalc_database(folder: str | os.PathLike) -> dict[str, Any]:
    """The annotation arrays of ``folder`` as a gt.json object, for a data folder in the W-TALC
    layout alone (no gt.json): ``{"version", "database": {video: {"duration", "subset",
    "annotations": [{"segment": [start, end], "label"}]}}}``, seconds, videos in array order,
    from ``videoname``, ``subset``, ``duration`` ((V,) or (V, 1)), ``segments``, ``labels`` and
    ``classlist`` (.npy). Arrays of different lengths, a duration that is not a positive
    number, a malformed segment or a label outside ``classlist.npy`` is a one-line ValueError
    naming the file."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: W-TALC annotation folder not found")
    names = _decode(_load_array(root, "videoname"))
    subsets = _decode(_load_array(root, "subset"))
    durations = _load_array(root, "duration").reshape(-1)
    segments = _load_array(root, "segments").reshape(-1)
    labels = _load_array(root, "labels").reshape(-1)
    known = set(read_classlist(root))
    for name, array in (("subset", subsets), ("duration", durations), ("segments", segments),
                        ("labels", labels)):
        if len(array) != len(names):
            raise ValueError(f"{root / (name + '.npy')}: {len(array)} entries, videoname.npy "
                             f"names {len(names)}")
    database: dict[str, Any] = {}
    for k, video in enumerate(names):
        try:
            duration = float(durations[k])
        except (TypeError, ValueError):
            duration = float("nan")
        if not (np.isfinite(duration) and duration > 0):
            raise ValueError(f"{root / 'duration.npy'}: video {video!r}: the duration must be a "
                             f"positive number, got {durations[k]!r}")
        video_labels = [x.decode("utf-8") if isinstance(x, bytes) else str(x)
                        for x in labels[k]]
        if len(video_labels) != len(segments[k]):
            raise ValueError(f"{root / 'labels.npy'}: video {video!r} has {len(video_labels)} "
                             f"labels for {len(segments[k])} segments")
        annotations = []
        for j, (pair, label) in enumerate(zip(segments[k], video_labels)):
            try:
                start, end = float(pair[0]), float(pair[1])
            except (TypeError, ValueError, IndexError):
                start = end = float("nan")
            if not (np.isfinite(start) and np.isfinite(end)):
                raise ValueError(f"{root / 'segments.npy'}: video {video!r} segment {j}: "
                                 f"expected [start, end] in seconds, got {pair!r}")
            if label not in known:
                raise ValueError(f"{root / 'labels.npy'}: video {video!r} segment {j}: label "
                                 f"{label!r} is not in classlist.npy")
            annotations.append({"segment": [start, end], "label": label})
        database[video] = {"duration": duration, "subset": subsets[k],
                           "annotations": annotations}
    return {"version": f"W-TALC arrays of {root}", "database": database}


__all__ = ["AMBIGUOUS_FILE", "ANNOTATIONS_FOLDER", "FPS", "LAYOUTS", "PROTOCOL", "SNIPPET_FRAMES",
           "WtalcDetectionResult", "WtalcGroundTruth", "WtalcLayout", "ambiguous_ranges",
           "detections_to_snippets", "evaluate_wtalc", "find_annotations",
           "ground_truth_from_gt_json", "gt_to_snippets", "interpolated_ap",
           "load_wtalc_ground_truth", "match_class", "original_print", "printed_means",
           "read_ambiguous", "read_classlist", "segment_iou", "touches_ambiguous",
           "wtalc_database"]
