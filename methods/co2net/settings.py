"""CO2-Net (Hong et al., ACM MM 2021) on THUMOS'14 and ActivityNet 1.2: every constant of the
official code, one place.

Values are the official repository's (harlanhong/MM2021-CO2-Net at e879687: ``options.py``,
``run.sh``, the literals of ``model.py``, ``wsad_dataset.py``, ``train.py``, ``main.py``,
``test.py``, ``proposal_methods.py`` and ``utils/wsad_utils.py``), each with its source line as
cited by the behaviour spec (``co2-stcl-behaviour.md``; "C:" = the CO2 repository, "sec." = the
spec's section). The recipe is the shipped THUMOS command line (``C:run.sh:3``), which overrides
two defaults of ``options.py`` (``--max-seqlen`` 320 -> 500, ``--weight_decay`` 5e-4 -> 1e-3) and
trains 5 000 iterations (the README's command: 20 000).

ActivityNet 1.2 (``CO2_ACTIVITYNET12``) is the shipped ``ANT_CO2`` command line
(``C:run.sh:10``: ``--k 5 --dataset-name ActivityNet1.2 --num-class 100 --use-model ANT_CO2
--dataset AntSampleDataset --lr 3e-5 --max-seqlen 60 --seed 3552 --max-iter 22000``, the weight
decay left at 5e-4), with ``AntSampleDataset``'s lists (spec sec. 1.6, Q25).

The switches (``coactivity_cos_eps``, ``coactivity_pairs``) change numbers; their defaults
reproduce the official code. Keys that are run-wide settings (``config/schema.py``) use the
schema's names; ``SETTINGS`` declares the ones CO2-Net reads (STCL-Net builds on them) and
``POOL_SETTINGS`` the one of ``ANT_CO2`` only. ``CO2_DEFAULTS`` / ``CO2_ANT_DEFAULTS`` are the
record's defaults: these constants plus how the original's iterations map onto the engine's
epochs (``steps_per_epoch`` 200 x ``epochs`` 25 = the 5 000 iterations of THUMOS's ``run.sh``,
x 110 = ActivityNet's 22 000, an epoch being a bookkeeping unit of 200 steps: one ``metrics.csv``
row and one latest checkpoint; evaluations after steps 201, 401, ... by the record's
``eval_step_offset``), and ``SYNTHETIC`` the ``--synthetic`` quickstart of each dataset.
"""
import numpy as np

from eval.thumos14 import OFFICIAL_CLASS_NAMES as CLASS_NAMES
from utils.settings import Setting as S

