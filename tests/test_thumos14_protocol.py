"""eval.thumos14 (the official THUMOS'14 protocol) against the official toolkit's printed mAP for
the STPN file, the hand-computed example of the protocol spec, a literal loop implementation of
the spec on random cases, and the ActivityNet-style evaluator on the same detections; plus the
submission text format, bad input and the CLI."""
from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from eval.detection import evaluate_detection, main, read_split
from eval.thumos14 import (OFFICIAL_CLASS_IDS, OFFICIAL_CLASS_NAMES, evaluate_official,
                           ground_truth_from_gt_json, load_official_ground_truth,
                           official_thresholds, read_class_list, read_submission,
                           write_submission)

TIOU = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


@pytest.fixture(scope="module")
def stpn(reference_dir):
    return reference_dir / "stpn_thumos14_official"


@pytest.fixture(scope="module")
def official_test_gt(real_thumos):
    return load_official_ground_truth(real_thumos / "official" / "annotations_test",
                                      OFFICIAL_CLASS_NAMES, "test")


def expected_map(folder: Path) -> tuple[list[str], np.ndarray]:
    """(printed %f values, 10-decimal port values) at tIoU 0.1 .. 0.9 of expected_map.tbl."""
    rows = [line.split() for line in (folder / "expected_map.tbl").read_text().splitlines()
            if line.strip() and not line.startswith(("#", "tiou"))]
    assert [float(r[0]) for r in rows] == TIOU
    return [r[1] for r in rows], np.array([float(r[2]) for r in rows])


# ----------------------------------------------------------------- the official toolkit's print

def test_official_files_as_the_spec_counts_them(official_test_gt):
    gt = official_test_gt
    assert (len(gt.label), len(gt.videos), len(gt.ambiguous_video)) == (3358, 213, 99)
    assert len({gt.videos[i] for i in gt.ambiguous_video}) == 37
    assert len(set(gt.video.tolist())) == 212  # video 1292 has Ambiguous segments only
    assert "video_test_0001292" in gt.videos and gt.has_ambiguous


def test_stpn_text_file_reproduces_the_printed_map(stpn, official_test_gt):
    printed, port = expected_map(stpn)
    result = evaluate_official(stpn / "stpn_det.txt", official_test_gt, TIOU)
    assert [f"{m:f}" for m in result.mAP] == printed
    np.testing.assert_allclose(result.mAP, port, rtol=0, atol=1e-9)
    assert result.class_names == OFFICIAL_CLASS_NAMES
    assert list(read_class_list(stpn / "detclasslist.txt").items()) == \
        list(OFFICIAL_CLASS_IDS.items())
    # Per-class AP of the independent re-implementation (6 decimals, not the toolkit's print).
    rows = [line.split() for line in (stpn / "per_class_ap_port.tbl").read_text().splitlines()
            if line.strip() and not line.startswith(("#", "class_id"))]
    assert [r[1] for r in rows] == result.class_names
    np.testing.assert_allclose(result.ap.T, [[float(x) for x in r[2:]] for r in rows],
                               rtol=0, atol=5e-7 + 1e-12)
    assert result.num_predictions == 9151 and result.num_gt == 3358


def test_stpn_results_json_reproduces_the_print_once_written_as_the_text(stpn, official_test_gt,
                                                                        tmp_path):
    """The JSON written with the text file's rounding (3-decimal times, 4-decimal scores) is the
    text file byte for byte and scores the printed mAP; the JSON at full precision moves
    mAP@0.4 from 0.250325 to 0.250362 (protocol spec 3.5): overlaps at a threshold and ties."""
    printed, _ = expected_map(stpn)
    out = tmp_path / "stpn.txt"
    assert write_submission(stpn / "results.json", out, time_decimals=3, score_decimals=4) == 9151
    assert out.read_bytes() == (stpn / "stpn_det.txt").read_bytes()
    assert [f"{m:f}" for m in evaluate_official(out, official_test_gt, TIOU).mAP] == printed
    full = evaluate_official(stpn / "results.json", official_test_gt, TIOU)
    assert f"{full.mAP[3]:f}" == "0.250362"
    assert [f"{m:f}" for i, m in enumerate(full.mAP) if i != 3] != \
        [p for i, p in enumerate(printed) if i != 3]  # other thresholds move too (0.1: 0.465687)
    np.testing.assert_allclose(full.mAP, evaluate_official(json.loads(
        (stpn / "results.json").read_text()), official_test_gt, TIOU).mAP, rtol=0, atol=0)


