"""Command line of ``main_thu.py`` / ``main_act.py``: flags from the settings, run config from flags.

Every setting of ``config/schema.py`` is a ``--<key>`` flag. A value resolves in one order, each
layer overriding the ones before it:

1. **schema**: the dataset-independent default of ``config/schema.py``;
2. **dataset**: ``config/thumos.py`` or ``config/activitynet.py``;
3. **method**: the defaults of the ``--method``'s record (``methods/<name>/``: FTCL's
   ``settings.py``, AICL's ``settings.py``);
4. **quickstart**: with ``--synthetic`` only, the quickstart recipe (the dataset's ``SYNTHETIC``,
   its ``ftcl`` stage with ``--ftcl``, then the method's ``synthetic`` for the dataset);
5. **file**: the recipe file of ``--config FILE`` (YAML, ``configs/*.yaml``; docs/recipes.md);
6. **flag**: the flags given on the command line.

Layers 1-3 are :mod:`config.defaults`, layer 5 :mod:`config.recipes`; this module adds 4 and 6.

The method itself is the ``--method`` flag, else the file's ``method:``, else ``ftcl``. A file's
settings count as given explicitly, like flags (so they too win over a checkpoint's saved config
under ``--test``): ``--config FILE`` is a saved command line. A file is checked before any work:
an unknown key, a value of the wrong type or out of range, a file for the other dataset, or a
missing or unreadable file stops with one ``error: FILE: KEY: problem`` line (status 1).

Values are range-checked at parse time. :func:`parse_config` turns the parsed flags into a
:class:`~config.run_config.RunConfig` with one section per builder; with ``--print_config`` it
prints that config, one section per schema section with the source of every value, and exits 0
before any data or output folder is touched.
"""
from __future__ import annotations

import argparse
import copy
import sys
from typing import Any, Mapping, Sequence

from config.defaults import (SYNTHETIC, classes_from_data, data_class_names, dataset_config,
                             default_sources, method_quickstart)
from config.recipes import META_FLAGS, RecipeError, format_config, load_recipe
from config.run_config import RunConfig
from config.schema import NOT_FLAGS, SECTION_TITLES, SETTINGS, Setting, settings_for, value_problem
from methods import METHODS, method_entry


def _add_flag(group: argparse._ArgumentGroup, key: str, setting: Setting, value: Any
              ) -> argparse.Action:
    flag, help_text = f"--{key}", setting.help
    if isinstance(value, bool):
        return group.add_argument(flag, default=value, action=argparse.BooleanOptionalAction,
                                  help=help_text)
    if isinstance(value, list):
        kind = type(value[0]) if value else (setting.kind or str)
        return group.add_argument(flag, default=value, nargs="*" if not value else "+",
                                  type=kind, metavar=key.upper(), help=help_text)
    kind = setting.kind or type(value)
    return group.add_argument(flag, default=value, type=kind, choices=setting.choices,
                              metavar=None if setting.choices else key.upper(), help=help_text)


def build_parser(dataset: str, method: str = "ftcl",
                 recipe: Mapping[str, Any] | None = None) -> argparse.ArgumentParser:
    """The parser of ``main_thu.py`` / ``main_act.py`` with ``dataset``'s defaults under
    ``method``, then the values of ``recipe`` (a checked recipe file, :func:`load_recipe`)."""
    values = dataset_config(dataset, method)
    recipe = recipe or {}
    parser = argparse.ArgumentParser(
        description=f"FTCL / ACM-Net / AICL weakly-supervised temporal action localization "
                    f"({dataset}). Every hyper-parameter is a flag; defaults are the original "
                    f"code's ({method}: --method), then a --config file's.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    files = parser.add_argument_group(
        "recipe files (docs/recipes.md; order: schema -> dataset -> method -> quickstart -> "
        "file -> flags)")
    files.add_argument("--config", metavar="FILE", default=None,
                       help="apply a recipe file (YAML, configs/*.yaml): its settings replace the "
                            "defaults; flags given on the command line still win")
    files.add_argument("--print_config", action="store_true",
                       help="print the resolved settings, by section, with the source of each "
                            "value, and exit (touches no data and no output folder)")
    original = parser.add_argument_group("flags of the original FTCL command line")
    groups = {name: parser.add_argument_group(title) for name, title in SECTION_TITLES.items()}
    own = parser.add_argument_group(f"{method}: the settings only this method reads "
                                    f"(methods/{method}/)")
    mine = METHODS.get(method).settings
    for key, setting in settings_for(method).items():
        group = (original if setting.original else own if key in mine
                 else groups[setting.section])
        action = _add_flag(group, key, setting, values[key])
        if key in recipe:     # the flag's type and arity stay the default's
            action.default = copy.deepcopy(recipe[key])
    parser.set_defaults(dataset=dataset, class_names=values["class_names"])
    return parser


# ---- parsing ------------------------------------------------------------------------------

