"""CO2-Net through the engine (``--method co2net``): its defaults and cadence, the class-pair
batches of each step against the literal port of the original's ``load_data`` on its global
stream, the W-TALC video lists, the one-line error without the W-TALC files, end-to-end training,
resume to the bit, and ``--test`` of a project checkpoint and of the original's bare state dict
(``best_CO2_3552.pkl``) to the same detections."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from config import parse_config
from dataset.features import open_feature_store
from dataset.synthetic import WTALC_ANNOTATIONS, generate
from engine.data import load_split
from engine.run import main
from engine.trainer import _is_test_step
from methods import METHODS
from methods.co2net.data import ClassPairBatches, wtalc_split_ids
from tests.reference.original_co2_sampling import OriginalPairLoader

DIM, SEGMENTS, HIDDEN = 16, 24, 4


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """90 THUMOS-like videos in the W-TALC layout: 44 training videos, every class >= 2."""
    return generate(tmp_path_factory.mktemp("co2_wtalc"), dataset="thumos", num_videos=90,
                    feature_dim=DIM, fmt="wtalc", seed=5)


def co2_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["--method", "co2net", "--data_dir", str(data), "--feature_dim", str(DIM),
            "--ccm_hidden", str(HIDDEN), "--sample_segments_num", str(SEGMENTS),
            "--output_dir", str(out), "--without_wandb", "--threads", "1", *extra]


def co2_config(data: Path, *extra: str):
    return parse_config("THUMOS", co2_args(data, data / "unused", *extra))


# ----------------------------------------------------------------------------- config

def test_defaults_are_the_official_recipe_mapped_on_epochs():
    flat = parse_config("THUMOS", ["--method", "co2net"]).flat()
    pinned = dict(lr=5e-5, weight_decay=1e-3, optimizer="adam", betas=[0.9, 0.999],
                  batch_size=10, seed=3552, epochs=25, steps_per_epoch=200,
                  eval_every_steps=200, start_test_epoch=0, sample_segments_num=500,
                  num_similar=3, similar_size=2, test_sampler="full", feature_format="wtalc",
                  eval_protocol="wtalc", select_metric="0.1:0.7", select_on="test",
                  cls_threshold=0.2, oic_lambda=0.25, oic_gamma=0.2, soft_nms_sigma=0.3,
                  ambiguous_filter=True, numpy1_arithmetic=True, ambiguous_file=None)
    assert {k: flat[k] for k in pinned} == pinned
    assert flat["epochs"] * flat["steps_per_epoch"] == 5000      # C:run.sh:3 --max-iter 5000
    record = METHODS.get("co2net")
    assert (record.eval_step_offset, record.select_protocol, record.bare_file("THUMOS"),
            record.bare_file("ActivityNet")) == (1, "wtalc", "best_CO2_3552.pkl", None)


def test_the_cadence_is_the_originals_itr_200_400_up_to_4800():
    cfg = parse_config("THUMOS", ["--method", "co2net"])
    evaluated = [s for s in range(1, 5001) if _is_test_step(cfg, (s - 1) // 200, s, 1)]
    # itr % 200 == 0 and itr != 0, itr = step - 1: after 201, 401, ..., 4801 steps; 24 in all.
    assert evaluated == list(range(201, 4802, 200)) and len(evaluated) == 24
    assert all(_is_test_step(cfg, 0, s) == (s % 200 == 0) for s in range(1, 1000))


def test_other_methods_have_none_of_its_settings():
    for method in ("ftcl", "aicl"):
        flat = parse_config("THUMOS", ["--method", method]).flat()
        assert not {"steps_per_epoch", "num_similar", "ambiguous_file", "soft_nms_sigma"} & \
            set(flat)
        assert flat["test_sampler"] != "full" and flat["eval_protocol"] == "activitynet"


# ----------------------------------------------------------------------------- data

def test_video_lists_are_the_wtalc_arrays(data_dir):
    cfg = co2_config(data_dir)
    names = [x.decode() for x in np.load(data_dir / WTALC_ANNOTATIONS / "videoname.npy")]
    subsets = [x.decode() for x in np.load(data_dir / WTALC_ANNOTATIONS / "subset.npy")]
    assert wtalc_split_ids(cfg, "train") == [n for n, s in zip(names, subsets)
                                             if s == "validation"]
    assert wtalc_split_ids(cfg, "test") == [n for n, s in zip(names, subsets) if s == "test"]


def test_real_thumos_lists_have_the_212_test_videos():
    cfg = parse_config("THUMOS", ["--method", "co2net"])
    test = wtalc_split_ids(cfg, "test")
    assert len(wtalc_split_ids(cfg, "train")) == 200 and len(test) == 212
    assert {"video_test_0000270", "video_test_0001496"} <= set(test)


def test_each_step_is_the_originals_batch_on_its_global_stream(data_dir):
    """Three steps of the batch source against the literal port's ``load_data`` after
    ``np.random.seed(3552)``: the same videos (3 pairs, then 4 random), rows, features and
    labels (labels_all), and the stream left at the same place."""
    cfg = co2_config(data_dir)
    train = load_split(cfg.data, cfg.class_names, "train", wtalc_split_ids(cfg, "train"))
    source = ClassPairBatches(train, cfg)
    folder = data_dir / WTALC_ANNOTATIONS
    labels_all = np.load(folder / "labels_all.npy", allow_pickle=True)
    multihot = np.array([[float(c in labs) for c in cfg.class_names] for labs in labels_all])
    subset = [x.decode() for x in np.load(folder / "subset.npy")]
    store = open_feature_store(data_dir, "train", DIM, "wtalc")
    names = [x.decode() for x in np.load(folder / "videoname.npy")]
    lengths = [store.get(n).shape[0] for n in names]
    port = OriginalPairLoader(multihot, subset, 10, SEGMENTS)
    saved = np.random.get_state()
    try:
        np.random.seed(3552)
        want = [port.load_data(lengths, np.random, n_similar=3) for _ in range(3)]
        after = np.random.get_state()
    finally:
        np.random.set_state(saved)
    for idx, rows, _ in want:
        videos, batch = source.draw()
        # the training list is the arrays' validation videos, first in W-TALC order
        assert list(videos) == list(idx) and len(videos) == 10
        classes = [np.flatnonzero(multihot[i]) for i in idx[:6]]
        for a, b in ((0, 1), (2, 3), (4, 5)):
            assert set(classes[a]) & set(classes[b])               # a pair shares a class
        expect = np.stack([store.get(names[i])[r] for i, r in zip(idx, rows)])
        assert torch.equal(batch["features"], torch.from_numpy(expect.astype(np.float32)))
        assert torch.equal(batch["label"], torch.from_numpy(multihot[idx].astype(np.float32)))
        assert batch["features"].shape == (10, SEGMENTS, DIM)
    state = source.rng.get_state()
    assert np.array_equal(state[1], after[1]) and state[2] == after[2]
    # the saved state continues the stream exactly
    copy = ClassPairBatches(train, cfg)
    copy.load_state_dict(source.state_dict())
    assert list(copy.draw()[0]) == list(source.draw()[0])


def test_missing_wtalc_files_are_one_line_errors(data_dir, tmp_path, capsys):
    bare = tmp_path / "no_arrays"
    shutil.copytree(data_dir, bare)
    shutil.rmtree(bare / WTALC_ANNOTATIONS)
    capsys.readouterr()
    assert main("THUMOS", co2_args(bare, tmp_path / "run")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "W-TALC annotation arrays" in err[0] and "--wtalc_annotations" \
        in err[0]
    no_labels = tmp_path / "no_labels_all"
    shutil.copytree(data_dir, no_labels)
    (no_labels / WTALC_ANNOTATIONS / "labels_all.npy").unlink()
    assert main("THUMOS", co2_args(no_labels, tmp_path / "run2")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "labels_all.npy: W-TALC file not found" in err[0]


# ----------------------------------------------------------------------------- runs

def _history(out: Path) -> list:
    return torch.load(out / "THUMOS_latest.pth", weights_only=True)["history"]


@pytest.mark.slow
def test_train_resume_and_test_a_checkpoint_and_its_bare_state_dict(data_dir, tmp_path):
    steps = ["--steps_per_epoch", "3", "--eval_every_steps", "3"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert main("THUMOS", co2_args(data_dir, straight, "--epochs", "3", *steps)) == 0
    a = torch.load(straight / "THUMOS_latest.pth", weights_only=True)
    # evaluations after steps 4 and 7 (itr 3 and 6), none after the last two steps
    assert a["step"] == 9 and [r["step"] for r in a["history"]] == [4, 7]
    metrics = json.loads((straight / "epoch_001" / "metrics.json").read_text())
    assert "wtalc" in metrics
    assert a["history"][0]["test"]["mAP"] == metrics["wtalc"]["mAP"]   # selection reads W-TALC
    # resume: one epoch, then on to three; weights, history and the sampler's stream equal
    assert main("THUMOS", co2_args(data_dir, resumed, "--epochs", "1", *steps)) == 0
    assert main("THUMOS", co2_args(data_dir, resumed, "--epochs", "3", "--resume", *steps)) == 0
    b = torch.load(resumed / "THUMOS_latest.pth", weights_only=True)
    assert a["step"] == b["step"] and a["history"] == b["history"]
    for key, value in a["model_state_dict"].items():
        assert torch.equal(value, b["model_state_dict"][key]), key
    assert torch.equal(a["batch_source"]["legacy_rng"][1], b["batch_source"]["legacy_rng"][1])
    # the original's bare state dict of the selected weights, strict-loadable, CPU tensors
    bare = torch.load(straight / "best_CO2_3552.pkl", weights_only=True)
    best = torch.load(straight / "THUMOS_best.pth", weights_only=True)
    assert len(bare) == 28 and set(bare) == set(best["model_state_dict"])
    assert all(torch.equal(bare[k], best["model_state_dict"][k]) for k in bare)
    # --test of the project checkpoint and of the bare file: the same detections
    results = []
    for name in ("THUMOS_best.pth", "best_CO2_3552.pkl"):
        out = tmp_path / f"test_{name}"
        assert main("THUMOS", co2_args(data_dir, out, "--test", "--checkpoint",
                                       str(straight / name))) == 0
        results.append(json.loads((out / "THUMOS_results.json").read_text()))
        assert "wtalc" in json.loads((out / "metrics.json").read_text())
    assert results[0] == results[1] and results[0]["results"]
    during = json.loads((straight / f"epoch_{best['best_epoch']:03d}" /
                         "THUMOS_results.json").read_text())
    assert during == results[0]
