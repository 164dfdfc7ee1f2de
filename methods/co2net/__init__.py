"""CO2-Net (Hong et al., ACM MM 2021), the official code: the method record of ``--method co2net``.

Model (``CO2`` for THUMOS'14, ``ANT_CO2`` for ActivityNet 1.2), loss terms (``co2`` and
``co2_<part>``), localizer (``localize.py``), data (the W-TALC video lists and the class-pair
batches, ``data.py``) and constants (``settings.py``). The record gives the engine: one class-pair
batch per step (``train_batches``), the W-TALC arrays' video lists (``split_ids``: THUMOS's 212
test videos; ActivityNet 1.2's validation videos longer than 10 snippets), evaluations after
steps 201, 401, ... (``eval_step_offset``), selection on the W-TALC convention's table
(``select_protocol``: the 0.1:0.7 mean on THUMOS, the 0.5:0.95 mean on ActivityNet), and the
original's bare ``best_CO2_3552.pkl`` beside the project's checkpoints. ``main_act.py --method
co2net`` is ActivityNet 1.2 in the W-TALC layout: its class list is the data's
``classlist.npy``. See docs/methods/co2net.md.
"""
from __future__ import annotations

from types import SimpleNamespace

import methods.co2net.loss  # noqa: F401  (registers the "co2" and "co2_<part>" terms)
from methods.co2net.data import ClassPairBatches, wtalc_split_ids
from methods.co2net.localize import CO2_LOCALIZER
from methods.co2net.model import ANT_CO2, CO2
from methods.co2net.settings import (CO2_ANT_DEFAULTS, CO2_DEFAULTS, CO2_THUMOS, POOL_SETTINGS,
                                     SETTINGS, SYNTHETIC)
from methods.record import Method, register


def build_model(model: SimpleNamespace, data: SimpleNamespace, num_classes: int) -> CO2:
    """``CO2`` sized by the feature width (CCM width D/2, embedding D) and the class count; with
    ``pool_t`` > 0 ``ANT_CO2``, its pool kernel ``ant_pool_kernel(sample_segments_num, pool_t)``
    (13 for the original's 60 and 5)."""
    flat = {**vars(model), **vars(data), "num_classes": num_classes}
    return ANT_CO2.from_config(flat) if model.pool_t else CO2.from_config(flat)


def recipe(loss: SimpleNamespace, stage: str) -> list[tuple[str, float]]:
    """Its whole cost as the one term "co2" (weights inside: ``alpha_*``), the original's sum."""
    if stage != "single":
        raise ValueError(f"CO2-Net has a single training stage, not {stage!r}")
    return [("co2", 1.0)]


CO2_METHOD = register(Method(
    name="co2net", summary="CO2-Net", datasets=("THUMOS", "ActivityNet"), stages=("single",),
    build_model=build_model, recipe=recipe, localizer=CO2_LOCALIZER,
    settings={**SETTINGS, **POOL_SETTINGS},
    defaults={"THUMOS": CO2_DEFAULTS, "ActivityNet": CO2_ANT_DEFAULTS}, synthetic=SYNTHETIC,
    shape_keys=("ccm_hidden",), state_dict_file={"THUMOS": CO2_THUMOS["original_checkpoint_name"]},
    train_batches=ClassPairBatches, split_ids=wtalc_split_ids, eval_step_offset=1,
    select_protocol="wtalc"))
