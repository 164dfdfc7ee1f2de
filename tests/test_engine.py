"""The engine: a loss term added through config alone, what the test loop hands to the localizer,
accuracy ties, evaluation cadence, run configs that travel with checkpoints, selection rules and
the held-out part on real runs."""
from __future__ import annotations

import csv
import json
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from methods import METHODS
from config import parse_config
from engine.build import build_optimizer, criterion_from_config, model_from_config
from engine.evaluator import EvalSetup, predict, proposal_params
from engine.run import main
from engine.steps import train_one_epoch
from losses.terms import TERMS
import methods.acmnet.localize as acm_localize_module
from methods.acmnet.localize import acm_correct
from tests.helpers import DIM, run_args


@pytest.fixture(scope="module")
def data_dir(synthetic_data) -> Path:
    return synthetic_data("thumos", num_videos=60, feature_dim=DIM, seed=1)


common = partial(run_args, batch_size=4, segments=120)


# A made-up loss term, registered here (no edit to the engine or the criteria).
@TERMS.register("test_attention_l2")
def _attention_l2(loss, stage):
    def term(outputs, batch, ctx):
        return sum((out.att[..., 0] ** 2).mean() for out in outputs)
    return term


def test_a_new_loss_term_through_config_alone_trains_one_step():
    cfg = parse_config("THUMOS", ["--feature_dim", str(DIM), "--without_lcs", "--without_fsd",
                                  "--extra_loss_terms", "test_attention_l2=0.5"])
    torch.manual_seed(0)
    model = model_from_config(cfg)
    criterion = criterion_from_config(cfg)
    assert [(t.name, w) for t, w in criterion.terms] == [("acm", 1.0),
                                                         ("test_attention_l2", 0.5)]
    optimizer = build_optimizer(cfg.optimizer, model.parameters())
    batch = {"features": torch.rand(2, 24, DIM), "label": torch.eye(20)[:2]}
    before = [p.detach().clone() for p in model.parameters()]
    stats = train_one_epoch(model, [batch], criterion, optimizer, torch.device("cpu"),
                            cls_threshold=0.25, correct=acm_correct)
    assert stats.steps == 1 and "test_attention_l2" in stats.losses
    assert stats.losses["loss"] == pytest.approx(stats.losses["acm"]
                                                 + stats.losses["test_attention_l2"], rel=1e-5)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


class StubModel(torch.nn.Module):
    """Every output field of a different value, so the test loop's wiring shows."""

    def forward(self, x):
        t, c = x.shape[1], 3
        ramp = torch.linspace(0.0, 1.0, t)[None, :, None]
        cas = lambda k: torch.softmax(ramp * k + torch.arange(c + 1.0), dim=-1)  # noqa: E731
        att = torch.stack([ramp[..., 0] * 0.9 + 0.05, 1 - ramp[..., 0] * 0.9 - 0.05,
                           torch.full_like(ramp[..., 0], 0.5)], dim=-1)
        return SimpleNamespace(
            inst_cls=torch.tensor([[0.25, 0.1, 0.6, 0.05]]),    # class 0 exactly on 0.25
            cont_cls=torch.tensor([[0.1, 0.2, 0.3, 0.4]]),
            back_cls=torch.tensor([[0.4, 0.3, 0.2, 0.1]]),
            inst_cas=cas(1.0), cas=cas(2.0), cont_cas=cas(3.0), back_cas=cas(4.0), att=att)


class ZeroLoss:
    def evaluate(self, outputs, batch):
        return torch.zeros(()), {"loss": torch.zeros(())}


def test_predict_hands_the_instance_branch_to_the_localizer(monkeypatch):
    seen = {}

    def spy(video_scores, cas, att, length, duration, params):
        seen.update(video_scores=video_scores, cas=cas, att=att, length=length,
                    duration=duration)
        return [(0, 0.5, 1.0, 2.0)]

    monkeypatch.setattr(acm_localize_module, "localize_video", spy)
    cfg = parse_config("THUMOS", [])
    setup = EvalSetup(dataset="THUMOS", class_names=["a", "b", "c"], gt_path=Path("unused"),
                      subset="test", split_ids=[], tiou_thresholds=[0.5], gt_videos="subset",
                      params=proposal_params(cfg.postprocess, cfg.data),
                      localizer=METHODS.get("ftcl").localizer)
    batch = {"features": torch.rand(1, 7, 4), "label": torch.tensor([[1.0, 0.0, 1.0]]),
             "video_id": ["v"], "length": torch.tensor([70]), "duration": torch.tensor([44.8])}
    pred = predict(StubModel(), [batch], ZeroLoss(), setup, torch.device("cpu"), 0.25)
    want = StubModel()(batch["features"])
    np.testing.assert_array_equal(seen["video_scores"], want.inst_cls[0, :-1].numpy())
    np.testing.assert_array_equal(seen["cas"], want.inst_cas[0, :, :-1].numpy())
    np.testing.assert_array_equal(seen["att"], want.att[0, :, 0].numpy())
    assert (seen["length"], seen["duration"]) == (70, pytest.approx(44.8))
    assert pred.detections == {"v": [(0, 0.5, 1.0, 2.0)]}
    # Video accuracy: class 0 at exactly the threshold counts as predicted (>=), class 2 too,
    # class 1 not: the prediction [1, 0, 1] equals the label.
    assert pred.accuracy == 1.0
    batch["label"] = torch.tensor([[0.0, 0.0, 1.0]])
    assert predict(StubModel(), [batch], ZeroLoss(), setup, torch.device("cpu"),
                   0.25).accuracy == 0.0


def _rows(out: Path) -> list[dict]:
    return list(csv.DictReader((out / "metrics.csv").open()))


