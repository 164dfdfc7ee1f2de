"""Config: original values, class order and command-line overrides."""
import json

import numpy as np
import pytest

from config import dataset_config, parse_args


def test_original_flags_keep_names_and_defaults():
    args = parse_args("THUMOS", [])
    expected = dict(seed=0, model_name="default", group="default", checkpoint=None, start_epoch=0,
                    gpu="0", num_workers=0, batch_size=16, epochs=25, start_test_epoch=0,
                    loss_lamb_lcs=0.1, loss_lamb_fsd=0.8, thres=0.92, lcs_len=30, fsd_len=5,
                    fc_dim=1024, without_wandb=False, test=False, ftcl=False, without_lcs=False,
                    without_fsd=False)
    for key, value in expected.items():
        assert getattr(args, key) == value, key
    assert args.output_dir is None and args.data_dir == "data/THUMOS14"
    assert args.nms_plus_one is True and args.gt_videos == "subset"
    assert args.bak_source == "inst_rank" and args.resample_pairs is False


def test_threshold_sets_carry_the_original_float_drift():
    cfg = dataset_config("THUMOS")
    assert cfg["att_thresholds"] == list(np.arange(0.15, 1.00, 0.05))
    assert cfg["att_thresholds"][3] == 0.30000000000000004
    assert cfg["cas_thresholds"] == [0.15, 0.2]
    assert cfg["tiou_thresholds"][6] == 0.7000000000000001
    anet = dataset_config("ActivityNet")
    assert anet["tiou_thresholds"] == list(np.arange(0.5, 1.0, 0.05))
    assert len(anet["tiou_thresholds"]) == 10


@pytest.mark.parametrize("dataset,n_classes", [("THUMOS", 20), ("ActivityNet", 200)])
def test_class_order_is_sorted_and_matches_real_labels(real_thumos, real_anet, dataset, n_classes):
    names = dataset_config(dataset)["class_names"]
    assert len(names) == n_classes == len(set(names))
    assert names == sorted(names)
    folder = real_thumos if dataset == "THUMOS" else real_anet
    gt = json.loads((folder / "gt.json").read_text())
    labels = {a["label"] for v in gt["database"].values() for a in v["annotations"]}
    labels.discard("Ambiguous")
    assert labels == set(names)


def test_every_dataset_key_is_overridable():
    args = parse_args("ActivityNet", ["--lr", "3e-4", "--cas_thresholds", "0.1", "0.2",
                                      "--no-embed_dropout", "--cls_loss_weights", "1", "1", "1"])
    assert args.lr == 3e-4 and args.cas_thresholds == [0.1, 0.2]
    assert args.embed_dropout is False and args.cls_loss_weights == [1.0, 1.0, 1.0]
    assert parse_args("ActivityNet", []).embed_dropout is True
    with pytest.raises(SystemExit):
        parse_args("THUMOS", ["--gt_videos", "nope"])
