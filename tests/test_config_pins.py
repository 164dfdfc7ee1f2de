"""Every hyper-parameter of each dataset pinned to the original's value, written as literals.

Values from the original repositories (FTCL for THUMOS'14, ACM-Net's ``main_act.py`` training
for ActivityNet 1.3; see the configs' docstrings), read through the command-line parser, whose
flag names are the stable interface. Nothing here is recomputed from the config: a changed
number in the config fails exactly one test, named after its key. Float lists are the exact
floats the original builds with ``np.arange`` (their drift included).
"""
from __future__ import annotations

from functools import lru_cache

import pytest

from config import parse_args

# Shared by both datasets: FTCL's command-line defaults (the original has no ActivityNet values
# of its own for them), its pair stage (FTCLLoss: cls weights always 1/1/1, epsilon 1e-10) and
# the defaults of the flags for the original's quirks.
COMMON = {"thres": 0.92, "loss_lamb_lcs": 0.1, "loss_lamb_fsd": 0.8, "lcs_len": 30,
          "fsd_len": 5, "fc_dim": 1024, "seed": 0, "start_epoch": 0,
          "pair_cls_loss_weights": [1.0, 1.0, 1.0], "pair_stage_cls_eps": 1e-10,
          "without_lcs": False, "without_fsd": False, "lcs_gamma": 0.0,
          "bak_source": "inst_rank", "resample_pairs": False, "nms_plus_one": True,
          "clip_to_duration": False, "gt_videos": "subset"}

PINS = {
    "THUMOS": {
        **COMMON,
        "feature_dim": 2048, "dropout": 0.7, "embed_dropout": False,
        "ins_topk_seg": 8, "con_topk_seg": 3, "bak_topk_seg": 3,
        "lr": 0.0001, "weight_decay": 5e-05,
        "frames_per_sec": 25, "segment_frames_num": 16, "sample_segments_num": 750,
        "loss_lamb_1": 0.002, "loss_lamb_2": 5e-05, "loss_lamb_3": 0.0002,
        # ACM stage = FTCL's ACMLoss: ACM + in-batch LCS / FSD, 1/1/1, cls epsilon 1e-45.
        "cls_loss_weights": [1.0, 1.0, 1.0], "inbatch_ftcl": True, "acm_stage_cls_eps": 1e-45,
        "cls_threshold": 0.25, "test_upgrade_scale": 20,
        # np.arange(0.15, 0.25, 0.05) and np.arange(0.15, 1.00, 0.05)
        "cas_thresholds": [0.15, 0.2],
        "att_thresholds": [0.15, 0.2, 0.25, 0.30000000000000004, 0.3500000000000001,
                           0.40000000000000013, 0.45000000000000007, 0.5000000000000001,
                           0.5500000000000002, 0.6000000000000002, 0.6500000000000002,
                           0.7000000000000002, 0.7500000000000002, 0.8000000000000003,
                           0.8500000000000002, 0.9000000000000002, 0.9500000000000003],
        "oic_lambda": 0.2, "oic_gamma_cas": 0.0, "oic_gamma_att": 0.0, "oic_mix": 1.0,
        "nms_thresh": 0.55,
        # np.arange(0.1, 1.00, 0.10)
        "tiou_thresholds": [0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6, 0.7000000000000001,
                            0.8, 0.9],
        "select_metric": "0.1:0.7", "eval_subset": "test",
        # FTCL: batch 16, 25 epochs by default, tested every epoch from epoch 0.
        "batch_size": 16, "epochs": 25, "start_test_epoch": 0, "test_every": 1,
    },
    "ActivityNet": {
        **COMMON,
        "feature_dim": 2048, "dropout": 0.7, "embed_dropout": True,
        "ins_topk_seg": 2, "con_topk_seg": 10, "bak_topk_seg": 10,
        "lr": 0.0001, "weight_decay": 0.001,
        "frames_per_sec": 25, "segment_frames_num": 16, "sample_segments_num": 75,
        "loss_lamb_1": 0.005, "loss_lamb_2": 5e-05, "loss_lamb_3": 0.0,
        # ACM stage = ACM-Net's main_act.py training: the ACM loss alone, 5/1/1, no epsilon.
        "cls_loss_weights": [5.0, 1.0, 1.0], "inbatch_ftcl": False, "acm_stage_cls_eps": 0.0,
        "cls_threshold": 0.1, "test_upgrade_scale": 20,
        # literals in ACM-Net's main_act.py
        "cas_thresholds": [0.005, 0.01, 0.015, 0.02],
        "att_thresholds": [0.005, 0.01, 0.015, 0.02],
        "oic_lambda": 0.15, "oic_gamma_cas": 0.0, "oic_gamma_att": 0.25, "oic_mix": 0.7,
        "nms_thresh": 0.9,
        # np.arange(0.50, 1.00, 0.05)
        "tiou_thresholds": [0.5, 0.55, 0.6000000000000001, 0.6500000000000001,
                            0.7000000000000002, 0.7500000000000002, 0.8000000000000003,
                            0.8500000000000003, 0.9000000000000004, 0.9500000000000004],
        "select_metric": "0.5:0.95", "eval_subset": "val",
        # ACM-Net: batch 16 and 1000 epochs (its CLI defaults; its README trains with
        # --batch_size 64, which the README commands pass), tested on even epochs.
        "batch_size": 16, "epochs": 1000, "start_test_epoch": 0, "test_every": 2,
    },
}

CASES = [(dataset, key) for dataset, pins in PINS.items() for key in pins]


@lru_cache(maxsize=None)
def defaults(dataset: str):
    return parse_args(dataset, [])


@pytest.mark.parametrize("dataset,key", CASES, ids=[f"{d}-{k}" for d, k in CASES])
def test_default_is_the_original_value(dataset: str, key: str) -> None:
    args = defaults(dataset)
    assert hasattr(args, key), f"--{key} is not a flag of the {dataset} parser"
    value, pinned = getattr(args, key), PINS[dataset][key]
    assert value == pinned
    # 1 == 1.0 == True: pin the type as well (a list element by element).
    assert type(value) is type(pinned)
    if isinstance(pinned, list):
        assert [type(v) for v in value] == [type(v) for v in pinned]


def test_class_counts() -> None:
    assert len(defaults("THUMOS").class_names) == 20
    assert len(defaults("ActivityNet").class_names) == 200
