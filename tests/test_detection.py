"""eval.detection against the published AutoLoc table and the literal toolkit port
(tests/reference/original_detection.py), plus conventions, bad input and the CLI."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from config import dataset_config
from eval.detection import (evaluate_both, evaluate_detection, main, parse_tiou, read_split,
                            resolve_subset)
from tests.reference.original_detection import ANETDetection

THUMOS_TIOU = np.arange(0.1, 1.0, 0.1)


def reference_ap(database, results, tiou, subset):
    """Per-class AP by name and mAP of the literal toolkit port."""
    ref = ANETDetection(database, results, tiou, subset)
    ref.evaluate()
    return {name: ref.ap[:, c] for name, c in ref.activity_index.items()}, ref.mAP


def assert_same_as_reference(result, database, results, tiou, subset="test"):
    per_class, mAP = reference_ap(database, results, tiou, subset)
    assert sorted(per_class) == sorted(result.class_names)
    for name, ap in result.per_class().items():
        np.testing.assert_allclose(ap, per_class[name], rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.mAP, mAP, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- published numbers

def test_reproduces_published_autoloc_table(reference_dir):
    folder = reference_dir / "autoloc_thumos14"
    with pytest.warns(UserWarning, match="275 predictions for 3 videos"):
        result = evaluate_detection(folder / "gt.json", folder / "results.json",
                                    tiou_thresholds=THUMOS_TIOU)
    published = "0.467 0.417 0.358 0.290 0.212 0.134 0.058 0.016 0.002".split()
    assert [f"{m:.3f}" for m in result.mAP] == published
    assert f"{result.averages['0.1:0.9']:.3f}" == "0.217"
    table = (folder / "published_map.tbl").read_text()
    assert all(cell in table for cell in published + ["0.217"])


# ------------------------------------------------------------------ equality with the toolkit

def random_case(rng, num_videos=12, num_classes=5, preds_per_video=40, ties=False):
    """A gt database (subset "test" plus a few "val" videos) and a results mapping with multiple
    gt per video, predictions for videos without gt of their class, and (ties=True) tied scores,
    duplicated segments and > 16 gt per group (numpy's non-stable sort paths)."""
    names = [f"class{c}" for c in range(num_classes)]
    db, results = {}, {}
    for v in range(num_videos):
        vid = f"video_{v:03d}"
        anns = []
        for _ in range(int(rng.integers(1, 25 if ties else 6))):
            start = float(rng.uniform(0, 90))
            seg = [round(start, 1), round(start + float(rng.uniform(0.5, 12)), 1)]
            label = names[int(rng.integers(0, num_classes - 1))]  # last class: no gt at all
            anns.append({"segment": seg, "label": label})
            if ties and rng.random() < 0.2:
                anns.append({"segment": list(seg), "label": label})
        db[vid] = {"subset": "val" if v >= num_videos - 2 else "test", "annotations": anns}
        preds = []
        for _ in range(preds_per_video):
            if rng.random() < 0.5:
                ann = anns[int(rng.integers(len(anns)))]
                start = ann["segment"][0] + float(rng.normal(0, 1.5))
                end = ann["segment"][1] + float(rng.normal(0, 1.5))
                label = ann["label"] if rng.random() < 0.8 else names[int(rng.integers(4))]
            else:
                start = float(rng.uniform(0, 90))
                end = start + float(rng.uniform(0.5, 15))
                label = names[int(rng.integers(num_classes - 1))]
            start, end = min(start, end), max(start, end)
            if ties:
                start, end = round(start), round(end) + 1
            score = float(rng.integers(0, 4)) / 4 if ties else float(rng.random())
            preds.append({"label": label, "score": score, "segment": [start, end]})
            if ties and rng.random() < 0.2:
                preds.append(dict(preds[-1]))
        if v < num_videos - 2:
            results[vid] = preds
    return db, results


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_equals_literal_toolkit(seed, ties):
    db, results = random_case(np.random.default_rng(seed), ties=ties)
    tiou = THUMOS_TIOU if seed % 2 else np.arange(0.5, 1.0, 0.05)
    result = evaluate_detection({"database": db}, {"results": results}, "test", tiou)
    assert_same_as_reference(result, db, results, tiou)
    assert result.mAP.max() > 0


def test_classes_in_given_order_and_named():
    db, results = random_case(np.random.default_rng(7))
    names = [f"class{c}" for c in range(5)][::-1]
    result = evaluate_detection({"database": db}, {"results": results}, "test", THUMOS_TIOU,
                                class_names=names)
    assert result.class_names == names[1:]  # class4 has no gt: not part of the mean
    assert_same_as_reference(result, db, results, THUMOS_TIOU)


def test_predictions_outside_gt_are_counted_false_positives():
    db, results = random_case(np.random.default_rng(11))
    results = dict(results, unknown_video=[{"label": "class0", "score": 0.99,
                                            "segment": [1.0, 2.0]}] * 3)
    with pytest.warns(UserWarning, match="3 predictions for 1 videos without ground truth"):
        result = evaluate_detection({"database": db}, {"results": results}, "test", THUMOS_TIOU)
    assert result.num_outside == 3
    assert_same_as_reference(result, db, results, THUMOS_TIOU)


def test_v_prefix_matches_either_way():
    db, results = random_case(np.random.default_rng(2))
    plain = evaluate_detection({"database": db}, {"results": results}, "test", THUMOS_TIOU)
    prefixed = {"v_" + k: v for k, v in db.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        other = evaluate_detection({"database": prefixed}, {"results": results}, "test",
                                   THUMOS_TIOU)
    np.testing.assert_array_equal(plain.ap, other.ap)


# ------------------------------------------------------------------------------ conventions

def test_subset_auto_and_tiou_parsing(real_thumos, real_anet):
    thumos = json.loads((real_thumos / "gt.json").read_text())["database"]
    anet = json.loads((real_anet / "gt.json").read_text())["database"]
    assert resolve_subset(thumos) == "test" and resolve_subset(anet) == "val"
    assert parse_tiou("0.1:0.9:0.1").tolist() == dataset_config("THUMOS")["tiou_thresholds"]
    assert parse_tiou("0.5:0.95:0.05").tolist() == \
        dataset_config("ActivityNet")["tiou_thresholds"]
    with pytest.raises(ValueError, match="first:last:step"):
        parse_tiou("0.1-0.9")



def test_tiou_takes_one_threshold_a_list_or_a_range():
    assert parse_tiou("0.5").tolist() == [0.5]
    assert parse_tiou("0.3,0.5,0.7").tolist() == [0.3, 0.5, 0.7]
    assert parse_tiou(" 0.3, 0.5 ").tolist() == [0.3, 0.5]
    for bad, message in (("0.5,x", "expected a threshold"), ("0", r"in \(0, 1\]"),
                         ("0.5,1.2", r"in \(0, 1\]"), ("0.9:0.1:0.1", "first <= last"),
                         ("", "expected a threshold")):
        with pytest.raises(ValueError, match=f"--tiou .*{message}"):
            parse_tiou(bad)


def test_json_names_the_thresholds_without_float_noise_and_matching_keeps_them():
    """np.arange(0.1, 1.0, 0.1) holds 0.30000000000000004 and 0.7000000000000001: the JSON says
    0.3 and 0.7, while the thresholds the matching used stay the exact floats."""
    gt = {"database": {"v": {"subset": "test", "duration": 100.0, "annotations": [
        {"label": "a", "segment": [0.0, 10.0]}]}}}
    # tIoU exactly 0.3 with the ground truth: a hit at 0.3 but a miss at 0.30000000000000004
    results = {"results": {"v": [{"label": "a", "score": 1.0, "segment": [0.0, 3.0]}]}}
    result = evaluate_detection(gt, results, "test", THUMOS_TIOU)
    assert result.tiou[2] == 0.30000000000000004 and result.mAP[2] == 0.0
    assert evaluate_detection(gt, results, "test", [0.3]).mAP[0] == 1.0
    text = json.dumps(result.to_json())
    assert "0.30000000000000004" not in text and "0.7000000000000001" not in text
    assert result.to_json()["tiou"] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]

def test_both_gt_conventions_on_real_thumos(real_thumos):
    gt_path = real_thumos / "gt.json"
    split = read_split(real_thumos / "split_test.txt")
    db = json.loads(gt_path.read_text())["database"]
    perfect = {"results": {v: [{"label": a["label"], "score": 1.0, "segment": a["segment"]}
                               for a in db[v]["annotations"]] for v in split}}
    both = evaluate_both(gt_path, perfect, split, class_names=dataset_config("THUMOS")[
        "class_names"])
    assert both["split"].mAP.tolist() == [1.0] * 9
    assert both["split"].num_gt == 3358 - 47 and both["subset"].num_gt == 3358
    # 29 HammerThrow and 18 CricketShot instances of videos 270 and 1496 are unreachable
    per_class = both["subset"].per_class()
    assert per_class["HammerThrow"][0] < 1.0 and per_class["CricketShot"][0] < 1.0
    assert set(both["subset"].averages) == {"0.1:0.5", "0.3:0.7", "0.1:0.7", "0.1:0.9"}


# ------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("entry,problem", [
    ({"label": "NoSuchClass", "score": 0.5, "segment": [0.0, 1.0]}, "unknown label"),
    ({"label": "class0", "score": 0.5, "segment": [3.0, 1.0]}, "ends before it starts"),
    ({"label": "class0", "score": 0.5, "segment": [float("nan"), 1.0]}, "not finite"),
])
def test_bad_predictions_raise_naming_file_video_entry(tmp_path, entry, problem):
    db, results = random_case(np.random.default_rng(0))
    video = next(iter(results))
    results[video] = results[video] + [entry]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"results": results}))
    index = len(results[video]) - 1
    with pytest.raises(ValueError, match=rf"bad.json: video '{video}' entry {index}: .*{problem}"):
        evaluate_detection({"database": db}, path, "test", THUMOS_TIOU)