def test_evaluation_cadence_follows_test_every(data_dir, tmp_path):
    out = tmp_path / "run"
    assert main("THUMOS", common(data_dir, out, "--epochs", "5", "--test_every", "2",
                                 "--start_test_epoch", "1")) == 0
    tested = [int(r["epoch"]) for r in _rows(out) if r.get("test_mAP@0.50")]
    assert tested == [2, 4]
    assert sorted(p.name for p in out.glob("epoch_*")) == ["epoch_002", "epoch_004"]
    assert parse_config("ActivityNet", []).eval.test_every == 2     # ACM-Net: even epochs only
    assert parse_config("THUMOS", []).eval.test_every == 1


def test_run_config_travels_with_the_checkpoint(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main("THUMOS", common(data_dir, out, "--epochs", "1", "--fc_dim", "64",
                                 "--nms_thresh", "0.5")) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["ftcl"]["fc_dim"] == 64 and saved["postprocess"]["nms_thresh"] == 0.5
    ckpt = out / "THUMOS_latest.pth"
    test_args = ["--data_dir", str(data_dir), "--without_wandb", "--test", "--checkpoint",
                 str(ckpt), "--sample_segments_num", "120"]
    # No flags: feature width, fc_dim and the NMS threshold come from the checkpoint.
    assert main("THUMOS", test_args + ["--output_dir", str(tmp_path / "t1")]) == 0
    assert "fc_dim" in capsys.readouterr().out
    # A flag that contradicts the model's shape is one clear line.
    assert main("THUMOS", test_args + ["--output_dir", str(tmp_path / "t2"), "--fc_dim",
                                       "128"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--fc_dim 128 contradicts" in err[0]


def test_select_on_last_and_heldout_with_every_rule_reported(data_dir, tmp_path):
    out = tmp_path / "run"
    assert main("THUMOS", common(data_dir, out, "--epochs", "3", "--select_on", "heldout",
                                 "--heldout_fraction", "0.2")) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["rules"]) == {"test", "last", "heldout"}
    assert summary["rules"]["last"]["epoch"] == 2
    best = torch.load(out / "THUMOS_best.pth", weights_only=True)
    assert best["epoch"] == summary["rules"]["heldout"]["epoch"]
    held = json.loads((out / "epoch_000" / "heldout" / "metrics.json").read_text())
    train_ids = {line for line in (data_dir / "split_train.txt").read_text().split()}
    assert 0 < held["num_videos"] < len(train_ids)
    # The held-out part is scored on its own videos only: no "every video of the subset" column,
    # which would count the whole training split's ground truth against a few videos' detections.
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "heldout_avg_mAP_0.1:0.7_split" in header
    assert not [key for key in header if key.startswith("heldout_") and key.endswith("_subset")]
    assert "test_avg_mAP_0.1:0.7_subset" in header


def test_each_evaluation_draws_its_map_figure(reference_dir):
    """The figure logged at each evaluation (wandb's image, tested with the real package in
    test_wandb_offline.py): one line per evaluated split, at that split's mAP."""
    from eval.detection import evaluate_detection
    from engine.evaluator import TestReport, map_figure, map_image

    folder = reference_dir / "autoloc_thumos14"
    result = evaluate_detection(folder / "gt.json", folder / "results.json", subset="test")
    report = TestReport(primary=result, by_convention={"subset": result})
    figure = map_figure({"test": report, "heldout": report}, "epoch 7")
    lines = [line for ax in figure.axes for line in ax.get_lines()
             if str(line.get_gid()).startswith("run:")]
    assert [line.get_gid() for line in lines] == ["run:test, epoch 7", "run:heldout, epoch 7"]
    np.testing.assert_allclose(lines[0].get_ydata(), result.mAP * 100)
    pixels = map_image({"test": report}, "epoch 7")
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
    assert pixels.min() < 100 < pixels.max()          # drawn, not a blank canvas


def test_heldout_videos_never_enter_training(data_dir, tmp_path):
    """The training batches (and so the in-batch pairs, drawn from them) hold no held-out video;
    the FTCL pair dataset, built from the same held-in part, neither."""
    import torch as _torch
    from engine.data import hold_out, load_split, training_dataset
    from engine.trainer import Trainer

    cfg = parse_config("THUMOS", common(data_dir, tmp_path / "o", "--heldout_fraction", "0.3"))
    trainer = Trainer(cfg, _torch.device("cpu"))
    held = {v for v in trainer.evaluations[1].setup.split_ids}
    trained = {v.video_id for v in trainer.train_set.videos}
    all_train = set((data_dir / "split_train.txt").read_text().split())
    assert held and trained and not held & trained and held | trained == all_train
    kept, _ = hold_out(load_split(cfg.data, cfg.class_names, "train"), cfg.data)
    assert {v.video_id for v in kept.videos} == trained
    kept.videos += kept.videos[:1]         # a duplicate gives the pair dataset a positive pair
    pairs = training_dataset("pair", kept, cfg.data, seed=0)
    assert not {pairs.videos[i].video_id for pair in pairs.pairs for i in pair} & held


def test_official_protocol_in_training_metrics(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main("THUMOS", common(data_dir, out, "--epochs", "1", "--eval_protocol",
                                 "both")) == 0
    metrics = json.loads((out / "epoch_000" / "metrics.json").read_text())
    # the official toolkit compares at the decimal literals (0.3, not 0.30000000000000004)
    np.testing.assert_allclose(metrics["thumos14_official"]["tiou"], metrics["tiou"], atol=1e-12)
    assert metrics["thumos14_official"]["tiou"][2] == 0.3
    assert "Ambiguous segments unavailable" in capsys.readouterr().out
    assert "test_avg_mAP_0.1:0.7_thumos14" in _rows(out)[0]
