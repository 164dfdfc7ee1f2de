"""dataset.prepare: the ACM-Net layout from the official THUMOS'14 and ActivityNet 1.3 files,
compared with the released gt.json and split files, every difference accounted for."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from dataset.prepare import main
from eval.thumos14 import AMBIGUOUS, OFFICIAL_CLASS_NAMES, read_segment_file

MISANNOTATED = {"video_test_0000270", "video_test_0001496"}
AMBIGUOUS_ONLY = "video_test_0001292"


def prepare_thumos(real_thumos: Path, out: Path, *extra: str) -> int:
    official = real_thumos / "official"
    return main(["thumos14", "--annotations", str(official / "annotations_val"),
                 str(official / "annotations_test"), "--video_info",
                 str(official / "TH14_video_info.json"), "--out", str(out), *extra])


def load(folder: Path) -> tuple[dict, dict[str, str]]:
    gt = json.loads((folder / "gt.json").read_text())
    return gt, {s: (folder / f"split_{s}.txt").read_text() for s in ("train", "test")}


@pytest.fixture(scope="module")
def released(real_thumos):
    return load(real_thumos)


@pytest.fixture(scope="module")
def video_info(real_thumos):
    return json.loads((real_thumos / "official" / "TH14_video_info.json").read_text())


def test_released_durations_give_the_released_files(real_thumos, released, tmp_path, capsys):
    assert prepare_thumos(real_thumos, tmp_path, "--durations", "released") == 0
    gt, splits = load(tmp_path)
    assert gt == released[0] and splits == released[1]
    # Only the order of the videos differs: sorted here, unordered in the released file.
    assert list(gt["database"]) != list(released[0]["database"])
    assert list(gt["database"]) == sorted(gt["database"], key=lambda v: ("test" in v, v))
    out = capsys.readouterr().out
    assert "412 videos, 6365 instances" in out and AMBIGUOUS_ONLY in out


def test_default_differs_from_the_released_files_only_as_explained(real_thumos, released,
                                                                   video_info, tmp_path):
    assert prepare_thumos(real_thumos, tmp_path) == 0
    gt, splits = load(tmp_path)
    ours, theirs = gt["database"], released[0]["database"]
    assert splits == released[1]
    assert ours.keys() == theirs.keys()
    for video, entry in ours.items():
        old, info = theirs[video], video_info[video]
        # Same subset and the same instances, in class-list then file order, as exact floats.
        assert {k: v for k, v in entry.items() if k not in ("duration", "frames")} == \
            {k: v for k, v in old.items() if k not in ("duration", "frames")}
        # Frame counts: the released file has one frame fewer than TH14_video_info, every video.
        assert entry["frames"] == info["num_frame"] == old["frames"] + 1
        # Durations: TH14_video_info (frames / true fps) here; frames / 30 there.
        assert entry["duration"] == info["duration"]
        assert entry["duration"] == pytest.approx(info["num_frame"] / info["fps"], abs=1e-9)
        assert old["duration"] == old["frames"] / 30
    # At 30 fps the released duration is one frame (1/30 s) short; the other 31 videos (18 at
    # 29.97, 11 at 25 and 2 at 24 fps) differ by more: 25 and 24 fps ones by 17% and more.
    shift = {v: ours[v]["duration"] - theirs[v]["duration"] for v in ours}
    fps = {v: video_info[v]["fps"] for v in ours}
    assert all(abs(shift[v] - 1 / 30) < 1e-9 for v in ours if fps[v] == 30)
    assert sorted(np.unique([fps[v] for v in ours if abs(shift[v] - 1 / 30) > 1e-9])) == \
        sorted({f for f in fps.values() if f != 30})
    assert sum(f != 30 for f in fps.values()) == 31 and sum(f in (24, 25) for f in
                                                            fps.values()) == 13
    assert min(ours[v]["duration"] / theirs[v]["duration"] for v in ours if fps[v] == 25) > 1.17
    # Segments ending after the video: 92 with the released durations, 30 with the true ones
    # (the annotations themselves overshoot a few videos by up to a few seconds).
    def overshoot(db):
        return sum(a["segment"][1] > e["duration"] for e in db.values() for a in e["annotations"])
    assert (overshoot(theirs), overshoot(ours)) == (92, 30)


def test_videos_outside_the_splits_and_ambiguous(real_thumos, tmp_path):
    assert prepare_thumos(real_thumos, tmp_path) == 0
    gt, splits = load(tmp_path)
    db = gt["database"]
    test_split = splits["test"].split()
    # 270 and 1496: kept in gt.json (47 instances), left out of split_test.txt.
    assert MISANNOTATED <= db.keys() and not MISANNOTATED & set(test_split)
    assert sum(len(db[v]["annotations"]) for v in MISANNOTATED) == 47
    assert sorted(v for v, e in db.items() if e["subset"] == "test") == \
        sorted(test_split + sorted(MISANNOTATED))
    # 1292 has Ambiguous segments only: it is in neither file (the layout has no place for them).
    amb_videos, _ = read_segment_file(real_thumos / "official" / "annotations_test" /
                                      f"{AMBIGUOUS}_test.txt")
    assert AMBIGUOUS_ONLY in amb_videos and AMBIGUOUS_ONLY not in db
    assert all(a["label"] in OFFICIAL_CLASS_NAMES for e in db.values() for a in e["annotations"])
    # Rounding: the official files give seconds with one decimal; gt.json holds those values.
    segments = np.array([a["segment"] for e in db.values() for a in e["annotations"]])
    np.testing.assert_array_equal(np.round(segments, 1), segments)
    # Without --exclude_from_split the two videos are in the test split too.
    assert prepare_thumos(real_thumos, tmp_path / "all", "--exclude_from_split") == 0
    assert len(load(tmp_path / "all")[1]["test"].split()) == 212


# ---------------------------------------------------------------------------- ActivityNet 1.3

def official_activitynet(gt: dict) -> dict:
    """The official activity_net.v1-3.min.json layout from ACM-Net gt.json values: ids without
    "v_", subsets "training" / "validation", plus "resolution", "url", a taxonomy and two
    "testing" videos without annotations."""
    subsets = {"train": "training", "val": "validation"}
    database = {}
    for video, entry in gt["database"].items():
        youtube_id = video[2:]
        database[youtube_id] = {"subset": subsets[entry["subset"]],
                                "duration": entry["duration"], "resolution": "1280x720",
                                "url": f"https://www.youtube.com/watch?v={youtube_id}",
                                "annotations": entry["annotations"]}
    for youtube_id in ("testVideo001", "testVideo002"):
        database[youtube_id] = {"subset": "testing", "duration": 30.5, "resolution": "640x360",
                                "url": f"https://www.youtube.com/watch?v={youtube_id}",
                                "annotations": []}
    taxonomy = [{"nodeId": 1, "nodeName": "Root", "parentId": None, "parentName": None}]
    return {"version": "VERSION 1.3", "taxonomy": taxonomy, "database": database}


def test_activitynet_round_trip(real_anet, tmp_path, capsys):
    released = json.loads((real_anet / "gt.json").read_text())
    source = tmp_path / "activity_net.v1-3.min.json"
    source.write_text(json.dumps(official_activitynet(released), separators=(",", ":")))
    assert main(["activitynet13", "--annotations", str(source), "--out", str(tmp_path / "out")]) \
        == 0
    assert "left out 2 testing videos" in capsys.readouterr().out
    gt, splits = load(tmp_path / "out")
    assert gt["database"] == released["database"]
    assert list(gt["database"]) == list(released["database"])
    # The released split lists hold 10 ids with no gt.json entry (4 train, 6 test); the lists
    # built from the annotations hold exactly the annotated videos, in the same order.
    for name, missing in (("train", 4), ("test", 6)):
        theirs = (real_anet / f"split_{name}.txt").read_text().split()
        ours = splits[name].split()
        assert [v for v in theirs if v in gt["database"]] == ours
        assert len(theirs) - len(ours) == missing


# ---------------------------------------------------------------------------------- bad files

def copy_official(real_thumos: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    dirs = []
    for name in ("annotations_val", "annotations_test"):
        folder = tmp_path / name
        folder.mkdir()
        for f in (real_thumos / "official" / name).glob("*.txt"):
            (folder / f.name).write_bytes(f.read_bytes())
        dirs.append(folder)
    info = tmp_path / "TH14_video_info.json"
    info.write_bytes((real_thumos / "official" / "TH14_video_info.json").read_bytes())
    return dirs[0], dirs[1], info


def run_thumos(val: Path, test: Path, info: Path, out: Path) -> int:
    return main(["thumos14", "--annotations", str(val), str(test), "--video_info", str(info),
                 "--out", str(out)])


@pytest.mark.parametrize("edit, message", [
    (lambda d: (d / "Diving_test.txt").write_text("video_test_0000001 1.0 2.0\nbad line\n"),
     r"Diving_test\.txt:2: expected 'video start end'"),
    (lambda d: (d / "Diving_test.txt").write_text("video_test_0000004 1.0 2.0\n"
                                                  "video_test_9999999 3.0 4.0\n"),
     r"Diving_test\.txt:2: video 'video_test_9999999' is not in .*TH14_video_info\.json"),
    (lambda d: (d / "Shotput_test.txt").unlink(), r"Shotput_test\.txt: ground-truth file not"),
    (lambda d: (d / "Shotput_test.txt").write_text("video_validation_0000051 1.0 2.0\n"),
     r"Shotput_test\.txt:1: video 'video_validation_0000051' is in subset 'validation'"),
])
def test_bad_thumos_files_are_one_line(real_thumos, tmp_path, capsys, edit, message):
    val, test, info = copy_official(real_thumos, tmp_path)
    edit(test)
    assert run_thumos(val, test, info, tmp_path / "out") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert re.search(message, err), err
    assert not (tmp_path / "out" / "gt.json").exists()


def test_bad_video_info_names_the_line(real_thumos, tmp_path, capsys):
    val, test, info = copy_official(real_thumos, tmp_path)
    info.write_text('{\n "video_test_0000004": {"fps": 30.0, "duration": 33.7,\n'
                    ' "num_frame": "many"}\n}\n')
    assert run_thumos(val, test, info, tmp_path / "out") == 1
    assert capsys.readouterr().err.startswith(
        f"error: {info}:2: video 'video_test_0000004': need a positive")
    info.write_text('{"a": 1,\n "b": }\n')
    assert run_thumos(val, test, info, tmp_path / "out") == 1
    assert capsys.readouterr().err.startswith(f"error: {info}:2: not valid JSON")


@pytest.mark.parametrize("entry, problem", [
    ({"subset": "train", "duration": 10.0, "annotations": []}, "'subset' must be"),
    ({"subset": "training", "duration": 0, "annotations": []},
     "'duration' must be a positive number"),
    ({"subset": "training", "duration": 10.0,
      "annotations": [{"segment": [1.0], "label": "Pole vault"}]}, "annotation 0: expected"),
])
def test_bad_activitynet_file_is_one_line(tmp_path, capsys, entry, problem):
    source = tmp_path / "anet.json"
    good = {"subset": "validation", "duration": 5.0,
            "annotations": [{"segment": [1.0, 2.0], "label": "Pole vault"}]}
    source.write_text(json.dumps({"version": "VERSION 1.3",
                                  "database": {"good": good, "badVideo": entry}}, indent=1))
    assert main(["activitynet13", "--annotations", str(source), "--out",
                 str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    line = next(i for i, text in enumerate(source.read_text().splitlines(), 1)
                if "badVideo" in text)
    assert err.startswith(f"error: {source}:{line}: video 'badVideo': ") and problem in err
