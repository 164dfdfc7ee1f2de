"""Command line of ``main_thu.py`` / ``main_act.py``: flags from the settings, run config from flags.

Every setting of ``config/schema.py`` is a ``--<key>`` flag. A value resolves in one order, each
layer overriding the ones before it:

1. **schema**: the dataset-independent default of ``config/schema.py``;
2. **dataset**: ``config/thumos.py`` or ``config/activitynet.py``;
3. **method**: the defaults of the ``--method``'s record (``methods/<name>/``: FTCL's
   ``settings.py``, AICL's ``settings.py``);
4. **quickstart**: with ``--synthetic`` only, the quickstart recipe (the dataset's ``SYNTHETIC``,
   its ``ftcl`` stage with ``--ftcl``, then the method's ``synthetic``);
5. **file**: the recipe file of ``--config FILE`` (YAML, ``configs/*.yaml``; docs/recipes.md);
6. **flag**: the flags given on the command line.

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
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from config import activitynet, thumos
from config.run_config import RunConfig
from config.schema import (DATASET, NOT_FLAGS, SECTIONS, SETTINGS, Setting, all_settings,
                           check_value, own_settings, settings_for)
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
    settings = settings_for(method)
    return {k: copy.deepcopy(v) for k, v in own.items() if k in settings}


def dataset_config(dataset: str, method: str = "ftcl") -> dict[str, Any]:
    """Every default of a ``method`` run on ``dataset`` ("THUMOS" or "ActivityNet") as one flat
    dict (a deep copy): the run-wide settings and the method's own, no other method's."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(DATASETS)}")
    settings = settings_for(method)
    values = {k: s.default for k, s in settings.items() if s.default is not DATASET}
    values.update({k: copy.deepcopy(v) for k, v in DATASETS[dataset].items()
                   if k in settings or k in NOT_FLAGS})
    values.update(method_defaults(method, dataset))
    missing = [k for k in settings if k not in values]
    if missing:
        raise KeyError(f"no default for {missing} in the {dataset} config")
    return values


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
    groups = {name: parser.add_argument_group(title) for name, title in _SECTION_TITLES.items()}
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


# ---- recipe files -------------------------------------------------------------------------

SCRIPTS = {"THUMOS": "main_thu.py", "ActivityNet": "main_act.py"}
META_FLAGS = ("config", "print_config")
"""Flags about the resolution itself, not settings (not in the run config)."""


