"""Methods: one config entry each, naming the registered model, loss recipe and localizer.

A new method is a model file (registered in ``models.MODELS``), a loss file (terms in
``losses.terms.TERMS`` and a recipe in ``losses.criterion.RECIPES``) and an entry here.
"""
from __future__ import annotations

from typing import Any

METHODS: dict[str, dict[str, Any]] = {
    # FTCL (CVPR 2022) on ACM-Net; with its terms switched off, ACM-Net itself.
    "ftcl": {"model": "acmnet", "recipe": "ftcl", "localizer": "acm_proposals",
             "datasets": ("THUMOS", "ActivityNet")},
}


def method_entry(method: str, dataset: str) -> dict[str, Any]:
    """The entry of ``method``; a one-line ValueError for an unknown method or a dataset the
    method has no recipe for."""
    if method not in METHODS:
        raise ValueError(f"--method {method!r}: unknown; known: {', '.join(sorted(METHODS))}")
    entry = METHODS[method]
    if dataset not in entry["datasets"]:
        raise ValueError(f"--method {method}: no {dataset} recipe with a source exists (the "
                         f"original code covers {', '.join(entry['datasets'])} only)")
    return entry
