"""eval.wtalc (the W-TALC convention of CO2-Net / STCL-Net) against the literal port of the
original evaluator and Ambiguous filter (tests/reference/original_wtalc_eval.py) on the real
THUMOS'14 W-TALC annotation arrays with synthetic detections (bit for bit), the spec's counts of
those arrays, hand cases of each rule (snippet conversion, Ambiguous filter, tie order, matching,
AP), the gt.json route, the CLI and the training run's --eval_protocol wtalc.

No published results file exists for this convention (the published STCL/CO2 numbers come with no
detections), so no test compares with a published table."""
from __future__ import annotations

import json
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from eval.detection import evaluate_detection, main
from eval.wtalc import (WtalcGroundTruth, ambiguous_ranges, detections_to_snippets,
                        evaluate_wtalc, ground_truth_from_gt_json, gt_to_snippets,
                        load_wtalc_ground_truth, original_print, read_ambiguous,
                        touches_ambiguous)
from tests import helpers
from tests.reference.original_wtalc_eval import ANETdetection, filter_segments, proposals_frame

TIOU = np.arange(0.1, 1.0, 0.1)   # the original's thresholds: [0.1, 0.2, ..., 0.9] as floats
ORIGINAL_TIOU = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


@pytest.fixture(scope="module")
def arrays(real_thumos) -> Path:
    folder = real_thumos / "Thumos14reduced-Annotations"
    assert folder.is_dir(), f"{folder}: the shipped W-TALC arrays are missing"
    return folder


@pytest.fixture(scope="module")
def wtalc_gt(arrays) -> WtalcGroundTruth:
    return load_wtalc_ground_truth(arrays)


def synthetic_snippet_detections(gt: WtalcGroundTruth, seed: int, ties: bool = False,
                                 per_instance: int = 2, noise: int = 10):
    """Detections of every ground-truth video in snippet units, as the original's proposals
    ([start, end+1) whole snippets): jittered copies of the instances (80 % with the right class)
    and random ones; ``ties``: scores on a coarse grid, so equal scores abound."""
    rng = np.random.default_rng(seed)
    per_video = []
    for vi, video in enumerate(gt.videos):
        rows = []
        for (s, e), c in zip(gt.segment[gt.video == vi], gt.label[gt.video == vi]):
            for _ in range(per_instance):
                a = max(0, int(s) + int(rng.integers(-3, 4)))
                b = max(a + 1, int(e) + int(rng.integers(-3, 4)))
                rows.append([a, b, rng.random(), c if rng.random() < 0.8 else rng.integers(20)])
        for _ in range(noise):
            a = int(rng.integers(0, 500))
            rows.append([a, a + int(rng.integers(1, 60)), rng.random(), rng.integers(20)])
        rows = np.array(rows, dtype=np.float64)
        if ties:
            rows[:, 2] = np.round(rows[:, 2] * 4) / 4
        per_video.append((video, rows))
    return per_video


def as_results(per_video, class_names, to_seconds=lambda x: x * 16 / 25):
    """The project's results dict of snippet-unit rows [start, end, score, class]: times in
    seconds as a localizer writes them (index * 16 / 25)."""
    return {"results": {v: [{"label": class_names[int(r[3])], "score": float(r[2]),
                             "segment": [float(to_seconds(r[0])), float(to_seconds(r[1]))]}
                            for r in rows] for v, rows in per_video}}


def original(arrays: Path, per_video, ambiguous: bool = True) -> ANETdetection:
    ev = ANETdetection(str(arrays), ORIGINAL_TIOU)
    ev.prediction = proposals_frame(per_video, str(arrays / "Ambiguous_test.txt")
                                    if ambiguous else None)
    ev.evaluate()
    return ev


# ------------------------------------------------------------------ the arrays, as the spec counts

