"""Every default of a run before its command line: the dataset configs, the defaults of the
method's record and the datasets' quickstart recipes, and where each default comes from (the
first three layers of the order in ``config.args``).

The class list is the dataset config's, except where a method's record sets ``class_names`` to
None in its defaults for the dataset (CO2-Net on ActivityNet 1.2, whose list is not in this
repository): the run then takes the data's, the ``classlist.npy`` of the W-TALC annotation
arrays (:func:`classes_from_data`, :func:`data_class_names`).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Mapping

from config import activitynet, thumos
from config.schema import DATASET, NOT_FLAGS, settings_for
from eval.wtalc import find_annotations, read_classlist
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
    if classes_from_data(method, dataset):
        values["class_names"] = []    # the data's (data_class_names), known once it is read
    missing = [k for k in settings if k not in values]
    if missing:
        raise KeyError(f"no default for {missing} in the {dataset} config")
    return values


def classes_from_data(method: str, dataset: str) -> bool:
    """Whether ``method``'s runs on ``dataset`` take the class list of their data (its record's
    defaults for the dataset set ``class_names`` to None) rather than the dataset config's."""
    own = METHODS.get(method).defaults.get(dataset, {})
    return "class_names" in own and own["class_names"] is None


def data_class_names(dataset: str, data_dir: str | Path | None,
                     wtalc_annotations: str | Path | None) -> list[str]:
    """The class list of a run's data: ``classlist.npy`` of its W-TALC annotation folder
    (``--wtalc_annotations``, else ``<data_dir>/<name>-Annotations``, ``eval.wtalc.LAYOUTS``);
    [] while there is none (the run then stops where it first reads the data, with one line)."""
    folder = find_annotations(data_dir, wtalc_annotations, dataset)
    if folder is None or not (folder / "classlist.npy").is_file():
        return []
    return read_classlist(folder)


def method_quickstart(method: str, dataset: str) -> Mapping[str, Any]:
    """The settings of ``method``'s ``--synthetic`` quickstart on ``dataset``: its record's
    ``synthetic``, one mapping for every dataset or one per dataset (keyed by dataset name)."""
    own = METHODS.get(method).synthetic
    if own and set(own) <= set(DATASETS):
        return own.get(dataset, {})
    return own


def default_sources(dataset: str, method: str) -> dict[str, str]:
    """Where each setting's default comes from under ``method`` on ``dataset``: "schema"
    (the run-wide schema or the method's declaration), "dataset" or "method"."""
    own = method_defaults(method, dataset)
    sources: dict[str, str] = {}
    for key in settings_for(method):
        sources[key] = ("method" if key in own else "dataset" if key in DATASETS[dataset]
                        else "schema")
    return sources


__all__ = ["DATASETS", "SYNTHETIC", "classes_from_data", "data_class_names", "dataset_config",
           "default_sources", "method_defaults", "method_quickstart"]
