"""Resume on data where every step has positive in-batch pairs (non-zero FTCL terms): the
criterion's RNG, the best metric and epoch, the best checkpoint and metrics.csv equal the
uninterrupted run's. (Both runs compute the first epochs from scratch, so this also checks that two
runs of one command agree bit for bit on the CPU.)"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from dataset.synthetic import generate
from engine.run import main
from tests.helpers import DIM, run_args

CLASSES = ("BaseballPitch", "BasketballDunk")


@pytest.fixture(scope="module")
def two_class_dir(tmp_path_factory) -> Path:
    """24 training and 8 test videos of two classes: a batch of 8 always holds a positive pair
    (two videos of one class) and, almost always, negatives."""
    root = tmp_path_factory.mktemp("two")
    database = {}
    for i in range(32):
        subset = "validation" if i < 24 else "test"
        label = CLASSES[i % 2]
        database[f"video_{subset}_{i:04d}"] = {
            "duration": 40.0, "subset": subset,
            "annotations": [{"segment": [5.0 + i % 5, 15.0 + i % 7], "label": label}]}
    (root / "gt.json").write_text(json.dumps({"version": "test", "database": database}))
    for split, subset in (("train", "validation"), ("test", "test")):
        ids = [v for v, e in database.items() if e["subset"] == subset]
        (root / f"split_{split}.txt").write_text("\n".join(ids) + "\n")
    return generate(root / "data", "thumos", gt=root / "gt.json", split_dir=root,
                    feature_dim=DIM, seed=3)


def run(data: Path, out: Path, *extra: str) -> int:
    return main("THUMOS", run_args(data, out, "--lcs_len", "6", *extra, batch_size=8,
                                   segments=40))


# Not marked slow (about 6 s): the quick suite's one test that finds a resume which does not
# restore the criterion's negative-sampling RNG (the mutant resume-criterion-rng).
def test_resumed_run_equals_the_straight_run_with_ftcl_terms(two_class_dir, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert run(two_class_dir, straight, "--epochs", "3") == 0
    assert run(two_class_dir, resumed, "--epochs", "2") == 0
    assert run(two_class_dir, resumed, "--epochs", "3", "--resume") == 0
    rows = list(csv.DictReader((straight / "metrics.csv").open()))
    assert len(rows) == 3
    # Every epoch drew in-batch pairs: the FSD term is never zero (the LCS needs cos > 0.984 to
    # match, so it may be).
    assert all(float(r["train_fsd_loss"]) != 0 for r in rows)
    assert (straight / "metrics.csv").read_text() == (resumed / "metrics.csv").read_text()
    for name in ("THUMOS_latest.pth", "THUMOS_best.pth"):
        a = torch.load(straight / name, weights_only=True)
        b = torch.load(resumed / name, weights_only=True)
        assert a["epoch"] == b["epoch"]
        assert a["criterion"] == b["criterion"]                 # negative-sampling RNG
        assert (a["best_metric"], a["best_epoch"]) == (b["best_metric"], b["best_epoch"])
        assert a["history"] == b["history"]
        for key, value in a["model_state_dict"].items():
            assert torch.equal(value, b["model_state_dict"][key]), (name, key)
    assert json.loads((straight / "summary.json").read_text())["rules"] == \
        json.loads((resumed / "summary.json").read_text())["rules"]
