"""Every threshold comparison of eval/proposals.py on inputs that sit EXACTLY on the threshold.

Random curves never hit a threshold to the bit, so a ``>=`` turned into ``>`` (or the reverse)
passes every random comparison with the original. Here the CAS and attention curves carry
plateaus whose values equal the original's threshold floats exactly (``np.arange`` drift
included, e.g. 0.30000000000000004), segments have an IoU equal to the NMS threshold to the bit,
and video scores equal the class threshold. Each case is compared with the literal port of the
original test loop (tests/reference/original_proposals.py), and each checks first that the
boundary matters (nudging the thresholds by one ulp changes the result), so the case cannot
pass by missing the edge.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from config import parse_args
from eval.proposals import ProposalParams, localize_video, nms, select_classes, upsample
from tests.reference.original_proposals import SETTINGS, original_localize
from tests.reference.original_proposals import nms as original_nms

NUM_CLASSES = 3
SELECTED = 1          # the one class whose video score is above the class threshold
# Shelf offset below each plateau: between the plateau's threshold and the next lower one.
SHELF_GAP = {"THUMOS": 0.025, "ActivityNet": 0.0025}
# A CAS level below every CAS threshold, for the attention-branch cases.
LOW_CAS = {"THUMOS": 0.1, "ActivityNet": 0.004}
VIDEO_SCORE = {"THUMOS": 0.6, "ActivityNet": 0.5}


def params(dataset: str, *flags: str) -> ProposalParams:
    return ProposalParams.from_args(parse_args(dataset, list(flags)))


def nudged(p: ProposalParams) -> ProposalParams:
    """The same parameters with every proposal threshold one ulp higher (what ``>`` would see)."""
    up = lambda values: tuple(float(np.nextafter(v, np.inf)) for v in values)  # noqa: E731
    return dataclasses.replace(p, cas_thresholds=up(p.cas_thresholds),
                               att_thresholds=up(p.att_thresholds))


def plateau_curve(thr: float, shelf: float, layout: str) -> np.ndarray:
    """A (T_in,) float64 curve holding two snippets exactly at ``thr``.

    "middle": 0 0 | shelf x8 | thr thr | shelf x8 | 0 0; the shelves (between ``thr`` and the next
    lower threshold) make the runs of lower thresholds so much wider that NMS cannot suppress the
    exact-threshold run. "edges": the plateaus touch both ends of the video (the outer OIC
    windows are clipped there, the end is extrapolated).
    """
    if layout == "middle":
        return np.array([0.0] * 2 + [shelf] * 8 + [thr] * 2 + [shelf] * 8 + [0.0] * 2)
    return np.array([thr] * 2 + [shelf] * 8 + [0.0] * 4 + [shelf] * 8 + [thr] * 2)


def video(dataset: str, branch: str, thr: float, layout: str
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Video scores (C,), instance CAS (T_in, C), attention (T_in,) with the ``branch`` signal
    ("cas" or "att") of the selected class on ``thr``; the other signal stays below every
    threshold of its branch (zero for the CAS branch, a low CAS in the attention branch)."""
    curve = plateau_curve(thr, thr - SHELF_GAP[dataset], layout)
    scores = np.full(NUM_CLASSES, 0.01)
    scores[SELECTED] = VIDEO_SCORE[dataset]
    cas = np.full((len(curve), NUM_CLASSES), 0.001)
    if branch == "cas":
        cas[:, SELECTED] = curve
        att = np.zeros(len(curve))
    else:
        cas[:, SELECTED] = np.where(curve > 0, LOW_CAS[dataset], 0.0)
        att = curve
    return scores, cas, att


def assert_same_as_original(dataset: str, ours: list, scores: np.ndarray, cas: np.ndarray,
                            att: np.ndarray, length: int, plus_one: bool = True) -> None:
    ref = original_localize(dataset, scores, cas, att, length, plus_one)
    assert len(ours) == len(ref)
    for got, want in zip(ours, ref):
        assert got == (int(want[0]), *want[1:])  # same order, scores and times to the bit


def _has_exact_run(signal: np.ndarray, thr: float, scale: int) -> bool:
    exact = np.flatnonzero(upsample(signal[:, None], scale)[:, 0] == thr)
    return exact.size >= 2 and bool(np.any(np.diff(exact) == 1))


