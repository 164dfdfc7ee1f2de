"""Temporal detection mAP with the ActivityNet protocol, vectorised with numpy.

Same numbers as the original ``ANETDetection`` (ActivityNet toolkit as adapted by ACM-Net / FTCL):
per class, predictions sorted by ``score.argsort()[::-1]`` (numpy's tie order included); each one,
threshold by threshold, takes the highest-tIoU ground truth of its video and class not yet taken,
ground truths ordered by ``tiou.argsort()[::-1]`` and stopping at the first one under the
threshold; all-point interpolated AP; mean over the classes present in the ground truth.

Conventions (documented in the README):
- ``subset="auto"``: "test" if the ground truth has it, else "val", else "validation", else the
  only subset present.
- ground-truth videos: every video of the subset (original), or only ``split_videos``.
- predictions for videos without ground truth in the evaluated set are false positives, as in
  the toolkit (the published AutoLoc table needs it), reported by one counted warning.
  Predictions of a known class absent from the evaluated ground truth are not scored (warning;
  the toolkit crashes). A label that is not a known class, or a NaN / inverted segment, raises
  ValueError naming the file, video and entry. Video ids match with or without the "v_" prefix.

CLI: ``python -m eval.detection --gt GT.json --pred RESULTS.json [--subset auto] [--split FILE]
[--tiou 0.1:0.9:0.1] [--json OUT]``; ``--protocol thumos14`` (with ``--gt`` or ``--annotations
DIR``) evaluates with the official THUMOS'14 rules of ``eval.thumos14``, ``--protocol wtalc``
(with ``--wtalc-annotations DIR``, or ``--gt`` whose folder holds ``Thumos14reduced-Annotations``)
with the W-TALC convention of ``eval.wtalc`` (CO2-Net / STCL-Net), ``--protocol all`` with the
three, printed side by side; ``--export-submission OUT.txt`` writes a results JSON in the official
text format.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from eval.inputs import read_split  # noqa: F401  (the CLI's split reader, re-exported)
from eval import thumos14, wtalc
from eval.inputs import (GtSource, ResultsSource, database_labels, evaluated_ground_truth,
                         match_id, read_database, read_predictions, resolve_subset)
from eval.report import (DEFAULT_TIOU, DetectionResult, format_side_by_side, format_table,
                         parse_tiou, range_averages)
from eval.results import write_json_atomic


# ---------------------------------------------------------------------------------------------
# Matching and AP
# ---------------------------------------------------------------------------------------------

def _sort_by_class_score(label: np.ndarray, score: np.ndarray, num_classes: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Prediction order: class by class, within a class ``score.argsort()[::-1]`` over the
    class's predictions in file order (the toolkit's exact tie order). Returns (order (P,),
    class boundaries (C+1,))."""
    by_class = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[by_class], np.arange(num_classes + 1))
    order = [idx[np.argsort(score[idx])[::-1]]
             for idx in (by_class[a:b] for a, b in zip(bounds[:-1], bounds[1:]))]
    return np.concatenate(order) if order else by_class, bounds


