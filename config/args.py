"""Command line of ``main_thu.py`` / ``main_act.py``: flags from the settings, run config from flags.

Every setting of ``config/schema.py`` is a ``--<key>`` flag whose default comes from the schema, the
dataset config (``config/thumos.py``, ``config/activitynet.py``), then the defaults of the
``--method``'s record (``methods/<name>/``: FTCL's ``settings.py``, AICL's ``settings.py``).
Values are range-checked at parse time. :func:`parse_config` turns the parsed flags into a
:class:`~config.run_config.RunConfig` with one section per builder.
"""
from __future__ import annotations

import argparse
import copy
from typing import Any, Sequence

from config import activitynet, thumos
from config.run_config import RunConfig
from config.schema import DATASET, NOT_FLAGS, SECTIONS, SETTINGS, check_value
from methods import METHODS, method_entry

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


def method_defaults(method: str, dataset: str) -> dict[str, Any]:
    """The settings ``method`` sets on ``dataset`` (a deep copy; its record's ``defaults``)."""
    own = METHODS.get(method).defaults.get(dataset, {})
    return {k: copy.deepcopy(v) for k, v in own.items() if k in SETTINGS}


def dataset_config(dataset: str, method: str = "ftcl") -> dict[str, Any]:
    """Every default of ``dataset`` ("THUMOS" or "ActivityNet") under ``method`` as one flat dict
    (a deep copy). A setting that only another method defines (AICL's under FTCL) keeps that
    method's value, which nothing reads."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(DATASETS)}")
    values = {k: s.default for k, s in SETTINGS.items() if s.default is not DATASET}
    values.update(copy.deepcopy(DATASETS[dataset]))
    for other in METHODS.names():
        for source in METHODS.get(other).defaults:
            for key, value in method_defaults(other, source).items():
                values.setdefault(key, value)
    values.update(method_defaults(method, dataset))
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


def build_parser(dataset: str, method: str = "ftcl") -> argparse.ArgumentParser:
    """The parser of ``main_thu.py`` / ``main_act.py`` with ``dataset``'s defaults under
    ``method``."""
    values = dataset_config(dataset, method)
    parser = argparse.ArgumentParser(
        description=f"FTCL / ACM-Net / AICL weakly-supervised temporal action localization "
                    f"({dataset}). Every hyper-parameter is a flag; defaults are the original "
                    f"code's ({method}: --method).",
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


def _given_method(argv: Sequence[str] | None) -> str:
    """The ``--method`` of ``argv`` (default "ftcl"), read before the full parse so that every
    other flag gets that method's default (``--help`` included)."""
    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    early.add_argument("--method", default=SETTINGS["method"].default)
    known, _ = early.parse_known_args(argv)
    return known.method


def _parse(dataset: str, argv: Sequence[str] | None
           ) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The parser of the method ``argv`` names and the range-checked namespace. A method without
    a recipe for ``dataset``, or without the requested stage, exits with one ``error:`` line
    (status 1, like the scripts' other input errors)."""
    method = _given_method(argv)
    known = method if method in METHODS else SETTINGS["method"].default
    parser = build_parser(dataset, known)
    args = parser.parse_args(argv)
    if args.method != known and args.method in METHODS:   # an abbreviated --method
        parser = build_parser(dataset, args.method)
        args = parser.parse_args(argv)
    try:
        entry = method_entry(args.method, dataset)
        if args.ftcl and "pair" not in entry.stages:
            raise ValueError(f"--ftcl: {args.method} has no pair stage (FTCL's)")
    except ValueError as err:
        parser.exit(1, f"error: {err}\n")
    _check_ranges(parser, args)
    return parser, args


def parse_args(dataset: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` (default: ``sys.argv[1:]``) with ``dataset``'s defaults under its
    ``--method``: a flat namespace of every setting, range-checked (an error exits with argparse's
    usage message)."""
    return _parse(dataset, argv)[1]


def parse_config(dataset: str, argv: Sequence[str] | None = None) -> RunConfig:
    """Parse ``argv`` into a :class:`RunConfig`; ``--synthetic`` turns the defaults into the
    quickstart recipe (the README's figures; the method's recipe on top of the dataset's), flags
    given explicitly still win."""
    parser, args = _parse(dataset, argv)
    given = explicit_keys(parser, argv)
    if args.synthetic:
        recipe = SYNTHETIC[dataset]
        stage = recipe["ftcl"] if args.ftcl else {}
        for key in ("epochs", "start_test_epoch", "feature_dim"):
            if key not in given:
                setattr(args, key, stage.get(key, recipe[key]))
        for key, value in METHODS.get(args.method).synthetic.items():
            if key not in given:
                setattr(args, key, copy.deepcopy(value))
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
           "method_defaults", "parse_args", "parse_config"]