BRANCH_CASES = [(dataset, branch, thr, layout)
                for dataset in ("THUMOS", "ActivityNet")
                for branch, key in (("cas", "cas_thresh"), ("att", "att_thresh"))
                for thr in [float(t) for t in SETTINGS[dataset][key]]
                for layout in ("middle", "edges")]


@pytest.mark.parametrize("dataset,branch,thr,layout", BRANCH_CASES)
def test_signal_exactly_on_a_proposal_threshold(dataset, branch, thr, layout):
    """The run mask keeps values equal to the threshold (>=), the cut zeroes only values below
    it (<), for the CAS and the attention branch, mid-video and at both ends."""
    p = params(dataset)
    scores, cas, att = video(dataset, branch, thr, layout)
    signal = cas[:, SELECTED] if branch == "cas" else att
    assert _has_exact_run(signal, thr, p.upgrade_scale)      # the curve really sits on thr
    length = 3 * len(att)
    ours = localize_video(scores, cas, att, length, 1000.0, p)
    assert ours != localize_video(scores, cas, att, length, 1000.0, nudged(p))
    assert_same_as_original(dataset, ours, scores, cas, att, length)


@pytest.mark.parametrize("dataset", ["THUMOS", "ActivityNet"])
def test_single_point_on_the_threshold_is_a_run_too_short(dataset):
    """A spike whose only up-sampled point equal to the lowest CAS threshold is a run of length
    1: dropped (runs shorter than 2 never become proposals), and no other run exists."""
    p = params(dataset)
    thr = float(SETTINGS[dataset]["cas_thresh"][0])
    curve = np.zeros(10)
    curve[4] = thr
    up = upsample(curve[:, None], p.upgrade_scale)[:, 0]
    assert np.flatnonzero(up >= thr).tolist() == [4 * p.upgrade_scale]
    scores = np.full(NUM_CLASSES, 0.01)
    scores[SELECTED] = VIDEO_SCORE[dataset]
    cas = np.zeros((10, NUM_CLASSES))
    cas[:, SELECTED] = curve
    ours = localize_video(scores, cas, np.zeros(10), 30, 100.0, p)
    assert ours == []
    assert_same_as_original(dataset, ours, scores, cas, np.zeros(10), 30)
    curve[5] = thr                      # two snippets on thr: a run of scale + 1 points
    cas[:, SELECTED] = curve
    ours = localize_video(scores, cas, np.zeros(10), 30, 100.0, p)
    assert len(ours) == 1
    assert_same_as_original(dataset, ours, scores, cas, np.zeros(10), 30)


@pytest.mark.parametrize("dataset", ["THUMOS", "ActivityNet"])
def test_video_score_exactly_on_the_class_threshold(dataset):
    """A class scoring exactly cls_threshold is not selected (strict >); when no class is above
    it, the argmax (the first of equal maxima) is used."""
    thr = SETTINGS[dataset]["cls_threshold"]
    p = params(dataset)
    assert p.cls_threshold == thr
    assert select_classes(np.array([thr, thr, thr / 2]), thr).tolist() == [0]
    assert select_classes(np.array([thr / 2, thr, 0.9]), thr).tolist() == [2]
    assert select_classes(np.array([thr / 2, thr, thr]), thr).tolist() == [1]

    # Both classes 0 and 1 carry a proposal; only class 1 is above the class threshold.
    level = float(SETTINGS[dataset]["cas_thresh"][-1])
    curve = plateau_curve(level, level - SHELF_GAP[dataset], "middle")
    cas = np.stack([curve, curve[::-1] * 0.999, np.zeros_like(curve)], axis=1)
    att = np.zeros(len(curve))
    for scores, classes in (([thr, 0.5, 0.01], {1}), ([thr, thr / 2, 0.01], {0}),
                            ([thr, np.nextafter(thr, 1.0), 0.01], {1})):
        scores = np.array(scores)
        ours = localize_video(scores, cas, att, 66, 100.0, p)
        assert {c for c, *_ in ours} == classes
        assert_same_as_original(dataset, ours, scores, cas, att, 66)