def test_thresholds_compare_as_decimal_literals(stpn, official_test_gt):
    np.testing.assert_array_equal(official_thresholds(np.arange(0.1, 1.0, 0.1)), TIOU)
    assert np.arange(0.1, 1.0, 0.1)[2] != 0.3
    a = evaluate_official(stpn / "stpn_det.txt", official_test_gt, np.arange(0.1, 1.0, 0.1))
    np.testing.assert_array_equal(a.tiou, TIOU)
    with pytest.raises(ValueError, match="each in"):
        official_thresholds([0.5, 1.0])


# ------------------------------------------------------------------------- the spec's example

EXAMPLE_GT = {
    "BaseballPitch": "video_test_0000001 10.0 20.0\nvideo_test_0000001  30.0 40.0\n"
                     "video_test_0000002 5.0 15.0\n",
    "BasketballDunk": "video_test_0000002 50.0 60.0\n",
    "Ambiguous": "video_test_0000001 60.0 70.0\nvideo_test_0000002 13.0 16.0\n",
}
EXAMPLE_SUBMISSION = """video_test_0000001 12.0 22.0 7 0.9
video_test_0000001 10.0 19.0 7 0.6
video_test_0000001 31.0 36.0 7 0.8
video_test_0000003 0.0 5.0 7 0.6
video_test_0000001 58.0 62.0 7 0.7
video_test_0000002 14.0 21.0 7 0.3
video_test_0000002.mp4 6.0 14.0 7 0.4
video_test_0000002 50.0 60.0 5 0.95
"""
EXAMPLE_CLASSES = ["BaseballPitch", "BasketballDunk"]


def write_example(folder: Path) -> tuple[Path, Path]:
    gt_dir = folder / "gt"
    gt_dir.mkdir()
    for name, text in EXAMPLE_GT.items():
        (gt_dir / f"{name}_test.txt").write_text(text)
    sub = folder / "example.txt"
    sub.write_text(EXAMPLE_SUBMISSION)
    return gt_dir, sub


def test_worked_example_of_the_spec(tmp_path):
    gt_dir, sub = write_example(tmp_path)
    gt = load_official_ground_truth(gt_dir, EXAMPLE_CLASSES)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate_official(sub, gt, [0.4, 0.5, 0.7, 0.85])
    messages = sorted(str(w.message).split(": ", 1)[1] for w in caught)
    assert messages == ["1 predictions for 1 videos without ground truth count as false "
                        "positives, e.g. ['video_test_0000003']",
                        "1 rows with a class id outside the class list are skipped (lines [8])"]
    np.testing.assert_allclose(result.ap[:, 0], [53 / 90, 11 / 45, 11 / 45, 1 / 9], rtol=0,
                               atol=1e-15)
    np.testing.assert_array_equal(result.ap[:, 1], 0.0)
    np.testing.assert_allclose(result.mAP, [53 / 180, 11 / 90, 11 / 90, 1 / 18], rtol=0,
                               atol=1e-15)
    # Dropped for an Ambiguous segment: d4 and d6 at 0.4 .. 0.7; d5 as well at 0.85.
    assert result.dropped == [2, 2, 2, 3]
    assert result.num_outside == 1 and result.num_predictions == 7  # d7; row 8 skipped
    with pytest.raises(ValueError, match=r"example\.txt:8: unknown class id 5"):
        read_submission(sub, EXAMPLE_CLASSES, strict=True)


