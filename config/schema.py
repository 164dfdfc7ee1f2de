"""Every setting of a run: its section, its one-line help, its range, and (for the settings that
do not depend on the dataset) its default. Dataset-specific defaults live in ``config/thumos.py``
and ``config/activitynet.py``; each method's in its folder (``methods/ftcl/settings.py``,
``methods/aicl/settings.py``; AICL's settings that FTCL lacks are inert under ``--method ftcl``). Each default is
written once: here, in a dataset file, or in a method file.

Sections (what each builder receives): ``run`` (what to do and where), ``data``, ``model``,
``loss``, ``optimizer``, ``train``, ``postprocess``, ``eval``. Every key is a command-line flag of
the same name (``--key``); ``original=True`` marks the flags of the original FTCL command line,
listed apart in ``--help``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from methods.aicl.inference import NMS_MODES
from methods import METHODS

SECTIONS = ("run", "data", "model", "loss", "optimizer", "train", "postprocess", "eval")

DATASET = object()
"""Marker default: the value comes from the dataset config (or the defaults of the method
that defines the setting, ``methods/<name>/settings.py``)."""


@dataclass(frozen=True)
class Setting:
    """One configurable key: section, help line, default, allowed values or numeric range."""

    section: str
    help: str
    default: Any = DATASET
    choices: tuple[Any, ...] | None = None
    low: float | None = None         # inclusive lower bound
    high: float | None = None        # inclusive upper bound
    low_open: bool = False           # the lower bound itself is not allowed
    original: bool = False           # a flag of the original FTCL command line
    kind: type | None = None         # type when the default is None or dataset-given


S = Setting
SETTINGS: dict[str, Setting] = {
    # ---- run: what to do, where to write, how to log
    "method": S("run", "training method, a registered method record (methods/<name>/): "
                       + "; ".join(f"{m}: {METHODS.get(m).summary}" for m in METHODS.names()),
                "ftcl"),
    "test": S("run", "evaluate --checkpoint on the test split instead of training", False,
              original=True),
    "ftcl": S("run", "FTCL pair-training stage (stage 2) instead of the ACM stage", False,
              original=True),
    "checkpoint": S("run", "checkpoint to test (--test) or to start training from", None,
                    original=True, kind=str),
    "seed": S("run", "seed of Python, numpy, torch and the data streams", 0, low=0,
              original=True),
    "model_name": S("run", "run name; default output folder runs/<dataset>/<group>/<model_name>",
                    "default", original=True),
    "group": S("run", "run group (wandb group and output sub-folder)", "default", original=True),
    "gpu": S("run", "CUDA device index used when --device is cuda without an index", "0",
             original=True),
    "without_wandb": S("run", "do not log to wandb (never imports it)", False, original=True),
    "wandb": S("run", "log to wandb even with --synthetic (which turns wandb off by default)",
               False),
    "output_dir": S("run", "run folder (default: runs/<dataset>/<group>/<model_name>; with "
                           "--test: test_<checkpoint name>/ beside the checkpoint)", None,
                    kind=str),
    "device": S("run", "cpu, cuda or cuda:N (default: cuda when available, else cpu)", None,
                kind=str),
    "resume": S("run", "continue from <output_dir>/<dataset>_latest.pth", False),
    "overwrite": S("run", "train even when --output_dir already holds a run: delete its files "
                          "(checkpoints, metrics.csv, summary.json, epoch_NNN/...) and start "
                          "afresh (without it, such a folder is refused)", False),
    "synthetic": S("run", "generate (once) a small synthetic dataset and train the quickstart "
                          "recipe on it (into --data_dir if given, else data/synthetic_*)", False),
    "eval_untrained": S("run", "evaluate the model once before training (on with --synthetic)",
                        False),
    "deterministic": S("run", "torch.use_deterministic_algorithms(True) (needed for bitwise "
                              "reproducible CUDA runs)", False),
    "save_outputs": S("run", "save per-video attention / CAS / video scores (outputs.npz) beside "
                             "each results JSON, for plots", False),
    "threads": S("run", "torch CPU threads, fixed for the whole run (default: a sweep's share "
                        "of its cores, else SLURM_CPUS_PER_TASK, else torch's choice)", None,
                 low=1, kind=int),
    # ---- data
    "data_dir": S("data", "dataset root: gt.json, split_{train,test}.txt and the features"),
    "feature_format": S("data", "feature store layout under --data_dir (auto: detect)", "auto",
                        choices=("auto", "npy", "h5", "wtalc")),
    "num_workers": S("data", "DataLoader worker processes", 0, low=0, original=True),
    "feature_dim": S("data", "feature width D (I3D RGB+flow: 2048)", low=1),
    "frames_per_sec": S("data", "frame rate of the feature extraction", low=1),
    "segment_frames_num": S("data", "frames per snippet", low=1),
    "sample_segments_num": S("data", "snippets sampled per training video (AICL: per test video "
                                     "too)", low=1),
    "eval_subset": S("data", "gt.json subset the evaluation reads"),
    "resample_pairs": S("data", "redraw FTCL pairs and their snippet samples every epoch "
                                "(original: drawn once)", False),
    "heldout_fraction": S("data", "share of the training split held out for --select_on heldout "
                                  "(0: none)", 0.0, low=0.0, high=0.9),
    "heldout_seed": S("data", "seed of the held-out split (independent of --seed)", 0, low=0),
    "train_sampler": S("data", "training snippets: random_sample (ACM-Net: S sorted random picks) "
                               "or random_perturb (AICL: one pick per bin)", "random_sample",
                       choices=("random_sample", "random_perturb")),
    "test_sampler": S("data", "test snippets: uniform_sample (ACM-Net: short videos kept whole) or "
                              "uniform_sampling (AICL: always S rows, short videos repeated)",
                      "uniform_sample", choices=("uniform_sample", "uniform_sampling")),
    # ---- model
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
    "embed_dim": S("model", "AICL: width of the three k3 conv embeddings", low=1),
    "video_topk_seg": S("model", "AICL: video logits = mean CAS over the top "
                                 "sample_segments_num // video_topk_seg snippets per class", low=1),
    "set_ratio_consistent": S("model", "AICL: the consistent sets CA / CB hold T // ratio "
                                       "snippets", low=1),
    "set_ratio_inconsistent": S("model", "AICL: the inconsistent sets IA / IB hold T // ratio "
                                         "snippets", low=1),
    "stable_topk": S("model", "AICL fix: break every top-k tie by time index (original: "
                              "unspecified order)"),
    # ---- loss
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
    "extra_loss_terms": S("loss", "more registered loss terms as NAME=WEIGHT (added to the "
                                  "method's terms)", [], kind=str),
    "q_val": S("loss", "AICL: exponent q of the generalized cross-entropy", low=0.0,
               low_open=True, high=1.0),
    "ce_label_eps": S("loss", "AICL: epsilon added to every entry of the normalised video label",
                      low=0.0),
    "gce_eps": S("loss", "AICL: epsilon inside both GCE powers and added to both GCE counts",
                 low=0.0),
    "nce_tau": S("loss", "AICL: InfoNCE temperature", low=0.0, low_open=True),
    "loss_weight_cls": S("loss", "AICL: weight of the video classification term", low=0.0),
    "loss_weight_gce": S("loss", "AICL: weight of the GCE of the flow and RGB actionness",
                         low=0.0),
    "loss_weight_modality": S("loss", "AICL: weight of MSE(flow actionness, RGB actionness)",
                              low=0.0),
    "loss_weight_contrast": S("loss", "AICL: weight of the 12 InfoNCE terms", low=0.0),
    "loss_weight_action": S("loss", "AICL: weight of MSE(class-aware, class-agnostic "
                                    "actionness)", low=0.0),
    "exclude_set_fill": S("loss", "AICL fix: a snippet set smaller than k is not padded with "
                                  "non-members (original: padded)"),
    # ---- optimizer
    "optimizer": S("optimizer", "optimizer (the originals: Adam)", "adam",
                   choices=("adam", "adamw", "sgd")),
    "lr": S("optimizer", "learning rate", low=0.0, low_open=True),
    "weight_decay": S("optimizer", "weight decay (L2, added to the gradient as torch's Adam)",
                      low=0.0),
    "betas": S("optimizer", "Adam betas", [0.9, 0.999], low=0.0, high=1.0),
    # ---- train
    "batch_size": S("train", "videos (or pairs) per step", low=1, original=True),
    "epochs": S("train", "number of epochs", low=1, original=True),
    "start_epoch": S("train", "first epoch index (shifts the loop counter only)", 0, low=0,
                     original=True),
    # ---- post-processing (CAS and attention -> detections)
    "cls_threshold": S("postprocess", "video score needed to localize a class", low=0.0,
                       high=1.0),
    "test_upgrade_scale": S("postprocess", "temporal up-sampling factor before thresholding",
                            low=1),
    "cas_thresholds": S("postprocess", "proposal thresholds on the CAS", low=0.0, high=1.0),
    "att_thresholds": S("postprocess", "proposal thresholds on the instance attention",
                        low=0.0, high=1.0),
    "oic_lambda": S("postprocess", "outer-inner-contrast margin ratio", low=0.0),
    "oic_gamma_cas": S("postprocess", "OIC gamma of the CAS branch", low=0.0),
    "oic_gamma_att": S("postprocess", "OIC gamma of the attention branch", low=0.0),
    "oic_mix": S("postprocess", "CAS weight of the scoring sequence (rest: attention)", low=0.0,
                 high=1.0),
    "nms_thresh": S("postprocess", "NMS tIoU threshold", low=0.0, high=1.0),
    "nms_plus_one": S("postprocess", "NMS IoU with the original '+1' on seconds", True),
    "clip_to_duration": S("postprocess", "clip proposal times to the video duration (original: "
                                         "no clip)", False),
    "act_thresholds": S("postprocess", "AICL: proposal thresholds on the combined CAS", low=0.0,
                        high=1.0),
    "oic_gamma": S("postprocess", "AICL: weight of the class's video score in a proposal's score",
                   low=0.0),
    "nms_alpha": S("postprocess", "AICL: soft-NMS decay exp(-IoU^2 / alpha) of a suppressed "
                                  "proposal", low=0.0, low_open=True),
    "nms_mode": S("postprocess", "AICL NMS: aicl_soft (original: one decay-and-append pass), hard "
                                 "(suppressed dropped) or soft_standard (Gaussian soft-NMS)",
                  choices=NMS_MODES),
    "cpu_alias_quirk": S("postprocess", "AICL: reproduce the unmodified code run on a CPU (class "
                                        "scores overwritten by the 0/1 selection)"),
    # ---- evaluation and model selection
    "tiou_thresholds": S("eval", "tIoU thresholds of the mAP", low=0.0, high=1.0,
                         low_open=True),
    "select_metric": S("eval", "selection metric: an average range such as 0.1:0.7, or one tIoU"),
    "select_on": S("eval", "which epoch <dataset>_best.pth holds: best on test (original), the "
                           "last, or best on the held-out part of the training split", "test",
                   choices=("test", "last", "heldout")),
    "gt_videos": S("eval", "evaluation ground truth: every gt.json video of the subset "
                           "(original) or only the split's videos", "subset",
                   choices=("subset", "split")),
    "start_test_epoch": S("eval", "first epoch that is evaluated", 0, low=0, original=True),
    "test_every": S("eval", "evaluate every N epochs (epoch %% N == 0; ACM-Net ActivityNet: 2)",
                    low=1),
    "eval_every_steps": S("eval", "evaluate every N training steps counted over the run, instead "
                                  "of every --test_every epochs (0: per epoch; AICL: 50)", 0,
                          low=0),
    "eval_protocol": S("eval", "detection mAP protocol: ActivityNet-style (original), the "
                               "official THUMOS'14 toolkit's, or both", "activitynet",
                       choices=("activitynet", "thumos14", "both")),
    "official_annotations": S("eval", "official THUMOS'14 annotation folder for --eval_protocol "
                                      "thumos14 (default: <data_dir>/official/annotations_test "
                                      "when present, else gt.json)", None, kind=str),
}

NOT_FLAGS = ("dataset", "class_names")
"""Dataset-config keys that are fixed by the script, not flags."""


def section_of(key: str) -> str:
    """The section a setting belongs to."""
    return SETTINGS[key].section


def check_value(key: str, value: Any) -> str | None:
    """Why ``value`` is out of range for ``key`` (None when it is fine). Lists are checked item by
    item; None passes (an unset optional setting)."""
    setting = SETTINGS.get(key)
    if setting is None or value is None:
        return None
    values = value if isinstance(value, (list, tuple)) else [value]
    for item in values:
        if setting.choices is not None and item not in setting.choices:
            return f"must be one of {', '.join(map(str, setting.choices))}"
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            continue
        if setting.low is not None and (item < setting.low or
                                        (setting.low_open and item == setting.low)):
            bound = ">" if setting.low_open else ">="
            return f"must be {bound} {setting.low:g} (got {item:g})"
        if setting.high is not None and item > setting.high:
            return f"must be <= {setting.high:g} (got {item:g})"
    return None
