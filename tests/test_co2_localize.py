"""methods.co2net.localize: the whole chain against the literal port of the official
``multiple_threshold_hamnet`` (tests/reference/original_co2_proposals.py) on random CAS and
attention of several lengths, row by row and to the bit, in both numpy arithmetics of spec 6.3;
hand cases of each rule (video score and class selection, thresholds, runs and OIC scores,
soft-NMS decay and its swap, the Ambiguous filter and its place, seconds, the classification
score, the accuracy rule) and the localizer record on a small real model."""
from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter1d

from eval.wtalc import detections_to_snippets, read_ambiguous
from methods.co2net.localize import (CO2_LOCALIZER, DEFAULT_AMBIGUOUS, CO2InferenceParams,
                                     attended_cas, attention_masks, co2_classification_scores,
                                     co2_localize, co2_proposals, co2_rows, co2_select_classes,
                                     co2_video_correct, co2_video_scores, gaussian_soft_nms,
                                     load_ambiguous, window_means_f32)
from methods.co2net.model import CO2, CO2Output
from methods.co2net.settings import CO2_THUMOS
from tests.reference.original_co2_proposals import (classification_score,
                                                    multiple_threshold_hamnet, soft_nms)

PARAMS = CO2InferenceParams.from_config(CO2_THUMOS)
AMB_VIDEO = "video_test_0000278"        # several Ambiguous segments in the shipped file
PLAIN_VIDEO = "video_test_0000004"      # none


def params(**kw) -> CO2InferenceParams:
    return dataclasses.replace(PARAMS, **kw)