def test_arrays_as_the_spec_counts_them(wtalc_gt, arrays):
    gt = wtalc_gt
    assert (len(gt.videos), len(gt.label), len(gt.class_names)) == (212, 3358, 20)
    assert {"video_test_0000270", "video_test_0001496"} <= set(gt.videos)
    assert "video_test_0001292" not in gt.videos
    assert int((gt.segment[:, 0] == gt.segment[:, 1]).sum()) == 17   # zero-length instances
    assert (len(gt.ambiguous_video), len(set(gt.ambiguous_video))) == (99, 37)
    # Half to even: 191 of the 6716 endpoints are exactly .5 snippets; half-up moves 100.
    seconds = np.concatenate([s for s, sub in zip(
        np.load(arrays / "segments.npy", allow_pickle=True),
        np.load(arrays / "subset.npy")) if sub == b"test" and len(s)])
    x = seconds.ravel() * 25 / 16
    assert int((x % 1 == 0.5).sum()) == 191
    assert int((np.floor(x + 0.5) != gt.segment.ravel()).sum()) == 100
    # The shipped copy keeps the W-TALC file's two spaces and CRLF endings.
    raw = (arrays / "Ambiguous_test.txt").read_bytes()
    assert raw.startswith(b"video_test_0000278  0.0 1.4\r\n")


# ------------------------------------------------------------------ the literal port, real arrays

@pytest.mark.parametrize("seed, ties", [(0, False), (1, True)])
def test_equals_the_literal_port_bit_for_bit(wtalc_gt, arrays, seed, ties):
    """Whole-snippet detections written in seconds: the project's mAP and per-class AP are the
    original's bit for bit, with the Ambiguous filter, with many equal scores too."""
    per_video = synthetic_snippet_detections(wtalc_gt, seed, ties=ties)
    ours = evaluate_wtalc(as_results(per_video, wtalc_gt.class_names), wtalc_gt, TIOU)
    ev = original(arrays, per_video)
    assert np.array_equal(ours.mAP, ev.mAP) and np.array_equal(ours.ap, ev.ap)
    assert ours.num_predictions == len(ev.prediction)
    assert ours.num_dropped_ambiguous == sum(len(r) for _, r in per_video) - len(ev.prediction)
    assert ours.num_dropped_ambiguous > 0 and ours.class_names == list(wtalc_gt.class_names)


def test_equals_the_literal_port_without_the_filter(wtalc_gt, arrays):
    per_video = synthetic_snippet_detections(wtalc_gt, 2, per_instance=1, noise=4)
    ours = evaluate_wtalc(as_results(per_video, wtalc_gt.class_names), wtalc_gt, TIOU,
                          filter_ambiguous=False)
    ev = original(arrays, per_video, ambiguous=False)
    assert np.array_equal(ours.ap, ev.ap) and ours.num_dropped_ambiguous == 0
    filtered = evaluate_wtalc(as_results(per_video, wtalc_gt.class_names), wtalc_gt, TIOU)
    assert not np.array_equal(filtered.mAP, ours.mAP)


def test_fractional_times_equal_the_port_on_the_converted_snippets(wtalc_gt, arrays):
    """Times in seconds that are not whole snippets (any method's results): the port, fed the
    project's conversion t*25/16, gives the same numbers (filter with int() included)."""
    rng = np.random.default_rng(3)
    per_video = synthetic_snippet_detections(wtalc_gt, 3, per_instance=1, noise=5)
    frac = [(v, np.column_stack([rows[:, 0] + rng.random(len(rows)),
                                 rows[:, 1] + rng.random(len(rows)), rows[:, 2:]]))
            for v, rows in per_video]
    results = as_results(frac, wtalc_gt.class_names, to_seconds=lambda x: x * 0.64)
    ours = evaluate_wtalc(results, wtalc_gt, TIOU)
    converted = [(v, np.column_stack([detections_to_snippets(
        np.array([[d["segment"][0], d["segment"][1]] for d in results["results"][v]])),
        rows[:, 2:]])) for v, rows in frac]
    ev = original(arrays, converted)
    np.testing.assert_allclose(ours.ap, ev.ap, rtol=0, atol=1e-12)
    assert np.array_equal(ours.mAP, ev.mAP)


