"""Methods: one config entry each, naming the registered model, loss recipe and localizer.

A new method is a model file (registered in ``models.MODELS``), a loss file (terms in
``losses.terms.TERMS`` and a recipe in ``losses.criterion.RECIPES``) and an entry here.

Entry keys:
- ``model``, ``recipe``, ``localizer``: registered names (``engine.evaluator.LOCALIZERS``: the
  test-time reading of the output, the video-accuracy rule included);
- ``datasets``: the datasets with a recipe from a source; ``stages``: "single" and, for FTCL,
  "pair" (``--ftcl``);
- ``defaults``: dataset -> the method's values of settings (flags not given take them);
  FTCL's values are the dataset configs and ``config/ftcl.py`` themselves;
- ``synthetic``: the ``--synthetic`` recipe's settings on top of the dataset's;
- ``state_dict_file``: a file name for a bare state dict of the selected model, written beside
  the project's checkpoints in the original's format (None: none).
"""
from __future__ import annotations

from typing import Any

from config import aicl

METHODS: dict[str, dict[str, Any]] = {
    # FTCL (CVPR 2022) on ACM-Net; with its terms switched off, ACM-Net itself.
    "ftcl": {"model": "acmnet", "recipe": "ftcl", "localizer": "acm_proposals",
             "datasets": ("THUMOS", "ActivityNet"), "stages": ("single", "pair"),
             "defaults": {}, "synthetic": {}, "state_dict_file": None},
    # AICL (AAAI 2023): the official THUMOS'14 code.
    "aicl": {"model": "aicl", "recipe": "aicl", "localizer": "aicl",
             "datasets": ("THUMOS",), "stages": ("single",),
             "defaults": {"THUMOS": aicl.AICL_THUMOS}, "synthetic": aicl.SYNTHETIC,
             "state_dict_file": aicl.AICL_THUMOS["original_checkpoint_name"]},
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
