"""STCL-Net (TPAMI 2023) on THUMOS'14: the constants of the official code that differ from or add
to CO2-Net's, the method's own settings, its engine defaults and its quickstart.

STCL-Net is a fork of CO2-Net (spec ``co2-stcl-behaviour.md`` sec. 0): the same data, sampler,
trunk, CO2 loss terms, localizer, evaluation, optimiser and loop, so its values start from
:data:`methods.co2net.settings.CO2_THUMOS`. Sources ("S:" = PHDJieFu/STCL-Net at 0c84ff4, as the
spec cites it): the THUMOS command ``S:train.sh:3`` (``--use-model STCL_THU --max-iter 10000
--weight_decay 1e-3 --max-seqlen 500 --model-name THU_STCL_best``), ``S:options.py``, the literals
of ``S:model.py`` and ``S:train.py`` (spec sec. 3.4, 4.2, 4.3, 11).
"""
from __future__ import annotations

from methods.co2net.settings import CO2_ACTIVITYNET12, CO2_THUMOS, POOL_SETTINGS
from methods.co2net.settings import SETTINGS as CO2_SETTINGS
from methods.co2net.settings import SYNTHETIC as CO2_SYNTHETIC
from methods.co2net.settings import engine_defaults
from methods.stcl.bank import BANK_MODES
from methods.stcl.loss import KL_MODES, STCL_THUMOS_LOSS
from methods.stcl.model import FUSION_WEIGHTS
from utils.settings import Setting as S

STCL_THUMOS = {
    **CO2_THUMOS,
    **STCL_THUMOS_LOSS,   # kl_weight 1, kl_mode original, the snippet contrast's literals
    # ---- model (S:model.py)
    "key_dim": 512,  # TCL / SCL key width, literal (S:model.py:60)
    "exemplars_per_class": 10,  # act_vid_num M, literal (S:model.py:192); M <= the smallest
    #                             class (THUMOS'14: exactly 10 for 15 classes, sec. 10)
    "exemplar_topk_divisor": 10,  # exemplar top-k = S // 10 = 50 (S:model.py:215,220)
    "fusion_weights": list(FUSION_WEIGHTS),  # 0.55 x_cls + 0.36 intra + 0.09 inter
    #                                          (S:model.py:256)
    # ---- the bank's test-time draws (Q2, Q3; methods/stcl/bank.py)
    "bank_mode": "stream",  # a fresh bank per test video from a stream seeded per pass (the
    #                         original: the global stream, unseeded at test time)
    "bank_seed": None,  # the test-time stream's seed; None: --seed
    # ---- recipe (S:train.sh:3, S:options.py)
    "iterations": 10000,  # --max-iter 10000 (S:train.sh:3, S:options.py:15)
    "weight_decay": 1e-3,  # --weight_decay (S:options.py:21, S:train.sh:3)
    "sample_segments_num": 500,  # --max-seqlen (S:options.py:12, S:train.sh:3): the batch
    #                              and the bank's length S
    "original_checkpoint_name": "best_re_rank_THU_STCL_best.pkl",  # ./ckpt/best_re_rank_<name>
    #                                     .pkl, a bare state_dict (S:main.py:79, S:train.sh:3)
}
"""Every constant of the official THUMOS'14 STCL-Net run (CO2-Net's plus these)."""

# 50 epochs of 200 steps = the 10 000 iterations of S:train.sh:3; evaluations after steps 201,
# 401, ..., 9801 (49, as the original's itr % 200 == 0, itr != 0; the record's eval_step_offset).
STCL_DEFAULTS = dict(engine_defaults(STCL_THUMOS), pool_t=0)

