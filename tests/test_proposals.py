"""eval.proposals and eval.results: pure functions on hand-computed cases, and localize_video
against the literal port of the original test loop (tests/reference/original_proposals.py)."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from scipy.interpolate import interp1d
from scipy.ndimage import gaussian_filter1d

from config import parse_args
from eval.proposals import (ProposalParams, _window_means, find_runs, grouped_runs,
                            localize_video, nms, oic_scores, select_classes, upsample)
from eval.results import load_results, results_dict, validate_results, write_json_atomic
from tests.reference.original_proposals import nms as original_nms
from tests.reference.original_proposals import original_localize


def params(dataset: str, *flags: str) -> ProposalParams:
    return ProposalParams.from_args(parse_args(dataset, list(flags)))


# ----------------------------------------------------------------------------- pure functions

def test_upsample_hand_case_and_extrapolated_end():
    up = upsample(np.array([[0.0], [2.0], [3.0]]), 2)
    np.testing.assert_array_equal(up[:, 0], [0.0, 1.0, 2.0, 2.5, 3.0, 3.5])  # 3.5 extrapolated


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_upsample_equals_interp1d_bit_for_bit(dtype):
    x = np.random.default_rng(0).random((750, 3)).astype(dtype)
    ref = interp1d(np.arange(750), x, kind="linear", axis=0, fill_value="extrapolate")(
        np.arange(0, 750, 1 / 20))
    up = upsample(x, 20)
    assert up.shape == (750 * 20, 3)
    np.testing.assert_array_equal(up, ref)


def test_upsample_single_snippet_repeats():
    np.testing.assert_array_equal(upsample(np.array([[0.4, 0.1]]), 3), [[0.4, 0.1]] * 3)


def test_select_classes_strict_threshold_and_argmax_fallback():
    np.testing.assert_array_equal(select_classes(np.array([0.25, 0.3, 0.9]), 0.25), [1, 2])
    np.testing.assert_array_equal(select_classes(np.array([0.1, 0.25, 0.2]), 0.25), [1])


def test_grouped_runs_and_find_runs():
    runs = grouped_runs(np.array([1, 2, 3, 7, 9, 10]))
    assert [r.tolist() for r in runs] == [[1, 2, 3], [7], [9, 10]]
    mask = np.array([[1, 1, 0, 1], [0, 0, 0, 0], [1, 0, 1, 1]], dtype=bool)
    row, first, last = find_runs(mask)
    assert row.tolist() == [0, 0, 2, 2] and first.tolist() == [0, 3, 0, 2]
    assert last.tolist() == [1, 3, 0, 3]


def test_oic_scores_index_arithmetic():
    seq = np.array([[0.5, 0.1, 0.2, 1.0, 1.0, 1.0, 1.0, 1.0, 0.3, 0.4]])
    # run 3..7 (len 5), lambda 0.2: outer = int(3-1)=2..2 and 8..int(7+1)=8 -> mean(0.2, 0.3)
    score = oic_scores(seq, np.array([0]), np.array([3]), np.array([7]), 0.2)
    assert score[0] == pytest.approx(1.0 - 0.25)
    # run 0..1 (len 2), lambda 0.2: int(0-0.4)=0 -> no left; right 2..int(1.4)=1 -> none -> 0
    score = oic_scores(seq, np.array([0]), np.array([0]), np.array([1]), 0.2)
    assert score[0] == pytest.approx(0.3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_window_means_equal_np_mean_to_the_bit(seed):
    rng = np.random.default_rng(seed)
    rows, width = 3, 6000
    seq = rng.normal(size=(rows, width)) * 10 ** rng.uniform(-3, 3, size=(rows, width))
    lengths = np.concatenate([np.arange(0, 300), rng.integers(300, 2900, 200)])
    len_a = rng.integers(0, lengths + 1)
    len_b = lengths - len_a
    row = rng.integers(0, rows, len(lengths))
    start_a = rng.integers(0, width - 2900, len(lengths))
    start_b = start_a + len_a + rng.integers(0, 100, len(lengths))
    windows = np.stack([row, start_a, len_a, start_b, len_b], axis=1)
    got = _window_means(seq, windows)
    for k, (r, sa, la, sb, lb) in enumerate(windows):
        values = np.concatenate([seq[r, sa:sa + la], seq[r, sb:sb + lb]])
        want = np.mean(values) if values.size else 0.0
        assert got[k] == want or (np.isnan(got[k]) and np.isnan(want)), (k, la, lb)


def test_window_means_long_windows_and_chunking():
    """Windows longer than a gathering chunk, and chunks of a few windows each."""
    rng = np.random.default_rng(3)
    seq = rng.normal(size=(2, 50000)) * 10 ** rng.uniform(-3, 3, size=(2, 50000))
    windows = np.array([[0, 0, 40000, 45000, 3000], [1, 7, 8193, 9000, 0], [1, 3, 0, 5, 129],
                        [0, 11, 1, 12, 1], [1, 100, 0, 0, 0], [0, 20000, 24000, 44000, 6000]])
    want = [np.mean(np.concatenate([seq[r, sa:sa + la], seq[r, sb:sb + lb]])) if la + lb else 0.0
            for r, sa, la, sb, lb in windows]
    for chunk in (1 << 15, 1000, 1):
        assert _window_means(seq, windows, chunk).tolist() == want


def test_nms_plus_one_on_seconds():
    segs = np.array([[0.0, 1.0], [0.5, 1.5], [3.0, 4.0]])
    scores = np.array([0.9, 0.8, 0.7])
    # +1: IoU = (1.0-0.5+1)/(2+2-1.5) = 0.6 >= 0.55 -> suppressed; without: 0.5/1.5 < 0.55
    assert nms(segs, scores, 0.55, plus_one=True).tolist() == [0, 2]
    assert nms(segs, scores, 0.55, plus_one=False).tolist() == [0, 1, 2]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("plus_one", [True, False])
def test_nms_equals_the_original_loop(seed, plus_one):
    """Random, nested, touching, duplicated and tied segments on a coarse time grid."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    step = rng.choice([0.08533, 0.5, 1.0])  # up-sampled THUMOS step, coarse grids: exact touches
    start = rng.integers(0, 200, n) * step
    segs = np.stack([start, start + rng.integers(1, 60, n) * step], axis=1)
    segs[rng.random(n) < 0.2] = segs[0]  # duplicates of one segment
    scores = np.round(rng.random(n), 1 if seed % 2 else 6)  # heavy ties in odd seeds
    for thresh in (0.55, 0.9, 0.3, 1e-9, 0.0):
        kept = nms(segs, scores, thresh, plus_one)
        want = original_nms(np.column_stack([np.zeros(n), scores, segs]), thresh, plus_one)
        np.testing.assert_array_equal(np.column_stack([scores, segs])[kept],
                                      np.asarray(want)[:, 1:])
        assert len(set(kept.tolist())) == len(kept)


