"""Methods, one folder each (``methods/<name>/``): model, loss terms, localizer, accuracy rule,
defaults and quickstart recipe, registered as one :class:`~methods.record.Method` record. The
imports below are the list of methods: adding one is a new folder and one line here."""
from __future__ import annotations

from types import SimpleNamespace

from losses.criterion import Criterion, criterion_from_recipe
from methods.record import METHODS, Localizer, Method, SavedOutputs, method_entry

import methods.ftcl  # noqa: E402,F401  (FTCL / ACM-Net)
import methods.aicl  # noqa: E402,F401  (AICL)
import methods.co2net  # noqa: E402,F401  (CO2-Net)
import methods.stcl  # noqa: E402,F401  (STCL-Net)


def build_criterion(method: str, stage: str, loss: SimpleNamespace, seed: int) -> Criterion:
    """The criterion of ``method``'s ``stage`` ("single" or "pair") from the loss settings (see
    :func:`losses.criterion.criterion_from_recipe`)."""
    return criterion_from_recipe(METHODS.get(method).recipe, stage, loss, seed)


__all__ = ["METHODS", "Localizer", "Method", "SavedOutputs", "build_criterion",
           "method_entry"]