class RecipeError(ValueError):
    """A recipe file that cannot be applied; the message is one line: ``FILE: KEY: problem``."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with two changes: ``1e-4`` is a float (YAML 1.2; PyYAML's YAML 1.1
    reads a float without a dot as a string), and a key given twice is an error."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


class _KeyTwice(yaml.YAMLError):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(f"{key}: given twice (line {line})")


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode) -> dict:
    seen: set[str] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            if key_node.value in seen:
                raise _KeyTwice(key_node.value, key_node.start_mark.line + 1)
            seen.add(key_node.value)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                        _mapping_without_duplicates)


def _kind_name(kind: type) -> str:
    return {bool: "true or false", int: "an integer", float: "a number",
            str: "a string"}.get(kind, kind.__name__)


def _coerce_item(value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)        # as the command line reads it (gpu: 1, select_metric: 0.5)
    raise ValueError(f"expected {_kind_name(kind)}, got {value!r}")


def _coerce(key: str, value: Any, default: Any) -> Any:
    """``value`` of a recipe file as the flag would parse it (its type is the default's); a
    one-line ValueError when it cannot be."""
    setting = all_settings()[key]
    if value is None:
        if default is None:
            return None
        raise ValueError("null is not allowed (the setting has no 'unset' value)")
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ValueError(f"expected true or false, got {value!r}")
    if isinstance(default, list):
        if not isinstance(value, list):
            raise ValueError(f"expected a list such as [1, 2], got {value!r}")
        if default and not value:
            raise ValueError("expected at least one value, got []")
        kind = type(default[0]) if default else (setting.kind or str)
        return [_coerce_item(item, kind) for item in value]
    return _coerce_item(value, setting.kind or type(default))


def _value_problem(key: str, value: Any) -> str | None:
    """Why ``value`` is not allowed for ``key`` (None when it is): the schema's range and
    choices, the device syntax, the NAME=WEIGHT terms."""
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


def _unknown_key(key: Any) -> str:
    import difflib

    close = difflib.get_close_matches(str(key), list(all_settings()), n=1)
    return "unknown setting" + (f" (did you mean {close[0]}?)" if close else "")


def read_recipe(path: str | Path) -> dict[str, Any]:
    """The raw ``key: value`` pairs of a recipe file, sections (as ``--print_config`` writes
    them) flattened; RecipeError for a missing, unreadable or malformed file."""
    name = str(path)

    def fail(problem: str) -> RecipeError:
        return RecipeError(f"{name}: {problem}")

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail("no such file") from None
    except IsADirectoryError:
        raise fail("a folder, not a recipe file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise fail(f"unreadable ({getattr(err, 'strerror', None) or err})") from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except _KeyTwice as err:
        raise fail(str(err)) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise fail(f"not valid YAML{where}: {what}") from None
    if data is None:                # only comments
        return {}
    if not isinstance(data, dict):
        raise fail("expected 'key: value' lines at the top level")
    flat: dict[str, Any] = {}
    for key, value in data.items():
        items = [(key, value)]
        if key in SECTIONS and isinstance(value, dict):      # a section of --print_config
            known = all_settings()
            for inner in value:
                if inner in known and known[inner].section != key:
                    raise fail(f"{key}: {inner}: belongs in section {known[inner].section}")
            items = list(value.items())
        elif key in METHODS and isinstance(value, dict):     # a method's own section
            for inner in value:
                if inner not in own_settings(key):
                    raise fail(f"{key}: {inner}: not a setting of method {key}")
            items = list(value.items())
        for inner, item in items:
            if not isinstance(inner, str):
                raise fail(f"{inner!r}: keys are setting names")
            if inner in flat:
                raise fail(f"{inner}: given twice")
            flat[inner] = item
    return flat


def load_recipe(path: str | Path, dataset: str) -> dict[str, Any]:
    """The settings of the recipe file ``path`` for ``dataset``'s script, typed and checked as
    the flags would be (``dataset:`` is checked and dropped). A RecipeError (one line:
    ``FILE: KEY: problem``) for a missing or malformed file, an unknown key, a file for the
    other dataset, a value of the wrong type or out of range."""
    name = str(path)
    flat = read_recipe(path)

    def fail(key: str, problem: str) -> RecipeError:
        return RecipeError(f"{name}: {key}: {problem}")

    for key in flat:
        if key == "class_names":
            raise fail(key, "fixed by the dataset (the script), not a setting")
        if key in META_FLAGS:
            raise fail(key, "a command-line flag only, not a setting of a file")
        if key != "dataset" and key not in all_settings():
            raise fail(key, _unknown_key(key))
    if "dataset" in flat:
        named = flat.pop("dataset")
        if named not in DATASETS:
            raise fail("dataset", f"{named!r}: expected one of {', '.join(DATASETS)}")
        if named != dataset:
            raise fail("dataset", f"{named}: a recipe for {SCRIPTS[named]}, not "
                                  f"{SCRIPTS[dataset]} ({dataset})")
    method = flat.get("method", SETTINGS["method"].default)
    if not isinstance(method, str) or method not in METHODS:
        raise fail("method", f"{method!r}: unknown; known: {', '.join(METHODS.names())}")
    record = METHODS.get(method)
    if dataset not in record.datasets:
        raise fail("method", f"{method} has no {dataset} recipe with a source (the original "
                             f"code covers {', '.join(record.datasets)} only)")
    defaults = dataset_config(dataset, method)
    typed: dict[str, Any] = {}
    for key, value in flat.items():
        if key not in defaults:
            raise fail(key, f"a setting of another method, not of --method {method}")
        try:
            typed[key] = _coerce(key, value, defaults[key])
        except ValueError as err:
            raise fail(key, str(err)) from None
        problem = _value_problem(key, typed[key])
        if problem:
            raise fail(key, problem)
    return typed


# ---- parsing ------------------------------------------------------------------------------

def _check_ranges(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for key in settings_for(args.method):
        problem = _value_problem(key, getattr(args, key))
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


def default_sources(dataset: str, method: str) -> dict[str, str]:
    """Where each setting's default comes from under ``method`` on ``dataset``: "schema"
    (the run-wide schema or the method's declaration), "dataset" or "method"."""
    own = method_defaults(method, dataset)
    sources: dict[str, str] = {}
    for key in settings_for(method):
        sources[key] = ("method" if key in own else "dataset" if key in DATASETS[dataset]
                        else "schema")
    return sources


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
        for key, value in METHODS.get(args.method).synthetic.items():
            quickstart(key, value)
        quickstart("eval_untrained", True)
        if not args.wandb:
            args.without_wandb = True
            if "without_wandb" not in given:
                sources["without_wandb"] = "quickstart"
    if args.wandb:
        args.without_wandb = False
        sources["without_wandb"] = sources["wandb"]
    sources.update({key: "flag" for key in flags})
    cfg = RunConfig.from_flat(vars(args), given=given)
    if args.print_config:
        sys.stdout.write(format_config(cfg, sources, config_file=args.config))
        sys.stdout.flush()
        raise SystemExit(0)
    return cfg


# ---- --print_config -----------------------------------------------------------------------

def _yaml_value(value: Any) -> str:
    """``value`` as a YAML flow value that the recipe loader reads back as the same value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_value(item) for item in value) + "]"
    text = str(value)
    try:
        plain = (yaml.load(text, Loader=_Loader) == text and "#" not in text
                 and not text.startswith(("[", "{", "'", '"')) and ": " not in text)
    except yaml.YAMLError:
        plain = False
    return text if plain and text.strip() == text and text else json.dumps(text)


def format_config(cfg: RunConfig, sources: Mapping[str, str],
                  config_file: str | None = None) -> str:
    """The resolved settings of ``cfg`` as YAML, one block per schema section, each value
    followed by its source (``# schema``, ``dataset``, ``method``, ``quickstart``, ``file``,
    ``flag``). The text is itself a recipe file (``--config``)."""
    method = cfg.run.method
    lines = [
        f"# {SCRIPTS[cfg.dataset]}: resolved settings ({cfg.dataset}, method {method}"
        + (f", recipe file {config_file}" if config_file else "") + ")",
        "# order: schema -> dataset -> method -> quickstart (--synthetic) -> file -> flag; after",
        f"# each value, the layer it comes from; the run-wide settings and {method}'s own",
        f"dataset: {cfg.dataset}  # the script ({len(cfg.class_names)} classes)",
    ]
    own = own_settings(method)
    blocks = [(section, _SECTION_TITLES[section].removeprefix(f"{section}: "),
               [(k, v) for k, v in vars(cfg.sections[section]).items() if k not in own])
              for section in SECTIONS]
    values = cfg.flat()
    blocks.append((method, f"{method}'s own settings (methods/{method}/)",
                   [(key, values[key]) for key in own]))
    for name, title, items in blocks:
        lines.append(f"{name}:" + (" {}" if not items else "")
                     + (f"  # {title}" if title != name else ""))
        pairs = [(f"  {key}: {_yaml_value(value)}", sources.get(key, "?")) for key, value in items]
        width = max((len(text) for text, _ in pairs if len(text) <= 48), default=0)
        lines += [f"{text.ljust(width)}  # {source}" for text, source in pairs]
    return "\n".join(lines) + "\n"


__all__ = ["DATASETS", "SCRIPTS", "SECTIONS", "RecipeError", "build_parser", "dataset_config",
           "default_sources", "explicit_keys", "format_config", "load_recipe",
           "method_defaults", "parse_args", "parse_config", "read_recipe"]