CO2_THUMOS = {
    "dataset": "THUMOS",
    # classlist.npy: 20 classes, alphabetical, BaseballPitch=0 .. VolleyballSpiking=19 (sec. 1.2;
    # the same order as the official THUMOS'14 class_dict)
    "class_names": CLASS_NAMES,
    # ---- data
    "feature_dim": 2048,  # --feature-size, C:options.py:9 (no type=, Q21); RGB = columns 0-1023,
    #                       flow = 1024-2047 (C:model.py:83-84)
    "frames_per_sec": 25,  # one row = 16 frames at 25 fps = 0.64 s (C:eval/eval_detection.py:172-173)
    "segment_frames_num": 16,  # idem
    "sample_segments_num": 500,  # --max-seqlen S, C:run.sh:3 (default 320, C:options.py:12)
    "train_sampler": "random_perturb",  # C:wsad_dataset.py:185-203, the same function as AICL's
    #                                     (dataset.aicl_sampling.random_perturb), sec. 2.2
    "test_sampler": "full",  # test at the native length T, batch 1, no resampling
    #                          (C:wsad_dataset.py:133-150, C:test.py:37-48); not a schema choice yet
    "num_similar": 3,  # --num-similar: class pairs per batch, C:options.py:13, C:train.py:16
    "similar_size": 2,  # videos per pair: load_data's default; --similar-size is never passed on
    #                     (C:options.py:19, C:train.py:16, Q21)
    # ---- model
    "ccm_hidden": 512,  # CCM attention width (C:model.py:31,34-35); CCM width = D/2 = 1024 and
    #                     embed_dim = D = 2048 follow from feature_dim (C:model.py:26,54; sec. 10)
    "dropout_ratio": 0.7,  # --dropout_ratio: fusion, the dead encoder, the classifier's first
    #                        dropout (C:options.py:37, C:model.py:63-67)
    "classifier_dropout": 0.7,  # the classifier's second dropout, a literal (C:model.py:69)
    "ccm_dropout": 0.5,  # the four CCM dropouts, literals (C:model.py:28,30,33,36)
    "leaky_slope": 0.2,  # every LeakyReLU, literal (C:model.py:28-35,63-68)
    "pool_t": 0,  # --use-model CO2 has no pool (C:run.sh:3); ANT_CO2's pool divisor --t below
    # ---- loss (C:model.py:104-215, sec. 4.1)
    "mil_k_ratio": 7.0,  # --k: MIL top-k = max(1, int(T // 7.0)) = 71 at T = 500
    #                      (C:options.py:31, C:model.py:173)
    "mil_label_eps": 1e-4,  # MIL target = y / (sum y + 1e-4), literal (C:model.py:180)
    "coactivity_pairs": 3,  # the literal pairs (0,1), (2,3), (4,5) (C:model.py:197, Q21)
    "coactivity_margin": 0.5,  # hinge margin, literal (C:model.py:211-212)
    "coactivity_cos_eps": 0.0,  # 0: the original cosine without epsilon (C:model.py:208-210, Q22)
    "alpha_norm": 0.8,  # --alpha1, weight of the three attention norms / 3 (C:options.py:45)
    "alpha_guide": 0.8,  # --alpha2, weight of the three guide terms / 3 (C:options.py:46)
    "alpha_coactivity": 1.0,  # --alpha3 (C:options.py:47)
    "alpha_mutual": 1.0,  # --alpha4 (C:options.py:48)
    # ---- optimizer (C:main.py:61, sec. 5)
    "optimizer": "adam",  # torch Adam over all parameters, coupled L2 (not AdamW), biases too;
    #                       no scheduler (lrs unused, C:main.py:67), no clipping, no AMP
    "lr": 5e-5,  # --lr, C:options.py:5, C:run.sh:3
    "betas": [0.9, 0.999],  # PyTorch defaults (C:main.py:61)
    "adam_eps": 1e-8,  # PyTorch default (C:main.py:61)
    "weight_decay": 1e-3,  # --weight_decay, C:run.sh:3 (default 5e-4, C:options.py:21)
    # ---- train (C:main.py:69-89, C:train.py:14-32)
    "batch_size": 10,  # --batch-size: 3 pairs + 4 random videos (C:options.py:6)
    "iterations": 5000,  # --max-iter, C:run.sh:3 (README: 20 000, C:README.md:45; default
    #                      20 000, C:options.py:15); one batch per iteration, no epochs
    "seed": 3552,  # --seed, setup_seed (C:options.py:14, C:main.py:20-28,39)
    "eval_every_steps": 200,  # --interval: evaluate when itr % 200 == 0 and itr != 0, on the
    #                           test set (C:options.py:18, C:main.py:72)
    "first_eval_after_steps": 201,  # itr 200 is evaluated after its own step: 201 steps
    "eval_final_partial": False,  # the steps after the last multiple of 200 (4801-4999) are
    #                               trained but never evaluated or saved (C:main.py:72)
    # ---- post-processing (multiple_threshold_hamnet, C:proposal_methods.py:92-189, sec. 6)
    "cls_threshold": 0.2,  # classes with video score >= 0.2, else the argmax
    #                        (C:proposal_methods.py:106,113-114)
    "video_topk_divisor": 10,  # video score k = max(1, T // 10) on cas * attn
    #                            (C:proposal_methods.py:99)
    "att_thresholds": np.linspace(0.1, 0.9, 10).tolist(),  # strict >, compared in float32
    #                                                   (C:proposal_methods.py:109,130; Q19)
    "oic_lambda": 0.25,  # outer margin ratio (C:utils/wsad_utils.py:232)
    "oic_gamma": 0.2,  # --gamma-oic: weight of the video score (C:options.py:28,
    #                    C:proposal_methods.py:141)
    "soft_nms_sigma": 0.3,  # Gaussian soft-NMS exp(-IoU^2 / 0.3), +1 lengths, no cut-off
    #                         (C:proposal_methods.py:156, C:utils/wsad_utils.py:104-141)
    "cls_score_topk_quirk": True,  # classification score = max over time (k = ceil(1/8) = 1,
    #                                C:test.py:63, Q7)
    "idx_any_quirk": True,  # idx.any() tests index values (C:utils/wsad_utils.py:240, Q8)
    "ambiguous_filter": True,  # drop predictions touching an Ambiguous_test.txt segment before
    #                            matching (C:proposal_methods.py:10-36, Q9)
    # ---- evaluation and model selection
    "eval_protocol": "wtalc",  # snippet units, half-even GT rounding, interpolated AP (sec. 7)
    "tiou_thresholds": np.linspace(0.1, 0.9, 9).tolist(),  # C:test.py:81
    "select_metric": "0.1:0.7",  # sum of mAP[0:7], i.e. the mean over tIoU 0.1-0.7
    #                              (C:main.py:77-80)
    "select_rule": "strictly_greater",  # best replaced only on a strictly greater sum
    "select_on": "test",  # model selection on the test set (Q12)
    "original_checkpoint_name": "best_CO2_3552.pkl",  # ./ckpt/best_<--model-name>.pkl, a bare
    #                 state_dict (C:main.py:75,82; --model-name CO2_3552, C:run.sh:3)
    # ---- the dataset class (SampleDataset, C:wsad_dataset.py:7-150): every video of the lists
    "short_video_rows": 0,  # no length filter
    "skip_zero_videos": False,  # the per-class mapping keeps every training video
}

