"""AICL through the engine (``--method aicl``): its defaults, samplers, loss, accuracy rule and
localizer wiring, the step-based evaluation cadence, end-to-end training, resume, and the
original's bare state dict (``CAS_Only.pkl``) for ``--test``."""
from __future__ import annotations

import csv
import json
import math
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import methods.aicl.localize as aicl_localize_module
from methods import METHODS
from config import parse_config
from dataset.aicl_sampling import random_perturb, uniform_sampling
from engine.build import criterion_from_config, model_from_config
from engine import data as engine_data
from engine.evaluator import EvalSetup, predict, proposal_params
from engine.run import main
from methods.aicl.localize import aicl_video_correct
from methods.aicl.inference import aicl_class_prediction
from tests.helpers import DIM, run_args
from tests.reference.original_aicl_losses import original_cost
from tests.reference.original_aicl_model import OriginalAICL

EMBED, SEGMENTS, BATCH = 8, 64, 4


@pytest.fixture(scope="module")
def data_dir(synthetic_data) -> Path:
    return synthetic_data("thumos", num_videos=40, feature_dim=DIM, seed=3)


def steps_per_epoch(data: Path) -> int:
    videos = (data / "split_train.txt").read_text().split()
    return math.ceil(len(videos) / BATCH)


common = partial(run_args, method="aicl", embed_dim=EMBED, batch_size=BATCH, segments=SEGMENTS)


def aicl_config(*extra: str):
    return parse_config("THUMOS", ["--method", "aicl", "--feature_dim", str(DIM), "--embed_dim",
                                   str(EMBED), "--sample_segments_num", str(SEGMENTS), *extra])


# ----------------------------------------------------------------------------- config

def test_method_aicl_takes_the_official_constants_and_flags_still_win():
    flat = parse_config("THUMOS", ["--method", "aicl"]).flat()
    pinned = dict(weight_decay=5e-4, lr=1e-4, epochs=900, batch_size=16, seed=1,
                  test_upgrade_scale=24, nms_thresh=0.4, oic_lambda=0.2, oic_gamma=0.2,
                  nms_alpha=0.35, nms_mode="aicl_soft", cls_threshold=0.25, q_val=0.7,
                  embed_dim=512, video_topk_seg=8, set_ratio_consistent=20,
                  set_ratio_inconsistent=20, eval_every_steps=50, select_metric="0.1:0.7",
                  select_on="test", gt_videos="subset", sample_segments_num=750,
                  train_sampler="random_perturb", test_sampler="uniform_sampling",
                  loss_weight_cls=1.0, loss_weight_gce=1.0, loss_weight_modality=5.0,
                  loss_weight_contrast=0.01, loss_weight_action=0.1, stable_topk=False,
                  exclude_set_fill=False, cpu_alias_quirk=False, nce_tau=0.1,
                  ce_label_eps=1e-10, gce_eps=1e-7, num_workers=0)
    assert {k: flat[k] for k in pinned} == pinned
    # linspace(0.1, 0.7, 7): 0.3 exactly; the proposal thresholds keep arange's drift.
    assert flat["tiou_thresholds"] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    assert flat["act_thresholds"][2] == 0.30000000000000004 and len(flat["act_thresholds"]) == 9
    given = parse_config("THUMOS", ["--method", "aicl", "--weight_decay", "1e-3", "--seed", "4"])
    assert (given.optimizer.weight_decay, given.run.seed) == (1e-3, 4)


def test_method_ftcl_keeps_its_defaults():
    flat = parse_config("THUMOS", []).flat()
    assert (flat["weight_decay"], flat["epochs"], flat["seed"], flat["nms_thresh"]) == \
        (5e-5, 25, 0, 0.55)
    assert (flat["eval_every_steps"], flat["train_sampler"], flat["test_sampler"]) == \
        (0, "random_sample", "uniform_sample")
    assert flat["tiou_thresholds"][2] == 0.30000000000000004


