"""FTCL's own defaults (the original FTCL command line), shared by both datasets.

The original tunes them on THUMOS'14 only; ActivityNet keeps them (FTCL released no ActivityNet
values).
"""

CONFIG = {
    "thres": 0.92,                   # LCS match threshold
    "lcs_len": 30,                   # LCS candidates per video
    "fsd_len": 5,                    # FSD candidates per video
    "fc_dim": 1024,                  # width of feature_trans (FSD candidates)
    "loss_lamb_lcs": 0.1,            # weight of the LCS term
    "loss_lamb_fsd": 0.8,            # weight of the FSD term
    # The pair stage is FTCLLoss: cls weights 1/1/1 on every dataset, epsilon 1e-10.
    "pair_cls_loss_weights": [1.0, 1.0, 1.0],
    "pair_stage_cls_eps": 1e-10,
}
