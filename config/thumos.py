"""THUMOS'14 defaults: the single source of truth (values of the original FTCL configs).

Every key is overridable from the command line as ``--<key>``; ``config/schema.py`` gives each its
section, help line and range.
"""
import numpy as np

from dataset.classes import THUMOS14_CLASSES as CLASS_NAMES

CONFIG = {
    "dataset": "THUMOS",
    "class_names": CLASS_NAMES,
    "data_dir": "data/THUMOS14",
    # gt.json subset that the evaluation reads (training ids come from split_train.txt).
    "eval_subset": "test",
    # Model.
    "feature_dim": 2048,
    "dropout": 0.7,
    # The original ActivityNet model puts a dropout before the embedding conv; THUMOS does not.
    "embed_dropout": False,
    "ins_topk_seg": 8,
    "con_topk_seg": 3,
    "bak_topk_seg": 3,
    # Optimisation.
    "lr": 1e-4,
    "weight_decay": 5e-5,
    # Snippets: 16 frames at 25 fps; training samples a fixed number of snippets per video.
    "frames_per_sec": 25,
    "segment_frames_num": 16,
    "sample_segments_num": 750,
    # ACM loss weights: guide, feature-norm margin, sparse attention.
    "loss_lamb_1": 2e-3,
    "loss_lamb_2": 5e-5,
    "loss_lamb_3": 2e-4,
    # Classification-loss weights (instance, context, background); original: 1/1/1 for THUMOS.
    "cls_loss_weights": [1.0, 1.0, 1.0],
    # Inference: class selection, up-sampling and the proposal threshold sets, built with
    # np.arange exactly as the original builds them (float drift included).
    "cls_threshold": 0.25,
    "test_upgrade_scale": 20,
    "cas_thresholds": np.arange(0.15, 0.25, 0.05).tolist(),
    "att_thresholds": np.arange(0.15, 1.00, 0.05).tolist(),
    # Outer-inner-contrast: outer margin ratio, gamma of each branch, and the CAS weight of the
    # scoring sequence (1.0: the CAS alone, as the original THUMOS pipeline).
    "oic_lambda": 0.2,
    "oic_gamma_cas": 0.0,
    "oic_gamma_att": 0.0,
    "oic_mix": 1.0,
    "nms_thresh": 0.55,
    "tiou_thresholds": np.arange(0.1, 1.00, 0.10).tolist(),
    # Checkpoint selection metric (original FTCL: mean mAP over tIoU 0.1:0.7).
    "select_metric": "0.1:0.7",
    # FTCL evaluates every epoch from --start_test_epoch.
    "test_every": 1,
    # Training (the FTCL command line): batch 16, 25 epochs (its README runs the ACM stage 500).
    "batch_size": 16,
    "epochs": 25,
    # The ACM stage is FTCL's ACMLoss: ACM + in-batch LCS / FSD, cls epsilon 1e-45.
    "inbatch_ftcl": True,
    "acm_stage_cls_eps": 1e-45,
}

# ``--synthetic``: the small generated dataset and the recipe whose figures the README shows
# (flags given on the command line still win).
SYNTHETIC = {"name": "thumos", "num_videos": 120, "feature_dim": 256, "epochs": 150,
             "start_test_epoch": 145,
             # the FTCL pair stage from the quickstart's checkpoint: 30 epochs, each tested
             "ftcl": {"epochs": 30, "start_test_epoch": 0}}
