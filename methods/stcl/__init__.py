"""STCL-Net (Fu et al., TPAMI 2023), the official code: the method record of ``--method stcl``.

Network ``STCL_THU`` (``model.py``), loss terms (``loss.py``: the criterion ``stcl_criterion``
and the snippet contrast ``stcl_snippet``, summed with weight 1 as the original's ``train()``),
the exemplar bank of a run (``bank.py``) and constants (``settings.py``). Everything else is
CO2-Net's, reused from its folder: the W-TALC video lists, one class-pair batch per step, the
localizer, evaluations after steps 201, 401, ..., selection on the W-TALC 0.1:0.7 mean. The
record's ``model_context`` puts the training videos on the model's device and gives it the run's
bank draws (the training banks from the batch sampler's stream, right after each batch). The
original's bare ``best_re_rank_THU_STCL_best.pkl`` is written beside the project's checkpoints.
See docs/methods/stcl.md.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from torch import nn

import methods.stcl.loss  # noqa: F401  (registers the "stcl_*" terms)
from dataset.class_pair_sampler import classwise_videos
from methods.co2net.data import ClassPairBatches, annotations_folder, labels_all, wtalc_split_ids
from methods.co2net.localize import CO2_LOCALIZER
from methods.record import Method, register
from methods.stcl.bank import ExemplarBank, check_bank_classes
from methods.co2net.model import ant_pool_kernel, network_sizes
from methods.stcl.model import STCL, STCLActivityNet
from methods.stcl.settings import (SETTINGS, STCL_ACT_DEFAULTS, STCL_DEFAULTS, STCL_THUMOS,
                                   SYNTHETIC)


def build_model(model: SimpleNamespace, data: SimpleNamespace, num_classes: int) -> STCL:
    """``STCL`` (``STCL_THU``) sized by the feature width and the class count; with ``pool_t``
    > 0 ``STCLActivityNet`` (``STCL_ACT``), pool kernel ``ant_pool_kernel(sample_segments_num,
    pool_t)``. No bank yet: the record's ``model_context`` gives it the run's."""
    sizes = dict(network_sizes({**vars(model), **vars(data), "num_classes": num_classes}),
                 key_dim=model.key_dim, per_class=model.exemplars_per_class,
                 exemplar_topk_divisor=model.exemplar_topk_divisor,
                 fusion_weights=model.fusion_weights)
    if model.pool_t:
        return STCLActivityNet(pool_kernel=ant_pool_kernel(int(data.sample_segments_num),
                                                           int(model.pool_t)), **sizes)
    return STCL(**sizes)


def recipe(loss: SimpleNamespace, stage: str) -> list[tuple[str, float]]:
    """The criterion of ``STCL_THU`` plus the snippet contrast, weight 1 (``S:train.py:107-110``)."""
    if stage != "single":
        raise ValueError(f"STCL-Net has a single training stage, not {stage!r}")
    return [("stcl_criterion", 1.0), ("stcl_snippet", 1.0)]


def attach_bank(model: nn.Module, train: Any, cfg: Any, batches: ClassPairBatches | None
                ) -> None:
    """Give ``model`` its :class:`ExemplarBank`: the training videos of ``train`` on the model's
    device, classes from ``labels_all.npy``; training draws from the batch sampler's stream (in
    ``--test``, where there is none, a ``RandomState(--seed)`` of its own)."""
    if batches is not None:
        videos, store, classwise = batches.videos, batches.store, batches.classwise
        train_rng = batches.rng
    else:
        videos, store = [v.video_id for v in train.videos], train.store
        labels = labels_all(annotations_folder(cfg), cfg.class_names, videos)
        classwise = classwise_videos(labels, range(len(videos)))
        train_rng = np.random.RandomState(int(cfg.run.seed))
    per_class = int(cfg.model.exemplars_per_class)
    check_bank_classes(classwise, cfg.class_names, per_class, "labels_all.npy")
    seed = cfg.eval.bank_seed if cfg.eval.bank_seed is not None else cfg.run.seed
    model.bank_source = ExemplarBank(
        [store.get(v) for v in videos], classwise, int(cfg.data.sample_segments_num), per_class,
        next(model.parameters()).device, cfg.eval.bank_mode, int(seed), train_rng)


STCL_METHOD = register(Method(
    name="stcl", summary="STCL-Net", datasets=("THUMOS", "ActivityNet"), stages=("single",),
    build_model=build_model, recipe=recipe, localizer=CO2_LOCALIZER, settings=SETTINGS,
    defaults={"THUMOS": STCL_DEFAULTS, "ActivityNet": STCL_ACT_DEFAULTS}, synthetic=SYNTHETIC,
    shape_keys=("ccm_hidden", "key_dim"),
    state_dict_file={"THUMOS": STCL_THUMOS["original_checkpoint_name"]}, train_batches=ClassPairBatches,
    split_ids=wtalc_split_ids, eval_step_offset=1, select_protocol="wtalc",
    model_context=attach_bank))