# ActivityNet 1.2 (``ANT_CO2``, ``C:run.sh:10``): the THUMOS values except these. The class list
# (100 classes, W-TALC ActivityNet1.2 order) is not in this repository: a run takes the data's
# ``classlist.npy`` (class_names None, config.defaults.classes_from_data); ``num_classes`` is the
# original's --num-class.
CO2_ACTIVITYNET12 = dict(
    CO2_THUMOS,
    dataset="ActivityNet1.2",  # --dataset-name: P/ActivityNet1.2-I3D-JOINTFeatures.npy and
    #                            P/ActivityNet1.2-Annotations/ (C:run.sh:10, eval.wtalc.LAYOUTS)
    class_names=None,
    num_classes=100,  # --num-class 100 (C:run.sh:10)
    sample_segments_num=60,  # --max-seqlen 60 (C:run.sh:10,13)
    pool_t=5,  # --use-model ANT_CO2, --t 5: pool kernel ((60 // 5) // 2) * 2 + 1 = 13
    #            (C:options.py:40, C:model.py:247-249)
    mil_k_ratio=5.0,  # --k 5 (C:run.sh:10)
    lr=3e-5,  # --lr 3e-5 (C:run.sh:10)
    weight_decay=5e-4,  # the default, not passed (C:options.py:21)
    iterations=22000,  # --max-iter 22000 (C:run.sh:10)
    alpha_mutual=1.0,  # a literal 1 in ANT_CO2.criterion, --alpha4 ignored (C:model.py:319)
    ambiguous_filter=False,  # the filter reads ./Thumos14reduced-Annotations/Ambiguous_test.txt
    #   (C:proposal_methods.py:11), which names no ActivityNet video: nothing is dropped (sec. 6.4)
    eval_subset="validation",  # ANETdetection(..., subset='validation') (C:test.py:87-89)
    tiou_thresholds=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95],  # C:test.py:87
    select_metric="0.5:0.95",  # np.mean(dmap) > np.mean(max_map): all 10 (C:main.py:77-80)
    original_checkpoint_name=None,  # the spec names no ActivityNet --model-name
    # ---- the dataset class (AntSampleDataset, C:wsad_dataset.py:212-429; sec. 1.6, Q25)
    short_video_rows=10,  # filter(): videos of <= 10 rows leave the test list and the training
    #   list of the random picks, after the per-class mapping (:261 before :267, :268-281)
    skip_zero_videos=True,  # the per-class mapping skips training videos whose features sum to
    #   exactly 0 (:293-294); the random picks can still draw them
)



