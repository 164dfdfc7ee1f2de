"""The run-wide settings (every method's runs have them): section, one-line help, range, and (for
the settings that do not depend on the dataset) the default. A method declares the settings only
it reads in its own folder (``methods/<name>/settings.py``, its record's ``settings``), so a
run's flags and ``config.json`` hold the run-wide settings and its method's own
(:func:`settings_for`). Dataset-specific defaults live in ``config/thumos.py`` and
``config/activitynet.py``, a method's in its folder. Each default is written once.

Sections (what each builder receives): ``run`` (what to do and where), ``data``, ``model``,
``loss``, ``optimizer``, ``train``, ``postprocess``, ``eval``. Every key is a command-line flag of
the same name (``--key``); ``original=True`` marks the flags of the original FTCL command line,
listed apart in ``--help``.
"""
from __future__ import annotations

from typing import Any

from methods import METHODS
from utils.settings import DATASET, Setting  # noqa: F401  (DATASET: for config.defaults)

SECTIONS = ("run", "data", "model", "loss", "optimizer", "train", "postprocess", "eval")

SECTION_TITLES = {
    "run": "run: what to do, where to write, logging",
    "data": "data", "model": "model", "loss": "loss terms", "optimizer": "optimizer",
    "train": "training", "postprocess": "post-processing (CAS and attention -> detections)",
    "eval": "evaluation and model selection",
}
"""Section -> its heading in ``--help`` and ``--print_config``."""

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
    "heldout_fraction": S("data", "share of the training split held out for --select_on heldout "
                                  "(0: none)", 0.0, low=0.0, high=0.9),
    "heldout_seed": S("data", "seed of the held-out split (independent of --seed)", 0, low=0),
    "train_sampler": S("data", "training snippets: random_sample (ACM-Net: S sorted random picks) "
                               "or random_perturb (AICL: one pick per bin)", "random_sample",
                       choices=("random_sample", "random_perturb")),
    "test_sampler": S("data", "test snippets: uniform_sample (ACM-Net: short videos kept whole), "
                              "uniform_sampling (AICL: always S rows, short videos repeated) or "
                              "full (CO2-Net: every snippet, native length)",
                      "uniform_sample", choices=("uniform_sample", "uniform_sampling", "full")),
    # ---- model
    # ---- loss
    "extra_loss_terms": S("loss", "more registered loss terms as NAME=WEIGHT (added to the "
                                  "method's terms)", [], kind=str),
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
    "oic_lambda": S("postprocess", "outer-inner-contrast margin ratio", low=0.0),
    "nms_thresh": S("postprocess", "NMS tIoU threshold", low=0.0, high=1.0),
    "nms_plus_one": S("postprocess", "NMS IoU with the original '+1' on seconds", True),
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
    "eval_protocol": S("eval", "detection mAP protocols: ActivityNet-style (original, always "
                               "computed, selects the best epoch), plus the official THUMOS'14 "
                               "toolkit's (thumos14 or both), the W-TALC convention of CO2-Net / "
                               "STCL-Net (wtalc), or both of these (all)", "activitynet",
                       choices=("activitynet", "thumos14", "both", "wtalc", "all")),
    "official_annotations": S("eval", "official THUMOS'14 annotation folder for --eval_protocol "
                                      "thumos14 (default: <data_dir>/official/annotations_test "
                                      "when present, else gt.json)", None, kind=str),
    "wtalc_annotations": S("eval", "W-TALC annotation arrays (videoname, subset, classlist, "
                                   "segments, labels .npy, Ambiguous_test.txt) for --eval_protocol "
                                   "wtalc|all (default: <data_dir>/Thumos14reduced-Annotations)",
                           None, kind=str),
}

NOT_FLAGS = ("dataset", "class_names")
"""Dataset-config keys that are fixed by the script, not flags."""


def settings_for(method: str) -> dict[str, Setting]:
    """The settings of a run of ``method``: the run-wide ones, then the method's own (its
    record's ``settings``); a one-line ValueError for an unknown method."""
    if method not in METHODS:
        raise ValueError(f"--method {method!r}: unknown; known: {', '.join(METHODS.names())}")
    return {**SETTINGS, **METHODS.get(method).settings}


def own_settings(method: str) -> dict[str, Setting]:
    """The settings only ``method`` reads (its record's ``settings``), in declaration order."""
    return dict(METHODS.get(method).settings)


def all_settings() -> dict[str, Setting]:
    """Every setting any registered method's runs can have (the run-wide ones first)."""
    out = dict(SETTINGS)
    for name in METHODS.names():
        out.update(METHODS.get(name).settings)
    return out


def check_value(key: str, value: Any, settings: dict[str, Setting] | None = None) -> str | None:
    """Why ``value`` is out of range for ``key`` of ``settings`` (default: every registered
    setting); None when it is fine or the key is unknown."""
    setting = (all_settings() if settings is None else settings).get(key)
    return None if setting is None else setting.problem(value)


def value_problem(key: str, value: Any) -> str | None:
    """Why ``value`` is not allowed for ``key`` (None when it is): the declared range and
    choices (:func:`check_value`), the device syntax, the NAME=WEIGHT terms."""
    problem = check_value(key, value)
    if problem:
        return problem
    if key == "device" and value is not None and not (
            value in ("cpu", "cuda", "mps") or (value.startswith("cuda:") and value[5:].isdigit())):
        return f"{value!r}: expected cpu, cuda or cuda:N"
    if key == "extra_loss_terms":
        for term in value:
            name, sep, weight = term.partition("=")
            try:
                float(weight)
            except ValueError:
                sep = ""
            if not (name and sep):
                return f"{term!r}: expected NAME=WEIGHT"
    return None
