"""CO2-Net on ActivityNet 1.2 (``main_act.py --method co2net``): the W-TALC ActivityNet1.2 layout
read without a gt.json, the class list taken from the data's ``classlist.npy``, the video lists
and class-pair batches of ``AntSampleDataset`` (short-video filter after the per-class mapping,
zero-sum videos skipped in the mapping only) against a literal port on the original's global
stream, the ``ANT_CO2`` network the record builds against the port ``OriginalANT_CO2``, the
recipe pinned to the spec (``co2-stcl-behaviour.md`` sec. 1.6, 3.3, 4.1, 5, 7.3, 11), the
Ambiguous filter off, and a short run that trains and whose checkpoint ``--test`` scores to the
same detections.

No real annotations of that layout exist here: everything runs on the synthetic set of
``dataset.synthetic`` (``activitynet12``, 100 synthetic classes), with quirks added by hand.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from config import parse_config
from dataset.features import open_feature_store
from dataset.synthetic import SYNTHETIC_ACTIVITYNET12_CLASSES, generate
from engine.build import model_from_config
from engine.data import load_split
from engine.run import main
from engine.setup import eval_setup
from engine.trainer import _is_test_step
from eval.wtalc import LAYOUTS, read_classlist, wtalc_database
from methods import METHODS
from methods.co2net.data import ClassPairBatches, wtalc_split_ids
from methods.co2net.localize import CO2InferenceParams
from methods.co2net.model import ANT_CO2, ant_pool_kernel
from tests.reference.original_co2_ant_dataset import OriginalAntLoader
from tests.reference.original_co2_model import OriginalANT_CO2

DIM, SEGMENTS, HIDDEN = 16, 24, 4
LAYOUT = LAYOUTS["ActivityNet"]
ZERO, SHORT_TRAIN, SHORT_TEST = 7, 3, (0, 5)   # which videos get the quirks (see data_dir)


def _names(path: Path) -> list[str]:
    return [x.decode() if isinstance(x, bytes) else str(x) for x in np.load(path)]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """330 ActivityNet-like videos in the W-TALC ActivityNet1.2 layout (221 training, 109
    validation, 100 classes, every class with >= 2 training videos), no gt.json; by hand: the
    features of one training video of a class with 3 are zeros, one training video and two
    validation videos are cut to 8 rows (<= 10)."""
    root = generate(tmp_path_factory.mktemp("co2_ant") / "data", dataset="activitynet12",
                    num_videos=330, feature_dim=DIM, fmt="wtalc", seed=2)
    folder = root / LAYOUT.annotations_folder
    subsets = _names(folder / "subset.npy")
    labels = np.load(folder / "labels_all.npy", allow_pickle=True)
    train = [i for i, s in enumerate(subsets) if s == "training"]
    test = [i for i, s in enumerate(subsets) if s == "validation"]
    count = {c: sum(c in labels[i] for i in train) for c in SYNTHETIC_ACTIVITYNET12_CLASSES}
    big = [i for i in train if all(count[c] >= 3 for c in labels[i])]
    features = np.load(root / LAYOUT.features_file, allow_pickle=True)
    features[big[ZERO]] = np.zeros_like(features[big[ZERO]])
    for i in (train[SHORT_TRAIN], *(test[k] for k in SHORT_TEST)):
        features[i] = np.ascontiguousarray(features[i][:8])
    np.save(root / LAYOUT.features_file, features, allow_pickle=True)
    return root


def ant_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["--method", "co2net", "--data_dir", str(data), "--feature_dim", str(DIM),
            "--ccm_hidden", str(HIDDEN), "--sample_segments_num", str(SEGMENTS),
            "--output_dir", str(out), "--without_wandb", "--threads", "1", *extra]


def ant_config(data: Path, *extra: str):
    return parse_config("ActivityNet", ant_args(data, data.parent / "unused", *extra))


# ----------------------------------------------------------------------------- recipe

def test_defaults_are_the_official_activitynet_recipe():
    """C:run.sh:10 (``--k 5 --lr 3e-5 --max-seqlen 60 --max-iter 22000 --use-model ANT_CO2``,
    weight decay left at 5e-4), tIoU 0.5:0.95 (C:test.py:87), selection on their mean
    (C:main.py:77-80), AntSampleDataset's subsets, no Ambiguous filter (sec. 6.4)."""
    flat = parse_config("ActivityNet", ["--method", "co2net"]).flat()
    pinned = dict(lr=3e-5, weight_decay=5e-4, optimizer="adam", betas=[0.9, 0.999],
                  batch_size=10, seed=3552, sample_segments_num=60, mil_k_ratio=5.0, pool_t=5,
                  alpha_mutual=1.0, alpha_coactivity=1.0, alpha_norm=0.8, alpha_guide=0.8,
                  num_similar=3, similar_size=2, eval_every_steps=200, start_test_epoch=0,
                  test_sampler="full", feature_format="wtalc", eval_protocol="wtalc",
                  eval_subset="validation", select_metric="0.5:0.95", select_on="test",
                  ambiguous_filter=False, cls_threshold=0.2, oic_gamma=0.2,
                  soft_nms_sigma=0.3, data_dir="data/ActivityNet12",
                  tiou_thresholds=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
    assert {k: flat[k] for k in pinned} == pinned
    assert flat["epochs"] * flat["steps_per_epoch"] == 22000         # --max-iter 22000
    assert flat["class_names"] == []        # the data's classlist.npy: no data here
    assert ant_pool_kernel(flat["sample_segments_num"], flat["pool_t"]) == 13
    assert "ActivityNet" in METHODS.get("co2net").datasets
    # THUMOS keeps CO2 (no pool) and its own recipe
    thumos = parse_config("THUMOS", ["--method", "co2net"]).flat()
    assert (thumos["pool_t"], thumos["lr"], thumos["ambiguous_filter"], thumos["eval_subset"],
            len(thumos["class_names"])) == (0, 5e-5, True, "test", 20)


def test_the_cadence_is_itr_200_up_to_21800():
    cfg = parse_config("ActivityNet", ["--method", "co2net"])
    evaluated = [s for s in range(1, 22001) if _is_test_step(cfg, (s - 1) // 200, s, 1)]
    assert evaluated == list(range(201, 21802, 200)) and len(evaluated) == 109


def test_the_quickstart_is_its_own_synthetic_set():
    cfg = parse_config("ActivityNet", ["--method", "co2net", "--synthetic"])
    assert cfg.data.data_dir == "data/synthetic_activitynet12_wtalc"
    assert (cfg.model.pool_t, cfg.loss.mil_k_ratio) == (5, 5.0)     # ANT_CO2 and --k 5 kept
    thumos = parse_config("THUMOS", ["--method", "co2net", "--synthetic"])
    assert thumos.data.data_dir == "data/synthetic_thumos_wtalc" and thumos.model.pool_t == 0


# ----------------------------------------------------------------------------- layout and lists

def test_the_layout_is_read_without_a_gt_json(data_dir):
    folder = data_dir / LAYOUT.annotations_folder
    assert not (data_dir / "gt.json").exists()
    assert sorted(p.name for p in data_dir.iterdir()) == [
        "ActivityNet1.2-Annotations", "ActivityNet1.2-I3D-JOINTFeatures.npy", "meta.json"]
    assert not (folder / "Ambiguous_test.txt").exists()
    cfg = ant_config(data_dir)
    assert cfg.class_names == read_classlist(folder) == list(SYNTHETIC_ACTIVITYNET12_CLASSES)
    database = wtalc_database(folder)["database"]
    names, subsets = _names(folder / "videoname.npy"), _names(folder / "subset.npy")
    assert list(database) == names and not any(n.startswith("v_") for n in names)
    assert {s for s in subsets} == {"training", "validation"}
    durations = np.load(folder / "duration.npy").reshape(-1)
    segments = np.load(folder / "segments.npy", allow_pickle=True)
    labels = np.load(folder / "labels.npy", allow_pickle=True)
    for k, name in enumerate(names):
        entry = database[name]
        assert entry["duration"] == durations[k] and entry["subset"] == subsets[k]
        assert [a["segment"] for a in entry["annotations"]] == [list(s) for s in segments[k]]
        assert [a["label"] for a in entry["annotations"]] == list(labels[k])
    test = load_split(cfg.data, cfg.class_names, "test", wtalc_split_ids(cfg, "test"))
    index = {c: k for k, c in enumerate(cfg.class_names)}
    for video in test.videos:
        entry = database[video.video_id]
        assert video.duration == entry["duration"] and video.subset == "validation"
        assert video.segments == tuple((*a["segment"], index[a["label"]])
                                       for a in entry["annotations"])
        assert set(np.flatnonzero(video.labels)) == {c for _, _, c in video.segments}
    # the evaluation's ground truth: the arrays as a gt.json object, the W-TALC arrays' subset
    setup = eval_setup(cfg, test)
    assert setup.gt_path["database"] == database and setup.subset == "validation"
    assert setup.wtalc_gt.subset == "validation" and not setup.wtalc_gt.has_ambiguous
    assert len(setup.wtalc_gt.videos) == sum(s == "validation" and len(segments[k]) > 0
                                             for k, s in enumerate(subsets))


def test_the_generator_writes_that_layout_only(tmp_path):
    with pytest.raises(ValueError, match="W-TALC layout only"):
        generate(tmp_path / "npy", dataset="activitynet12", num_videos=20, feature_dim=DIM)
    with pytest.raises(ValueError, match="W-TALC layout is written for"):
        generate(tmp_path / "ant13", dataset="activitynet", num_videos=20, feature_dim=DIM,
                 fmt="wtalc")


def test_bad_arrays_are_one_line_errors_naming_the_file(data_dir, tmp_path):
    folder = tmp_path / "data" / LAYOUT.annotations_folder
    shutil.copytree(data_dir / LAYOUT.annotations_folder, folder)
    labels = np.load(folder / "labels.npy", allow_pickle=True)
    labels[4] = ["no such class"] * len(labels[4])
    np.save(folder / "labels.npy", labels, allow_pickle=True)
    with pytest.raises(ValueError, match=r"labels\.npy: video .* not in classlist\.npy"):
        wtalc_database(folder)
    durations = np.load(folder / "duration.npy")
    np.save(folder / "duration.npy", durations[:-1])
    with pytest.raises(ValueError, match=r"duration\.npy: \d+ entries, videoname\.npy names"):
        wtalc_database(folder)
    (folder / "classlist.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"classlist\.npy: W-TALC annotation array not"):
        read_classlist(folder)


def test_missing_arrays_stop_the_run_with_one_line(data_dir, tmp_path, capsys):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(data_dir / LAYOUT.features_file, bare)
    capsys.readouterr()
    assert main("ActivityNet", ant_args(bare, tmp_path / "run")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ActivityNet1.2-Annotations" in err[0] and "--wtalc_annotations" \
        in err[0]


def port_and_data(data_dir: Path):
    """The literal port of AntSampleDataset's lists over the fixture, and what it reads."""
    folder = data_dir / LAYOUT.annotations_folder
    classes = read_classlist(folder)
    labels_all = np.load(folder / "labels_all.npy", allow_pickle=True)
    multihot = np.array([[float(c in labs) for c in classes] for labs in labels_all])
    store = open_feature_store(data_dir, "train", DIM, "wtalc")
    names = _names(folder / "videoname.npy")
    features = [store.get(n) for n in names]
    port = OriginalAntLoader(features, multihot, _names(folder / "subset.npy"), 10, SEGMENTS)
    return port, names, features, multihot


def test_lists_are_ant_sample_datasets(data_dir):
    """Test list: validation videos of more than 10 rows; the pair lists skip the zero-sum
    video but keep the short one (mapping before filter); the random picks skip the short one
    but keep the zero-sum one (Q25)."""
    port, names, features, _ = port_and_data(data_dir)
    cfg = ant_config(data_dir)
    assert wtalc_split_ids(cfg, "test") == [names[i] for i in port.testidx]
    train_ids = wtalc_split_ids(cfg, "train")
    assert len(port.testidx) == len(wtalc_split_ids(cfg, "test")) == 109 - len(SHORT_TEST)
    train = load_split(cfg.data, cfg.class_names, "train", train_ids)
    source = ClassPairBatches(train, cfg)
    position = {name: k for k, name in enumerate(train_ids)}
    assert source.classwise == [[position[names[i]] for i in idx] for idx in port.classwiseidx]
    assert [train_ids[k] for k in source.train] == [names[i] for i in port.trainidx]
    zero = [k for k, v in enumerate(train_ids) if not features[names.index(v)].any()]
    short = [k for k, v in enumerate(train_ids) if len(features[names.index(v)]) <= 10]
    assert len(zero) == 1 and len(short) == 1
    assert zero[0] in source.train and not any(zero[0] in c for c in source.classwise)
    assert short[0] not in source.train and any(short[0] in c for c in source.classwise)


def test_each_step_is_the_originals_batch_on_its_global_stream(data_dir):
    """Four steps of the batch source against the port's ``load_data`` after
    ``np.random.seed(3552)``: the same videos, rows, features and labels_all labels, and the
    stream left at the same place."""
    port, names, features, multihot = port_and_data(data_dir)
    cfg = ant_config(data_dir)
    train_ids = wtalc_split_ids(cfg, "train")
    source = ClassPairBatches(load_split(cfg.data, cfg.class_names, "train", train_ids), cfg)
    lengths = [len(f) for f in features]
    saved = np.random.get_state()
    try:
        np.random.seed(3552)
        want = [port.load_data(lengths, np.random, n_similar=3) for _ in range(4)]
        after = np.random.get_state()
    finally:
        np.random.set_state(saved)
    for idx, rows, _ in want:
        videos, batch = source.draw()
        assert [train_ids[k] for k in videos] == [names[i] for i in idx]
        expect = np.stack([features[i][r] for i, r in zip(idx, rows)])
        seq_len = np.sum(np.max(np.abs(expect), axis=2) > 0, axis=1)   # the original's crop
        expect = expect[:, :int(np.max(seq_len))]
        assert torch.equal(batch["features"], torch.from_numpy(expect.astype(np.float32)))
        assert torch.equal(batch["label"], torch.from_numpy(multihot[idx].astype(np.float32)))
    state = source.rng.get_state()
    assert np.array_equal(state[1], after[1]) and state[2] == after[2]


# ----------------------------------------------------------------------------- model

def test_the_record_builds_ant_co2_equal_to_the_port(data_dir):
    """The record's network at the recipe's S = 60 and t = 5: ``ANT_CO2`` with kernel 13, the
    same initial weights as the port seeded alike, and its outputs (eval, and train with the
    same dropout draws), pooled cas / attn / v_atn / f_atn and unpooled feat, in float64."""
    cfg = ant_config(data_dir, "--sample_segments_num", "60")
    torch.manual_seed(11)
    model = model_from_config(cfg).double()
    torch.manual_seed(11)
    ref = OriginalANT_CO2(DIM, 100, HIDDEN, max_seqlen=60, t=5).double()
    assert isinstance(model, ANT_CO2) and model.pool_kernel == 13
    assert model.pool.kernel_size == ref.pool.kernel_size == (13,)
    assert model.pool.count_include_pad and model.classifier[4].out_channels == 101
    mine, theirs = model.state_dict(), ref.state_dict()
    assert list(mine) == list(theirs) and all(torch.equal(mine[k], theirs[k]) for k in mine)
    x = torch.randn(2, 37, DIM, dtype=torch.float64)
    for train in (False, True):
        model.train(train)
        ref.train(train)
        torch.manual_seed(5)
        out = model(x).as_dict()
        torch.manual_seed(5)
        want = ref(x)
        for key in ("feat", "cas", "attn", "v_atn", "f_atn"):
            torch.testing.assert_close(out[key], want[key], rtol=0, atol=1e-12)
    thumos = parse_config("THUMOS", ["--method", "co2net", "--feature_dim", str(DIM),
                                     "--ccm_hidden", str(HIDDEN)])
    assert type(model_from_config(thumos)).__name__ == "CO2"


def test_the_localizer_reads_no_ambiguous_file(data_dir):
    cfg = ant_config(data_dir)
    params = CO2InferenceParams.from_config(vars(eval_setup(
        cfg, load_split(cfg.data, cfg.class_names, "test", wtalc_split_ids(cfg, "test")),
        with_extras=False).params))
    assert not params.ambiguous_filter and params.ambiguous_videos == ()


# ----------------------------------------------------------------------------- runs

@pytest.mark.slow
def test_train_then_test_its_checkpoint_to_the_same_detections(data_dir, tmp_path):
    """Seven steps, evaluations after steps 4 and 7 (itr 3 and 6) on the W-TALC table; the
    short validation videos are not predicted on but their ground truth is scored; ``--test``
    of the selected checkpoint gives that evaluation's detections and mAP."""
    run = tmp_path / "run"
    steps = ["--epochs", "3", "--steps_per_epoch", "3", "--eval_every_steps", "3"]
    assert main("ActivityNet", ant_args(data_dir, run, *steps)) == 0
    latest = torch.load(run / "ActivityNet_latest.pth", weights_only=True)
    assert latest["step"] == 9 and [r["step"] for r in latest["history"]] == [4, 7]
    config = json.loads((run / "config.json").read_text())
    assert config["class_names"] == list(SYNTHETIC_ACTIVITYNET12_CLASSES)
    assert config["co2net"]["pool_t"] == 5
    best = torch.load(run / "ActivityNet_best.pth", weights_only=True)
    folder = run / f"epoch_{best['best_epoch']:03d}"
    metrics = json.loads((folder / "metrics.json").read_text())
    wtalc = metrics["wtalc"]
    assert [round(t, 2) for t in wtalc["tiou"]] == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85,
                                                      0.9, 0.95]
    assert wtalc["num_videos"] == 109 and not wtalc["has_ambiguous"]   # short ones scored
    assert best["history"][best["best_epoch"] - 1]["test"]["mAP"] == wtalc["mAP"]
    results = json.loads((folder / "ActivityNet_results.json").read_text())["results"]
    assert len(results) == 109 - len(SHORT_TEST)
    test = tmp_path / "test"
    assert main("ActivityNet", ant_args(data_dir, test, "--test", "--checkpoint",
                                        str(run / "ActivityNet_best.pth"))) == 0
    assert json.loads((test / "ActivityNet_results.json").read_text())["results"] == results
    assert json.loads((test / "metrics.json").read_text())["wtalc"]["mAP"] == wtalc["mAP"]