def _segment_iou(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """tIoU of pred (A, 1, 2)-broadcast against gt (A, n, 2) with the toolkit's arithmetic."""
    inter = (np.minimum(pred[..., 1], gt[..., 1]) - np.maximum(pred[..., 0], gt[..., 0])).clip(0)
    union = (gt[..., 1] - gt[..., 0]) + (pred[..., 1] - pred[..., 0]) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / union


def _sorted_candidates(first: np.ndarray, count: np.ndarray, seg: np.ndarray,
                       gt_seg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each prediction's ground truths ordered by ``tiou.argsort()[::-1]``, in a ragged layout.

    Prediction p's candidates are gt ``first[p] .. first[p]+count[p]-1``. Rows of equal count n
    are sorted together as (rows, n) arrays, so numpy runs the same sort on the same (n,) values
    as the toolkit does per prediction (ties broken identically). Returns offsets (P+1,) and the
    flat candidate ids and tIoUs (sum(count),).
    """
    offsets = np.concatenate([[0], np.cumsum(count)])
    ids_flat = np.empty(offsets[-1], dtype=np.int64)
    iou_flat = np.empty(offsets[-1], dtype=np.float64)
    for n in np.unique(count[count > 0]):
        rows = np.flatnonzero(count == n)
        ids = first[rows][:, None] + np.arange(n)
        ious = _segment_iou(seg[rows][:, None, :], gt_seg[ids])
        by_iou = np.argsort(ious, axis=1)[:, ::-1]
        dest = offsets[rows][:, None] + np.arange(n)
        ids_flat[dest] = np.take_along_axis(ids, by_iou, axis=1)
        iou_flat[dest] = np.take_along_axis(ious, by_iou, axis=1)
    return offsets, ids_flat, iou_flat


def _true_positives(gt_key: np.ndarray, gt_seg: np.ndarray, key: np.ndarray, seg: np.ndarray,
                    tiou: np.ndarray) -> np.ndarray:
    """Greedy matching of sorted predictions; returns tp (K, P) bool.

    gt_key (G,) / key (P,) = class * (V+1) + video; predictions are in their final (class, score)
    order. The matching is sequential only within a (class, video) group, so step r handles the
    r-th prediction of every group at once, for all thresholds: a prediction takes the first
    free candidate before the first one under the threshold (candidates past the first one under
    the smallest threshold are dropped up front).
    """
    gt_order = np.argsort(gt_key, kind="stable")
    gt_key, gt_seg = gt_key[gt_order], gt_seg[gt_order]
    first = np.searchsorted(gt_key, key, side="left")
    count = np.searchsorted(gt_key, key, side="right") - first
    offsets, ids_flat, iou_flat = _sorted_candidates(first, count, seg, gt_seg)
    # Candidates after the first one under the smallest threshold are never reached.
    stops = np.flatnonzero(iou_flat < np.min(tiou))
    next_stop = np.append(stops, offsets[-1])[np.searchsorted(stops, offsets[:-1])]
    reach = np.minimum(next_stop, offsets[1:]) - offsets[:-1]
    by_group = np.argsort(key, kind="stable")
    group_start = np.searchsorted(key[by_group], key[by_group], side="left")
    rank = np.empty(len(key), dtype=np.int64)
    rank[by_group] = np.arange(len(key)) - group_start

    tp = np.zeros((len(tiou), len(key)), dtype=bool)
    locked = np.zeros((len(tiou), len(gt_key)), dtype=bool)
    thr = np.asarray(tiou, dtype=np.float64)[:, None, None]
    active = np.flatnonzero(reach > 0)
    active = active[np.argsort(rank[active], kind="stable")]
    for step in np.split(active, np.flatnonzero(np.diff(rank[active])) + 1):
        if step.size == 0:
            continue
        n = reach[step][:, None]
        k = np.arange(int(n.max()))[None, :]
        pos = offsets[step][:, None] + np.minimum(k, n - 1)
        ious = np.where(k < n, iou_flat[pos], -np.inf)
        ids = ids_flat[pos]
        reachable = np.logical_and.accumulate(~(ious[None] < thr), axis=2)
        candidates = reachable & ~locked[:, ids]
        hit = candidates.any(axis=2)
        chosen = ids[np.arange(len(step))[None, :], candidates.argmax(axis=2)]
        tp[:, step] = hit
        k_hit, a_hit = np.nonzero(hit)
        locked[k_hit, chosen[k_hit, a_hit]] = True
    return tp


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """All-point interpolated AP (VOC 2011 / ActivityNet) of one precision-recall curve (N,)."""
    mprec = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def cumulative_precision_recall(tp: np.ndarray, npos: int) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall (K, P) after each of one class's sorted predictions, from their tp
    (K, P) and the class's ``npos`` ground-truth instances."""
    tp_cum = np.cumsum(tp, axis=1, dtype=np.float64)
    fp_cum = np.cumsum(~tp, axis=1, dtype=np.float64)
    return tp_cum / (tp_cum + fp_cum), tp_cum / npos


def _average_precision(tp: np.ndarray, npos: int) -> np.ndarray:
    """AP at each threshold from tp (K, P) of one class's sorted predictions -> (K,)."""
    precision, recall = cumulative_precision_recall(tp, npos)
    return np.array([interpolated_ap(precision[k], recall[k]) for k in range(len(tp))])


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------

@dataclass
class Matching:
    """Predictions matched to the evaluated ground truth, the common ground of
    ``evaluate_detection`` and ``eval.pr.precision_recall``.

    Scored predictions in their final order, class by class and by score within a class: class c
    owns positions ``bounds[c]:bounds[c+1]``; score (P,) their scores, tp (K, P) whether each is
    a true positive at each threshold of tiou (K,); npos (C,) ground-truth instances per class of
    class_names (C,), the classes present in the evaluated ground truth.
    """

    tiou: np.ndarray
    subset: str
    class_names: list[str]
    tp: np.ndarray
    bounds: np.ndarray
    score: np.ndarray
    npos: np.ndarray
    num_videos: int
    num_outside: int


def match_detections(gt_path_or_db: GtSource, results: ResultsSource, subset: str = "auto",
                     tiou_thresholds: Sequence[float] = DEFAULT_TIOU,
                     class_names: Sequence[str] | None = None,
                     split_videos: Iterable[str] | None = None,
                     warn_predictions: bool = True, stacklevel: int = 1) -> Matching:
    """Read the ground truth and the results, and match them with the conventions of the module
    docstring (arguments of ``evaluate_detection``). ``warn_predictions``: warn about predictions
    outside the evaluated videos or classes; ``stacklevel``: where the warnings point, counted as
    ``warnings.warn`` would from the caller (1: the caller, 2: its caller)."""
    db, gt_source = read_database(gt_path_or_db)
    subset = resolve_subset(db, subset)
    tiou = np.asarray(tiou_thresholds, dtype=np.float64)
    gt = evaluated_ground_truth(db, gt_source, subset, class_names, split_videos,
                                stacklevel=stacklevel + 1)
    known = class_names if class_names is not None else database_labels(db)
    pred_source, videos, labels, scores, segments = read_predictions(results, known)

    num_classes, num_videos = len(gt.class_names), len(gt.videos)
    video_index = {v: i for i, v in enumerate(gt.videos)}
    lookup = {v: match_id(v, video_index) for v in dict.fromkeys(videos)}
    class_index = {name: c for c, name in enumerate(gt.class_names)}
    p_video = np.fromiter((lookup[v] for v in videos), np.int64, len(videos))
    p_label = np.fromiter((class_index.get(name, -1) for name in labels), np.int64, len(labels))
    outside = p_video < 0
    unscored = p_label < 0
    if warn_predictions and outside.any():
        names = sorted({v for v, i in lookup.items() if i < 0})
        warnings.warn(f"{pred_source}: {int(outside.sum())} predictions for {len(names)} videos "
                      f"without ground truth in the evaluated set (subset {subset!r}"
                      f"{', split' if split_videos is not None else ''}) count as false "
                      f"positives, e.g. {names[:3]}", stacklevel=stacklevel + 1)
    if warn_predictions and unscored.any():
        warnings.warn(f"{pred_source}: {int(unscored.sum())} predictions of classes with no "
                      f"ground truth in the evaluated set are not scored",
                      stacklevel=stacklevel + 1)
    p_video = np.where(outside, num_videos, p_video)  # a video with no ground truth
    keep = ~unscored
    p_video, p_label, scores, segments = (p_video[keep], p_label[keep], scores[keep],
                                          segments[keep])

    order, bounds = _sort_by_class_score(p_label, scores, num_classes)
    tp = _true_positives(gt.label * (num_videos + 1) + gt.video, gt.segment,
                         (p_label * (num_videos + 1) + p_video)[order], segments[order], tiou)
    return Matching(tiou=tiou, subset=subset, class_names=list(gt.class_names), tp=tp,
                    bounds=bounds, score=scores[order],
                    npos=np.bincount(gt.label, minlength=num_classes), num_videos=num_videos,
                    num_outside=int(outside.sum()))


def evaluate_detection(gt_path_or_db: GtSource, results: ResultsSource, subset: str = "auto",
                       tiou_thresholds: Sequence[float] = DEFAULT_TIOU,
                       class_names: Sequence[str] | None = None,
                       split_videos: Iterable[str] | None = None) -> DetectionResult:
    """Detection mAP of ``results`` (submission dict or path) against a gt.json (path, or the
    loaded dict with its "database"). ``split_videos`` restricts the ground truth to those
    videos (the "split" convention); None keeps every video of the subset (original)."""
    m = match_detections(gt_path_or_db, results, subset, tiou_thresholds, class_names,
                         split_videos, stacklevel=2)
    ap = np.zeros((len(m.tiou), len(m.class_names)))
    for c in range(len(m.class_names)):
        if m.bounds[c + 1] > m.bounds[c]:
            ap[:, c] = _average_precision(m.tp[:, m.bounds[c]:m.bounds[c + 1]], int(m.npos[c]))
    mAP = ap.mean(axis=1)
    return DetectionResult(tiou=m.tiou, mAP=mAP, ap=ap, class_names=m.class_names,
                           averages=range_averages(m.tiou, mAP), subset=m.subset,
                           num_videos=m.num_videos, num_gt=int(m.npos.sum()),
                           num_predictions=len(m.score), num_outside=m.num_outside,
                           gt_videos="subset" if split_videos is None else "split")


def evaluate_both(gt_path_or_db: GtSource, results: ResultsSource, split_videos: Iterable[str],
                  subset: str = "auto", tiou_thresholds: Sequence[float] = DEFAULT_TIOU,
                  class_names: Sequence[str] | None = None) -> dict[str, DetectionResult]:
    """Both ground-truth conventions: {"subset": every video of the subset (original),
    "split": only ``split_videos``}."""
    split_videos = list(split_videos)
    return {"subset": evaluate_detection(gt_path_or_db, results, subset, tiou_thresholds,
                                         class_names),
            "split": evaluate_detection(gt_path_or_db, results, subset, tiou_thresholds,
                                        class_names, split_videos)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval.detection",
        description="Temporal detection mAP: the ActivityNet protocol (default), the official "
                    "THUMOS'14 one (--protocol thumos14), the W-TALC convention of CO2-Net / "
                    "STCL-Net (--protocol wtalc) or all three side by side (--protocol all).")
    parser.add_argument("--gt", default=None, help="gt.json (ActivityNet / ACM-Net layout)")
    parser.add_argument("--pred", required=True,
                        help="results JSON (submission format); with --protocol thumos14 also an "
                             "official submission text file (video start end class_id score)")
    parser.add_argument("--protocol", choices=("activitynet", "thumos14", "wtalc", "all"),
                        default="activitynet",
                        help="activitynet (default): score-ordered matching, tIoU >= t, "
                             "interpolated AP; thumos14: the official TH14evalDet rules; wtalc: "
                             "the CO2-Net / STCL-Net evaluator (snippet units, Ambiguous filter "
                             "before matching); all: the three, side by side (needs --gt)")
    parser.add_argument("--wtalc-annotations", default=None, metavar="DIR",
                        help="wtalc/all: the W-TALC annotation arrays (videoname, subset, "
                             "classlist, segments, labels .npy and Ambiguous_test.txt; default: "
                             "Thumos14reduced-Annotations beside --gt when present, else the "
                             "gt.json converted, without Ambiguous segments)")
    parser.add_argument("--annotations", default=None,
                        help="thumos14: folder of the official <Class>_<subset>.txt files and "
                             "Ambiguous_<subset>.txt (instead of --gt)")
    parser.add_argument("--classlist", default=None,
                        help="thumos14: detclasslist.txt ('id name' per line) giving the classes "
                             "and their ids (default: the official 20 classes, ids 7..97)")
    parser.add_argument("--strict-class-ids", action="store_true",
                        help="thumos14: a submission row with an unknown class id is an error "
                             "(default: skipped with a warning, as the official toolkit)")
    parser.add_argument("--subset", default="auto",
                        help="gt subset to evaluate (default auto: test, else val, else "
                             "validation, else the only one; with --annotations: test)")
    parser.add_argument("--split", default=None,
                        help="split file: evaluate only its videos (also prints the "
                             "every-video-of-the-subset convention)")
    parser.add_argument("--tiou", default="0.1:0.9:0.1",
                        help="tIoU thresholds: one (0.5), a list (0.3,0.5,0.7) or first:last:step "
                             "(default 0.1:0.9:0.1; ActivityNet: 0.5:0.95:0.05)")
    parser.add_argument("--json", default=None, help="write the result as JSON here")
    parser.add_argument("--export-submission", default=None, metavar="OUT.txt",
                        help="write --pred (results JSON) in the official THUMOS'14 text format; "
                             "evaluates too when --gt or --annotations is given")
    parser.add_argument("--time-decimals", type=int, default=None,
                        help="--export-submission: round times to this many decimals "
                             "(default: exact)")
    parser.add_argument("--score-decimals", type=int, default=None,
                        help="--export-submission: round scores to this many decimals "
                             "(default: exact)")
    return parser


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Flag combinations argparse cannot express (exits with a usage error)."""
    thumos_only = [flag for flag, value in (("--annotations", args.annotations),
                                            ("--classlist", args.classlist),
                                            ("--strict-class-ids", args.strict_class_ids))
                   if value]
    if args.protocol not in ("thumos14", "all") and thumos_only:
        parser.error(f"{', '.join(thumos_only)} need --protocol thumos14 (or all)")
    if args.wtalc_annotations and args.protocol not in ("wtalc", "all"):
        parser.error("--wtalc-annotations needs --protocol wtalc (or all)")
    if args.protocol == "all" and not args.gt:
        parser.error("--protocol all needs --gt (the ActivityNet-style protocol reads it)")
    if args.gt and args.annotations and args.protocol != "all":
        parser.error("give either --gt or --annotations, not both")
    if args.split and args.protocol in ("wtalc", "all"):
        parser.error("--split does not apply to --protocol wtalc/all (the W-TALC convention "
                     "evaluates every video of the subset)")
    if args.annotations and args.split:
        parser.error("--split applies to --gt (the official files are evaluated whole)")
    if args.protocol == "wtalc" and not (args.gt or args.wtalc_annotations
                                         or args.export_submission):
        parser.error("--protocol wtalc needs --wtalc-annotations DIR or --gt")
    if not (args.gt or args.annotations or args.wtalc_annotations or args.export_submission):
        parser.error("--gt (or, with --protocol thumos14, --annotations) is required")
    if not args.export_submission and (args.time_decimals is not None
                                       or args.score_decimals is not None):
        parser.error("--time-decimals / --score-decimals apply to --export-submission")


def _evaluate_thumos14(args: argparse.Namespace, tiou: np.ndarray
                       ) -> tuple[DetectionResult, DetectionResult | None, list[str]]:
    """The official protocol for the CLI: (result, subset-convention result or None, notes)."""
    class_ids = thumos14.read_class_list(args.classlist) if args.classlist else None
    names = list(class_ids) if class_ids else thumos14.OFFICIAL_CLASS_NAMES
    pred: Any = args.pred
    if not thumos14.is_json_file(pred):
        pred = thumos14.read_submission(pred, names, class_ids, strict=args.strict_class_ids)
    if args.annotations:
        subset = "test" if args.subset == "auto" else args.subset
        gt = thumos14.load_official_ground_truth(args.annotations, names, subset)
        return thumos14.evaluate_official(pred, gt, tiou, class_ids), None, []
    notes = ["note: ground truth from a gt.json: Ambiguous segments are unavailable (detections "
             "touching them count as false positives, and videos with Ambiguous segments only "
             "are absent); pass --annotations for the official files"]
    split = read_split(args.split) if args.split else None
    result = thumos14.evaluate_official(
        pred, thumos14.ground_truth_from_gt_json(args.gt, names, args.subset, split), tiou,
        class_ids)
    other = None if split is None else thumos14.evaluate_official(
        pred, thumos14.ground_truth_from_gt_json(args.gt, names, args.subset), tiou, class_ids)
    return result, other, notes


def _evaluate_wtalc(args: argparse.Namespace, tiou: np.ndarray
                    ) -> tuple[DetectionResult, list[str]]:
    """The W-TALC convention for the CLI: (result, notes). The arrays of --wtalc-annotations, else
    of ``Thumos14reduced-Annotations`` beside --gt, else the gt.json converted (no Ambiguous
    segments: said in a note)."""
    folder = wtalc.find_annotations(Path(args.gt).parent if args.gt else None,
                                    args.wtalc_annotations)
    subset = "test" if args.subset == "auto" else args.subset
    if folder is not None:
        gt = wtalc.load_wtalc_ground_truth(folder, subset)
        return wtalc.evaluate_wtalc(args.pred, gt, tiou), []
    notes = [f"note: no {wtalc.ANNOTATIONS_FOLDER} beside {args.gt}: W-TALC ground truth "
             "converted from the gt.json, without Ambiguous segments (nothing is filtered); pass "
             "--wtalc-annotations DIR for the arrays"]
    gt = wtalc.ground_truth_from_gt_json(args.gt, args.subset)
    return wtalc.evaluate_wtalc(args.pred, gt, tiou), notes


def _evaluate_all(args: argparse.Namespace, tiou: np.ndarray
                  ) -> tuple[dict[str, DetectionResult], list[str]]:
    """The three protocols for one results file. The official one reads --annotations, else the
    official files beside --gt (``official/annotations_test``) when present, else the gt.json."""
    if not args.annotations:
        official = Path(args.gt).parent / "official" / "annotations_test"
        if official.is_dir() and (args.subset in ("auto", "test")):
            args = argparse.Namespace(**{**vars(args), "annotations": str(official)})
    th_args = argparse.Namespace(**{**vars(args), "gt": None if args.annotations else args.gt})
    official_result, _, notes = _evaluate_thumos14(th_args, tiou)
    wtalc_result, wtalc_notes = _evaluate_wtalc(args, tiou)
    results = {"activitynet": evaluate_detection(args.gt, args.pred, args.subset, tiou),
               "thumos14": official_result, "wtalc": wtalc_result}
    return results, notes + wtalc_notes


PROTOCOL_TITLES = {
    "activitynet": "protocol: ActivityNet-style (score-ordered matching, tIoU >= t, interpolated "
                   "AP; seconds)",
    "thumos14": "protocol: official THUMOS'14 (TH14evalDet 2015: ground-truth-driven matching, "
                "overlap > t, Ambiguous segments, non-interpolated AP)",
    "wtalc": "protocol: W-TALC (CO2-Net / STCL-Net evaluator: snippets of 16 frames at 25 fps, "
             "ground truth rounded half to even, Ambiguous filter before matching, tIoU >= t, "
             "interpolated AP)",
}


def _print_result(protocol: str, result: DetectionResult, title: bool) -> None:
    """A protocol's title (when ``title``), table and the lines its original toolkit prints."""
    if title:
        print(PROTOCOL_TITLES[protocol])
    print(format_table(result))
    if protocol == "thumos14":
        print("mAP as the official toolkit prints it (%f): "
              + " ".join(f"{t:g}:{m:f}" for t, m in zip(result.tiou, result.mAP)))
    if protocol == "wtalc":
        print("as the original prints it (x100):\n" + wtalc.original_print(result))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eval.detection``: print the table; --json writes the result;
    --export-submission writes the official THUMOS'14 text format."""
    parser = _parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    try:
        if args.export_submission:
            class_ids = thumos14.read_class_list(args.classlist) if args.classlist else None
            count = thumos14.write_submission(
                args.pred, args.export_submission, list(class_ids) if class_ids else None,
                class_ids, args.time_decimals, args.score_decimals)
            print(f"wrote {args.export_submission}: {count} detections (official THUMOS'14 "
                  "submission format)")
            if not (args.gt or args.annotations or args.wtalc_annotations):
                return 0
        tiou = parse_tiou(args.tiou)
        notes: list[str] = []
        other = None
        if args.protocol == "all":
            results, notes = _evaluate_all(args, tiou)
        elif args.protocol == "thumos14":
            result, other, notes = _evaluate_thumos14(args, tiou)
        elif args.protocol == "wtalc":
            result, notes = _evaluate_wtalc(args, tiou)
        elif args.split is None:
            result = evaluate_detection(args.gt, args.pred, args.subset, tiou)
        else:
            both = evaluate_both(args.gt, args.pred, read_split(args.split), args.subset, tiou)
            result, other = both["split"], both["subset"]
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.protocol == "all":
        for protocol, one in results.items():
            _print_result(protocol, one, title=True)
        print("side by side (mAP):")
        print(format_side_by_side(results))
        out = {name: one.to_json() for name, one in results.items()}
    else:
        _print_result(args.protocol, result, title=args.protocol != "activitynet")
        out = result.to_json()
    for note in notes:
        print(note)
    if other is not None:
        print("every video of the subset (original convention): " + ", ".join(
            f"{name} {value:.4f}" for name, value in other.averages.items()))
        out["average_subset_convention"] = other.averages
    if args.json:
        try:
            write_json_atomic(Path(args.json), out)
        except OSError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    return 0

if __name__ == "__main__":
    sys.exit(main())
