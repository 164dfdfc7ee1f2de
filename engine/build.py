"""Builders from a run config: each takes the section it needs (see ``config/schema.py``)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Iterable

import torch
from torch import nn

from config.run_config import RunConfig
from losses.criterion import Criterion, criterion_from_recipe
from methods import method_entry


def stage_of(cfg: RunConfig) -> str:
    """"pair" for the FTCL pair stage (``--ftcl``), else "single"."""
    return "pair" if cfg.run.ftcl else "single"


def model_from_config(cfg: RunConfig) -> nn.Module:
    """The method's model, sized by the data section and the class list."""
    method = method_entry(cfg.run.method, cfg.dataset)
    return method.build_model(cfg.model, cfg.data, len(cfg.class_names))


def criterion_from_config(cfg: RunConfig) -> Criterion:
    """The weighted loss terms of the method's stage (its recipe), seeded with the run seed.

    Terms are built from the loss section together with the model section: a term may need the
    model's settings (AICL's snippet-set sizes and top-k tie policy are the model's, as in the
    original, where the sets are mined in the forward pass)."""
    recipe = method_entry(cfg.run.method, cfg.dataset).recipe
    terms = SimpleNamespace(**vars(cfg.model), **vars(cfg.loss))
    return criterion_from_recipe(recipe, stage_of(cfg), terms, cfg.run.seed)


def build_optimizer(optimizer: SimpleNamespace, params: Iterable[nn.Parameter]
                    ) -> torch.optim.Optimizer:
    """The optimizer section -> a torch optimizer (default: Adam with the original settings)."""
    betas = tuple(optimizer.betas)
    if optimizer.optimizer == "adam":
        return torch.optim.Adam(params, lr=optimizer.lr, betas=betas,
                                weight_decay=optimizer.weight_decay)
    if optimizer.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=optimizer.lr, betas=betas,
                                 weight_decay=optimizer.weight_decay)
    return torch.optim.SGD(params, lr=optimizer.lr, momentum=betas[0],
                           weight_decay=optimizer.weight_decay)
