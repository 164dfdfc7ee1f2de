"""dataset.annotations on the real gt.json / split files and on malformed input."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from config import dataset_config
from dataset.annotations import load_gt, load_videos, read_split

THUMOS = dataset_config("THUMOS")["class_names"]
ANET = dataset_config("ActivityNet")["class_names"]


def test_real_thumos(real_thumos: Path) -> None:
    root = real_thumos
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train = load_videos(root / "gt.json", root / "split_train.txt", THUMOS)
        test = load_videos(root / "gt.json", root / "split_test.txt", THUMOS)
    assert len(train) == 200 and len(test) == 210
    assert [v.video_id for v in train] == read_split(root / "split_train.txt")
    assert sum(v.labels.sum() > 1 for v in train) == 27
    assert sum(v.labels.sum() > 1 for v in test) == 34
    assert {v.subset for v in train} == {"validation"} and {v.subset for v in test} == {"test"}
    assert sum(len(v.segments) for v in train + test) == 6365 - 47  # 270 and 1496 left out
    video = train[0]
    assert video.labels.dtype == np.float32 and video.labels.shape == (20,)
    assert set(np.nonzero(video.labels)[0]) == {c for _, _, c in video.segments}


def test_real_activitynet_skips_missing_with_one_warning(real_anet: Path) -> None:
    root = real_anet
    with pytest.warns(UserWarning) as record:
        train = load_videos(root / "gt.json", root / "split_train.txt", ANET)
    assert len(record) == 1
    message = str(record[0].message)
    assert "4 video(s)" in message and "v_QgzpNg0Ponc" in message and "split_train.txt" in message
    assert len(train) == 9028


def test_read_split_strips_and_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "split.txt"
    path.write_text("a \n\n  b\n   \nc")
    assert read_split(path) == ["a", "b", "c"]


def _write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "gt.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _entry(**changes: object) -> dict:
    entry = {"duration": 10.0, "subset": "test",
             "annotations": [{"segment": [1.0, 2.0], "label": "Diving"}]}
    entry.update(changes)
    return entry


@pytest.mark.parametrize("content,problem", [
    ("{not json", "not valid JSON"),
    ({"videos": {}}, "'database'"),
    ({"database": {"v": _entry(duration="long")}}, "'duration'"),
    ({"database": {"v": _entry(duration=-1)}}, "'duration'"),
    ({"database": {"v": _entry(subset=None)}}, "'subset'"),
    ({"database": {"v": _entry(annotations={})}}, "'annotations'"),
    ({"database": {"v": _entry(annotations=[{"segment": [1.0], "label": "Diving"}])}},
     "'segment'"),
    ({"database": {"v": _entry(annotations=[{"segment": [1.0, 2.0]}])}}, "'label'"),
])
def test_malformed_gt_names_file_and_problem(tmp_path: Path, content: object,
                                             problem: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(ValueError) as err:
        load_gt(path)
    assert str(path) in str(err.value) and problem in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_label_names_file_video_and_label(tmp_path: Path) -> None:
    path = _write(tmp_path, {"database": {"vid1": _entry(
        annotations=[{"segment": [1.0, 2.0], "label": "Juggling"}])}})
    split = tmp_path / "split.txt"
    split.write_text("vid1\n")
    with pytest.raises(ValueError) as err:
        load_videos(path, split, THUMOS)
    assert str(path) in str(err.value) and "vid1" in str(err.value)
    assert "Juggling" in str(err.value)