def test_malformed_gt_is_named(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps({"database": {"a": {"subset": "test", "annotations": [
        {"label": "x"}]}}}))
    with pytest.raises(ValueError, match="gt.json: video 'a' annotation 0"):
        evaluate_detection(path, {"results": {}}, "test")


# ------------------------------------------------------------------------------------- CLI

def test_cli_prints_table_and_writes_json(reference_dir, tmp_path, capsys):
    folder = reference_dir / "autoloc_thumos14"
    out = tmp_path / "map.json"
    with pytest.warns(UserWarning):
        code = main(["--gt", str(folder / "gt.json"), "--pred", str(folder / "results.json"),
                     "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| mAP   | 0.467 | 0.417" in printed and "0.1:0.9: 0.2170" in printed
    written = json.loads(out.read_text())
    assert set(written) >= {"tiou", "mAP", "average", "per_class"}
    assert len(written["per_class"]) == 20 and round(written["average"]["0.1:0.9"], 3) == 0.217



@pytest.mark.parametrize("spec, expected", [("0.5", [0.5]), ("0.3,0.5,0.7", [0.3, 0.5, 0.7])])
def test_cli_takes_one_threshold_or_a_list(reference_dir, tmp_path, capsys, spec, expected):
    folder = reference_dir / "autoloc_thumos14"
    out = tmp_path / "map.json"
    with pytest.warns(UserWarning):
        code = main(["--gt", str(folder / "gt.json"), "--pred", str(folder / "results.json"),
                     "--tiou", spec, "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    written = json.loads(out.read_text())
    assert written["tiou"] == expected and len(written["mAP"]) == len(expected)

def test_cli_unwritable_json_is_one_line_error(reference_dir, tmp_path, capsys):
    folder = reference_dir / "autoloc_thumos14"
    with pytest.warns(UserWarning):
        code = main(["--gt", str(folder / "gt.json"), "--pred", str(folder / "results.json"),
                     "--json", str(tmp_path / "no" / "such" / "map.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
