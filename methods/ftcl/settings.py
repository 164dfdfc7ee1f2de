"""FTCL's and ACM-Net's own settings (declared here, flags of ``--method ftcl`` only) and FTCL's
own defaults (the original FTCL command line), shared by both datasets.

The original tunes them on THUMOS'14 only; ActivityNet keeps them (FTCL released no ActivityNet
values). ACM-Net's values per dataset are the dataset configs (``config/thumos.py``,
``config/activitynet.py``: the original configs hold both).
"""
from utils.settings import Setting as S

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


SETTINGS: dict[str, S] = {
    "resample_pairs": S("data", "redraw FTCL pairs and their snippet samples every epoch "
                                "(original: drawn once)", False),
    "dropout": S("model", "dropout rate of the embedding", low=0.0, high=1.0),
    "embed_dropout": S("model", "dropout before the embedding conv and the attention branch "
                                "(original ActivityNet model)"),
    "ins_topk_seg": S("model", "instance branch pools T // ins_topk_seg snippets", low=1),
    "con_topk_seg": S("model", "context branch pools T // con_topk_seg snippets", low=1),
    "bak_topk_seg": S("model", "background branch pools T // bak_topk_seg snippets", low=1),
    "lcs_len": S("model", "LCS candidates per video (top instance attention)", low=1,
                 original=True),
    "fsd_len": S("model", "FSD candidates per video", low=1, original=True),
    "fc_dim": S("model", "width of feature_trans, the FSD candidate projection", low=2,
                original=True),
    "bak_source": S("model", "FSD background candidates: instance-attention ranks fsd_len+1.."
                             "2*fsd_len (original) or top background attention", "inst_rank",
                    choices=("inst_rank", "back_att")),
    "loss_lamb_1": S("loss", "weight of the guide loss", low=0.0),
    "loss_lamb_2": S("loss", "weight of the feature-norm margin loss", low=0.0),
    "loss_lamb_3": S("loss", "weight of the sparse attention loss", low=0.0),
    "cls_loss_weights": S("loss", "ACM-stage weights of the instance, context, background cls "
                                  "terms"),
    "pair_cls_loss_weights": S("loss", "pair-stage (--ftcl) cls weights (original FTCLLoss: "
                                       "1 1 1; ACM-Net ActivityNet training: 5 1 1)"),
    "acm_stage_cls_eps": S("loss", "epsilon inside the cls log in the ACM stage (FTCL ACMLoss: "
                                   "1e-45; ACM-Net: 0)", low=0.0),
    "pair_stage_cls_eps": S("loss", "epsilon inside the cls log in the pair stage (FTCLLoss)",
                            low=0.0),
    "cls_eps": S("loss", "override the cls-loss epsilon of both stages", None, low=0.0,
                 kind=float),
    "inbatch_ftcl": S("loss", "add the in-batch LCS / FSD terms in the ACM stage (FTCL's "
                              "ACMLoss; ACM-Net has none)"),
    "without_lcs": S("loss", "drop the LCS term", False, original=True),
    "without_fsd": S("loss", "drop the FSD term", False, original=True),
    "loss_lamb_lcs": S("loss", "weight of the LCS term", low=0.0, original=True),
    "loss_lamb_fsd": S("loss", "weight of the FSD term", low=0.0, original=True),
    "thres": S("loss", "LCS match threshold", original=True),
    "lcs_similarity": S("loss", "LCS similarity: scaled max(0, cos-0.8)*5 (original in-batch), "
                                "raw cosine (original pair stage); auto = the original's choice",
                        "auto", choices=("auto", "scaled", "raw")),
    "lcs_gamma": S("loss", "smooth-max temperature of the LCS (0: hard max, the original)", 0.0,
                   low=0.0),
    "cas_thresholds": S("postprocess", "proposal thresholds on the CAS", low=0.0, high=1.0),
    "att_thresholds": S("postprocess", "proposal thresholds on the instance attention",
                        low=0.0, high=1.0),
    "oic_gamma_cas": S("postprocess", "OIC gamma of the CAS branch", low=0.0),
    "oic_gamma_att": S("postprocess", "OIC gamma of the attention branch", low=0.0),
    "oic_mix": S("postprocess", "CAS weight of the scoring sequence (rest: attention)", low=0.0,
                 high=1.0),
    "clip_to_duration": S("postprocess", "clip proposal times to the video duration (original: "
                                         "no clip)", False),
}
"""The settings only FTCL / ACM-Net read (the run-wide ones are in ``config/schema.py``)."""