def test_nms_rejects_segments_without_length():
    with pytest.raises(ValueError, match="positive length"):
        nms(np.array([[1.0, 1.0], [0.0, 2.0]]), np.array([0.5, 0.4]), 0.5, plus_one=False)


def test_params_from_config_keep_original_thresholds():
    p = params("THUMOS")
    assert p.att_thresholds == tuple(np.arange(0.15, 1.00, 0.05).tolist())
    assert 0.30000000000000004 in p.att_thresholds and len(p.att_thresholds) == 17
    assert p.cas_thresholds == tuple(np.arange(0.15, 0.25, 0.05).tolist())
    assert (p.oic_mix, p.nms_thresh, p.nms_plus_one, p.clip_to_duration) == (1.0, 0.55, True, False)
    assert params("ActivityNet").oic_mix == 0.7


# ------------------------------------------------------------- localize_video vs the original

def random_video(rng, t_in: int, num_classes: int, smooth: float, selected: int):
    """Video scores (C,), instance CAS (T_in, C) float32 and attention (T_in,) float32."""
    logits = rng.normal(size=(t_in, num_classes + 1)) * 3
    att_logit = rng.normal(size=t_in) * 3
    if smooth:
        logits = gaussian_filter1d(logits, smooth, axis=0) * 3
        att_logit = gaussian_filter1d(att_logit, smooth) * 3
    cas = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    att = 1 / (1 + np.exp(-att_logit))
    scores = rng.random(num_classes) * 0.2
    scores[rng.choice(num_classes, selected, replace=False)] += 0.5
    return scores.astype(np.float32), cas[:, :num_classes].astype(np.float32), \
        att.astype(np.float32)


CASES = [("THUMOS", 750, 2300, 20), ("THUMOS", 300, 300, 20), ("THUMOS", 120, 120, 20),
         ("ActivityNet", 75, 400, 200), ("ActivityNet", 40, 40, 200)]


