"""ActivityNet 1.3 defaults: the single source of truth (values of the original configs).

Every key is overridable from the command line as ``--<key>``; ``config/schema.py`` gives each its
section, help line and range. FTCL released no ActivityNet code: the ACM stage here is ACM-Net's
``main_act.py`` training exactly (pure ACM loss, no cls epsilon, 5/1/1 cls weights, 1000 epochs,
evaluation on even epochs), and the pair stage is FTCL's own ``FTCLLoss``
(``methods/ftcl/settings.py``), whose
flags keep their THUMOS-tuned command-line defaults.
"""
import numpy as np

from dataset.classes import ACTIVITYNET13_CLASSES as CLASS_NAMES

CONFIG = {
    "dataset": "ActivityNet",
    "class_names": CLASS_NAMES,
    "data_dir": "data/ActivityNet13",
    # ACM-Net evaluates split_test.txt against the "val" subset of gt.json.
    "eval_subset": "val",
    "feature_dim": 2048,
    "dropout": 0.7,
    # Dropout(dropout) before the embedding conv, as the original ActivityNet model.
    "embed_dropout": True,
    "ins_topk_seg": 2,
    "con_topk_seg": 10,
    "bak_topk_seg": 10,
    "lr": 1e-4,
    "weight_decay": 1e-3,
    "frames_per_sec": 25,
    "segment_frames_num": 16,
    "sample_segments_num": 75,
    "loss_lamb_1": 5e-3,
    "loss_lamb_2": 5e-5,
    "loss_lamb_3": 0.0,
    # ACM-Net's ActivityNet training weights the instance term 5/1/1 (ACM stage only).
    "cls_loss_weights": [5.0, 1.0, 1.0],
    "cls_threshold": 0.10,
    "test_upgrade_scale": 20,
    "cas_thresholds": [0.005, 0.01, 0.015, 0.02],
    "att_thresholds": [0.005, 0.01, 0.015, 0.02],
    # Scoring sequence = 0.7 * CAS + 0.3 * attention; gamma 0 (CAS branch) and 0.25 (attention).
    "oic_lambda": 0.15,
    "oic_gamma_cas": 0.0,
    "oic_gamma_att": 0.25,
    "oic_mix": 0.7,
    "nms_thresh": 0.90,
    "tiou_thresholds": np.arange(0.50, 1.00, 0.05).tolist(),
    # ACM-Net selects on the mean over all ten thresholds.
    "select_metric": "0.5:0.95",
    # ACM-Net's main_act.py evaluates on even epochs only (and selects the best among those).
    "test_every": 2,
    # ACM-Net's command line: batch 16 (its README trains with --batch_size 64), 1000 epochs.
    "batch_size": 16,
    "epochs": 1000,
    # ACM-Net's loss: no in-batch FTCL terms and no epsilon inside the cls log.
    "inbatch_ftcl": False,
    "acm_stage_cls_eps": 0.0,
}

# ``--synthetic``: the small generated dataset and the recipe whose figures the README shows
# (flags given on the command line still win).
SYNTHETIC = {"name": "activitynet", "num_videos": 1200, "feature_dim": 256, "epochs": 60,
             "start_test_epoch": 55,
             # the FTCL pair stage from the quickstart's checkpoint: 10 epochs, even ones tested
             "ftcl": {"epochs": 10, "start_test_epoch": 0},
             # the W-TALC layout (--feature_format wtalc, CO2-Net) is ActivityNet 1.2's: the
             # generator's activitynet12 set (100 synthetic classes, training / validation)
             "wtalc": {"name": "activitynet12", "num_videos": 1200}}
