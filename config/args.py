"""Command-line parser shared by ``main_thu.py`` and ``main_act.py``.

The flags of the original FTCL CLI keep their names and defaults; every key of the dataset config
(``config/thumos.py``, ``config/activitynet.py``) becomes an overridable ``--<key>`` flag whose default
is the config value. Flags for the original's quirks default to the original behaviour.
"""
from __future__ import annotations

import argparse
import copy
from typing import Any, Sequence

from config import activitynet, thumos

DATASETS: dict[str, dict[str, Any]] = {
    "THUMOS": thumos.CONFIG,
    "ActivityNet": activitynet.CONFIG,
}

# Keys of the dataset config that are not exposed as flags.
_NOT_FLAGS = {"dataset", "class_names", "data_dir"}


def dataset_config(dataset: str) -> dict[str, Any]:
    """A deep copy of the config dict of ``dataset`` ("THUMOS" or "ActivityNet")."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(DATASETS)}")
    return copy.deepcopy(DATASETS[dataset])


def _add_config_flags(group: argparse._ArgumentGroup, cfg: dict[str, Any]) -> None:
    for key, value in cfg.items():
        if key in _NOT_FLAGS:
            continue
        flag = f"--{key}"
        if isinstance(value, bool):
            group.add_argument(flag, default=value, action=argparse.BooleanOptionalAction)
        elif isinstance(value, list):
            group.add_argument(flag, default=value, nargs="+", type=type(value[0]),
                               metavar=key.upper())
        else:
            group.add_argument(flag, default=value, type=type(value))


def build_parser(dataset: str) -> argparse.ArgumentParser:
    """The parser of ``main_thu.py`` / ``main_act.py`` with ``dataset``'s defaults."""
    cfg = dataset_config(dataset)
    parser = argparse.ArgumentParser(
        description=f"FTCL / ACM-Net weakly-supervised temporal action localization ({dataset}).")

    orig = parser.add_argument_group("flags of the original FTCL command line")
    orig.add_argument("--seed", type=int, default=0)
    orig.add_argument("--model_name", type=str, default="default")
    orig.add_argument("--group", type=str, default="default")
    orig.add_argument("--checkpoint", type=str, default=None,
                      help="checkpoint to test (--test) or to start training from")
    orig.add_argument("--start_epoch", type=int, default=0)
    orig.add_argument("--gpu", type=str, default="0",
                      help="CUDA device index used when --device is cuda without an index")
    orig.add_argument("--num_workers", type=int, default=0)
    orig.add_argument("--epochs", type=int, default=25)
    orig.add_argument("--start_test_epoch", type=int, default=0)
    orig.add_argument("--loss_lamb_lcs", type=float, default=0.1)
    orig.add_argument("--loss_lamb_fsd", type=float, default=0.8)
    orig.add_argument("--thres", type=float, default=0.92, help="LCS match threshold")
    orig.add_argument("--lcs_len", type=int, default=30)
    orig.add_argument("--fsd_len", type=int, default=5)
    orig.add_argument("--fc_dim", type=int, default=1024)
    orig.add_argument("--without_wandb", action="store_true")
    orig.add_argument("--test", action="store_true")
    orig.add_argument("--ftcl", action="store_true", help="FTCL pair-training stage")
    orig.add_argument("--without_lcs", action="store_true")
    orig.add_argument("--without_fsd", action="store_true")

    new = parser.add_argument_group("flags added by this implementation")
    new.add_argument("--data_dir", type=str, default=cfg["data_dir"],
                     help="dataset root: gt.json, split_{train,test}.txt, features (see README)")
    new.add_argument("--output_dir", type=str, default=None,
                     help="default: runs/<dataset>/<group>/<model_name>; with --test: a folder "
                          "beside the checkpoint")
    new.add_argument("--device", type=str, default=None,
                     help="cpu, cuda or cuda:N (default: cuda when available, else cpu)")
    new.add_argument("--resume", action="store_true",
                     help="continue from <output_dir>/<dataset>_latest.pth")
    new.add_argument("--synthetic", action="store_true",
                     help="generate (once, under data/) a small synthetic dataset and use it")
    new.add_argument("--eval_untrained", action="store_true",
                     help="evaluate the freshly built model once before training (on with "
                          "--synthetic)")
    new.add_argument("--deterministic", action="store_true",
                     help="torch.use_deterministic_algorithms(True)")
    new.add_argument("--feature_format", choices=["auto", "npy", "h5", "wtalc"], default="auto",
                     help="feature store layout under --data_dir (auto: detect)")

    quirks = parser.add_argument_group("original behaviour behind flags (defaults = original)")
    quirks.add_argument("--bak_source", choices=["inst_rank", "back_att"], default="inst_rank",
                        help="FSD background candidates: instance-attention ranks fsd_len+1.."
                             "2*fsd_len (original) or the top background-attention snippets")
    quirks.add_argument("--resample_pairs", action="store_true",
                        help="redraw FTCL pairs and feature samples every epoch (original: once)")
    quirks.add_argument("--lcs_similarity", choices=["auto", "scaled", "raw"], default="auto",
                        help="LCS similarity: scaled max(0, cos-0.8)*5 (original in-batch), raw "
                             "cosine (original pair mode); auto = the original's choice per mode")
    quirks.add_argument("--lcs_gamma", type=float, default=0.0,
                        help="0: hard LCS max (original); >0: smooth max")
    quirks.add_argument("--cls_eps", type=float, default=None,
                        help="epsilon inside the cls-loss log (default: the original's per mode)")
    quirks.add_argument("--nms_plus_one", default=True, action=argparse.BooleanOptionalAction,
                        help="NMS IoU with the original '+1' on seconds")
    quirks.add_argument("--clip_to_duration", action="store_true",
                        help="clip proposal times to the video duration (original: no clip)")
    quirks.add_argument("--gt_videos", choices=["subset", "split"], default="subset",
                        help="evaluation ground truth: every gt.json video of the subset "
                             "(original) or only the split's videos")

    _add_config_flags(parser.add_argument_group(f"{dataset} hyper-parameters"), cfg)
    parser.set_defaults(dataset=dataset, class_names=cfg["class_names"])
    return parser


def parse_args(dataset: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` (default: ``sys.argv[1:]``) with ``dataset``'s defaults."""
    return build_parser(dataset).parse_args(argv)
