"""A toy method, added the way a real one is (``docs/adding-a-method.md`` walks through it): a
folder with its model, one loss term, a localizer and its defaults, registered as one record.

A real method lives in ``methods/<name>/`` and is listed by one import line in
``methods/__init__.py``; this one lives under ``tests/`` so that only the tests load it (they
import this package, which is that one line).
"""
from __future__ import annotations

from types import SimpleNamespace

import tests.toy_method.loss  # noqa: F401  (registers the "toy_mil" term)
from methods.record import Method, register
from utils.settings import Setting
from tests.toy_method.localize import TOY_LOCALIZER
from tests.toy_method.model import ToyNet


def build_model(model: SimpleNamespace, data: SimpleNamespace, num_classes: int) -> ToyNet:
    """A linear snippet classifier over the features, top-k pooled over time."""
    return ToyNet(feature_dim=data.feature_dim, num_classes=num_classes,
                  topk_seg=model.toy_topk_seg)


def recipe(loss: SimpleNamespace, stage: str) -> list[tuple[str, float]]:
    """One stage, one term."""
    return [("toy_mil", 1.0)]


SETTINGS = {
    "toy_topk_seg": Setting("model", "video scores: mean of the top T // toy_topk_seg snippet "
                                     "logits", 4, low=1),
}
"""The toy's own setting: a ``--toy_topk_seg`` flag of ``--method toy`` runs only."""

TOY = register(Method(
    name="toy", summary="a toy method of the tests", datasets=("THUMOS",), stages=("single",),
    build_model=build_model, recipe=recipe, localizer=TOY_LOCALIZER, settings=SETTINGS,
    defaults={"THUMOS": {"lr": 1e-3, "batch_size": 8}}))