def engine_defaults(original: dict) -> dict:
    """A recipe's constants plus how the engine runs them: epochs of 200 class-pair batches
    (``iterations`` / 200: 25 for THUMOS's 5 000, C:run.sh:3; 110 for ActivityNet's 22 000,
    C:run.sh:10). The record's eval_step_offset 1 puts the evaluations of --eval_every_steps 200
    after steps 201, 401, ... (itr % 200 == 0, itr != 0), none after the last 199 steps."""
    return dict(
        original,
        epochs=original["iterations"] // original["eval_every_steps"],
        steps_per_epoch=original["eval_every_steps"],  # 200
        start_test_epoch=0,
        test_every=1,  # unused with a step cadence
        feature_format="wtalc",  # the W-TALC features (*-I3D-JOINTFeatures.npy),
        #                          C:wsad_dataset.py:14-18
        numpy1_arithmetic=True,  # the authors' numpy 1.18 (sec. 6.3)
        gt_videos="subset",  # every test video of the arrays (THUMOS: 212), the original's
    )


CO2_DEFAULTS = engine_defaults(CO2_THUMOS)
CO2_ANT_DEFAULTS = dict(engine_defaults(CO2_ACTIVITYNET12),
                        data_dir="data/ActivityNet12")  # P of the W-TALC ActivityNet 1.2 files
ORIGINALS = {"THUMOS": CO2_THUMOS, "ActivityNet": CO2_ACTIVITYNET12}
"""The official constants of each dataset of the scripts (the data code reads the dataset class's
``short_video_rows`` and ``skip_zero_videos`` there)."""

# ``--method co2net --synthetic``, per dataset (config.defaults.method_quickstart). THUMOS: the
# quickstart on synthetic data in the W-TALC layout (data/synthetic_thumos_wtalc: the 120-video
# THUMOS-like set of config/thumos.py, D = 256, every class with >= 2 training videos). The
# official loss, sampler, localizer, evaluation and selection; to learn in minutes on a CPU: 256
# resampled snippets (about the synthetic videos' median length) instead of 500, CCM heads 64
# wide instead of 512, lr 3e-4 instead of 5e-5 (at 1 000 steps, seed 3552: 42.3 W-TALC mAP
# 0.1:0.7 against 16.6 at 1e-3 and 0.15 at 1e-4 after 300), and 10 epochs of 100 steps (1 000
# iterations) evaluated every 100 steps from step 101.
SYNTHETIC_THUMOS = {"data_dir": "data/synthetic_thumos_wtalc", "epochs": 10,
                    "steps_per_epoch": 100, "eval_every_steps": 100, "start_test_epoch": 0,
                    "sample_segments_num": 256, "ccm_hidden": 64, "lr": 3e-4}
# ActivityNet: the official ANT_CO2 recipe (S = 60, pool kernel 13, --k 5, the original's
# evaluation every 200 steps and selection on the 0.5:0.95 mean) on the synthetic ActivityNet 1.2
# set (data/synthetic_activitynet12_wtalc: 1 200 ActivityNet-like videos of config/activitynet.py's
# "wtalc" entry, 803 training and 397 validation, 100 synthetic classes, D = 256), with CCM heads
# 64 wide and lr 1e-3 instead of 3e-5, 20 epochs of 200 steps (4 000 iterations instead of
# 22 000). On this set the attention first collapses to ~0 (the norm and guide terms win while
# the 100-class CAS is still flat) and comes back once the CAS separates the classes: after
# 1 200 to 2 400 steps at lr 1e-3 (seeds 3552, 2, 1, 0); lr 3e-4 and 1e-4 had not come back
# after 1 000 and 1 600 steps (0.00 mAP).
SYNTHETIC_ACTIVITYNET = {"data_dir": "data/synthetic_activitynet12_wtalc", "epochs": 20,
                         "steps_per_epoch": 200, "eval_every_steps": 200, "start_test_epoch": 0,
                         "ccm_hidden": 64, "lr": 1e-3}
SYNTHETIC = {"THUMOS": SYNTHETIC_THUMOS, "ActivityNet": SYNTHETIC_ACTIVITYNET}

