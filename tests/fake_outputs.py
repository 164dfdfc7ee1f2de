"""Fake test-run files for the output and plot tests (tests/test_outputs.py, tests/test_plot.py):
model-like outputs of real THUMOS'14 test videos, written as a test run writes them
(outputs.npz, results.json, a split file). A helpers module: no tests here."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from config.thumos import CONFIG as THUMOS
from eval.outputs import OutputsWriter, outputs_meta
from eval.proposals import ProposalParams, localize_video
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