def iou_pair(thresh: float, plus_one: bool) -> np.ndarray:
    """Two nested segments whose IoU equals ``thresh`` to the bit: with +1, [0, a-1] in [0, b-1]
    gives a / b; without, [0, a] in [0, b]."""
    a, b = {0.55: (11, 20), 0.9: (9, 10)}[thresh]
    one = 1 if plus_one else 0
    return np.array([[0.0, a - one], [0.0, b - one], [40.0, 41.0]], dtype=np.float64)


@pytest.mark.parametrize("dataset", ["THUMOS", "ActivityNet"])
@pytest.mark.parametrize("plus_one", [True, False])
def test_iou_exactly_on_the_nms_threshold_suppresses(dataset, plus_one):
    """The original keeps a candidate only while IoU < nms_thresh: IoU == thresh suppresses."""
    thresh = SETTINGS[dataset]["nms_thresh"]
    assert params(dataset).nms_thresh == thresh
    segs = iou_pair(thresh, plus_one)
    one = 1.0 if plus_one else 0.0
    area_a, area_b = segs[0, 1] - segs[0, 0] + one, segs[1, 1] - segs[1, 0] + one
    assert area_a / (area_a + area_b - area_a) == thresh     # nested: exactly on the threshold
    scores = np.array([0.9, 0.8, 0.7])
    kept = nms(segs, scores, thresh, plus_one)
    assert kept.tolist() == [0, 2]
    want = original_nms(np.column_stack([np.zeros(3), scores, segs]), thresh, plus_one)
    np.testing.assert_array_equal(np.column_stack([scores, segs])[kept], np.asarray(want)[:, 1:])
    # One ulp above the IoU, the nested segment survives.
    assert nms(segs, scores, float(np.nextafter(thresh, 1.0)), plus_one).tolist() == [0, 1, 2]


def test_disjoint_short_segments_overlap_through_the_plus_one():
    """With the original's +1, a segment starting after another one ends can still overlap it:
    [0, 0.2] and [0.3, 0.5] have IoU (0.2 - 0.3 + 1) / (1.2 + 1.2 - 0.9) = 0.6 >= 0.55."""
    segs = np.array([[0.0, 0.2], [0.3, 0.5], [1.25, 1.5]])
    scores = np.array([0.9, 0.8, 0.7])
    want = original_nms(np.column_stack([np.zeros(3), scores, segs]), 0.55)
    assert [row[2] for row in want] == [0.0, 1.25]          # the second one is suppressed
    kept = nms(segs, scores, 0.55)
    np.testing.assert_array_equal(np.column_stack([scores, segs])[kept], np.asarray(want)[:, 1:])


def test_nms_threshold_zero_keeps_only_the_best():
    """thresh 0: every IoU (>= 0, disjoint pairs included) reaches it, as in the original loop."""
    segs = np.array([[0.0, 1.0], [5.0, 6.0], [10.0, 11.0]])
    scores = np.array([0.2, 0.9, 0.5])
    assert nms(segs, scores, 0.0).tolist() == [1]
    assert len(original_nms(np.column_stack([np.zeros(3), scores, segs]), 0.0)) == 1


def test_clip_to_duration_drops_segments_clipped_to_nothing():
    """A proposal that starts exactly at the duration is clipped to [d, d] and dropped."""
    p = params("THUMOS", "--clip_to_duration")
    thr = float(SETTINGS["THUMOS"]["cas_thresh"][0])
    curve = np.zeros(20)
    curve[[2, 3, 10, 11]] = thr
    scores = np.array([0.01, 0.6, 0.01])
    cas = np.zeros((20, NUM_CLASSES))
    cas[:, SELECTED] = curve
    # The second run starts at up-sampled index 200 (6.4 s); the video ends exactly there.
    unclipped = localize_video(scores, cas, np.zeros(20), 20, 1000.0, params("THUMOS"))
    starts = sorted(start for _, _, start, _ in unclipped)
    assert len(unclipped) == 2 and starts[1] == pytest.approx(6.4)
    duration = starts[1]
    clipped = localize_video(scores, cas, np.zeros(20), 20, duration, p)
    assert len(clipped) == 1
    assert all(0.0 <= start < end <= duration for _, _, start, end in clipped)
