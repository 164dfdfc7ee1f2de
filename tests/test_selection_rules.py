"""What a run writes under each ``--select_on`` rule when the rules disagree.

The evaluation is real (the files of ``epoch_NNN/`` are written), but the mAP that reaches the
selection history is replaced by a scripted value per epoch and split, so that the test rule, the
held-out rule and the last epoch pick three different epochs:

    epoch          0      1      2      3      4
    test mAP       0.125  0.5    0.25   0.5    0.375   -> test picks 1 (tie with 3: the first)
    held-out mAP   0.125  0.25   0.75   0.75   0.5     -> heldout picks 2 (tie with 3: the first)
    last                                        x      -> last picks 4

(multiples of 1/8, so every mean is exact). Each test pins the epoch and the weights of
``<dataset>_best.pth`` and of the bare state dict (AICL's ``CAS_Only.pkl``), the checkpoint's
best metric and ``summary.json``.
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import engine.trainer as trainer_module
from config import parse_config
from dataset.synthetic import generate
from engine.data import hold_out, load_split
from engine.run import main
from eval.detection import range_averages

DIM, EMBED = 16, 8
EPOCHS = 5
TEST_MAP = [0.125, 0.5, 0.25, 0.5, 0.375]
HELDOUT_MAP = [0.125, 0.25, 0.75, 0.75, 0.5]
PICKED = {"test": 1, "heldout": 2, "last": 4}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("thumos"), dataset="thumos", num_videos=40,
                    feature_dim=DIM, seed=5)


def flat_result(result, value: float):
    """``result`` with the same value at every tIoU (so every average is ``value``)."""
    m_ap = np.full(len(result.tiou), value)
    return dataclasses.replace(result, mAP=m_ap, averages=range_averages(result.tiou, m_ap))


def script_evaluations(monkeypatch) -> dict[int, dict[str, torch.Tensor]]:
    """Replace the trainer's evaluation by the real one followed by the scripted mAP of the
    module docstring; returns {epoch: copy of the weights evaluated at that epoch}, filled as
    the run goes."""
    weights: dict[int, dict[str, torch.Tensor]] = {}
    real = trainer_module.evaluate

    def scripted(model, loader, criterion, setup, device, out_dir, cls_threshold, epoch=None):
        report = real(model, loader, criterion, setup, device, out_dir, cls_threshold,
                      epoch=epoch)
        heldout = Path(out_dir).name == "heldout"
        if not heldout:
            weights[epoch] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        value = (HELDOUT_MAP if heldout else TEST_MAP)[epoch]
        return dataclasses.replace(report, primary=flat_result(report.primary, value))

    monkeypatch.setattr(trainer_module, "evaluate", scripted)
    return weights


def steps_per_epoch(argv: list[str]) -> int:
    """Training steps of one epoch of the run ``argv``: its held-in videos over the batch size."""
    cfg = parse_config("THUMOS", argv)
    kept, held = hold_out(load_split(cfg.data, cfg.class_names, "train"), cfg.data)
    assert held is not None and held.videos
    return math.ceil(len(kept.videos) / cfg.train.batch_size)


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def check_summary(out: Path, rule: str, per_epoch: int) -> None:
    """summary.json: every rule's epoch, its step (evaluations at the end of epochs), the value
    it maximised and the test mAP there."""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["select_on"] == rule and summary["complete"] is True
    rules = summary["rules"]
    assert {name: r["epoch"] for name, r in rules.items()} == PICKED
    assert rules["test"]["selected_on"] == 0.5
    assert rules["heldout"]["selected_on"] == 0.75
    assert rules["last"]["selected_on"] is None
    for name, epoch in PICKED.items():
        assert rules[name]["test"]["average"]["0.1:0.7"] == TEST_MAP[epoch], name
        assert rules[name]["step"] == (epoch + 1) * per_epoch, name
    assert summary["steps"] == EPOCHS * per_epoch


def check_best(out: Path, rule: str, weights: dict[int, dict[str, torch.Tensor]],
               bare_name: str | None) -> None:
    """The best checkpoint (and bare state dict) hold the weights of the epoch ``rule`` picks,
    and of no other evaluated epoch."""
    epoch = PICKED[rule]
    assert sorted(weights) == list(range(EPOCHS))
    best = torch.load(out / "THUMOS_best.pth", weights_only=True)
    assert best["epoch"] == epoch and best["best_epoch"] == epoch
    # The value the rule maximised: held-out mAP for heldout, test mAP otherwise.
    assert best["best_metric"] == (HELDOUT_MAP if rule == "heldout" else TEST_MAP)[epoch]
    assert same_weights(best["model_state_dict"], weights[epoch])
    assert not any(same_weights(best["model_state_dict"], weights[e])
                   for e in weights if e != epoch), "the weights changed from epoch to epoch"
    if bare_name is not None:
        bare = torch.load(out / bare_name, weights_only=True)
        assert bare.keys() <= weights[epoch].keys() and bare
        assert all(torch.equal(bare[k], weights[epoch][k]) for k in bare)


@pytest.mark.parametrize("rule", ["test", "last", "heldout"])
def test_ftcl_best_checkpoint_follows_the_rule(data_dir, tmp_path, monkeypatch, rule):
    """FTCL (ACM stage), one evaluation per epoch: ``THUMOS_best.pth`` holds the epoch of
    ``--select_on`` (1, 4 or 2), with that epoch's weights; summary.json reports all three."""
    weights = script_evaluations(monkeypatch)
    out = tmp_path / "run"
    argv = ["--data_dir", str(data_dir), "--feature_dim", str(DIM), "--output_dir", str(out),
            "--without_wandb", "--batch_size", "8", "--sample_segments_num", "64", "--epochs",
            str(EPOCHS), "--heldout_fraction", "0.25", "--select_on", rule]
    assert main("THUMOS", argv) == 0
    check_best(out, rule, weights, bare_name=None)
    check_summary(out, rule, steps_per_epoch(argv))


@pytest.mark.parametrize("rule", ["test", "last", "heldout"])
def test_aicl_best_checkpoint_and_cas_only_follow_the_rule(data_dir, tmp_path, monkeypatch,
                                                            rule):
    """AICL, evaluated at the last step of each epoch (``--eval_every_steps`` = steps per
    epoch): ``THUMOS_best.pth`` and ``CAS_Only.pkl`` both hold the weights of the evaluation
    ``--select_on`` picks."""
    weights = script_evaluations(monkeypatch)
    out = tmp_path / "run"
    argv = ["--method", "aicl", "--data_dir", str(data_dir), "--feature_dim", str(DIM),
            "--embed_dim", str(EMBED), "--output_dir", str(out), "--without_wandb",
            "--batch_size", "8", "--sample_segments_num", "64", "--epochs", str(EPOCHS),
            "--heldout_fraction", "0.25", "--select_on", rule]
    per_epoch = steps_per_epoch(argv)
    assert main("THUMOS", argv + ["--eval_every_steps", str(per_epoch)]) == 0
    check_best(out, rule, weights, bare_name="CAS_Only.pkl")
    check_summary(out, rule, per_epoch)
    best = torch.load(out / "THUMOS_best.pth", weights_only=True)
    assert best["step"] == (PICKED[rule] + 1) * per_epoch