def test_worked_example_under_the_activitynet_rules(tmp_path):
    """The same detections under the ActivityNet-style evaluator: BaseballPitch AP 5/6 at 0.5
    (spec section 5's first trap), against 11/45 officially."""
    gt_dir, sub = write_example(tmp_path)
    with pytest.warns(UserWarning):
        s = read_submission(sub, EXAMPLE_CLASSES)
    results: dict = {}
    for video, label, (start, end), score in zip(s.video, s.label, s.segment.tolist(),
                                                  s.score.tolist()):
        results.setdefault(video, []).append({"label": EXAMPLE_CLASSES[label], "score": score,
                                              "segment": [start, end]})
    db = {"video_test_0000001": {"subset": "test", "annotations": [
              {"segment": [10.0, 20.0], "label": "BaseballPitch"},
              {"segment": [30.0, 40.0], "label": "BaseballPitch"}]},
          "video_test_0000002": {"subset": "test", "annotations": [
              {"segment": [5.0, 15.0], "label": "BaseballPitch"},
              {"segment": [50.0, 60.0], "label": "BasketballDunk"}]}}
    with pytest.warns(UserWarning, match="without ground truth"):
        anet = evaluate_detection({"database": db}, {"results": results}, "test", [0.5])
    assert anet.per_class()["BaseballPitch"] == pytest.approx([5 / 6], abs=1e-15)
    with pytest.warns(UserWarning, match="video_test_0000003"):
        official = evaluate_official(s, load_official_ground_truth(gt_dir, EXAMPLE_CLASSES),
                                     [0.5])
    assert official.ap[0, 0] == pytest.approx(11 / 45, abs=1e-15)


# ------------------------------------------------------------- literal implementation of the spec

def literal_official_ap(gt_rows, amb_rows, det_rows, num_classes, theta):
    """Per-class AP by the spec's steps, one loop per rule. gt_rows: (video, start, end, class)
    in file order; amb_rows: (video, start, end); det_rows: (video, start, end, class, score) in
    file order (known classes only)."""
    def overlap(a, b):
        (a0, a1), (b0, b1) = sorted(a), sorted(b)
        w = min(a1, b1) - max(a0, b0)
        return w / (max(a1, b1) - min(a0, b0)) if w > 0 else 0.0

    videos = sorted({r[0] for r in gt_rows} | {r[0] for r in amb_rows} |
                    {r[0] for r in det_rows})
    aps = []
    for c in range(num_classes):
        npos = sum(1 for r in gt_rows if r[3] == c)
        ranked = []
        for v in videos:
            ground = [r for r in gt_rows if r[0] == v and r[3] == c]
            ambiguous = [r for r in amb_rows if r[0] == v]
            dets = sorted((r for r in det_rows if r[0] == v and r[3] == c), key=lambda r: -r[4])
            assigned = [False] * len(dets)
            for g in ground:
                best, best_ov = None, -1.0
                for i, d in enumerate(dets):
                    if not assigned[i] and overlap(g[1:3], d[1:3]) > best_ov:
                        best, best_ov = i, overlap(g[1:3], d[1:3])
                if best is not None and best_ov > theta:
                    assigned[best] = True
            for i, d in enumerate(dets):
                touch = sum(overlap(a[1:3], d[1:3]) for a in ambiguous) > 0
                if assigned[i] or not touch:
                    ranked.append((d[4], assigned[i]))
        ranked.sort(key=lambda r: -r[0])
        tp = fp = 0
        total = 0.0
        for _, hit in ranked:
            tp, fp = tp + hit, fp + (not hit)
            total += tp / (tp + fp) if hit else 0.0
        aps.append(total / npos)
    return aps