def test_the_filter_is_idempotent(wtalc_gt, arrays):
    """Results already filtered by the original's post-processing score the same here (the
    filter sits in the proposal function there, and drops each detection on its own)."""
    per_video = synthetic_snippet_detections(wtalc_gt, 4, per_instance=1, noise=5)
    amb = str(arrays / "Ambiguous_test.txt")
    prefiltered = [(v, filter_segments(rows, v, amb).reshape(-1, 4)) for v, rows in per_video]
    a = evaluate_wtalc(as_results(per_video, wtalc_gt.class_names), wtalc_gt, TIOU)
    b = evaluate_wtalc(as_results(prefiltered, wtalc_gt.class_names), wtalc_gt, TIOU)
    assert np.array_equal(a.ap, b.ap) and b.num_dropped_ambiguous == 0
    assert a.num_predictions == b.num_predictions


def test_gt_json_route_equals_the_arrays(wtalc_gt, real_thumos):
    """gt.json converted as the original converts its arrays gives the same instances (two test
    videos list theirs in another order) and the same numbers."""
    from_json = ground_truth_from_gt_json(real_thumos / "gt.json", "test",
                                          ambiguous=real_thumos / "official" / "annotations_test"
                                          / "Ambiguous_test.txt")
    assert sorted(from_json.videos) == sorted(wtalc_gt.videos)
    assert from_json.class_names == wtalc_gt.class_names
    key = lambda g: sorted(zip([g.videos[i] for i in g.video], g.label.tolist(),  # noqa: E731
                               map(tuple, g.segment.tolist())))
    assert key(from_json) == key(wtalc_gt)
    assert np.array_equal(from_json.ambiguous_range, wtalc_gt.ambiguous_range)
    per_video = synthetic_snippet_detections(wtalc_gt, 5, per_instance=1, noise=5)
    results = as_results(per_video, wtalc_gt.class_names)
    np.testing.assert_allclose(evaluate_wtalc(results, from_json, TIOU).ap,
                               evaluate_wtalc(results, wtalc_gt, TIOU).ap, rtol=0, atol=1e-12)


def test_same_matching_as_the_activitynet_protocol_in_snippet_units(wtalc_gt):
    """Without the filter, W-TALC = the ActivityNet-style evaluator run on a ground truth and
    detections already in snippet units (same rules, independent code)."""
    per_video = synthetic_snippet_detections(wtalc_gt, 6, per_instance=1, noise=5)
    db = {v: {"subset": "test", "annotations": []} for v in wtalc_gt.videos}
    for v, c, seg in zip(wtalc_gt.video, wtalc_gt.label, wtalc_gt.segment.tolist()):
        db[wtalc_gt.videos[v]]["annotations"].append(
            {"segment": seg, "label": wtalc_gt.class_names[c]})
    anet = evaluate_detection({"database": db}, as_results(per_video, wtalc_gt.class_names,
                                                           to_seconds=lambda x: x),
                              "test", ORIGINAL_TIOU, list(wtalc_gt.class_names))
    ours = evaluate_wtalc(as_results(per_video, wtalc_gt.class_names), wtalc_gt, TIOU,
                          filter_ambiguous=False)
    np.testing.assert_allclose(ours.ap, anet.ap, rtol=0, atol=1e-12)
    # At np.arange's 0.30000000000000004 and 0.7000000000000001 the exact 3/10 and 7/10 tIoUs of
    # whole snippets would miss: the protocol compares at the literals, as the original's list.
    at_arange = evaluate_detection({"database": db}, as_results(
        per_video, wtalc_gt.class_names, to_seconds=lambda x: x), "test", TIOU,
        list(wtalc_gt.class_names))
    assert not np.array_equal(at_arange.mAP, ours.mAP)


# ------------------------------------------------------------------ hand cases of each rule

def small_gt(instances, ambiguous=None, tmp_path=None) -> WtalcGroundTruth:
    """A ground truth of (video, class name, start_s, end_s) instances over classes A, B."""
    db = {}
    for video, label, s, e in instances:
        db.setdefault(video, {"subset": "test", "annotations": []})["annotations"].append(
            {"segment": [s, e], "label": label})
    amb = None
    if ambiguous is not None:
        amb = tmp_path / "Ambiguous_test.txt"
        amb.write_text("".join(f"{v}  {s} {e}\r\n" for v, s, e in ambiguous))
    return ground_truth_from_gt_json({"database": db}, "test", ["A", "B"], ambiguous=amb)


