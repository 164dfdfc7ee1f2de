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
from eval.proposals import ProposalParams, localize_video, select_classes
from eval.results import results_dict, write_json_atomic

NAMES = list(THUMOS["class_names"])
# Real THUMOS'14 test videos: two classes (1460, 0004), many instances of two classes (278),
# 218 instances of one class (716), and an ordinary one (0006).
VIDEOS = ["video_test_0001460", "video_test_0000004", "video_test_0000278",
          "video_test_0000716", "video_test_0000006"]


class Args:
    """The THUMOS configuration as an argparse-like namespace."""

    def __init__(self) -> None:
        for key, value in THUMOS.items():
            setattr(self, key, value)
        self.nms_plus_one, self.clip_to_duration = True, False


def params() -> ProposalParams:
    return ProposalParams.from_args(Args())


def fake_video(info: dict[str, Any], rng: np.random.Generator, sample: int | None = None
               ) -> dict[str, Any]:
    """Model-like float32 outputs of one gt video: attention and CAS that follow its instances
    (with noise and a spurious class), T = round(duration * 25 / 16) snippets, optionally
    uniformly sampled to ``sample`` snippets as the ActivityNet test loader does."""
    length = max(2, round(info["duration"] * 25 / 16))
    t = np.arange(length) * 16 / 25
    inside = np.zeros((length, len(NAMES)), dtype=bool)
    for ann in info["annotations"]:
        c = NAMES.index(ann["label"])
        inside[:, c] |= (t >= ann["segment"][0]) & (t < ann["segment"][1])
    action = inside.any(axis=1)
    noise = rng.random((length, 3)) * 0.3
    att = np.where(action[:, None], [4.0, 1.0, 0.2], [0.2, 1.0, 3.0]) + noise
    att = np.exp(att) / np.exp(att).sum(axis=1, keepdims=True)
    logits = rng.normal(0, 0.5, (length, len(NAMES) + 1))
    logits[:, :-1] += 6.0 * inside
    spurious = int(rng.integers(len(NAMES)))
    logits[: length // 3, spurious] += 3.0
    cas = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    inst_cas = cas * att[:, :1]
    gt = sorted({NAMES.index(a["label"]) for a in info["annotations"]})
    scores = rng.random(len(NAMES)) * 0.2
    scores[gt] = 0.6 + 0.3 * rng.random(len(gt))
    scores[spurious] = max(scores[spurious], 0.3)
    if sample is not None and length > sample:
        picks = np.floor(np.arange(sample) * (length / sample)).astype(np.int64)
        att, inst_cas = att[picks], inst_cas[picks]
    return {"duration": float(info["duration"]), "num_snippets": length,
            "att": att.astype(np.float32), "cas": inst_cas[:, :-1].astype(np.float32),
            "video_scores": scores.astype(np.float32), "gt_classes": gt}


def make_run(folder: Path, gt_path: Path, videos: list[str] = VIDEOS, seed: int = 0,
             sample: int | None = None) -> dict[str, Any]:
    """A test run's files from fake outputs of real gt videos: outputs.npz (written by
    OutputsWriter), results.json (localize_video on the same arrays) and a split file of
    ``videos`` (split.txt; gt.json is the real one). Returns paths, the raw per-video arrays and
    the detections."""
    folder.mkdir(parents=True, exist_ok=True)
    db = json.loads(Path(gt_path).read_text())["database"]
    rng = np.random.default_rng(seed)
    meta = outputs_meta(Args(), epoch=7, checkpoint="runs/x/THUMOS_best.pth")
    writer = OutputsWriter(folder / "outputs.npz", meta)
    raw, detections = {}, {}
    for v in videos:
        r = fake_video(db[v], rng, sample)
        raw[v] = r
        writer.add(v, r["duration"], r["att"], r["cas"], r["video_scores"], r["gt_classes"],
                   num_snippets=r["num_snippets"])
        detections[v] = localize_video(r["video_scores"], r["cas"], r["att"][:, 0],
                                       r["num_snippets"], r["duration"], params())
    path = writer.close()
    write_json_atomic(folder / "results.json", results_dict(detections, NAMES))
    (folder / "split.txt").write_text("\n".join(videos) + "\n")
    return {"outputs": path, "results": folder / "results.json", "gt": Path(gt_path),
            "split": folder / "split.txt",
            "raw": raw, "detections": detections, "meta": meta}


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
