"""AICL (Li et al., AAAI 2023), the official THUMOS'14 code: the method record of
``--method aicl``. Every constant is in ``methods/aicl/settings.py``."""
from __future__ import annotations

from types import SimpleNamespace

import methods.aicl.loss  # noqa: F401  (registers the "aicl" term)
from methods.aicl.localize import AICL_LOCALIZER
from methods.aicl.model import AICL
from methods.aicl.settings import AICL_THUMOS, SETTINGS, SYNTHETIC
from methods.record import Method, register


def build_model(model: SimpleNamespace, data: SimpleNamespace, num_classes: int) -> AICL:
    """The video top-k is S // video_topk_seg of the configured S (official: 750 // 8 = 93)."""
    return AICL(feature_dim=data.feature_dim, num_classes=num_classes, embed_dim=model.embed_dim,
                video_topk=data.sample_segments_num // model.video_topk_seg,
                stable_topk=model.stable_topk)


def recipe(loss: SimpleNamespace, stage: str) -> list[tuple[str, float]]:
    """Its whole cost as the one term "aicl" (weights inside: ``loss_weight_*``)."""
    if stage != "single":
        raise ValueError(f"AICL has a single training stage, not {stage!r}")
    return [("aicl", 1.0)]


AICL_METHOD = register(Method(
    name="aicl", summary="AICL", datasets=("THUMOS",), stages=("single",),
    build_model=build_model, recipe=recipe, localizer=AICL_LOCALIZER, settings=SETTINGS,
    defaults={"THUMOS": AICL_THUMOS}, synthetic=SYNTHETIC, shape_keys=("embed_dim",),
    state_dict_file=AICL_THUMOS["original_checkpoint_name"]))