def res(*dets):
    """Results from (video, label, start_snippet, end_snippet, score) in snippet units."""
    out: dict = {}
    for v, label, s, e, score in dets:
        out.setdefault(v, []).append({"label": label, "score": score,
                                      "segment": [s * 16 / 25, e * 16 / 25]})
    return {"results": out}


def test_snippet_conversion_half_to_even_and_zero_length():
    # 1.0-1.5 s (video_test_0000004's instance) -> 1.5625, 2.34375 -> [2, 2]: zero length.
    assert gt_to_snippets(np.array([1.0, 1.5])).tolist() == [2.0, 2.0]
    # .5 snippets round to even: 0.8 s = 1.25 -> 1, 0.96 s = 1.5 -> 2, 2.24 s = 3.5 -> 4,
    # 0.32 s = 0.5 -> 0
    assert gt_to_snippets(np.array([0.8, 0.96, 2.24, 0.32])).tolist() == [1.0, 2.0, 4.0, 0.0]
    values = np.linspace(0, 300, 30001)
    assert gt_to_snippets(values).tolist() == [float(round(t * 25 / 16)) for t in values]
    # Detections: k * 16/25 s gives back k, even where the float product misses it.
    k = np.arange(20000, dtype=np.float64)
    raw = (k * 16 / 25) * 25 / 16
    assert (raw != k).any()
    assert np.array_equal(detections_to_snippets(k * 16 / 25), k)
    assert detections_to_snippets(np.array([1.0]))[0] == 1.5625       # not rounded


def test_zero_length_instance_never_matches_but_counts(tmp_path):
    gt = small_gt([("v1", "A", 1.0, 1.5), ("v1", "A", 6.4, 12.8)])   # [2,2] and [10,20]
    assert gt.segment.tolist() == [[2.0, 2.0], [10.0, 20.0]]
    r = evaluate_wtalc(res(("v1", "A", 10, 20, 0.9), ("v1", "A", 1, 3, 0.8)), gt, [0.1])
    assert r.ap[0, 0] == pytest.approx(0.5)                  # recall 1/2, precision 1
    assert r.num_gt == 2


def test_ambiguous_filter_shares_an_integer_snippet(tmp_path):
    # Ambiguous 1.0-3.0 s -> range(round(1.5625), round(4.6875)) = range(2, 5) = {2, 3, 4}.
    assert ambiguous_ranges(np.array([[1.0, 3.0]])).tolist() == [[2, 5]]
    seg = np.array([[5, 8], [0, 2], [0, 2.99], [0, 3], [4.9, 9], [4, 4.5]], dtype=np.float64)
    drop = touches_ambiguous(["v1"] * 6, seg, ["v1"], np.array([[2, 5]]))
    # [5,8) touches the end only; [0,2) stops before 2; int(2.99) = 2; [0,3) shares 2;
    # int(4.9) = 4 shares 4; range(4, 4) is empty.
    assert drop.tolist() == [False, False, False, True, True, False]
    assert not touches_ambiguous(["v2"], seg[3:4], ["v1"], np.array([[2, 5]])).any()
    # An empty Ambiguous range (1.0-1.2 s -> range(2, 2)) drops nothing.
    assert ambiguous_ranges(np.array([[1.0, 1.2]])).tolist() == [[2, 2]]
    assert not touches_ambiguous(["v1"], seg[3:4], ["v1"], np.array([[2, 2]])).any()


def test_ambiguous_filter_drops_would_be_true_positives_of_any_class(tmp_path):
    gt = small_gt([("v1", "A", 1.28, 6.4), ("v1", "B", 32.0, 38.4)],    # [2,10], [50,60]
                  ambiguous=[("v1", 1.0, 3.0)], tmp_path=tmp_path)          # range(2, 5)
    dets = res(("v1", "A", 2, 10, 0.9), ("v1", "B", 50, 60, 0.8), ("v2", "A", 2, 10, 0.95))
    with pytest.warns(UserWarning, match="1 predictions for 1 videos"):
        r = evaluate_wtalc(dets, gt, [0.5])
    assert r.num_dropped_ambiguous == 1 and r.num_predictions == 2
    assert r.ap[0].tolist() == [0.0, 1.0]         # A's perfect detection is gone
    with pytest.warns(UserWarning, match="1 predictions for 1 videos"):
        off = evaluate_wtalc(dets, gt, [0.5], filter_ambiguous=False)
    assert off.ap[0].tolist() == [0.5, 1.0]       # kept: the other video's FP, then the TP
    assert read_ambiguous(tmp_path / "Ambiguous_test.txt")[1].tolist() == [[1.0, 3.0]]


