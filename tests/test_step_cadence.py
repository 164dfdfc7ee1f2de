"""``--eval_every_steps`` together with ``--start_test_epoch``: no evaluation, and so no best
checkpoint, before the start epoch.

The synthetic set below has 19 training videos; at batch size 4 an epoch is 5 steps (steps 1-5
are epoch 0, 6-10 epoch 1, ...). With ``--eval_every_steps 7`` over 5 epochs (25 steps) the
multiples of 7 are step 7 (epoch 1), 14 (epoch 2) and 21 (epoch 4); with
``--start_test_epoch 2`` only steps 14 and 21 are evaluated. The test mAP is scripted to fall
from one evaluation to the next, so the best checkpoint stays where the first evaluation fell.
"""
from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import engine.trainer as trainer_module
from dataset.synthetic import generate
from engine.run import main
from eval.detection import range_averages

DIM = 16
SCRIPTED_MAP = [0.5, 0.25, 0.125]          # test mAP of the 1st, 2nd, 3rd evaluation


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    data = generate(tmp_path_factory.mktemp("thumos"), dataset="thumos", num_videos=40,
                    feature_dim=DIM, seed=5)
    assert len((data / "split_train.txt").read_text().split()) == 19
    return data


def script_falling_map(monkeypatch) -> list[tuple[int, dict[str, torch.Tensor]]]:
    """The real evaluation, then the n-th one's mAP replaced by ``SCRIPTED_MAP[n]``; returns the
    (epoch, weights) of each evaluation, in order."""
    seen: list[tuple[int, dict[str, torch.Tensor]]] = []
    real = trainer_module.evaluate

    def scripted(model, loader, criterion, setup, device, out_dir, cls_threshold, epoch=None):
        report = real(model, loader, criterion, setup, device, out_dir, cls_threshold,
                      epoch=epoch)
        value = SCRIPTED_MAP[len(seen)]
        seen.append((epoch, {k: v.detach().clone() for k, v in model.state_dict().items()}))
        m_ap = np.full(len(report.primary.tiou), value)
        primary = dataclasses.replace(report.primary, mAP=m_ap,
                                      averages=range_averages(report.primary.tiou, m_ap))
        return dataclasses.replace(report, primary=primary)

    monkeypatch.setattr(trainer_module, "evaluate", scripted)
    return seen


@pytest.mark.parametrize("method, extra", [("ftcl", []), ("aicl", ["--embed_dim", "8"])],
                         ids=["ftcl", "aicl"])
def test_step_cadence_starts_at_the_start_epoch(data_dir, tmp_path, monkeypatch, method, extra):
    """Evaluations at (epoch 2, step 14) and (epoch 4, step 21) only; the best checkpoint (and
    AICL's CAS_Only.pkl) holds the weights of step 14, the first evaluation."""
    seen = script_falling_map(monkeypatch)
    out = tmp_path / "run"
    assert main("THUMOS", ["--method", method, "--data_dir", str(data_dir), "--feature_dim",
                           str(DIM), "--output_dir", str(out), "--without_wandb", "--batch_size",
                           "4", "--sample_segments_num", "64", "--epochs", "5",
                           "--eval_every_steps", "7", "--start_test_epoch", "2", *extra]) == 0
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3, 4]
    assert [(int(r["epoch"]), int(r["eval_step"])) for r in rows if r["eval_step"]] == [
        (2, 14), (4, 21)]
    assert [epoch for epoch, _ in seen] == [2, 4]
    assert sorted(p.name for p in out.glob("epoch_*")) == ["epoch_002", "epoch_004"]

    best = torch.load(out / "THUMOS_best.pth", weights_only=True)
    assert (best["epoch"], best["step"], best["best_metric"]) == (2, 14, 0.5)
    first = seen[0][1]
    assert all(torch.equal(best["model_state_dict"][k], first[k]) for k in first)
    latest = torch.load(out / "THUMOS_latest.pth", weights_only=True)
    assert latest["step"] == 25
    assert not all(torch.equal(latest["model_state_dict"][k], first[k]) for k in first)
    if method == "aicl":
        bare = torch.load(out / "CAS_Only.pkl", weights_only=True)
        assert bare and all(torch.equal(bare[k], first[k]) for k in bare)

    summary = json.loads((out / "summary.json").read_text())
    assert {rule: (r["epoch"], r["step"]) for rule, r in summary["rules"].items()} == {
        "test": (2, 14), "last": (4, 21)}
    assert summary["steps"] == 25