def test_synthetic_recipe_of_the_method():
    cfg = parse_config("THUMOS", ["--method", "aicl", "--synthetic"]).flat()
    assert (cfg["epochs"], cfg["start_test_epoch"], cfg["eval_every_steps"]) == (150, 0, 50)
    assert (cfg["sample_segments_num"], cfg["embed_dim"], cfg["feature_dim"]) == (256, 128, 256)
    cfg = parse_config("THUMOS", ["--method", "aicl", "--synthetic", "--epochs", "7"]).flat()
    assert cfg["epochs"] == 7
    assert parse_config("THUMOS", ["--synthetic"]).flat()["eval_every_steps"] == 0


@pytest.mark.parametrize("dataset,argv,message", [
    ("ActivityNet", ["--method", "aicl"], "no ActivityNet recipe"),
    ("THUMOS", ["--method", "aicl", "--ftcl"], "no pair stage")])
def test_unavailable_method_or_stage_is_one_line(capsys, dataset, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(dataset, argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 1
    assert len(err) == 1 and err[0].startswith("error: --") and message in err[0]


def test_out_of_range_aicl_setting_is_refused(capsys):
    with pytest.raises(SystemExit):
        parse_config("THUMOS", ["--method", "aicl", "--nce_tau", "0"])
    assert "--nce_tau: must be > 0" in capsys.readouterr().err


# ----------------------------------------------------------------------------- data, loss, rules

def test_datasets_use_the_aicl_samplers(data_dir):
    num = 128
    cfg = aicl_config("--data_dir", str(data_dir), "--sample_segments_num", str(num))
    train = engine_data.load_split(cfg.data, cfg.class_names, "train")
    dataset = engine_data.training_dataset("single", train, cfg.data, seed=5)
    dataset.set_epoch(3)
    length = train.store.get(train.videos[2].video_id).shape[0]
    picks = random_perturb(length, num, np.random.default_rng([5, 3, 2]))
    features = train.store.get(train.videos[2].video_id)[picks]
    np.testing.assert_array_equal(dataset[2]["features"].numpy(), features)

    test = engine_data.load_split(cfg.data, cfg.class_names, "test")
    lengths = [test.store.get(v.video_id).shape[0] for v in test.videos]
    short = int(np.argmin(lengths))
    assert lengths[short] < num          # the fixture has a video shorter than S
    item = engine_data.test_dataset(test, cfg.data)[short]
    rows = test.store.get(test.videos[short].video_id)[uniform_sampling(lengths[short], num)]
    assert item["features"].shape == (num, DIM) and item["length"] == lengths[short]
    np.testing.assert_array_equal(item["features"].numpy(), rows)


def test_criterion_total_is_the_original_cost_bit_for_bit():
    cfg = aicl_config()
    torch.manual_seed(2)
    model = model_from_config(cfg)
    ref = OriginalAICL(len_feature=DIM, num_classes=20, width=EMBED)
    ref.load_state_dict(model.state_dict(), strict=True)
    criterion = criterion_from_config(cfg)
    assert [(t.name, w) for t, w in criterion.terms] == [("aicl", 1.0)]
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(3, SEGMENTS, DIM, generator=gen)
    labels = torch.zeros(3, 20)
    labels[0, 4] = labels[1, [2, 9]] = labels[2, 19] = 1
    total, parts = criterion([model(x)], {"features": x, "label": labels})
    want = original_cost(ref(x), labels, num_segments=SEGMENTS)
    assert total.item() == want.item() == parts["loss"].item() == parts["aicl"].item()
    test_total, _ = criterion.evaluate([model(x)], {"features": x, "label": labels})
    assert test_total.item() == total.item()


def test_accuracy_rule_is_the_official_class_prediction():
    rng = np.random.default_rng(0)
    scores = rng.dirichlet(np.full(6, 0.3), size=200).astype(np.float32)
    scores[:20] = np.float32(1 / 6)                  # nothing reaches 0.25: the fallback
    scores[20:30, 0] = np.float32(0.25)              # exactly on the threshold
    labels = (rng.random((200, 6)) < 0.2).astype(np.float32)
    labels[:60] = 0
    for row in range(60):                            # many rows right, so both outcomes occur
        binary, _, _ = aicl_class_prediction(scores[row], 0.25, cpu_alias_quirk=row % 2 == 1)
        labels[row] = binary if row % 3 else 1 - binary
    for quirk in (False, True):
        want = [bool(np.array_equal(aicl_class_prediction(s, 0.25, quirk)[0], y))
                for s, y in zip(scores, labels)]
        got = aicl_video_correct(torch.from_numpy(scores), torch.from_numpy(labels), 0.25, quirk)
        assert got.tolist() == want
        assert 0 < sum(want) < len(want)


class StubAICL(torch.nn.Module):
    """An AICL-shaped output with every field distinct, so the wiring shows."""

    def forward(self, x):
        t, c = x.shape[1], 3
        ramp = torch.linspace(0.0, 1.0, t)
        return SimpleNamespace(
            video_scores=torch.tensor([[0.25, 0.2, 0.55]]),     # class 0 exactly on 0.25
            combined_cas=torch.stack([ramp, 1 - ramp, ramp * 0.5], dim=-1)[None],
            cas=torch.full((1, t, c), 7.0), actionness2=(ramp * 0.3)[None],
            action_rgb=(ramp * 0.2)[None, None], action_flow=(ramp * 0.4)[None, None])


class ZeroLoss:
    def evaluate(self, outputs, batch):
        return torch.zeros(()), {"loss": torch.zeros(())}


def test_predict_hands_the_combined_cas_and_video_scores_to_aicl_localize(monkeypatch):
    seen = {}

    def spy(video_scores, combined_cas, num_snippets, params):
        seen.update(video_scores=video_scores, combined_cas=combined_cas,
                    num_snippets=num_snippets, params=params)
        return [(2, 0.5, 1.0, 2.0)]

    monkeypatch.setattr(aicl_localize_module, "aicl_localize", spy)
    cfg = aicl_config("--nms_alpha", "0.5")
    setup = EvalSetup(dataset="THUMOS", class_names=["a", "b", "c"], gt_path=Path("unused"),
                      subset="test", split_ids=[], tiou_thresholds=[0.5], gt_videos="subset",
                      params=proposal_params(cfg.postprocess, cfg.data),
                      localizer=METHODS.get("aicl").localizer)
    batch = {"features": torch.rand(1, 9, 4), "label": torch.tensor([[1.0, 0.0, 1.0]]),
             "video_id": ["v"], "length": torch.tensor([5]), "duration": torch.tensor([3.2])}
    pred = predict(StubAICL(), [batch], ZeroLoss(), setup, torch.device("cpu"), 0.25)
    want = StubAICL()(batch["features"])
    np.testing.assert_array_equal(seen["video_scores"], want.video_scores[0].numpy())
    np.testing.assert_array_equal(seen["combined_cas"], want.combined_cas[0].numpy())
    assert seen["num_snippets"] == 5      # the snippet count before sampling, not the 9 rows
    assert (seen["params"].nms_alpha, seen["params"].upgrade_scale) == (0.5, 24)
    assert pred.detections == {"v": [(2, 0.5, 1.0, 2.0)]}
    np.testing.assert_array_equal(pred.scores, want.video_scores.numpy())
    # Classes 0 (exactly 0.25) and 2 are predicted, as labelled.
    assert pred.accuracy == 1.0
    batch["label"] = torch.tensor([[0.0, 0.0, 1.0]])
    assert predict(StubAICL(), [batch], ZeroLoss(), setup, torch.device("cpu"),
                   0.25).accuracy == 0.0


def test_saved_outputs_hold_actionness_and_combined_cas():
    cfg = aicl_config()
    out = StubAICL()(torch.rand(1, 9, 4))
    batch = {"length": torch.tensor([9]), "duration": torch.tensor([5.76])}
    _, arrays = METHODS.get("aicl").localizer.localize(
        out, batch, METHODS.get("aicl").localizer.params(proposal_params(cfg.postprocess,
                                                                            cfg.data)))
    want = torch.stack([out.actionness2[0], out.action_rgb[0, 0], out.action_flow[0, 0]], -1)
    np.testing.assert_array_equal(arrays["att"], want.numpy())
    np.testing.assert_array_equal(arrays["cas"], out.combined_cas[0].numpy())


# ----------------------------------------------------------------------------- runs

def _rows(out: Path) -> list[dict]:
    return list(csv.DictReader((out / "metrics.csv").open()))


@pytest.mark.slow
def test_trains_with_the_step_cadence_and_keeps_the_best_step(data_dir, tmp_path, capsys):
    per_epoch = steps_per_epoch(data_dir)
    every = per_epoch + 2                 # evaluations fall inside epochs
    out = tmp_path / "run"
    assert main("THUMOS", common(data_dir, out, "--epochs", "3",
                                 "--eval_every_steps", str(every))) == 0
    evaluated = [(int(r["epoch"]), int(r["eval_step"])) for r in _rows(out) if r["eval_step"]]
    want = [((step - 1) // per_epoch, step) for step in range(every, 3 * per_epoch + 1, every)]
    assert evaluated == want and len(want) == 2
    assert [int(r["epoch"]) for r in _rows(out)] == [0, 1, 2]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 3 * per_epoch
    best = torch.load(out / "THUMOS_best.pth", weights_only=True)
    rule = summary["rules"]["test"]
    assert (best["epoch"], best["step"]) == (rule["epoch"], rule["step"])
    assert summary["rules"]["last"]["step"] == want[-1][1]
    # The bare state dict: the original's 12 keys, the weights of the selected step.
    bare = torch.load(out / "CAS_Only.pkl", weights_only=True)
    assert len(bare) == 12 and all(k.startswith("actionness_module.") for k in bare)
    assert all(torch.equal(bare[k], best["model_state_dict"][k]) for k in bare)
    latest = torch.load(out / "THUMOS_latest.pth", weights_only=True)
    assert latest["step"] == 3 * per_epoch
    assert not all(torch.equal(bare[k], latest["model_state_dict"][k]) for k in bare)
    # The project's checkpoint tests as the run evaluated that step.
    test_out = tmp_path / "test"
    assert main("THUMOS", common(data_dir, test_out, "--test", "--checkpoint",
                                 str(out / "THUMOS_best.pth"))) == 0
    tested = json.loads((test_out / "metrics.json").read_text())
    during = json.loads((out / f"epoch_{rule['epoch']:03d}" / "metrics.json").read_text())
    assert tested["mAP"] == during["mAP"]
    # With --method aicl alone, the widths and the snippets per test video come from its config.
    bare_out = tmp_path / "test_bare"
    assert main("THUMOS", ["--method", "aicl", "--data_dir", str(data_dir), "--without_wandb",
                           "--output_dir", str(bare_out), "--test", "--checkpoint",
                           str(out / "THUMOS_best.pth")]) == 0
    assert json.loads((bare_out / "metrics.json").read_text())["mAP"] == during["mAP"]
    # Without it, one line says what to add.
    capsys.readouterr()
    assert main("THUMOS", ["--data_dir", str(data_dir), "--without_wandb", "--output_dir",
                           str(tmp_path / "t_ftcl"), "--test", "--checkpoint",
                           str(out / "THUMOS_best.pth")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "add --method aicl" in err[0]


def test_resume_is_bit_exact(data_dir, tmp_path):
    every = str(steps_per_epoch(data_dir) + 1)
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert main("THUMOS", common(data_dir, straight, "--epochs", "2",
                                 "--eval_every_steps", every)) == 0
    assert main("THUMOS", common(data_dir, resumed, "--epochs", "1",
                                 "--eval_every_steps", every)) == 0
    assert main("THUMOS", common(data_dir, resumed, "--epochs", "2", "--resume",
                                 "--eval_every_steps", every)) == 0
    a = torch.load(straight / "THUMOS_latest.pth", weights_only=True)
    b = torch.load(resumed / "THUMOS_latest.pth", weights_only=True)
    assert a["step"] == b["step"] and a["history"] == b["history"] and a["history"]
    for key, value in a["model_state_dict"].items():
        assert torch.equal(value, b["model_state_dict"][key]), key
    bare_a = torch.load(straight / "CAS_Only.pkl", weights_only=True)
    bare_b = torch.load(resumed / "CAS_Only.pkl", weights_only=True)
    assert all(torch.equal(bare_a[k], bare_b[k]) for k in bare_a)
    assert [r["eval_step"] for r in _rows(straight)] == [r["eval_step"] for r in _rows(resumed)]


def test_original_bare_state_dict_loads_for_test(data_dir, tmp_path, capsys):
    torch.manual_seed(0)
    state = model_from_config(aicl_config()).state_dict()
    path = tmp_path / "CAS_Only.pkl"
    torch.save(dict(state), path)
    assert main("THUMOS", common(data_dir, tmp_path / "t", "--test", "--checkpoint",
                                 str(path))) == 0
    assert "average mAP" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "t" / "metrics.json").read_text())
    assert [round(t, 12) for t in metrics["tiou"]] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]


@pytest.mark.parametrize("problem", ["wrong_shape", "missing_key"])
def test_bad_state_dict_is_one_line(data_dir, tmp_path, capsys, problem):
    state = dict(model_from_config(aicl_config()).state_dict())
    if problem == "wrong_shape":
        state["actionness_module.cls.0.weight"] = torch.zeros(20, EMBED + 1, 1)
    else:
        del state["actionness_module.cls_flow.bias"]
    path = tmp_path / "CAS_Only.pkl"
    torch.save(state, path)
    code = main("THUMOS", common(data_dir, tmp_path / "t", "--test", "--checkpoint", str(path)))
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1 and str(path) in err
    assert ("cls.0.weight" if problem == "wrong_shape" else "cls_flow.bias") in err


def test_step_cadence_below_one_epoch_is_one_line(data_dir, tmp_path, capsys):
    code = main("THUMOS", common(data_dir, tmp_path / "o", "--epochs", "1",
                                 "--eval_every_steps", "1"))
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and "--eval_every_steps 1" in err


# ----------------------------------------------------------------------------- saved outputs

def test_saved_outputs_name_aicl_and_relocalize_to_the_run_detections(data_dir, tmp_path):
    """outputs.npz of an AICL test names the method and AICL's own thresholds (its proposal
    thresholds, no attention ones, classes selected at >= cls_threshold), and tools.relocalize
    gives the test's results JSON back, entry for entry."""
    from eval.outputs import load_outputs
    from tools.relocalize import main as relocalize_main

    torch.manual_seed(0)
    path = tmp_path / "CAS_Only.pkl"
    torch.save(dict(model_from_config(aicl_config()).state_dict()), path)
    out = tmp_path / "t"
    assert main("THUMOS", common(data_dir, out, "--test", "--checkpoint", str(path),
                                 "--save_outputs")) == 0
    saved = load_outputs(out / "outputs.npz")
    cfg = aicl_config()
    assert saved.meta["method"] == "aicl" and saved.meta["class_rule"] == ">="
    assert saved.meta["cas_thresholds"] == list(cfg.postprocess.act_thresholds)
    assert saved.meta["att_thresholds"] == []
    assert saved.meta["postprocess"]["nms_mode"] == cfg.postprocess.nms_mode
    params = METHODS.get("aicl").localizer.params(
        SimpleNamespace(**saved.meta["postprocess"]))
    for video in saved.videos:
        chosen = aicl_class_prediction(video.video_scores, params.cls_threshold)[1]
        assert set(chosen.tolist()) <= set(video.classes.tolist())
    assert relocalize_main([str(out / "outputs.npz"), "--out", str(tmp_path / "again.json")]) == 0
    again = json.loads((tmp_path / "again.json").read_text())["results"]
    original = json.loads((out / "THUMOS_results.json").read_text())["results"]
    assert sum(len(v) for v in original.values()) > 0
    assert again == original


def test_aicl_keeps_the_cas_of_a_class_at_exactly_its_threshold():
    """AICL selects at >= 0.25 where ACM-Net selects at > 0.25: a class scoring exactly 0.25
    is AICL's, and its saved CAS column is kept."""
    saved = METHODS.get("aicl").localizer.saved
    params = METHODS.get("aicl").localizer.params(SimpleNamespace(**vars(proposal_params(
        aicl_config().postprocess, aicl_config().data))))
    scores = np.array([0.25, 0.5, 0.25, 0.0], dtype=np.float32)
    assert saved.classes(scores, params).tolist() == [0, 1, 2]
    acm = METHODS.get("ftcl").localizer
    acm_params = acm.params(proposal_params(parse_config("THUMOS", []).postprocess,
                                            parse_config("THUMOS", []).data))
    assert acm.saved.classes(scores, acm_params).tolist() == [1]