def test_tie_order_is_reversed_quicksort(tmp_path):
    """Equal scores: ``argsort()[::-1]`` puts the later detection first. B (second in the file,
    tIoU 0.6) takes the instance at t <= 0.6; at 0.7 only A (tIoU 0.9) can match, ranked second."""
    gt = small_gt([("v1", "A", 0.0, 6.4)])                      # [0, 10]
    dets = res(("v1", "A", 0, 9, 0.5), ("v1", "A", 0, 6, 0.5))
    r = evaluate_wtalc(dets, gt, [0.5, 0.7])
    assert r.ap[:, 0].tolist() == [1.0, 0.5]
    swapped = res(("v1", "A", 0, 6, 0.5), ("v1", "A", 0, 9, 0.5))
    assert evaluate_wtalc(swapped, gt, [0.5, 0.7]).ap[:, 0].tolist() == [1.0, 1.0]


def test_matching_needs_tiou_at_least_t_and_takes_the_best_free_instance(tmp_path):
    gt = small_gt([("v1", "A", 0.0, 2.56), ("v1", "A", 1.28, 3.84)])   # [0,4], [2,6]
    # [0,2] against [0,4]: tIoU exactly 0.5 -> TP at 0.5, FP at 0.6.
    assert evaluate_wtalc(res(("v1", "A", 0, 2, 1.0)), gt, [0.5, 0.6]).ap[:, 0].tolist() == \
        [0.5, 0.0]
    # [1,5]: tIoU 0.6 with both (3/5 each); the first by argsort()[::-1] is the second instance.
    # The next detection [0,4] then takes the first instance at 0.5.
    r = evaluate_wtalc(res(("v1", "A", 1, 5, 0.9), ("v1", "A", 0, 4, 0.8)), gt, [0.5])
    assert r.ap[0, 0] == 1.0


def test_interpolated_ap_and_the_mean_over_ground_truth_classes(tmp_path):
    gt = small_gt([("v1", "A", 0.0, 6.4), ("v1", "A", 12.8, 19.2), ("v1", "A", 25.6, 32.0),
                   ("v1", "B", 0.0, 6.4)])
    # A: TP, FP, TP over 3 instances: precision 1, 1/2, 2/3 at recall 1/3, 1/3, 2/3 ->
    # AP = 1/3 * 1 + 1/3 * 2/3 = 5/9. B: no detection -> AP 0, still in the mean.
    dets = res(("v1", "A", 0, 10, 0.9), ("v1", "A", 100, 110, 0.8), ("v1", "A", 20, 30, 0.7))
    r = evaluate_wtalc(dets, gt, [0.5])
    assert r.ap[0].tolist() == pytest.approx([5 / 9, 0.0], abs=1e-15)
    assert r.mAP[0] == pytest.approx(5 / 18, abs=1e-15)


def test_outside_videos_are_false_positives_and_unknown_labels_fail(tmp_path):
    gt = small_gt([("v1", "A", 0.0, 6.4)])
    with pytest.warns(UserWarning, match="count as false positives"):
        r = evaluate_wtalc(res(("v9", "A", 0, 10, 0.9), ("v1", "A", 0, 10, 0.8)), gt, [0.5])
    assert r.ap[0, 0] == 0.5 and r.num_outside == 1
    with pytest.raises(ValueError, match="Nope"):
        evaluate_wtalc(res(("v1", "Nope", 0, 10, 0.9)), gt, [0.5])