@pytest.mark.parametrize("dataset,t_in,length,num_classes", CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_localize_video_matches_original(dataset, t_in, length, num_classes, seed):
    rng = np.random.default_rng(seed)
    p = params(dataset)
    for smooth, selected in [(2.0, 2), (0.0, 1), (4.0, 0)]:
        scores, cas, att = random_video(rng, t_in, num_classes, smooth, selected)
        if dataset == "ActivityNet":
            cas = cas * 0.05  # the ActivityNet thresholds are 0.005..0.02
            scores = scores * 0.3
        ours = localize_video(scores, cas, att, length, 123.0, p)
        ref = original_localize(dataset, scores, cas, att, length)
        assert len(ours) == len(ref) > 0
        for got, want in zip(ours, ref):
            assert got == (int(want[0]), *want[1:])  # same order, scores and times to the bit


def test_localize_video_without_plus_one_matches_original():
    rng = np.random.default_rng(5)
    scores, cas, att = random_video(rng, 400, 20, 2.0, 2)
    ours = localize_video(scores, cas, att, 900, 10.0, params("THUMOS", "--no-nms_plus_one"))
    ref = original_localize("THUMOS", scores, cas, att, 900, plus_one=False)
    assert [(c, s, a, b) for c, s, a, b in ours] == [tuple([int(r[0])] + r[1:]) for r in ref]


def test_clip_to_duration_keeps_segments_inside():
    rng = np.random.default_rng(3)
    scores, cas, att = random_video(rng, 200, 20, 2.0, 2)
    cas[-5:] = 0.9  # a proposal running into the extrapolated end
    att[-5:] = 0.99
    duration = 120.0  # a gt duration shorter than T*16/25 = 128 s, as frames/30 gives
    unclipped = localize_video(scores, cas, att, 200, duration, params("THUMOS"))
    assert max(end for *_, end in unclipped) > duration
    clipped = localize_video(scores, cas, att, 200, duration,
                             params("THUMOS", "--clip_to_duration"))
    assert all(0 <= start < end <= duration for _, _, start, end in clipped)


# ----------------------------------------------------------------------------- results file

def test_results_dict_and_atomic_round_trip(tmp_path):
    obj = results_dict({"v1": [(1, 0.5, 0.0, 2.0)], "v2": []}, ["A", "B"])
    assert obj["results"] == {"v1": [{"label": "B", "score": 0.5, "segment": [0.0, 2.0]}],
                              "v2": []}
    assert obj["version"] == "VERSION 1.3" and "external_data" in obj
    path = tmp_path / "r.json"
    write_json_atomic(path, obj)
    assert load_results(path) == obj
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left


def test_unwritable_folder_gives_one_line_error(tmp_path):
    with pytest.raises(OSError, match="missing/r.json: cannot write") as err:
        write_json_atomic(tmp_path / "missing" / "r.json", {})
    assert "\n" not in str(err.value)
    if os.geteuid() != 0:  # root ignores folder permissions
        tmp_path.chmod(0o500)
        try:
            with pytest.raises(OSError, match="not writable"):
                write_json_atomic(tmp_path / "r.json", {})
        finally:
            tmp_path.chmod(0o700)


@pytest.mark.parametrize("entry,problem", [
    ({"label": "A", "score": 0.5, "segment": [2.0, 1.0]}, "ends before it starts"),
    ({"label": "A", "score": 0.5, "segment": [float("nan"), 1.0]}, "not finite"),
    ({"label": "A", "score": float("nan"), "segment": [0.0, 1.0]}, "score nan"),
    ({"label": "A", "segment": [0.0, 1.0]}, "expected an object"),
    ({"label": "Z", "score": 0.5, "segment": [0.0, 1.0]}, "unknown label 'Z'"),
])
def test_bad_entries_are_named(tmp_path, entry, problem):
    good = {"label": "A", "score": 0.1, "segment": [0.0, 1.0]}
    obj = {"results": {"vid": [good, entry]}}
    with pytest.raises(ValueError, match=rf"src: video 'vid' entry 1: .*{problem}"):
        validate_results(obj, "src", labels={"A"})
    if problem.startswith("unknown"):
        return
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(ValueError, match=rf"bad.json: video 'vid' entry 1: .*{problem}"):
        load_results(path)