def _check_ranges(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for key in settings_for(args.method):
        problem = value_problem(key, getattr(args, key))
        if problem:
            parser.error(f"--{key}: {problem}")


def explicit_keys(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> set[str]:
    """The settings given on the command line (as opposed to defaults and a file's values)."""
    quiet = copy.deepcopy(parser)
    for action in quiet._actions:
        action.default = argparse.SUPPRESS
    return set(vars(quiet.parse_args(argv))) - set(NOT_FLAGS) - set(META_FLAGS)


def _early_flags(argv: Sequence[str] | None) -> tuple[str | None, str | None]:
    """The ``--method`` and ``--config`` of ``argv`` (None when absent), read before the full
    parse so that every other flag gets that method's and that file's default (``--help``
    included)."""
    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    early.add_argument("--method", default=None)
    early.add_argument("--config", default=None)
    known, _ = early.parse_known_args(argv)
    return known.method, known.config


def _fail(message: str) -> None:
    """Stop the script with one ``error:`` line (status 1, like its other input errors)."""
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(1)


def _parse(dataset: str, argv: Sequence[str] | None
           ) -> tuple[argparse.ArgumentParser, argparse.Namespace, dict[str, Any]]:
    """The parser of the method and recipe file ``argv`` names, the range-checked namespace and
    the file's settings. A bad file, a method without a recipe for ``dataset``, or without the
    requested stage, exits with one ``error:`` line (status 1, like the scripts' other input
    errors)."""
    flag_method, path = _early_flags(argv)
    for _ in range(2):     # twice at most: an abbreviated --method / --config only the full
        recipe: dict[str, Any] = {}     # parser knows
        if path is not None:
            try:
                recipe = load_recipe(path, dataset)
            except RecipeError as err:
                _fail(str(err))
        method = flag_method or recipe.get("method") or SETTINGS["method"].default
        try:
            method_entry(method, dataset)
        except ValueError as err:
            _fail(str(err))
        stray = [key for key in recipe if key not in settings_for(method)]
        if stray:
            _fail(f"{path}: {stray[0]}: a setting of another method, not of --method {method}")
        parser = build_parser(dataset, method, recipe)
        args = parser.parse_args(argv)
        if args.method == method and args.config == path:
            break
        flag_method, path = args.method, args.config
    try:
        entry = method_entry(args.method, dataset)
        if args.ftcl and "pair" not in entry.stages:
            raise ValueError(f"--ftcl: {args.method} has no pair stage (FTCL's)")
    except ValueError as err:
        parser.exit(1, f"error: {err}\n")
    _check_ranges(parser, args)
    return parser, args, recipe


def parse_args(dataset: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` (default: ``sys.argv[1:]``) with ``dataset``'s defaults under its
    ``--method`` and its ``--config`` file: a flat namespace of every setting, range-checked (an
    error exits with argparse's usage message, a bad file with one ``error:`` line)."""
    return _parse(dataset, argv)[1]


def parse_config(dataset: str, argv: Sequence[str] | None = None) -> RunConfig:
    """Parse ``argv`` into a :class:`RunConfig` (the resolution order of the module docstring).
    ``--synthetic`` turns the defaults into the quickstart recipe (the README's figures; the
    method's recipe on top of the dataset's); a ``--config`` file's settings and the flags given
    explicitly still win. ``--print_config`` prints the result and exits 0."""
    parser, args, recipe = _parse(dataset, argv)
    flags = explicit_keys(parser, argv)
    given = flags | set(recipe)
    sources = default_sources(dataset, args.method)
    sources.update({key: "file" for key in recipe})

    def quickstart(key: str, value: Any) -> None:
        if key not in given:
            setattr(args, key, copy.deepcopy(value))
            sources[key] = "quickstart"

    if args.synthetic:
        recipe_of_data = SYNTHETIC[dataset]
        stage = recipe_of_data["ftcl"] if args.ftcl else {}
        for key in ("epochs", "start_test_epoch", "feature_dim"):
            quickstart(key, stage.get(key, recipe_of_data[key]))
        quickstart("data_dir", f"data/synthetic_{recipe_of_data['name']}")
        for key, value in method_quickstart(args.method, dataset).items():
            quickstart(key, value)
        quickstart("eval_untrained", True)
        if not args.wandb:
            args.without_wandb = True
            if "without_wandb" not in given:
                sources["without_wandb"] = "quickstart"
    if args.wandb:
        args.without_wandb = False
        sources["without_wandb"] = sources["wandb"]
    if classes_from_data(args.method, dataset) and not args.synthetic:
        # the data's classes (the synthetic set's are read once it exists, prepare_synthetic)
        args.class_names = data_class_names(dataset, args.data_dir, args.wtalc_annotations)
    sources.update({key: "flag" for key in flags})
    cfg = RunConfig.from_flat(vars(args), given=given)
    if args.print_config:
        sys.stdout.write(format_config(cfg, sources, config_file=args.config))
        sys.stdout.flush()
        raise SystemExit(0)
    return cfg


__all__ = ["build_parser", "explicit_keys", "parse_args", "parse_config"]