def random_case(rng, num_classes=4, num_videos=7):
    """Integer times (exact overlap ties, overlaps equal to 0.5), tied scores, duplicated and
    reversed detections, Ambiguous segments, file order not sorted by video, a video with only
    Ambiguous segments and one with detections only."""
    videos = [f"video_test_{v:07d}" for v in rng.permutation(num_videos)]
    gt_rows, det_rows, amb_rows = [], [], []
    for c in range(num_classes):
        for _ in range(int(rng.integers(1, 14))):
            v = videos[int(rng.integers(num_videos - 2))]
            start = int(rng.integers(0, 60))
            gt_rows.append((v, float(start), float(start + rng.integers(1, 12)), c))
    for _ in range(int(rng.integers(2, 8))):
        v = videos[int(rng.integers(num_videos - 1))]
        start = int(rng.integers(0, 70))
        amb_rows.append((v, float(start), float(start + rng.integers(1, 5))))
    for _ in range(int(rng.integers(20, 90))):
        if rng.random() < 0.6:
            g = gt_rows[int(rng.integers(len(gt_rows)))]
            v, start, end = g[0], g[1] + int(rng.integers(-3, 4)), g[2] + int(rng.integers(-3, 4))
            c = g[3] if rng.random() < 0.85 else int(rng.integers(num_classes))
        else:
            v = videos[int(rng.integers(num_videos))]
            start = int(rng.integers(0, 70))
            end, c = start + int(rng.integers(0, 15)), int(rng.integers(num_classes))
        row = (v, float(start), float(end), c, round(float(rng.random()), 1))
        det_rows.append(row)
        if rng.random() < 0.1:
            det_rows.append(row)
        if rng.random() < 0.1:
            det_rows.append((v, float(end), float(start), c, row[4]))
    return gt_rows, amb_rows, det_rows