def random_video(T: int, seed: int, num_classes: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """A (T, C + 1) CAS with two strong classes and a smooth (T,) attention in (0, 1) that crosses
    the thresholds many times."""
    rng = np.random.default_rng(seed)
    att = 1 / (1 + np.exp(-3 * gaussian_filter1d(4 * rng.standard_normal(T), 3)))
    cas = 2 * rng.standard_normal((T, num_classes + 1))
    cas[:, rng.choice(num_classes, 2, replace=False)] += 3
    return cas.astype(np.float32), att.astype(np.float32)


def port_rows(cas, att, video, ambiguous=DEFAULT_AMBIGUOUS, **kw) -> np.ndarray:
    outputs = {"cas": torch.from_numpy(cas)[None], "attn": torch.from_numpy(att)[None, :, None]}
    frame = multiple_threshold_hamnet(video.encode(), outputs, str(ambiguous), **kw)
    assert list(frame.columns) == ["video-id", "t-start", "t-end", "label", "score"]
    assert set(frame["video-id"]) <= {video}
    return frame[["t-start", "t-end", "score", "label"]].to_numpy(np.float64).reshape(-1, 4)


# ----------------------------------------------------------------------------- parameters

def test_params_keep_the_official_values():
    theta = np.linspace(0.1, 0.9, 10)
    assert PARAMS.att_thresholds == tuple(theta.tolist()) and len(theta) == 10
    assert PARAMS.att_thresholds[1] == 0.18888888888888888      # the float64 linspace values
    # ... compared, by default, as their float32 values (numpy 1.x)
    assert float(np.float32(PARAMS.att_thresholds[0])) == 0.10000000149011612 > 0.1
    assert (PARAMS.cls_threshold, PARAMS.video_topk_divisor) == (0.2, 10)
    assert (PARAMS.oic_lambda, PARAMS.oic_gamma, PARAMS.soft_nms_sigma) == (0.25, 0.2, 0.3)
    assert PARAMS.cls_score_topk_quirk and PARAMS.idx_any_quirk and PARAMS.numpy1_arithmetic
    assert PARAMS.ambiguous_filter
    assert (PARAMS.frames_per_sec, PARAMS.segment_frames_num) == (25, 16)
    names, seconds = read_ambiguous(DEFAULT_AMBIGUOUS)
    assert PARAMS.ambiguous_videos == tuple(names) and len(names) == 99
    assert PARAMS.ambiguous_ranges == tuple((round(a * 25 / 16), round(b * 25 / 16))
                                            for a, b in seconds.tolist())
    with pytest.raises(ValueError, match="sigma"):
        params(soft_nms_sigma=0.0)


def test_the_ambiguous_file_comes_from_config_and_a_missing_one_is_an_error(tmp_path):
    (tmp_path / "Ambiguous_test.txt").write_text("video_x  1.6 3.0\r\n")
    by_folder = CO2InferenceParams.from_config({**CO2_THUMOS, "wtalc_annotations": tmp_path})
    by_file = CO2InferenceParams.from_config({**CO2_THUMOS, "ambiguous_file":
                                              tmp_path / "Ambiguous_test.txt"})
    # 1.6 * 25 / 16 = 2.5 rounds half to even (2), 3.0 * 25 / 16 = 4.6875 -> 5
    assert by_folder.ambiguous_ranges == by_file.ambiguous_ranges == ((2, 5),)
    assert by_file.ambiguous_videos == ("video_x",)
    with pytest.raises(FileNotFoundError, match="Ambiguous file not found"):
        CO2InferenceParams.from_config({**CO2_THUMOS, "ambiguous_file": tmp_path / "none.txt"})
    off = CO2InferenceParams.from_config({**CO2_THUMOS, "ambiguous_filter": False,
                                          "ambiguous_file": tmp_path / "none.txt"})
    assert not off.ambiguous_filter and off.ambiguous_videos == ()


# ----------------------------------------------------------------------------- against the port

@pytest.mark.parametrize("T", [1, 2, 5, 11, 37, 200, 1000, 2600])
@pytest.mark.parametrize("numpy1", [True, False])
def test_rows_equal_the_port_to_the_bit(T, numpy1):
    for seed, video in ((T, AMB_VIDEO), (T + 1, PLAIN_VIDEO)):
        cas, att = random_video(T, seed)
        ref = port_rows(cas, att, video, numpy1=numpy1)
        rows = co2_rows(cas, att, video, params(numpy1_arithmetic=numpy1))
        assert rows.shape == ref.shape and rows.dtype == np.float64
        np.testing.assert_array_equal(rows, ref)
        if T >= 200:
            assert len(rows) > 50                      # many proposals, duplicates and ties
            if video == AMB_VIDEO:                     # and the filter dropped some
                off = params(numpy1_arithmetic=numpy1, ambiguous_filter=False)
                assert len(co2_rows(cas, att, video, off)) > len(rows)


@pytest.mark.parametrize("T", [64, 700])
def test_detections_equal_the_port_in_seconds(T):
    """The must-hold: times within 1e-6 s and scores within 1e-6 relative of the port (they are
    equal); seconds = snippet * 16 / 25 and back to the snippet exactly."""
    cas, att = random_video(T, 7)
    ref = port_rows(cas, att, AMB_VIDEO)
    dets = co2_localize(cas, att, AMB_VIDEO, PARAMS)
    assert len(dets) == len(ref) > 0
    cls, score, start, end = (np.array(x) for x in zip(*dets))
    np.testing.assert_array_equal(cls, ref[:, 3].astype(int))
    np.testing.assert_allclose(score, ref[:, 2], rtol=1e-6, atol=0)
    np.testing.assert_allclose(start, ref[:, 0] * 16 / 25, rtol=0, atol=1e-6)
    np.testing.assert_allclose(end, ref[:, 1] * 16 / 25, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(detections_to_snippets(np.stack([start, end], 1)), ref[:, :2])


@pytest.mark.parametrize("T", [3, 150])
def test_index_zero_fix_and_filter_off_equal_the_port(T, tmp_path):
    """idx_any_quirk off equals the port with ``.any()`` replaced by a size test; the filter off
    equals the port with no Ambiguous file (the original's silent fallback)."""
    for seed in range(4):
        cas, att = random_video(T, 100 + seed)
        att[0] = 0.95                           # snippet 0 above every threshold
        att[1:3] = 0.05
        np.testing.assert_array_equal(co2_rows(cas, att, AMB_VIDEO, params(idx_any_quirk=False)),
                                      port_rows(cas, att, AMB_VIDEO, any_quirk=False))
        np.testing.assert_array_equal(co2_rows(cas, att, AMB_VIDEO, params(ambiguous_filter=False)),
                                      port_rows(cas, att, AMB_VIDEO, tmp_path / "missing.txt"))


@pytest.mark.parametrize("T", [1, 9, 40, 513])
def test_classification_score_equals_the_port(T):
    cas, _ = random_video(T, 3)
    ref = classification_score(torch.from_numpy(cas)[None])
    got = co2_classification_scores(cas)
    assert got.dtype == np.float32 and got.shape == (21,)
    np.testing.assert_array_equal(got, ref)
    # Q7: k = 1, the softmax of the per-column maximum
    m = cas.max(axis=0).astype(np.float64)
    np.testing.assert_allclose(got, np.exp(m - m.max()) / np.exp(m - m.max()).sum(), rtol=1e-5)
    # the intended k = ceil(T / 8), as the port with len(features) = T
    np.testing.assert_array_equal(co2_classification_scores(cas, topk_quirk=False),
                                  classification_score(torch.from_numpy(cas)[None], T))


def test_soft_nms_equals_the_port_with_ties_and_duplicates():
    rng = np.random.default_rng(5)
    for n in (1, 2, 7, 60, 300):
        start = rng.integers(0, 200, n)
        stop = start + rng.integers(1, 40, n)
        score = np.round(rng.uniform(-0.5, 1.5, n), 1)          # many ties
        half = n // 2                                            # and exact duplicates
        start[half:2 * half], stop[half:2 * half] = start[:half], stop[:half]
        score[half:2 * half] = score[:half]
        cls = np.full(n, 4)
        ref = np.array(soft_nms(np.stack([cls, score, start, stop], 1).tolist(), 0.7, sigma=0.3))
        order, kept = gaussian_soft_nms(start, stop, score, 0.3)
        got = np.stack([cls[order], kept, start[order], stop[order]], 1)
        np.testing.assert_array_equal(got, ref)


# ----------------------------------------------------------------------------- hand cases

def test_window_means_are_float32_np_mean_to_the_bit():
    rng = np.random.default_rng(1)
    seq = (rng.standard_normal((3, 3000)) * rng.uniform(0.1, 10, (3, 1))).astype(np.float32)
    m = 400
    row = rng.integers(0, 3, m)
    start_a = rng.integers(0, 1500, m)
    len_a = rng.integers(0, 1400, m)
    start_b = start_a + len_a + rng.integers(0, 3, m)
    len_b = rng.integers(0, 50, m)
    len_a[:5] = len_b[:5] = 0                                    # empty windows
    means, empty = window_means_f32(seq, row, start_a, len_a, start_b, len_b)
    assert means.dtype == np.float32 and empty[:5].all() and not empty[5:].any()
    for k in range(m):
        window = np.concatenate([seq[row[k], start_a[k]:start_a[k] + len_a[k]],
                                 seq[row[k], start_b[k]:start_b[k] + len_b[k]]])
        if window.size:
            assert np.mean(window).dtype == np.float32 and means[k] == np.mean(window)
        else:
            assert means[k] == 0


def test_video_score_is_the_softmax_of_the_top_tenth_mean_of_cas_times_attention():
    rng = np.random.default_rng(2)
    T = 37                                                       # k = 3
    cas = rng.standard_normal((T, 6)).astype(np.float32)
    att = rng.uniform(0, 1, T).astype(np.float32)
    element = attended_cas(cas, att)
    np.testing.assert_array_equal(element, cas * att[:, None])
    p = co2_video_scores(element)
    top = np.sort(element.astype(np.float64), axis=0)[-3:].mean(axis=0)
    expect = np.exp(top - top.max()) / np.exp(top - top.max()).sum()
    assert p.dtype == np.float32 and p.shape == (5,)             # background dropped
    np.testing.assert_allclose(p, expect[:-1], rtol=1e-5)
    assert p.sum() < 1                                           # the background keeps its share
    np.testing.assert_allclose(co2_video_scores(element[:9]),    # T < 10: k = 1, the maximum
                               (lambda m: (np.exp(m) / np.exp(m).sum())[:-1])(
                                   element[:9].astype(np.float64).max(axis=0)), rtol=1e-5)


def test_class_selection_is_greater_or_equal_in_float32_with_an_argmax_fallback():
    p = np.array([0.1, 0.25, 0.05, 0.2, 0.3], dtype=np.float32)
    assert co2_select_classes(p, 0.2).tolist() == [1, 3, 4]        # >=, increasing order
    below = np.nextafter(np.float32(0.2), np.float32(0))
    assert co2_select_classes(np.array([below, 0.1], np.float32), 0.2).tolist() == [0]
    assert co2_select_classes(np.array([0.1, 0.15, 0.12], np.float32), 0.2).tolist() == [1]
    # a strong background never becomes a class: it only shrinks the foreground scores
    cas = np.zeros((10, 4), np.float32)
    cas[:, 3] = 8.0
    cas[:, 1] = 1.0
    p = co2_video_scores(attended_cas(cas, np.ones(10, np.float32)))
    assert p.shape == (3,) and p.max() < 0.2 and co2_select_classes(p, 0.2).tolist() == [1]


def test_thresholds_are_strict_and_compared_in_float32_by_default():
    theta = PARAMS.att_thresholds
    att = np.array([np.float32(t) for t in theta], dtype=np.float32)  # exactly float32(theta_i)
    m1 = attention_masks(att, theta, numpy1=True)
    m2 = attention_masks(att, theta, numpy1=False)
    # numpy 1.x: a == float32(theta) is not above it; numpy 2.x compares with the float64 theta
    assert not m1[np.arange(10), np.arange(10)].any()
    up = np.array([float(np.float32(t)) > t for t in theta])      # float32 rounded up
    assert (m2[np.arange(10), np.arange(10)] == up).all()
    assert up.tolist() == [True] * 5 + [False] * 5                 # 0.1 .. 0.456 round up
    # row i = threshold, column j = float32(theta_j): above it only for j > i
    assert m1.shape == (10, 10) and (m1 == np.triu(np.ones((10, 10), bool), 1)).all()


def test_runs_of_any_length_and_the_index_zero_quirk():
    T = 20
    att = np.zeros(T, np.float32)
    att[0] = 0.95                 # snippet 0 alone above 0.9
    att[5] = 0.5                  # a single-point run
    att[10:14] = 0.3
    element = np.zeros((T, 3), np.float32)
    p = np.array([0.1, 0.6, 0.3], np.float32)
    cls, score, start, stop = co2_proposals(element, att, np.array([1, 2]), p,
                                            params(att_thresholds=(0.2, 0.4, 0.9)))
    # per class: 0.2 -> [0], [5], [10..13]; 0.4 -> [0], [5]; 0.9 -> {0} only: dropped (Q8)
    assert cls.tolist() == [1] * 5 + [2] * 5
    assert start.tolist() == [0, 5, 10, 0, 5] * 2 and stop.tolist() == [1, 6, 14, 1, 6] * 2
    _, _, start, _ = co2_proposals(element, att, np.array([1]), p,
                                   params(att_thresholds=(0.9,), idx_any_quirk=False))
    assert start.tolist() == [0]
    _, _, start, _ = co2_proposals(element, att, np.array([1]), p, params(att_thresholds=(0.96,)))
    assert start.size == 0


def test_oic_score_margins_truncation_and_empty_outer():
    T = 30
    att = np.zeros(T, np.float32)
    att[10:17] = 0.5                                    # run 10..16, L = 7
    att[27:30] = 0.5                                    # run 27..29 at the end, L = 3
    col = np.arange(T, dtype=np.float32) / 10
    element = np.stack([np.zeros(T, np.float32), col], 1)
    p = np.array([0.0, 0.5], np.float32)
    _, score, start, stop = co2_proposals(element, att, np.array([1]), p,
                                          params(att_thresholds=(0.1,)))
    assert start.tolist() == [10, 27] and stop.tolist() == [17, 30]
    # run 10..16: outer = [int(10 - 1.75) = 8, 10) + (16, int(16 + 1.75) = 17]
    inner = np.mean(col[10:17])
    outer = np.mean(col[[8, 9, 17]])
    assert score[0] == np.float64(inner - outer) + 0.2 * np.float64(p[1])
    # run 27..29: outer = [int(27 - 0.75) = 26, 27) + (29, min(29, int(29.75))] = {26}
    assert score[1] == np.float64(np.mean(col[27:30]) - col[26]) + 0.2 * np.float64(p[1])
    # a run covering the whole video has an empty outer region: outer = 0
    _, score, _, _ = co2_proposals(element, np.ones(T, np.float32), np.array([1]), p,
                                   params(att_thresholds=(0.1,)))
    assert score[0] == np.float64(np.mean(col)) + 0.2 * np.float64(p[1])


def test_score_arithmetic_of_numpy_1_and_2():
    """Spec 6.3: numpy 1.x adds 0.2 * p in float64 to the float32 difference; numpy 2.x keeps the
    whole sum in float32."""
    T = 12
    att = np.zeros(T, np.float32)
    att[3:8] = 0.5
    rng = np.random.default_rng(4)
    element = rng.standard_normal((T, 2)).astype(np.float32)
    p = np.array([0.3141, 0.6859], np.float32)   # not 0.3: 0.2 * float32(0.3) is a float32
    one = np.array([0])
    _, s1, _, _ = co2_proposals(element, att, one, p, params(att_thresholds=(0.1,)))
    _, s2, _, _ = co2_proposals(element, att, one, p,
                                params(att_thresholds=(0.1,), numpy1_arithmetic=False))
    inner = np.mean(element[3:8, 0])
    outer = np.mean(element[[1, 2, 8], 0])      # int(3 - 1.25) = 1 .. int(7 + 1.25) = 8
    assert s1[0] == np.float64(inner - outer) + 0.2 * np.float64(p[0])
    assert s2[0] == np.float64(np.float32(inner - outer) + np.float32(0.2) * p[0])
    assert s1[0] != s2[0] and abs(s1[0] - s2[0]) < 1e-6 * abs(s1[0])


def test_soft_nms_decay_plus_one_and_no_cut_off():
    start, stop = np.array([0, 5, 100]), np.array([10, 15, 101])
    order, kept = gaussian_soft_nms(start, stop, np.array([0.9, 0.8, -0.3]), 0.3)
    # lengths 11 and 11, overlap min(10, 15) - max(0, 5) + 1 = 6: IoU = 6 / 16
    assert order.tolist() == [0, 1, 2]
    assert kept[0] == 0.9 and kept[1] == 0.8 * np.exp(-(0.375 * 0.375) / 0.3)
    assert kept[2] == -0.3                                 # disjoint, never dropped
    # touching segments [0, 10) and [10, 20) overlap by one with the "+1"
    _, kept = gaussian_soft_nms(np.array([0, 10]), np.array([10, 20]), np.array([1.0, 1.0]), 0.3)
    assert kept[1] == np.exp(-((1 / 21) ** 2) / 0.3)


def test_soft_nms_swap_sets_the_tie_order():
    # Z is picked first and swapped with row 0 (X): the rest is [Y, X], so the tie goes to Y;
    # removing Z without the swap would leave [X, Y] and pick X
    start, stop = np.array([0, 20, 40]), np.array([5, 25, 45])
    order, _ = gaussian_soft_nms(start, stop, np.array([1.0, 1.0, 2.0]), 0.3)
    assert order.tolist() == [2, 1, 0]
    ref = soft_nms([[0, 1.0, 0, 5], [0, 1.0, 20, 25], [0, 2.0, 40, 45]], 0.7, sigma=0.3)
    assert [r[2] for r in ref] == [40, 20, 0]


def _one_run_video(T=40):
    cas = np.zeros((T, 4), np.float32)
    cas[:, 1] = 2.0
    att = np.zeros(T, np.float32)
    return cas, att


def test_ambiguous_filter_drops_touching_rows_of_every_class_after_soft_nms(tmp_path):
    path = tmp_path / "Ambiguous_test.txt"
    # [1.6, 3.0] s -> range(2, 5): snippets 2, 3, 4
    path.write_text("video_x  1.6 3.0\r\nvideo_y  0.0 30.0\r\n")
    videos, ranges = load_ambiguous(path)
    assert ranges == ((2, 5), (0, 47))
    amb = params(ambiguous_videos=videos, ambiguous_ranges=ranges)
    cas, att = _one_run_video()
    cas[:, 2] = 2.0                                             # two classes pass
    att[0:2] = 0.5                                              # [0, 2): no shared snippet
    att[4:9] = 0.85                                             # [4, 9) shares 4 -> dropped
    att[6:8] = 0.95                                             # [6, 8) inside it: kept
    rows = co2_rows(cas, att, "video_x", amb)
    kept = {(int(a), int(b), int(c)) for a, b, _, c in rows}
    assert kept == {(0, 2, 1), (6, 8, 1), (0, 2, 2), (6, 8, 2)}
    # filtered after soft-NMS: the dropped [4, 9) was output first and decayed [6, 8)
    free = co2_rows(cas, att, "video_x", params(ambiguous_filter=False))
    assert {(int(a), int(b)) for a, b, _, _ in free} == {(0, 2), (4, 9), (6, 8)}
    top = free[(free[:, 0] == 4) & (free[:, 3] == 1), 2].max()
    inner = rows[(rows[:, 0] == 6) & (rows[:, 3] == 1), 2]
    raw = co2_proposals(attended_cas(cas, att)[:, :-1], att, np.array([1, 2]),
                        co2_video_scores(attended_cas(cas, att)), amb)
    assert top > inner.max() and inner.max() < raw[1][raw[2] == 6].max()
    # the port agrees, and other videos are untouched
    np.testing.assert_array_equal(rows, port_rows(cas, att, "video_x", path))
    np.testing.assert_array_equal(co2_rows(cas, att, "video_z", amb), free)
    assert len(co2_rows(cas, att, "video_y", amb)) == 0


def test_half_even_ranges_decide_a_boundary_snippet(tmp_path):
    path = tmp_path / "amb.txt"
    path.write_text("video_x  1.6 2.6\r\n")       # 2.5 -> 2 (half to even; half up: 3)
    assert 1.6 * 25 / 16 == 2.5 and round(2.5) == 2
    videos, ranges = load_ambiguous(path)
    cas, att = _one_run_video()
    att[2] = 0.5                                   # [2, 3): snippet 2
    rows = co2_rows(cas, att, "video_x", params(ambiguous_videos=videos, ambiguous_ranges=ranges))
    assert len(rows) == 0 and len(port_rows(cas, att, "video_x", path)) == 0


def test_seconds_are_snippets_times_16_over_25():
    cas, att = _one_run_video(100)
    att[10:35] = 0.5
    dets = co2_localize(cas, att, PLAIN_VIDEO, PARAMS)
    assert len(dets) == 5                          # the run at thresholds 0.1 .. 0.456, decayed
    assert {(c, s, e) for c, _, s, e in dets} == {(1, 10 * 16 / 25, 35 * 16 / 25)}
    assert dets[0][2] == 6.4 and dets[0][3] == 22.4


# ----------------------------------------------------------------------------- the record

def test_video_correct_uses_the_proposal_class_selection():
    rng = np.random.default_rng(6)
    B, T, C = 6, 30, 5
    cas = torch.from_numpy(rng.standard_normal((B, T, C + 1)).astype(np.float32) * 3)
    attn = torch.from_numpy(rng.uniform(0, 1, (B, T, 1)).astype(np.float32))
    labels = torch.zeros(B, C)
    expect = []
    for b in range(B):
        p = co2_video_scores(attended_cas(cas[b].numpy(), attn[b].numpy()))
        chosen = co2_select_classes(p, 0.2)
        if b % 2 == 0:
            labels[b, chosen] = 1                   # right
        else:
            labels[b, (chosen[0] + 1) % C] = 1      # wrong
        expect.append(b % 2 == 0)
    got = co2_video_correct(cas, attn, labels, 0.2)
    assert got.tolist() == expect


def test_localizer_record_on_a_small_model():
    torch.manual_seed(0)
    model = CO2(feature_dim=16, num_classes=20, ccm_hidden=4).eval()
    T = 300
    x = torch.randn(1, T, 16)
    with torch.no_grad():
        out = model(x)
    assert isinstance(out, CO2Output)
    batch = {"video_id": [AMB_VIDEO], "length": torch.tensor([T]), "label": torch.zeros(1, 20)}
    prm = CO2_LOCALIZER.params(SimpleNamespace(**CO2_THUMOS))
    assert prm == PARAMS
    dets, arrays = CO2_LOCALIZER.localize(out, batch, prm)
    cas, att = out.cas[0].numpy(), out.attn[0, :, 0].numpy()
    ref = port_rows(cas, att, AMB_VIDEO)
    assert len(dets) == len(ref)
    assert len(ref) > 20
    got = np.array([[s, e, sc, c] for c, sc, s, e in dets]).reshape(-1, 4)
    got[:, :2] = detections_to_snippets(got[:, :2])
    np.testing.assert_array_equal(got, ref)
    assert arrays["att"].shape == (T, 3) and arrays["cas"].shape == (T, 20)
    np.testing.assert_array_equal(arrays["att"][:, 1], out.v_atn[0, :, 0].numpy())
    np.testing.assert_array_equal(arrays["cas"], (out.cas[0] * out.attn[0]).numpy()[:, :20])
    np.testing.assert_array_equal(arrays["video_scores"],
                                  classification_score(out.cas)[:20])
    assert CO2_LOCALIZER.correct(out, batch["label"], 0.2, prm).shape == (1,)
    assert CO2_LOCALIZER.saved is None
    with pytest.raises(ValueError, match="native length"):
        CO2_LOCALIZER.localize(out, {**batch, "length": torch.tensor([2 * T])}, prm)


def test_registered_with_this_localizer():
    from methods import METHODS

    assert METHODS.get("co2net").localizer is CO2_LOCALIZER and "co2" not in METHODS.names()


def test_ceil_of_len_features_is_one():
    assert math.ceil(1 / 8) == 1                   # Q7: len of a (1, T, D) tensor is 1


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_localizer_on_device_outputs_equals_cpu(device):
    """The record reads outputs on ``device`` (copied to the CPU for the numpy chain) and the
    accuracy rule runs on the device: the same detections as from CPU outputs, the same
    verdicts (the CUDA case is collected only where CUDA exists)."""
    torch.manual_seed(1)
    model = CO2(feature_dim=16, num_classes=20, ccm_hidden=4).eval()
    x = torch.randn(1, 400, 16)
    with torch.no_grad():
        cpu = model(x)
        gpu = CO2Output(*(t.to(device) for t in cpu.as_tuple()))
    batch = {"video_id": [AMB_VIDEO], "length": torch.tensor([400])}
    d_cpu, a_cpu = CO2_LOCALIZER.localize(cpu, batch, PARAMS)
    d_gpu, a_gpu = CO2_LOCALIZER.localize(gpu, batch, PARAMS)
    assert d_gpu == d_cpu
    for key in a_cpu:
        np.testing.assert_array_equal(a_gpu[key], a_cpu[key])
    rng = np.random.default_rng(0)
    cas = torch.from_numpy(rng.standard_normal((6, 50, 21)).astype(np.float32) * 3)
    attn = torch.from_numpy(rng.uniform(0, 1, (6, 50, 1)).astype(np.float32))
    labels = torch.from_numpy((rng.uniform(size=(6, 20)) > 0.9).astype(np.float32))
    labels[0] = 0
    labels[0, co2_select_classes(co2_video_scores(attended_cas(cas[0].numpy(),
                                                               attn[0].numpy())), 0.2)] = 1
    on_cpu = co2_video_correct(cas, attn, labels, 0.2)
    on_gpu = co2_video_correct(cas.to(device), attn.to(device), labels.to(device), 0.2)
    assert on_gpu.cpu().tolist() == on_cpu.tolist() and on_cpu[0]
