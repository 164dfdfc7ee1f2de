"""Command line of ``main_thu.py`` / ``main_act.py``: flags from the settings, run config from flags.

Every setting of ``config/schema.py`` is a ``--<key>`` flag whose default comes from the schema, the
dataset config (``config/thumos.py``, ``config/activitynet.py``) or FTCL's config
(``config/ftcl.py``). Values are range-checked at parse time. :func:`parse_config` turns the parsed
flags into a :class:`~config.run_config.RunConfig` with one section per builder.
"""
from __future__ import annotations

import argparse
import copy
from typing import Any, Sequence

from config import activitynet, ftcl, thumos
from config.run_config import RunConfig
from config.schema import DATASET, NOT_FLAGS, SECTIONS, SETTINGS, check_value

DATASETS: dict[str, dict[str, Any]] = {
    "THUMOS": thumos.CONFIG,
    "ActivityNet": activitynet.CONFIG,
}
SYNTHETIC: dict[str, dict[str, Any]] = {
    "THUMOS": thumos.SYNTHETIC,
    "ActivityNet": activitynet.SYNTHETIC,
}
_SECTION_TITLES = {
    "run": "run: what to do, where to write, logging",
    "data": "data", "model": "model", "loss": "loss terms", "optimizer": "optimizer",
    "train": "training", "postprocess": "post-processing (CAS and attention -> detections)",
    "eval": "evaluation and model selection",
}


def dataset_config(dataset: str) -> dict[str, Any]:
    """Every default of ``dataset`` ("THUMOS" or "ActivityNet") as one flat dict (a deep copy)."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(DATASETS)}")
    values = {k: s.default for k, s in SETTINGS.items() if s.default is not DATASET}
    values.update(copy.deepcopy(ftcl.CONFIG))
    values.update(copy.deepcopy(DATASETS[dataset]))
    missing = [k for k, s in SETTINGS.items() if k not in values]
    if missing:
        raise KeyError(f"no default for {missing} in the {dataset} config")
    return values


def _add_flag(group: argparse._ArgumentGroup, key: str, value: Any) -> None:
    setting = SETTINGS[key]
    flag, help_text = f"--{key}", setting.help
    if isinstance(value, bool):
        group.add_argument(flag, default=value, action=argparse.BooleanOptionalAction,
                           help=help_text)
    elif isinstance(value, list):
        kind = type(value[0]) if value else (setting.kind or str)
        group.add_argument(flag, default=value, nargs="*" if not value else "+", type=kind,
                           metavar=key.upper(), help=help_text)
    else:
        kind = setting.kind or type(value)
        group.add_argument(flag, default=value, type=kind, choices=setting.choices,
                           metavar=None if setting.choices else key.upper(), help=help_text)


def build_parser(dataset: str) -> argparse.ArgumentParser:
    """The parser of ``main_thu.py`` / ``main_act.py`` with ``dataset``'s defaults."""
    values = dataset_config(dataset)
    parser = argparse.ArgumentParser(
        description=f"FTCL / ACM-Net weakly-supervised temporal action localization ({dataset}). "
                    "Every hyper-parameter is a flag; defaults are the original code's.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    original = parser.add_argument_group("flags of the original FTCL command line")
    groups = {name: parser.add_argument_group(title) for name, title in _SECTION_TITLES.items()}
    for key, setting in SETTINGS.items():
        _add_flag(original if setting.original else groups[setting.section], key, values[key])
    parser.set_defaults(dataset=dataset, class_names=values["class_names"])
    return parser


def _check_ranges(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for key in SETTINGS:
        problem = check_value(key, getattr(args, key))
        if problem:
            parser.error(f"--{key}: {problem}")
    device = args.device
    if device is not None and not (device in ("cpu", "cuda", "mps") or
                                   (device.startswith("cuda:") and device[5:].isdigit())):
        parser.error(f"--device {device!r}: expected cpu, cuda or cuda:N")
    for term in args.extra_loss_terms:
        name, sep, weight = term.partition("=")
        try:
            float(weight)
        except ValueError:
            sep = ""
        if not (name and sep):
            parser.error(f"--extra_loss_terms {term!r}: expected NAME=WEIGHT")


def explicit_keys(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> set[str]:
    """The settings given on the command line (as opposed to defaults)."""
    quiet = copy.deepcopy(parser)
    for action in quiet._actions:
        action.default = argparse.SUPPRESS
    return set(vars(quiet.parse_args(argv))) - set(NOT_FLAGS)


def parse_args(dataset: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` (default: ``sys.argv[1:]``) with ``dataset``'s defaults: a flat namespace
    of every setting, range-checked (an error exits with argparse's usage message)."""
    parser = build_parser(dataset)
    args = parser.parse_args(argv)
    _check_ranges(parser, args)
    return args


def parse_config(dataset: str, argv: Sequence[str] | None = None) -> RunConfig:
    """Parse ``argv`` into a :class:`RunConfig`; ``--synthetic`` turns the defaults into the
    quickstart recipe (the README's figures), flags given explicitly still win."""
    parser = build_parser(dataset)
    args = parser.parse_args(argv)
    _check_ranges(parser, args)
    given = explicit_keys(parser, argv)
    if args.synthetic:
        recipe = SYNTHETIC[dataset]
        for key in ("epochs", "start_test_epoch", "feature_dim"):
            if key not in given:
                setattr(args, key, recipe[key])
        if "eval_untrained" not in given:
            args.eval_untrained = True
        if not args.wandb:
            args.without_wandb = True
        if "data_dir" not in given:
            args.data_dir = f"data/synthetic_{recipe['name']}"
    if args.wandb:
        args.without_wandb = False
    return RunConfig.from_flat(vars(args), given=given)


__all__ = ["DATASETS", "SECTIONS", "build_parser", "dataset_config", "explicit_keys",
           "parse_args", "parse_config"]
