"""CO2-Net (Hong et al., ACM MM 2021), the official code: the method record of ``--method co2net``.

Model (``CO2``), loss terms (``co2`` and ``co2_<part>``), localizer (``localize.py``), data (the
W-TALC video lists and the class-pair batches, ``data.py``) and constants (``settings.py``). The
record gives the engine: one class-pair batch per step (``train_batches``), the W-TALC arrays'
video lists (``split_ids``: 212 test videos), evaluations after steps 201, 401, ...
(``eval_step_offset``), selection on the W-TALC convention's 0.1:0.7 mean (``select_protocol``),
and the original's bare ``best_CO2_3552.pkl`` beside the project's checkpoints. See
docs/methods/co2net.md.
"""
from __future__ import annotations

from types import SimpleNamespace

import methods.co2net.loss  # noqa: F401  (registers the "co2" and "co2_<part>" terms)
from methods.co2net.data import ClassPairBatches, wtalc_split_ids
from methods.co2net.localize import CO2_LOCALIZER
from methods.co2net.model import CO2
from methods.co2net.settings import CO2_DEFAULTS, CO2_THUMOS, SETTINGS, SYNTHETIC
from methods.record import Method, register


def build_model(model: SimpleNamespace, data: SimpleNamespace, num_classes: int) -> CO2:
    """``CO2`` sized by the feature width (CCM width D/2, embedding D) and the class count."""
    return CO2(feature_dim=data.feature_dim, num_classes=num_classes,
               ccm_hidden=model.ccm_hidden, dropout_ratio=model.dropout_ratio,
               classifier_dropout=model.classifier_dropout, ccm_dropout=model.ccm_dropout,
               slope=model.leaky_slope)


def recipe(loss: SimpleNamespace, stage: str) -> list[tuple[str, float]]:
    """Its whole cost as the one term "co2" (weights inside: ``alpha_*``), the original's sum."""
    if stage != "single":
        raise ValueError(f"CO2-Net has a single training stage, not {stage!r}")
    return [("co2", 1.0)]


CO2_METHOD = register(Method(
    name="co2net", summary="CO2-Net", datasets=("THUMOS",), stages=("single",),
    build_model=build_model, recipe=recipe, localizer=CO2_LOCALIZER, settings=SETTINGS,
    defaults={"THUMOS": CO2_DEFAULTS}, synthetic=SYNTHETIC,
    shape_keys=("ccm_hidden",), state_dict_file=CO2_THUMOS["original_checkpoint_name"],
    train_batches=ClassPairBatches, split_ids=wtalc_split_ids, eval_step_offset=1,
    select_protocol="wtalc"))
