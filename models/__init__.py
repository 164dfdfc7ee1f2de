"""Model pieces every method shares: checked loading of a state dict into a model. The models
themselves live in their method's folder (``methods/<name>/model.py``)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["load_state_dict_checked"]

_SHOWN = 3


def _shape(value: Any) -> str:
    return str(tuple(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__


def _few(items: Sequence[str]) -> str:
    more = f", ... (+{len(items) - _SHOWN} more)" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


def load_state_dict_checked(model: nn.Module, state_dict: Mapping[str, Any],
                            allow_missing: Sequence[str] = (),
                            source: str = "state dict") -> list[str]:
    """Load ``state_dict`` into ``model`` strictly, except missing keys under ``allow_missing``.

    ``state_dict`` may also be an original checkpoint ``{"model_state_dict": ...}``. Missing
    allow-listed keys keep the model's current values (a method's record names them: an ACM-Net
    checkpoint has no ``feature_trans`` of FTCL). Raises ValueError, one line naming ``source`` and the first few missing
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