SETTINGS: dict[str, S] = {
    "steps_per_epoch": S("train", "class-pair batches per epoch (iterations = epochs x this; an "
                                  "epoch is one metrics.csv row and one latest checkpoint)",
                         low=1),
    "num_similar": S("data", "class pairs at the head of each training batch", low=0),
    "similar_size": S("data", "videos per class pair (the original: 2, --similar-size ignored)",
                      low=1),
    "ccm_hidden": S("model", "width of the CCM attention heads", low=1),
    "dropout_ratio": S("model", "dropout of fusion and of the classifier's first layer",
                       low=0.0, high=1.0),
    "classifier_dropout": S("model", "dropout before the classifier's last conv", low=0.0,
                            high=1.0),
    "ccm_dropout": S("model", "the four CCM dropouts", low=0.0, high=1.0),
    "leaky_slope": S("model", "negative slope of every LeakyReLU", low=0.0),
    "mil_k_ratio": S("loss", "MIL top-k = max(1, int(T // ratio))", low=0.0, low_open=True),
    "mil_label_eps": S("loss", "epsilon in the MIL target's denominator", low=0.0),
    "coactivity_pairs": S("loss", "class pairs (0,1), (2,3), .. of the co-activity loss "
                                  "(original: 3, whatever num_similar)", low=1),
    "coactivity_margin": S("loss", "co-activity hinge margin", low=0.0),
    "coactivity_cos_eps": S("loss", "fix: epsilon added to the co-activity cosine's norm "
                                    "product (original: 0, NaN on a zero vector)", low=0.0),
    "alpha_norm": S("loss", "weight of the attention norms (--alpha1)", low=0.0),
    "alpha_guide": S("loss", "weight of the guide terms (--alpha2)", low=0.0),
    "alpha_coactivity": S("loss", "weight of the co-activity loss (--alpha3)", low=0.0),
    "alpha_mutual": S("loss", "weight of the mutual attention MSE (--alpha4)", low=0.0),
    "video_topk_divisor": S("postprocess", "proposal video score over the top max(1, T // it) "
                                           "rows of cas * attn", low=1),
    "att_thresholds": S("postprocess", "attention thresholds (strict >, every class)", low=0.0,
                        high=1.0),
    "oic_gamma": S("postprocess", "weight of the class's video score in a proposal's score "
                                  "(--gamma-oic)", low=0.0),
    "soft_nms_sigma": S("postprocess", "Gaussian soft-NMS decay exp(-IoU^2 / sigma)", low=0.0,
                        low_open=True),
    "cls_score_topk_quirk": S("postprocess", "classification score = max over time (original: "
                                             "k = ceil(1 / 8))"),
    "idx_any_quirk": S("postprocess", "idx.any() tests index values: a threshold whose only "
                                      "snippet is 0 gives nothing (original)"),
    "numpy1_arithmetic": S("postprocess", "the authors' numpy 1.x arithmetic of the thresholds "
                                          "and scores (original); off: numpy >= 2's"),
    "ambiguous_filter": S("postprocess", "drop detections touching an Ambiguous_test.txt segment "
                                         "before matching (original)"),
    "ambiguous_file": S("postprocess", "the Ambiguous file of the filter (default: "
                                       "Ambiguous_test.txt of --wtalc_annotations, else of "
                                       "<data_dir>/Thumos14reduced-Annotations)", None,
                        kind=str),
}
"""The settings CO2-Net reads (the run-wide ones are in ``config/schema.py``; STCL-Net reads them
too); their values are ``CO2_THUMOS``'s and ``CO2_ACTIVITYNET12``'s."""

POOL_SETTINGS: dict[str, S] = {
    "pool_t": S("model", "ANT_CO2 (ActivityNet 1.2): average pool over time of cas, attn, v_atn "
                         "and f_atn, kernel ((sample_segments_num // pool_t) // 2) * 2 + 1, zero "
                         "padding counted (--t); 0: none, the CO2 network (THUMOS'14)", low=0),
}
"""The setting of ``ANT_CO2``'s pool (CO2-Net's only: STCL-Net has no pooled network)."""
