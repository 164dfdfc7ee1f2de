"""Recipe files (``configs/*.yaml``, docs/recipes.md): reading one, checked as the flags would be
(:func:`read_recipe`, :func:`load_recipe`; a bad file is one ``FILE: KEY: problem`` line), and
writing the resolved settings of a run as one (:func:`format_config`, the ``--print_config``
output: one block per section and one for the method's own settings, each value with its
source)."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Mapping

import yaml

from config.defaults import DATASETS, dataset_config
from config.run_config import RunConfig
from config.schema import (SECTION_TITLES, SECTIONS, SETTINGS, all_settings, own_settings,
                           value_problem)
from methods import METHODS

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
        problem = value_problem(key, typed[key])
        if problem:
            raise fail(key, problem)
    return typed


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
        f"dataset: {cfg.dataset}  # the script ("
        + (f"{len(cfg.class_names)} classes)" if cfg.class_names else
           "classes: the data's classlist.npy, not read yet)"),
    ]
    own = own_settings(method)
    blocks = [(section, SECTION_TITLES[section].removeprefix(f"{section}: "),
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


__all__ = ["META_FLAGS", "SCRIPTS", "RecipeError", "format_config", "load_recipe", "read_recipe"]