def test_original_print_format(wtalc_gt):
    per_video = synthetic_snippet_detections(wtalc_gt, 0, per_instance=1, noise=2)
    r = evaluate_wtalc(as_results(per_video, wtalc_gt.class_names), wtalc_gt, TIOU)
    lines = original_print(r).splitlines()
    assert lines[0].startswith(f"map @ 0.1 = {r.mAP[0] * 100:.3f} ||map @ 0.2 = ")
    assert "map @ 0.3 = " in lines[0]                      # not 0.30000000000000004
    assert lines[1] == (f"mAP Avg 0.1-0.5: {np.mean(r.mAP[:5]) * 100:.3f}, mAP Avg 0.1-0.7: "
                        f"{np.mean(r.mAP[:7]) * 100:.3f}, mAP Avg ALL: "
                        f"{np.mean(r.mAP) * 100:.3f}")
    assert r.averages["0.1:0.7"] == pytest.approx(np.mean(r.mAP[:7]), abs=1e-15)
    out = r.to_json()
    assert out["protocol"] == "wtalc" and out["num_dropped_ambiguous"] == r.num_dropped_ambiguous


def test_missing_or_bad_files_fail_in_one_line(tmp_path, arrays):
    with pytest.raises(FileNotFoundError, match="W-TALC annotation folder not found"):
        load_wtalc_ground_truth(tmp_path / "none")
    folder = tmp_path / "arr"
    folder.mkdir()
    for name in ("videoname", "subset", "classlist", "segments"):
        (folder / f"{name}.npy").write_bytes((arrays / f"{name}.npy").read_bytes())
    with pytest.raises(FileNotFoundError, match="labels.npy"):
        load_wtalc_ground_truth(folder)
    (folder / "labels.npy").write_bytes((arrays / "labels.npy").read_bytes())
    with pytest.raises(FileNotFoundError, match="Ambiguous file not found"):
        load_wtalc_ground_truth(folder)
    assert not load_wtalc_ground_truth(folder, ambiguous=False).has_ambiguous
    (folder / "Ambiguous_test.txt").write_text("video_test_0000278 0.0\n")
    with pytest.raises(ValueError, match=r"Ambiguous_test.txt:1: expected"):
        load_wtalc_ground_truth(folder)


# ------------------------------------------------------------------ the CLI

def test_cli_wtalc_and_all_side_by_side(wtalc_gt, arrays, real_thumos, tmp_path, capsys):
    per_video = synthetic_snippet_detections(wtalc_gt, 7, per_instance=1, noise=3)
    pred = tmp_path / "results.json"
    pred.write_text(json.dumps(as_results(per_video, wtalc_gt.class_names)))
    expected = evaluate_wtalc(pred, wtalc_gt, TIOU)
    assert main(["--protocol", "wtalc", "--wtalc-annotations", str(arrays), "--pred", str(pred),
                 "--json", str(tmp_path / "w.json")]) == 0
    out = capsys.readouterr().out
    assert "protocol: W-TALC" in out and "mAP Avg 0.1-0.7: " in out
    saved = json.loads((tmp_path / "w.json").read_text())
    assert saved["mAP"] == expected.mAP.tolist() and saved["protocol"] == "wtalc"
    # --gt alone: the arrays beside it (data/THUMOS14/Thumos14reduced-Annotations).
    assert main(["--protocol", "wtalc", "--gt", str(real_thumos / "gt.json"), "--pred",
                 str(pred), "--json", str(tmp_path / "w2.json")]) == 0
    assert json.loads((tmp_path / "w2.json").read_text())["mAP"] == saved["mAP"]
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["--protocol", "all", "--gt", str(real_thumos / "gt.json"), "--pred",
                     str(pred), "--json", str(tmp_path / "all.json")]) == 0
    out = capsys.readouterr().out
    table = out[out.index("side by side"):].splitlines()
    assert [row.split("|")[1].strip() for row in table if row.startswith("| ")] == [
        "protocol", "activitynet", "thumos14", "wtalc"]
    both = json.loads((tmp_path / "all.json").read_text())
    assert both["wtalc"]["mAP"] == saved["mAP"]
    assert "Ambiguous" in both["thumos14"]["gt_videos"]      # the official files beside gt.json