STCL_ACTIVITYNET12 = {
    **CO2_ACTIVITYNET12,   # the W-TALC ActivityNet1.2 layout, S 60, pool t 5, --k 5, lr 3e-5
    **{k: v for k, v in STCL_THUMOS.items() if k not in CO2_THUMOS},   # STCL's own constants
    "kl_weight": 0.1,  # STCL_ACT's weight of the pseudo-KL (S:model.py:669)
    "alpha_mutual": 1.0,  # a literal 1 in STCL_ACT's criterion (S:model.py:669), as ANT_CO2's
    "exemplars_per_class": 5,  # act_vid_num of STCL_ACT (S:model.py:527)
    "weight_decay": 1e-3,  # STCL's default, not passed by the ActivityNet line (S:options.py:21)
    "iterations": 40000,  # --max-iter 40000 (S:train.sh:7)
    "original_checkpoint_name": None,  # the ActivityNet line names its model by a placeholder
}
"""STCL_ACT's run (``S:train.sh:7``, spec sec. 3.5, 4.2, 5, Q14) as its evident intent: the
original's ActivityNet training crashes on its first step and hard-codes 100 classes; no
published number checks this recipe."""
STCL_ACT_DEFAULTS = dict(engine_defaults(STCL_ACTIVITYNET12), data_dir="data/ActivityNet12")

# ``--method stcl --synthetic``, per dataset. THUMOS: CO2-Net's quickstart data and speed-ups
# (256 resampled snippets, CCM heads 64 wide, lr 3e-4, 1 000 steps evaluated every 100) plus what
# the bank needs on the 120-video synthetic set, whose smallest class has 2 training videos: 2
# exemplars per class instead of 10, keys 64 wide instead of 512. See docs/methods/stcl.md for
# its measured runs. ActivityNet: CO2-Net's ActivityNet quickstart (its synthetic ActivityNet 1.2
# set, CCM heads 64 wide, lr 1e-3) with 2 exemplars per class and keys 64 wide; not measured.
SYNTHETIC = {
    "THUMOS": {"data_dir": "data/synthetic_thumos_wtalc", "epochs": 10, "steps_per_epoch": 100,
               "eval_every_steps": 100, "start_test_epoch": 0, "sample_segments_num": 256,
               "ccm_hidden": 64, "key_dim": 64, "exemplars_per_class": 2, "lr": 3e-4},
    "ActivityNet": {**CO2_SYNTHETIC["ActivityNet"], "key_dim": 64, "exemplars_per_class": 2},
}

SETTINGS: dict[str, S] = {
    **CO2_SETTINGS,
    **POOL_SETTINGS,
    "key_dim": S("model", "width of the TCL and SCL keys", low=1),
    "exemplars_per_class": S("model", "exemplar bank: training videos per class (M; at most "
                                      "the smallest class's count)", low=1),
    "exemplar_topk_divisor": S("model", "exemplar = mean feature of a bank video's top "
                                        "S // this snippets", low=1),
    "fusion_weights": S("model", "weights of the trunk, TCL and SCL CAS in the fused CAS",
                        low=0.0),
    "kl_weight": S("loss", "weight of the pseudo-KL between the three heads", low=0.0),
    "kl_mode": S("loss", "original: probabilities fed as log-probabilities (Q4); true_kl: "
                         "log-probabilities", choices=KL_MODES),
    "snip_easy_divisor": S("loss", "snippet contrast: easy snippets = top T // this", low=1),
    "snip_hard_divisor": S("loss", "snippet contrast: hard snippets = top T // this", low=1),
    "snip_mask_dropout": S("loss", "snippet contrast: dropout of the easy-mining mask",
                           low=0.0, high=1.0),
    "snip_temperature": S("loss", "snippet contrast: InfoNCE temperature", low=0.0,
                          low_open=True),
    "snip_double_sigmoid": S("loss", "snippet contrast: sigmoid of the (already sigmoid) "
                                     "attention (Q5, original)"),
    "bank_mode": S("eval", "test-time exemplar banks: stream (fresh per video, a stream seeded "
                           "per pass), pass (one per pass, fast), original (the training "
                           "stream, as the original)", choices=BANK_MODES),
    "bank_seed": S("eval", "seed of the test-time bank stream (default: --seed)", None,
                   kind=int),
}
"""The settings only STCL-Net reads: CO2-Net's and these (values in :data:`STCL_THUMOS`)."""
