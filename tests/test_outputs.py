"""The saved test outputs (eval/outputs.py): exact round trip, no pickle, the localizer reproduced
from the file, and one-line errors on bad files."""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from config.thumos import CONFIG as THUMOS
from eval.outputs import (REQUIRED_META, OutputsWriter, check_videos, load_outputs,
                          outputs_meta)
from eval.proposals import localize_video, select_classes
from tests.fake_outputs import NAMES, VIDEOS, Args, make_run, params


@pytest.fixture(scope="module")
def run(tmp_path_factory, real_thumos) -> dict[str, Any]:
    return make_run(tmp_path_factory.mktemp("run"), real_thumos / "gt.json")


def test_round_trip_is_exact_and_needs_no_pickle(run):
    with np.load(run["outputs"], allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)
    loaded = load_outputs(run["outputs"])
    assert loaded.video_ids == VIDEOS
    assert loaded.meta["class_names"] == NAMES and loaded.meta["epoch"] == 7
    assert loaded.meta["att_thresholds"] == list(THUMOS["att_thresholds"])
    for v in VIDEOS:
        r, got = run["raw"][v], loaded[v]
        assert np.array_equal(got.att, r["att"]) and got.att.dtype == np.float32
        assert np.array_equal(got.video_scores, r["video_scores"])
        assert got.duration == r["duration"] and got.num_snippets == r["num_snippets"]
        assert got.gt_classes.tolist() == r["gt_classes"]
        kept = np.union1d(select_classes(r["video_scores"], THUMOS["cls_threshold"]),
                          r["gt_classes"])
        assert got.classes.tolist() == kept.tolist()
        assert np.array_equal(got.cas, r["cas"][:, kept])
        for c in kept:
            assert np.array_equal(got.cas_of(int(c)), r["cas"][:, c])


def test_saved_arrays_reproduce_the_detections(run):
    """The localizer only reads the selected classes' CAS: the file suffices to redo it."""
    loaded = load_outputs(run["outputs"])
    for v in VIDEOS:
        got = loaded[v]
        full = np.zeros((got.att.shape[0], len(NAMES)), dtype=np.float32)
        full[:, got.classes] = got.cas
        again = localize_video(got.video_scores, full, got.att[:, 0], got.num_snippets,
                               got.duration, params())
        assert again == run["detections"][v]


def test_compact_storage(run):
    """Only the selected and gt classes' CAS columns are stored, not all C."""
    loaded = load_outputs(run["outputs"])
    stored = sum(v.cas.size for v in loaded.videos)
    full = sum(v.att.shape[0] * len(NAMES) for v in loaded.videos)
    assert 0 < stored <= full / 4


def test_snippet_times_follow_the_localizer_axis(tmp_path, real_thumos):
    """With test sampling (T_in < T) a stored snippet i starts at i * 16 * T / (25 * T_in) s."""
    sampled = make_run(tmp_path, real_thumos / "gt.json", VIDEOS[3:4], sample=75)
    got = load_outputs(sampled["outputs"])[VIDEOS[3]]
    length = sampled["raw"][VIDEOS[3]]["num_snippets"]
    assert got.att.shape[0] == 75 < length
    times = got.snippet_times(25, 16)
    assert times[0] == 0 and np.isclose(times[1], 16 * length / (25 * 75))
    assert abs(times[-1] + times[1] - got.duration) < 1.0


def test_file_is_atomic_and_gets_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        writer = OutputsWriter(tmp_path / "o.npz", outputs_meta(Args()))
        writer.add("v", 3.0, np.full((4, 3), 1 / 3), np.zeros((4, 20)), np.zeros(20), [2])
        path = writer.close()
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["o.npz"]


def test_writer_rejects_bad_shapes_and_duplicates(tmp_path):
    writer = OutputsWriter(tmp_path / "o.npz", outputs_meta(Args()))
    with pytest.raises(ValueError, match="att must be"):
        writer.add("v", 3.0, np.zeros((4, 2)), np.zeros((4, 20)), np.zeros(20), [])
    with pytest.raises(ValueError, match="expected cas"):
        writer.add("v", 3.0, np.zeros((4, 3)), np.zeros((4, 21)), np.zeros(20), [])
    writer.add("v", 3.0, np.zeros((4, 3)), np.zeros((4, 20)), np.zeros(20), [])
    with pytest.raises(ValueError, match="added twice"):
        writer.add("v", 3.0, np.zeros((4, 3)), np.zeros((4, 20)), np.zeros(20), [])
    with pytest.raises(ValueError, match="lacks"):
        OutputsWriter(tmp_path / "p.npz", {"class_names": NAMES})
    assert set(outputs_meta(Args())) == set(REQUIRED_META)


def _one_line(err: pytest.ExceptionInfo, path: Path) -> str:
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(path))
    return text