@pytest.mark.parametrize("seed", range(12))
def test_equals_literal_spec_on_random_cases(tmp_path, seed):
    rng = np.random.default_rng(seed)
    names = OFFICIAL_CLASS_NAMES[:4]
    gt_rows, amb_rows, det_rows = random_case(rng)
    for c, name in enumerate(names):
        (tmp_path / f"{name}_test.txt").write_text("".join(
            f"{v} {s} {e}\n" for v, s, e, cc in gt_rows if cc == c))
    (tmp_path / "Ambiguous_test.txt").write_text("".join(f"{v} {s} {e}\n"
                                                         for v, s, e in amb_rows))
    sub = tmp_path / "sub.txt"
    sub.write_text("".join(f"{v}\t{s} {e} {OFFICIAL_CLASS_IDS[names[c]]} {score}\n"
                           for v, s, e, c, score in det_rows))
    gt = load_official_ground_truth(tmp_path, names)
    thresholds = [0.1, 0.3, 0.5, 0.7]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # detections on the video without ground truth
        result = evaluate_official(sub, gt, thresholds)
    for k, theta in enumerate(thresholds):
        expected = literal_official_ap(gt_rows, amb_rows, det_rows, len(names), theta)
        np.testing.assert_allclose(result.ap[k], expected, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ ground truth from a gt.json

def test_gt_json_ground_truth_is_the_official_one_without_ambiguous(real_thumos, stpn,
                                                                   official_test_gt):
    """The released gt.json holds the same 3358 test instances as the official files, so the
    two agree once the Ambiguous segments are taken away, and the result says which it used."""
    from_json = ground_truth_from_gt_json(real_thumos / "gt.json", OFFICIAL_CLASS_NAMES)
    assert not from_json.has_ambiguous and from_json.ambiguous_video.size == 0
    assert "no Ambiguous" in from_json.description and len(from_json.videos) == 212
    no_amb = dataclasses.replace(official_test_gt, ambiguous_video=np.zeros(0, dtype=np.int64),
                                 ambiguous_segment=np.zeros((0, 2)))
    a = evaluate_official(stpn / "stpn_det.txt", from_json, TIOU)
    b = evaluate_official(stpn / "stpn_det.txt", no_amb, TIOU)
    np.testing.assert_array_equal(a.ap, b.ap)
    official = evaluate_official(stpn / "stpn_det.txt", official_test_gt, TIOU)
    assert (official.mAP > a.mAP).all()  # dropped detections are no false positives
    assert not a.has_ambiguous and a.to_json()["has_ambiguous"] is False
    split = ground_truth_from_gt_json(real_thumos / "gt.json", None, "test",
                                      read_split(real_thumos / "split_test.txt"))
    assert len(split.videos) == 210 and len(split.label) == 3358 - 47


def test_protocols_differ_on_the_same_detections(real_thumos, stpn, official_test_gt):
    """STPN's JSON against the same 3358 instances: the ActivityNet-style numbers are never lower
    and several points higher at low tIoU (GT-driven matching and non-interpolated AP)."""
    anet = evaluate_detection(real_thumos / "gt.json", stpn / "results.json", "test", TIOU)
    official = evaluate_official(stpn / "results.json", official_test_gt, TIOU)
    assert anet.num_gt == official.num_gt == 3358
    gap = anet.mAP - official.mAP
    assert (gap >= 0).all() and gap[0] > 0.03 and gap[2] > 0.01
    assert (np.diff(gap) <= 1e-12).all()  # the gap shrinks as the threshold rises
    assert list(anet.averages) == list(official.averages)  # same table shape


def test_empty_class_is_an_error_unless_skipped(tmp_path):
    gt_dir, sub = write_example(tmp_path)
    (gt_dir / "BasketballDunk_test.txt").write_text("")
    gt = load_official_ground_truth(gt_dir, EXAMPLE_CLASSES)
    with pytest.raises(ValueError, match=r"classes \['BasketballDunk'\] have no ground-truth"), \
            pytest.warns(UserWarning, match="class id outside"):
        evaluate_official(sub, gt, [0.5])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate_official(sub, gt, [0.5], skip_empty_classes=True)
    assert any("1 classes without ground truth are not evaluated" in str(w.message)
               for w in caught)
    assert result.class_names == ["BaseballPitch"]
    assert result.mAP[0] == pytest.approx(11 / 45, abs=1e-15)


# ---------------------------------------------------------------------- submission text format

def test_write_read_round_trip_is_exact(stpn, official_test_gt, tmp_path):
    results = json.loads((stpn / "results.json").read_text())
    out = tmp_path / "full.txt"
    write_submission(results, out)
    sub = read_submission(out)
    flat = [(v, e["label"], e["score"], e["segment"]) for v, es in results["results"].items()
            for e in es]
    assert sub.video == [v for v, *_ in flat]
    assert [OFFICIAL_CLASS_NAMES[c] for c in sub.label] == [name for _, name, *_ in flat]
    np.testing.assert_array_equal(sub.score, [s for *_, s, _ in flat])
    np.testing.assert_array_equal(sub.segment, [seg for *_, seg in flat])
    np.testing.assert_array_equal(evaluate_official(out, official_test_gt, TIOU).ap,
                                  evaluate_official(results, official_test_gt, TIOU).ap)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_renumbered_class_list(tmp_path):
    """Kits that number the same 20 classes 1..20 work through a class list file."""
    classlist = tmp_path / "detclasslist.txt"
    classlist.write_text("".join(f"{i + 1} {name}\n" for i, name in
                                 enumerate(OFFICIAL_CLASS_NAMES)))
    ids = read_class_list(classlist)
    sub = tmp_path / "sub.txt"
    sub.write_text("video_test_0000001 1 2 20 0.5\nvideo_test_0000001 1 2 97 0.5\n")
    with pytest.warns(UserWarning, match="1 rows"):
        s = read_submission(sub, list(ids), ids)
    assert s.label.tolist() == [19]


@pytest.mark.parametrize("line, problem", [
    ("video_test_0000001 1.0 2.0 7", "expected 5 fields"),
    ("video_test_0000001 1.0 2.0 7 0.5 extra", "expected 5 fields"),
    ("video_test_0000001 1.0 abc 7 0.5", "start, end and score must be numbers"),
    ("video_test_0000001 1.0 2.0 7.0 0.5", "class id '7.0' is not an integer"),
    ("video_test_0000001 1.0 2.0 7 nan", "non-finite"),
])
def test_malformed_submission_line_is_named(tmp_path, line, problem):
    sub = tmp_path / "bad.txt"
    sub.write_text(f"video_test_0000001 1.0 2.0 7 0.9\n\n{line}\n")
    with pytest.raises(ValueError, match=rf"bad\.txt:3: {problem}"):
        read_submission(sub)


@pytest.mark.parametrize("content, problem", [
    ("video_test_0000001 1.0\n", r"BaseballPitch_test\.txt:1: expected 'video start end'"),
    ("video_test_0000001 1.0 2.0\nvideo_test_0000001 x 2.0\n",
     r"BaseballPitch_test\.txt:2: start/end 'x' '2.0' are not numbers"),
])
def test_malformed_ground_truth_line_is_named(tmp_path, content, problem):
    gt_dir, _ = write_example(tmp_path)
    (gt_dir / "BaseballPitch_test.txt").write_text(content)
    with pytest.raises(ValueError, match=problem):
        load_official_ground_truth(gt_dir, EXAMPLE_CLASSES)


def test_missing_ground_truth_file_is_named(tmp_path):
    gt_dir, _ = write_example(tmp_path)
    (gt_dir / "Ambiguous_test.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"Ambiguous_test\.txt: ground-truth file not"):
        load_official_ground_truth(gt_dir, EXAMPLE_CLASSES)
    with pytest.raises(FileNotFoundError, match=r"Diving_test\.txt"):
        load_official_ground_truth(gt_dir, ["BaseballPitch", "Diving"])


def test_unknown_label_in_results_json_is_named(official_test_gt):
    results = {"results": {"video_test_0000004": [{"label": "Juggling", "score": 1.0,
                                                   "segment": [1.0, 2.0]}]}}
    with pytest.raises(ValueError, match="video 'video_test_0000004' entry 0: unknown label"):
        evaluate_official(results, official_test_gt, [0.5])


# ------------------------------------------------------------------------------------------ CLI

def test_cli_official_files(stpn, real_thumos, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    assert main(["--protocol", "thumos14", "--pred", str(stpn / "stpn_det.txt"),
                 "--annotations", str(real_thumos / "official" / "annotations_test"),
                 "--json", str(out)]) == 0
    printed, _ = expected_map(stpn)
    text = capsys.readouterr().out
    assert " ".join(f"{t:g}:{p}" for t, p in zip(TIOU, printed)) in text
    assert "average mAP 0.1:0.7" in text and "+99 Ambiguous segments" in text
    assert "unavailable" not in text
    saved = json.loads(out.read_text())
    assert saved["protocol"] == "thumos14" and saved["has_ambiguous"] is True
    assert [f"{m:f}" for m in saved["mAP"]] == printed


def test_cli_gt_json_says_ambiguous_is_unavailable(stpn, real_thumos, capsys):
    assert main(["--protocol", "thumos14", "--pred", str(stpn / "results.json"),
                 "--gt", str(real_thumos / "gt.json"),
                 "--split", str(real_thumos / "split_test.txt")]) == 0
    text = capsys.readouterr().out
    assert sum("Ambiguous segments are unavailable" in line for line in text.splitlines()) == 1
    assert "every video of the subset (original convention)" in text
    assert "210 videos, 3311 ground-truth instances" in text


def test_cli_export_submission(stpn, tmp_path, capsys):
    out = tmp_path / "stpn.txt"
    assert main(["--pred", str(stpn / "results.json"), "--export-submission", str(out),
                 "--time-decimals", "3", "--score-decimals", "4"]) == 0
    assert out.read_bytes() == (stpn / "stpn_det.txt").read_bytes()
    assert "9151 detections" in capsys.readouterr().out


def test_cli_bad_file_is_one_line(tmp_path, real_thumos, capsys):
    sub = tmp_path / "bad.txt"
    sub.write_text("video_test_0000001 1.0 2.0 7\n")
    assert main(["--protocol", "thumos14", "--pred", str(sub),
                 "--annotations", str(real_thumos / "official" / "annotations_test")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {sub}:1: expected 5 fields") and "\n" not in err


def test_cli_flag_combinations_are_usage_errors(capsys):
    for argv in (["--pred", "x.json", "--annotations", "dir"],
                 ["--pred", "x.json", "--protocol", "thumos14", "--gt", "a", "--annotations", "b"],
                 ["--pred", "x.json"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    capsys.readouterr()
