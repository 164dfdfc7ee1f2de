"""Every default of a run before its command line: the dataset configs, the defaults of the
method's record and the datasets' quickstart recipes, and where each default comes from (the
first three layers of the order in ``config.args``)."""
from __future__ import annotations

import copy
from typing import Any

from config import activitynet, thumos
from config.schema import DATASET, NOT_FLAGS, settings_for
from methods import METHODS

DATASETS: dict[str, dict[str, Any]] = {
    "THUMOS": thumos.CONFIG,
    "ActivityNet": activitynet.CONFIG,
}
SYNTHETIC: dict[str, dict[str, Any]] = {
    "THUMOS": thumos.SYNTHETIC,
    "ActivityNet": activitynet.SYNTHETIC,
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


def default_sources(dataset: str, method: str) -> dict[str, str]:
    """Where each setting's default comes from under ``method`` on ``dataset``: "schema"
    (the run-wide schema or the method's declaration), "dataset" or "method"."""
    own = method_defaults(method, dataset)
    sources: dict[str, str] = {}
    for key in settings_for(method):
        sources[key] = ("method" if key in own else "dataset" if key in DATASETS[dataset]
                        else "schema")
    return sources


__all__ = ["DATASETS", "SYNTHETIC", "dataset_config", "default_sources", "method_defaults"]