def test_cli_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--protocol", "all", "--pred", "x.json"])
    assert "--protocol all needs --gt" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--protocol", "wtalc", "--pred", "x.json"])
    assert "--wtalc-annotations DIR or --gt" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--wtalc-annotations", "d", "--gt", "g.json", "--pred", "x.json"])
    assert "--wtalc-annotations needs --protocol wtalc" in capsys.readouterr().err
    assert main(["--protocol", "wtalc", "--wtalc-annotations", str(tmp_path / "none"),
                 "--pred", "x.json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "W-TALC annotation folder not found" in err


# ------------------------------------------------------------------ training and --test

def write_wtalc_arrays(gt_json: Path, classlist: Path, folder: Path,
                       subset: str = "test") -> Path:
    """A W-TALC annotation folder made from a gt.json (the test's own synthetic set) and the real
    ``classlist.npy``: the arrays in the W-TALC dtypes (byte strings, object arrays of lists) and
    an Ambiguous file."""
    db = json.loads(gt_json.read_text())["database"]
    videos = [v for v, info in db.items() if info["subset"] == subset]
    folder.mkdir(parents=True, exist_ok=True)
    objects = lambda rows: np.array(rows + [None], dtype=object)[:-1]  # noqa: E731
    np.save(folder / "videoname.npy", np.array([v.encode() for v in videos]))
    np.save(folder / "subset.npy", np.array([subset.encode()] * len(videos)))
    (folder / "classlist.npy").write_bytes(classlist.read_bytes())
    np.save(folder / "segments.npy", objects([[list(map(float, a["segment"]))
                                               for a in db[v]["annotations"]] for v in videos]),
            allow_pickle=True)
    np.save(folder / "labels.npy", objects([[a["label"] for a in db[v]["annotations"]]
                                            for v in videos]), allow_pickle=True)
    first = db[videos[0]]["annotations"][0]["segment"]
    (folder / "Ambiguous_test.txt").write_text(f"{videos[0]}  {first[0]} {first[1]}\r\n")
    return folder


@pytest.fixture(scope="module")
def small_run_data(synthetic_data) -> Path:
    return synthetic_data("thumos", num_videos=24, feature_dim=16, seed=3)


run_args = partial(helpers.run_args, dim=16, batch_size=4, segments=60)


@pytest.mark.filterwarnings("ignore:.*classes with no ground truth")
def test_training_reports_the_wtalc_convention(small_run_data, arrays, tmp_path, capsys):
    """--eval_protocol wtalc: each evaluation's metrics.json holds the W-TALC result of the
    epoch's results file, the console its table and the original's lines, metrics.csv its
    averages; the ActivityNet-style result stays the primary one."""
    from engine.run import main as run_main
    from eval.wtalc import load_wtalc_ground_truth

    mine = write_wtalc_arrays(small_run_data / "gt.json", arrays / "classlist.npy",
                              tmp_path / "arrays")
    out = tmp_path / "run"
    assert run_main("THUMOS", run_args(small_run_data, out, "--epochs", "1", "--eval_protocol",
                                       "wtalc", "--wtalc_annotations", str(mine))) == 0
    epoch = out / "epoch_000"
    metrics = json.loads((epoch / "metrics.json").read_text())
    expected = evaluate_wtalc(epoch / "THUMOS_results.json", load_wtalc_ground_truth(mine),
                              metrics["tiou"])
    assert metrics["wtalc"]["mAP"] == expected.mAP.tolist()
    assert metrics["wtalc"]["num_dropped_ambiguous"] == expected.num_dropped_ambiguous
    assert "thumos14_official" not in metrics and "protocol" not in metrics
    printed = capsys.readouterr().out
    assert "W-TALC convention" in printed and "mAP Avg 0.1-0.7: " in printed
    header = (out / "metrics.csv").read_text().splitlines()[0]
    assert "test_avg_mAP_0.1:0.7_wtalc" in header


def test_missing_wtalc_arrays_fail_in_one_line_before_training(small_run_data, tmp_path,
                                                               capsys):
    from engine.run import main as run_main

    out = tmp_path / "run"
    assert run_main("THUMOS", run_args(small_run_data, out, "--epochs", "1",
                                       "--eval_protocol", "all")) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs the W-TALC annotation arrays" in err[0]
    assert "--wtalc_annotations DIR" in err[0]
    assert not (out / "epoch_000").exists()
