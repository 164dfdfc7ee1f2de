"""One rule of the official THUMOS'14 protocol per test (``eval.thumos14``), each on a small
hand-made case whose AP is worked out in the docstring.

``tests/test_thumos14_protocol.py`` checks the whole evaluator against the toolkit's printed
table and the spec's worked example; when one of those fails it does not say which rule broke.
These cases do: each is built so that breaking its rule (and only a few others) changes the
answer. Section numbers refer to the protocol spec (``thumos14-official-protocol.md``). One class
(BaseballPitch, official id 7) throughout; V1, V2 name two test videos.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from eval.thumos14 import evaluate_official, interval_overlap, load_official_ground_truth

V1, V2 = "video_test_0000001", "video_test_0000002"
CLASS = "BaseballPitch"


def official_ap(folder: Path, gt: Sequence[tuple], detections: Sequence[tuple],
                thresholds: Sequence[float], ambiguous: Sequence[tuple] = ()) -> list[float]:
    """AP of the one class at each threshold. gt and ambiguous: (video, start, end) lines in file
    order; detections: (video, start, end, score) rows of the submission, in file order."""
    folder.mkdir()
    (folder / f"{CLASS}_test.txt").write_text("".join(f"{v} {s} {e}\n" for v, s, e in gt))
    (folder / "Ambiguous_test.txt").write_text("".join(f"{v} {s} {e}\n"
                                                       for v, s, e in ambiguous))
    submission = folder / "submission.txt"
    submission.write_text("".join(f"{v} {s} {e} 7 {score}\n" for v, s, e, score in detections))
    result = evaluate_official(submission, load_official_ground_truth(folder, [CLASS]),
                               thresholds)
    assert result.mAP.tolist() == result.ap[:, 0].tolist()
    return result.ap[:, 0].tolist()


def test_overlap_must_be_strictly_above_the_threshold(tmp_path):
    """Spec 2.3: a GT [0, 10] and a detection [0, 5] overlap 5/10 = 0.5 exactly: no match at
    0.5 (AP 0), a match at 0.4 (AP 1)."""
    ap = official_ap(tmp_path / "gt", [(V1, 0, 10)], [(V1, 0, 5, 0.9)], [0.4, 0.5])
    assert ap == [1.0, 0.0]


def test_overlap_is_intersection_over_hull_in_seconds(tmp_path):
    """Spec 2.1: GT [0, 10] and detection [4, 14]: 6 s in common, hull [0, 14], overlap 6/14 =
    0.4286 (no +1, no frames): a match at 0.4, none at 0.45. The detection written reversed
    ([14, 4]) is the same interval. Intervals that only touch ([10, 20]) overlap 0."""
    np.testing.assert_allclose(
        interval_overlap(np.array([[0.0, 10.0]] * 3), np.array([[4.0, 14.0], [5.0, 10.0],
                                                                 [10.0, 20.0]])),
        [6 / 14, 5 / 10, 0.0], rtol=0, atol=1e-15)
    assert official_ap(tmp_path / "a", [(V1, 0, 10)], [(V1, 4, 14, 0.9)], [0.4, 0.45]) == [1.0,
                                                                                          0.0]
    assert official_ap(tmp_path / "b", [(V1, 0, 10)], [(V1, 14, 4, 0.9)], [0.4, 0.45]) == [1.0,
                                                                                          0.0]


def test_ambiguous_segments_drop_unmatched_detections_only(tmp_path):
    """Spec 2.4-2.5, threshold 0.5. GT: V1 [0, 10] and [18, 24], V2 [50, 60] (never found);
    Ambiguous: V1 [20, 30] and V2 [100, 110]. Detections (score): B V1 [25, 35] (0.9) shares
    5 s with the Ambiguous segment and matches nothing: dropped. C V1 [30, 40] (0.8) only
    touches it (0 s): a false positive. E V1 [18, 24] (0.7) matches [18, 24] and stays a true
    positive although it overlaps the Ambiguous segment. F V2 [20, 30] (0.6): V2's Ambiguous
    segment is elsewhere, a false positive. A V1 [0, 10] (0.5): a true positive.
    Ranked without B: C FP, E TP, F FP, A TP -> AP = (1/2 + 2/4) / 3 = 1/3.
    Without the Ambiguous segments B is a false positive too: B FP, C FP, E TP, F FP, A TP ->
    (1/3 + 2/5) / 3 = 11/45."""
    gt = [(V1, 0, 10), (V1, 18, 24), (V2, 50, 60)]
    detections = [(V1, 25, 35, 0.9), (V1, 30, 40, 0.8), (V1, 18, 24, 0.7), (V2, 20, 30, 0.6),
                  (V1, 0, 10, 0.5)]
    ambiguous = [(V1, 20, 30), (V2, 100, 110)]
    assert official_ap(tmp_path / "gt", gt, detections, [0.5], ambiguous) == pytest.approx(
        [1 / 3], abs=1e-15)
    assert official_ap(tmp_path / "none", gt, detections, [0.5]) == pytest.approx(
        [11 / 45], abs=1e-15)


def test_a_taken_detection_is_not_available_to_later_instances(tmp_path):
    """Spec 2.3, threshold 0.5. GT in file order G1 [0, 10], G2 [0, 9]; detections A [0, 10]
    (0.9) and B [0, 8] (0.8). G1 takes A (overlap 1). For G2, A (0.9) would beat B (8/9) but is
    taken, so G2 takes B: two true positives, AP 1. Were A still free, G2 would not get B, and
    B would be a false positive (AP 1/2)."""
    ap = official_ap(tmp_path / "gt", [(V1, 0, 10), (V1, 0, 9)],
                     [(V1, 0, 10, 0.9), (V1, 0, 8, 0.8)], [0.5])
    assert ap == [1.0]


def test_instances_pick_in_ground_truth_file_order(tmp_path):
    """Spec 1.3 and 2.3, threshold 0.5. GT lines in this order: G1 [2, 12], then G2 [0, 10]
    (G2 starts first). Detections X [2, 11] (0.9): G1 9/10, G2 8/11; Y [0, 6] (0.8): G1 4/12,
    G2 6/10. G1 picks first and takes X; G2 takes Y (0.6 > 0.5): AP 1. Taken by start time,
    G2 would take X and G1 find only Y (1/3): X TP, Y FP, AP 1/2."""
    ap = official_ap(tmp_path / "gt", [(V1, 2, 12), (V1, 0, 10)],
                     [(V1, 2, 11, 0.9), (V1, 0, 6, 0.8)], [0.5])
    assert ap == [1.0]


def test_ties_in_score_keep_video_name_then_row_order(tmp_path):
    """Spec 3.1 and 2.3, threshold 0.4; every detection scores 0.5.
    Across videos: GT V1 [0, 10] and V2 [50, 60]; rows: V2 [0, 10] (a false positive) before
    V1 [0, 10] (a true positive). V1 sorts first, so the TP ranks first: AP (1/1) / 2 = 1/2
    (row order would give (1/2) / 2 = 1/4).
    Within a video: GT V1 [0, 10]; rows: V1 [30, 40] (FP) before V1 [0, 10] (TP): the row
    order stands, FP then TP, AP 1/2 (TP first would give 1).
    Overlap ties: GT V1 [0, 10]; detections [0, 5] (0.6) and [5, 10] (0.9) both overlap 0.5;
    the instance takes the higher-ranked one, [5, 10]: TP then FP, AP 1 (the other way round:
    FP then TP, 1/2)."""
    across = official_ap(tmp_path / "across", [(V1, 0, 10), (V2, 50, 60)],
                         [(V2, 0, 10, 0.5), (V1, 0, 10, 0.5)], [0.4])
    assert across == [0.5]
    within = official_ap(tmp_path / "within", [(V1, 0, 10)],
                         [(V1, 30, 40, 0.5), (V1, 0, 10, 0.5)], [0.4])
    assert within == [0.5]
    overlap_tie = official_ap(tmp_path / "overlap_tie", [(V1, 0, 10)],
                              [(V1, 0, 5, 0.6), (V1, 5, 10, 0.9)], [0.4])
    assert overlap_tie == [1.0]


def test_ap_is_the_mean_precision_at_the_true_positives_over_all_instances(tmp_path):
    """Spec 3.2. Three GT instances; ranked detections: FP (0.9), TP (0.8), TP (0.7); the third
    instance is never found. Non-interpolated AP = (1/2 + 2/3) / 3 = 7/18 = 0.3889 (the
    precision envelope would give 4/9, dividing by the TPs found 7/12, 11-point
    interpolation 14/33)."""
    gt = [(V1, 0, 10), (V1, 20, 30), (V1, 40, 50)]
    detections = [(V1, 60, 70, 0.9), (V1, 0, 10, 0.8), (V1, 20, 30, 0.7)]
    assert official_ap(tmp_path / "gt", gt, detections, [0.5]) == pytest.approx([7 / 18],
                                                                                abs=1e-15)


def test_no_overlap_in_a_shared_video_scores_zero(tmp_path):
    """A detection of the right class in the right video that overlaps no instance enough is a
    false positive (AP 0), not a crash (the assignment once reduced over an empty array)."""
    ap = official_ap(tmp_path / "gt", [(V1, 0, 10)], [(V1, 30, 40, 0.5)], [0.1, 0.5])
    assert ap == [0.0, 0.0]