def test_missing_and_malformed_files_are_one_line_errors(tmp_path, run):
    with pytest.raises(FileNotFoundError) as err:
        load_outputs(tmp_path / "none.npz")
    assert "no such" in _one_line(err, tmp_path / "none.npz")

    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError) as err:
        load_outputs(text)
    _one_line(err, text)

    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(ValueError, match="missing arrays") as err:
        load_outputs(other)
    _one_line(err, other)

    # a pickled object array inside is refused, never unpickled
    pickled = tmp_path / "pickled.npz"
    with np.load(run["outputs"]) as data:
        arrays = {k: data[k] for k in data.files}
    np.savez(pickled, **{**arrays, "video_ids": np.array([object()] * 5, dtype=object)})
    with pytest.raises(ValueError) as err:
        load_outputs(pickled)
    _one_line(err, pickled)

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(Path(run["outputs"]).read_bytes()[:200])
    with pytest.raises(ValueError) as err:
        load_outputs(truncated)
    _one_line(err, truncated)

    wrong = tmp_path / "wrong.npz"
    meta = json.loads(arrays["meta_json"].tobytes())
    np.savez(wrong, **{**arrays, "meta_json": np.frombuffer(
        json.dumps({**meta, "format": "x"}).encode(), np.uint8)})
    with pytest.raises(ValueError, match="not a ftcl-test-outputs file"):
        load_outputs(wrong)

    broken = tmp_path / "broken.npz"
    np.savez(broken, **{**arrays, "att_offsets": arrays["att_offsets"][:-1]})
    with pytest.raises(ValueError, match="att_offsets") as err:
        load_outputs(broken)
    _one_line(err, broken)
    assert zipfile.is_zipfile(run["outputs"])


def test_videos_must_match_results(run):
    loaded = load_outputs(run["outputs"])
    check_videos(loaded, VIDEOS, "results.json")
    check_videos(loaded, VIDEOS + ["video_test_0000896"], "gt.json", exact=False)
    with pytest.raises(ValueError, match="1 only in results.json") as err:
        check_videos(loaded, VIDEOS + ["video_test_0000896"], "results.json")
    _one_line(err, run["outputs"])
    with pytest.raises(ValueError, match="1 in the outputs but not in gt.json"):
        check_videos(loaded, VIDEOS[1:], "gt.json", exact=False)


def test_writer_keeps_the_classes_the_method_selected(tmp_path):
    """``selected`` (the method's own class selection) decides the kept CAS columns; without it,
    the classes strictly above cls_threshold (0.25 here) are kept."""
    scores = np.zeros(20, dtype=np.float32)
    scores[[3, 5]] = [0.25, 0.6]
    writer = OutputsWriter(tmp_path / "o.npz", outputs_meta(Args()))
    writer.add("a", 3.0, np.zeros((4, 3)), np.zeros((4, 20)), scores, [9])
    writer.add("b", 3.0, np.zeros((4, 3)), np.zeros((4, 20)), scores, [9], selected=[3, 5])
    with pytest.raises(ValueError, match="selected class out of range"):
        writer.add("c", 3.0, np.zeros((4, 3)), np.zeros((4, 20)), scores, [], selected=[20])
    loaded = load_outputs(writer.close())
    assert loaded["a"].classes.tolist() == [5, 9] and loaded["b"].classes.tolist() == [3, 5, 9]


def test_relocalize_gives_the_ftcl_detections_back_and_refuses_old_files(tmp_path, run, capsys):
    """tools.relocalize by the meta's method (here FTCL, its settings in "postprocess"); a file
    without them (written before they were recorded) is a one-line error."""
    from tools.relocalize import main, relocalize

    loaded = load_outputs(run["outputs"])
    settings = vars(Args())
    meta = {**loaded.meta, "method": "ftcl", "postprocess": settings}
    meta.pop("format"), meta.pop("version")
    writer = OutputsWriter(tmp_path / "o.npz", meta)
    for v in loaded.videos:
        writer.add(v.video_id, v.duration, v.att, _full_cas(v), v.video_scores,
                   v.gt_classes.tolist(), num_snippets=v.num_snippets)
    again = relocalize(load_outputs(writer.close()))
    assert again == run["detections"]
    changed = relocalize(load_outputs(tmp_path / "o.npz"), {"nms_thresh": 0.2})
    assert changed != run["detections"]
    assert main([str(run["outputs"]), "--out", str(tmp_path / "r.json")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {run['outputs']}: the meta names no "
                                                   "method")


def _full_cas(video) -> np.ndarray:
    """(T, C) CAS of a saved video: its kept columns, zeros elsewhere."""
    full = np.zeros((len(video.att), len(NAMES)), dtype=np.float32)
    full[:, video.classes] = video.cas
    return full
