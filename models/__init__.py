"""Models: ACM-Net (FTCL's backbone) and AICL, their named outputs, the registry, checked loading."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from models.acmnet import ACMNet
from models.aicl import AICL, AICLOutput
from models.outputs import ACMOutput
from utils.registry import Registry

__all__ = ["ACMNet", "ACMOutput", "AICL", "AICLOutput", "MODELS", "build_model",
           "load_state_dict_checked"]

_SHOWN = 3
ModelBuilder = Any
MODELS: Registry[ModelBuilder] = Registry("model")
"""Model builders by name: ``builder(model_section, data_section, num_classes) -> nn.Module`` (the
data section gives the feature width and the sampled snippet count)."""


@MODELS.register("acmnet")
def _acmnet(model: SimpleNamespace, data: SimpleNamespace, num_classes: int) -> ACMNet:
    return ACMNet(feature_dim=data.feature_dim, num_classes=num_classes, dropout=model.dropout,
                  topk_seg=(model.ins_topk_seg, model.con_topk_seg, model.bak_topk_seg),
                  embed_dropout=model.embed_dropout, lcs_len=model.lcs_len,
                  fsd_len=model.fsd_len, fc_dim=model.fc_dim, bak_source=model.bak_source)


@MODELS.register("aicl")
def _aicl(model: SimpleNamespace, data: SimpleNamespace, num_classes: int) -> AICL:
    """The video top-k is S // video_topk_seg of the configured S (official: 750 // 8 = 93)."""
    return AICL(feature_dim=data.feature_dim, num_classes=num_classes, embed_dim=model.embed_dim,
                video_topk=data.sample_segments_num // model.video_topk_seg,
                stable_topk=model.stable_topk)


def build_model(name: str, model: SimpleNamespace, data: SimpleNamespace, num_classes: int
                ) -> nn.Module:
    """The model registered as ``name``, from the model and data sections of the config."""
    return MODELS.get(name)(model, data, num_classes)


def _shape(value: Any) -> str:
    return str(tuple(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__


def _few(items: Sequence[str]) -> str:
    more = f", ... (+{len(items) - _SHOWN} more)" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


def load_state_dict_checked(model: nn.Module, state_dict: Mapping[str, Any],
                            allow_missing: Sequence[str] = ("feature_trans.",),
                            source: str = "state dict") -> list[str]:
    """Load ``state_dict`` into ``model`` strictly, except missing keys under ``allow_missing``.

    ``state_dict`` may also be an original checkpoint ``{"model_state_dict": ...}``. Missing
    allow-listed keys keep the model's current values (an ACM-Net checkpoint has no
    ``feature_trans``). Raises ValueError, one line naming ``source`` and the first few missing
    keys, unexpected keys and shape mismatches. Returns the allow-listed keys that were missing.
    """
    if "model_state_dict" in state_dict and isinstance(state_dict["model_state_dict"], Mapping):
        state_dict = state_dict["model_state_dict"]
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    tolerated = [k for k in missing if k.startswith(tuple(allow_missing))]
    missing = [k for k in missing if k not in tolerated]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [f"{k} {_shape(v)} vs model {tuple(own[k].shape)}"
                  for k, v in state_dict.items()
                  if k in own and (not isinstance(v, torch.Tensor) or v.shape != own[k].shape)]
    problems = [f"{name}: {_few(keys)}" for name, keys in
                (("missing keys", missing), ("unexpected keys", unexpected),
                 ("shape mismatch", mismatched)) if keys]
    if problems:
        raise ValueError(f"{source}: state dict does not fit {type(model).__name__} ("
                         + "; ".join(problems) + ")")
    model.load_state_dict(state_dict, strict=False)
    return tolerated
